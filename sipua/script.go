package sipua

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// ErrBadScript is wrapped by every error about a script that cannot be parsed.
var ErrBadScript = errors.New("bad call script")

// Limits that keep a script, and so a call, bounded.
const (
	// MaxSteps is the most steps a script may have.
	MaxSteps = 100
	// MaxStepDuration is the longest a single step may last.
	MaxStepDuration = 10 * time.Minute
	// MaxScriptDuration is the longest all the steps of a script may last together.
	MaxScriptDuration = time.Hour
	// MaxDigits is the most digits one keys step may press.
	MaxDigits = 32
)

// StepKind names what a script step does.
type StepKind string

// The step kinds of the script language.
const (
	// StepWait waits for a while, expecting nothing.
	StepWait StepKind = "wait"
	// StepWaitPrompt waits until the far end is heard speaking, at most Duration; it fails
	// when nothing is heard by then.
	StepWaitPrompt StepKind = "wait:prompt"
	// StepWaitSilence waits until the far end has been quiet for SilenceGap, at most
	// Duration; it fails when the far end is still talking by then.
	StepWaitSilence StepKind = "wait:silence"
	// StepWaitHangup waits until the far end hangs up, at most Duration; it fails when the
	// call is still up by then.
	StepWaitHangup StepKind = "wait:hangup"
	// StepKeys presses Digits as RFC 4733 telephone events.
	StepKeys StepKind = "keys"
	// StepListen listens for Duration and fails when no speech was heard in that time.
	StepListen StepKind = "listen"
	// StepHangup hangs up; the script ends there.
	StepHangup StepKind = "hangup"
)

// SilenceGap is how long the far end must be quiet for wait:silence to end.
const SilenceGap = 600 * time.Millisecond

// Step is one parsed step of a Script.
type Step struct {
	Kind     StepKind      `json:"kind"`
	Duration time.Duration `json:"duration,omitempty"`
	Digits   string        `json:"digits,omitempty"`
}

// String returns the step as it is written in a script.
func (s Step) String() string {
	switch s.Kind {
	case StepKeys:
		return "keys " + s.Digits
	case StepHangup:
		return "hangup"
	}
	return string(s.Kind) + " " + s.Duration.String()
}

// ExpectsAudio reports whether the step fails unless the far end is heard.
func (s Step) ExpectsAudio() bool {
	return s.Kind == StepWaitPrompt || s.Kind == StepListen
}

// Script is the parsed form of a call script: what the phone does once the call is
// answered, one step after another.
type Script struct {
	Steps []Step `json:"steps"`
}

// String returns the script in its written form.
func (s Script) String() string {
	parts := make([]string, len(s.Steps))
	for i, st := range s.Steps {
		parts[i] = st.String()
	}
	return strings.Join(parts, "; ")
}

// Duration returns the longest the script's steps can take, not counting the time to send
// digits.
func (s Script) Duration() time.Duration {
	var d time.Duration
	for _, st := range s.Steps {
		d += st.Duration
	}
	return d
}

// Digits returns how many digits the script presses.
func (s Script) Digits() int {
	n := 0
	for _, st := range s.Steps {
		n += len(st.Digits)
	}
	return n
}

// ParseScript parses a call script: steps separated by ';' or new lines, each one of
//
//	wait D          wait D, expecting nothing
//	wait:prompt D   wait until the far end speaks, at most D (fails if it does not)
//	wait:silence D  wait until the far end has been quiet for 600 ms, at most D
//	wait:hangup D   wait until the far end hangs up, at most D
//	keys DIGITS     press 0-9 * # A-D as RFC 4733 telephone events
//	listen D        listen for D; fails unless speech is heard
//	hangup          hang up (the script ends here)
//
// D is a Go duration ("2s", "1m30s"). A script that does not end with hangup hangs up after
// its last step.
func ParseScript(text string) (Script, error) {
	var s Script
	var total time.Duration
	fields := strings.FieldsFunc(text, func(r rune) bool { return r == ';' || r == '\n' })
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" || strings.HasPrefix(f, "#") {
			continue
		}
		n := len(s.Steps) + 1
		if n > MaxSteps {
			return Script{}, fmt.Errorf("%w: more than %d steps", ErrBadScript, MaxSteps)
		}
		if len(s.Steps) > 0 && s.Steps[len(s.Steps)-1].Kind == StepHangup {
			return Script{}, fmt.Errorf("%w: step %d %q comes after hangup", ErrBadScript, n, f)
		}
		st, err := parseStep(f)
		if err != nil {
			return Script{}, fmt.Errorf("%w: step %d %q: %v", ErrBadScript, n, f, err)
		}
		total += st.Duration
		if total > MaxScriptDuration {
			return Script{}, fmt.Errorf("%w: the steps last more than %s", ErrBadScript, MaxScriptDuration)
		}
		s.Steps = append(s.Steps, st)
	}
	if len(s.Steps) == 0 {
		return Script{}, fmt.Errorf("%w: no steps", ErrBadScript)
	}
	return s, nil
}

func parseStep(f string) (Step, error) {
	words := strings.Fields(f)
	kind := StepKind(strings.ToLower(words[0]))
	args := words[1:]
	switch kind {
	case StepHangup:
		if len(args) != 0 {
			return Step{}, errors.New("hangup takes nothing")
		}
		return Step{Kind: kind}, nil
	case StepKeys:
		if len(args) != 1 {
			return Step{}, errors.New("want keys DIGITS, e.g. keys 1 or keys 440604#")
		}
		digits := strings.ToUpper(args[0])
		if len(digits) > MaxDigits {
			return Step{}, fmt.Errorf("more than %d digits", MaxDigits)
		}
		for _, r := range args[0] {
			if _, ok := eventCode(unicode.ToUpper(r)); !ok {
				return Step{}, fmt.Errorf("%q is not a DTMF digit (0-9 * # A-D)", r)
			}
		}
		return Step{Kind: kind, Digits: digits}, nil
	case StepWait, StepWaitPrompt, StepWaitSilence, StepWaitHangup, StepListen:
		if len(args) != 1 {
			return Step{}, fmt.Errorf("want %s DURATION, e.g. %s 2s", kind, kind)
		}
		d, err := time.ParseDuration(args[0])
		if err != nil {
			return Step{}, fmt.Errorf("%q is not a duration such as 2s or 500ms", args[0])
		}
		if d <= 0 || d > MaxStepDuration {
			return Step{}, fmt.Errorf("duration must be more than 0 and at most %s", MaxStepDuration)
		}
		return Step{Kind: kind, Duration: d}, nil
	}
	return Step{}, fmt.Errorf("unknown step %q (want wait, wait:prompt, wait:silence, wait:hangup, keys, listen or hangup)", words[0])
}
