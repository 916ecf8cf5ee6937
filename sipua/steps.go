package sipua

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// runScript runs the script's steps in order and stops at the first that fails.
func (c *call) runScript(ctx context.Context) {
	for i, st := range c.script.Steps {
		res := StepResult{Step: st.String(), At: c.since()}
		start := time.Now()
		ok, outcome, note := c.step(ctx, st, start)
		res.Took, res.OK, res.Note = Millis(time.Since(start)), ok, note
		c.rep.Steps = append(c.rep.Steps, res)
		if !ok {
			c.rep.fail(outcome, "step %d (%s): %s", i+1, st, note)
			return
		}
		if st.Kind == StepHangup || st.Kind == StepWaitHangup {
			return
		}
	}
}

// ended reports whether the call is over: the far end hung up or the media stopped.
func (c *call) ended() bool {
	select {
	case <-c.dialog.Context().Done():
		return true
	case <-c.stream.Ended():
		return true
	default:
		return false
	}
}

// pause waits d, and returns false if the call ends or ctx is done first.
func (c *call) pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.dialog.Context().Done():
	case <-c.stream.Ended():
	case <-ctx.Done():
	}
	return false
}

// interrupted explains why a step could not finish: the far end hung up or the phone was
// stopped.
func (c *call) interrupted(ctx context.Context, what string) (bool, string, string) {
	if ctx.Err() != nil {
		return false, OutcomeInterrupted, what + ": interrupted"
	}
	return false, OutcomeRemoteHangup, what + ": the far end hung up"
}

func (c *call) step(ctx context.Context, st Step, start time.Time) (ok bool, outcome, note string) {
	deadline := start.Add(st.Duration)
	switch st.Kind {
	case StepWait:
		if !c.pause(ctx, st.Duration) {
			return c.interrupted(ctx, "while waiting")
		}
		return true, "", "waited"

	case StepWaitPrompt:
		var at time.Time
		heard := c.stream.waitUntil(ctx, deadline, func(h heard, _ time.Time) (bool, time.Time) {
			at = h.lastSpeech
			return !h.lastSpeech.Before(start), time.Time{}
		})
		if heard {
			// lastSpeech is the end of the speechRun frames that made it speech.
			onset := max(0, at.Sub(start)-time.Duration(speechRun)*frame)
			return true, "", fmt.Sprintf("speech heard after %.2fs", onset.Seconds())
		}
		if c.ended() || ctx.Err() != nil {
			return c.interrupted(ctx, "before any speech was heard")
		}
		return false, OutcomeNoAudio, fmt.Sprintf("no speech heard within %s", st.Duration)

	case StepWaitSilence:
		quiet := c.stream.waitUntil(ctx, deadline, func(h heard, now time.Time) (bool, time.Time) {
			from := start
			if h.lastSpeech.After(from) {
				from = h.lastSpeech
			}
			return now.Sub(from) >= SilenceGap, from.Add(SilenceGap)
		})
		if quiet && !c.ended() {
			return true, "", fmt.Sprintf("quiet after %.2fs", time.Since(start).Seconds())
		}
		if c.ended() || ctx.Err() != nil {
			return c.interrupted(ctx, "while waiting for silence")
		}
		return false, OutcomeNoAudio, fmt.Sprintf("the far end still speaking after %s", st.Duration)

	case StepWaitHangup:
		t := time.NewTimer(st.Duration)
		defer t.Stop()
		select {
		case <-c.dialog.Context().Done():
			return true, "", fmt.Sprintf("the far end hung up after %.2fs", time.Since(start).Seconds())
		case <-t.C:
			return false, OutcomeNoAudio, fmt.Sprintf("the far end did not hang up within %s", st.Duration)
		case <-ctx.Done():
			return c.interrupted(ctx, "while waiting for the far end to hang up")
		}

	case StepKeys:
		if c.ended() {
			return c.interrupted(ctx, "before the keys")
		}
		err := c.stream.PressKeys(ctx, st.Digits)
		switch {
		case errors.Is(err, ErrNoTelephoneEvent):
			return false, OutcomeNoDigits, err.Error()
		case err != nil && (c.ended() || ctx.Err() != nil):
			return c.interrupted(ctx, "while pressing keys")
		case err != nil:
			return false, OutcomeError, err.Error()
		}
		c.rep.DigitsSent += st.Digits
		return true, "", fmt.Sprintf("sent %s as RFC 4733 events", st.Digits)

	case StepListen:
		before := c.stream.heard()
		full := c.pause(ctx, st.Duration)
		speech := time.Duration(c.stream.heard().speechSamples-before.speechSamples) * time.Second / SampleRate
		if !full {
			return c.interrupted(ctx, fmt.Sprintf("after %.2fs of listening", time.Since(start).Seconds()))
		}
		if speech <= 0 {
			return false, OutcomeNoAudio, fmt.Sprintf("no speech heard in %s", st.Duration)
		}
		return true, "", fmt.Sprintf("speech heard for %.2fs of %s", speech.Seconds(), st.Duration)

	case StepHangup:
		if c.ended() {
			return c.interrupted(ctx, "before the phone could hang up")
		}
		c.hangup()
		return true, "", "BYE sent"
	}
	return false, OutcomeError, "unknown step"
}
