package sipua

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Millis is a duration that JSON shows in milliseconds.
type Millis time.Duration

// MarshalJSON writes the duration as a number of milliseconds.
func (m Millis) MarshalJSON() ([]byte, error) {
	return strconv.AppendFloat(nil, float64(time.Duration(m).Microseconds())/1000, 'f', -1, 64), nil
}

// String shows the duration in seconds, to the millisecond.
func (m Millis) String() string {
	return strconv.FormatFloat(time.Duration(m).Seconds(), 'f', 3, 64) + "s"
}

// Outcomes of a call: OutcomeOK, or why it failed. A SIP rejection's outcome is its status
// line instead, e.g. "486 Busy Here".
const (
	OutcomeOK           = "ok"
	OutcomeNoAnswer     = "no answer"          // ringing until the answer timeout
	OutcomeNoResponse   = "no response"        // not a single SIP response
	OutcomeUnreachable  = "unreachable"        // the name does not resolve, or the connection is refused
	OutcomeCodec        = "codec refused"      // no common audio codec
	OutcomeNoDigits     = "no telephone-event" // keys to press but RFC 4733 refused
	OutcomeNoAudio      = "no audio"           // nothing heard where the script expects it
	OutcomeRemoteHangup = "remote hangup"      // the far end hung up before the script's end
	OutcomeInterrupted  = "interrupted"        // the phone was told to stop
	OutcomeError        = "error"
)

// Response is one SIP response to the INVITE.
type Response struct {
	At     Millis `json:"at_ms"`
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// StepResult is how one script step went.
type StepResult struct {
	Step string `json:"step"`
	At   Millis `json:"at_ms"`
	Took Millis `json:"took_ms"`
	OK   bool   `json:"ok"`
	Note string `json:"note"`
}

// Report is what happened on a call, in order; times are counted from the INVITE, except the
// seconds of Media, which count from the answer.
type Report struct {
	Target     string       `json:"target"`
	From       string       `json:"from"`
	Transport  string       `json:"transport"`
	Script     string       `json:"script"`
	CallID     string       `json:"call_id,omitempty"`
	Started    time.Time    `json:"started"`
	Responses  []Response   `json:"responses"`
	Answered   bool         `json:"answered"`
	AnswerTime Millis       `json:"answer_ms,omitempty"`
	Media      *MediaStats  `json:"media,omitempty"`
	Steps      []StepResult `json:"steps"`
	DigitsSent string       `json:"digits_sent"`
	Ended      string       `json:"ended"`
	Duration   Millis       `json:"duration_ms"`
	OK         bool         `json:"ok"`
	Outcome    string       `json:"outcome"`
	Failure    string       `json:"failure,omitempty"`
}

// fail records the first failure only: later ones are its consequences.
func (r *Report) fail(outcome, format string, args ...any) {
	if r.Outcome != "" && r.Outcome != OutcomeOK {
		return
	}
	r.Outcome, r.Failure, r.OK = outcome, fmt.Sprintf(format, args...), false
}

// WriteText prints the report as a timeline for people.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "call %s from %s over %s\n", r.Target, r.From, r.Transport)
	fmt.Fprintf(&b, "script: %s\n", r.Script)
	line := func(at Millis, format string, args ...any) {
		fmt.Fprintf(&b, "  %9s  %s\n", "+"+at.String(), fmt.Sprintf(format, args...))
	}
	line(0, "INVITE sent")
	for _, res := range r.Responses {
		note := ""
		if res.Code >= 200 && res.Code < 300 && r.Answered {
			note = fmt.Sprintf(": answered after %s", r.AnswerTime)
		}
		line(res.At, "%d %s%s", res.Code, res.Reason, note)
	}
	if m := r.Media; m != nil {
		ev := "no telephone-event"
		if m.TelephoneEvent != 0 {
			ev = fmt.Sprintf("telephone-event/8000 payload %d", m.TelephoneEvent)
		}
		fmt.Fprintf(&b, "  %9s  codec %s, %s; RTP %s -> %s\n", "", m.Codec, ev, m.LocalAddr, m.RemoteAddr)
	}
	for i, s := range r.Steps {
		mark := "ok"
		if !s.OK {
			mark = "FAILED"
		}
		line(s.At, "step %d %s: %s (%s)", i+1, s.Step, s.Note, mark)
	}
	line(r.Duration, "ended: %s", r.Ended)
	if m := r.Media; m != nil {
		fmt.Fprintf(&b, "\n  second  packets     level  heard\n")
		for _, s := range m.Seconds {
			heard := "silence"
			if s.Speech {
				heard = "speech"
			} else if s.Packets == 0 {
				heard = "no RTP"
			}
			fmt.Fprintf(&b, "  %6d  %7d  %5.1f dBFS  %s\n", s.At, s.Packets, s.Level, heard)
		}
		fmt.Fprintf(&b, "\nRTP: sent %d, received %d, lost %d (%.2f%%), jitter %.2f ms (max %.2f ms); speech heard %.2f s\n",
			m.PacketsSent, m.PacketsRecv, m.PacketsLost, m.LossPercent, m.JitterMs, m.MaxJitterMs, m.SpeechSeconds)
		if len(m.DigitsReceived) > 0 {
			var ds []string
			for _, d := range m.DigitsReceived {
				ds = append(ds, d.Digit)
			}
			fmt.Fprintf(&b, "digits the far end pressed: %s\n", strings.Join(ds, ""))
		}
	}
	fmt.Fprintf(&b, "digits sent: %s\n", orNone(r.DigitsSent))
	if r.OK {
		fmt.Fprintf(&b, "result: OK\n")
	} else {
		fmt.Fprintf(&b, "result: FAILED (%s): %s\n", r.Outcome, r.Failure)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
