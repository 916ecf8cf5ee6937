package load

import (
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Summary is what a run's calls got, added up.
type Summary struct {
	Attempted int
	Answered  int
	OK        int
	// Failed counts the calls that failed, by outcome ("486 Busy Here", "no audio", ...).
	Failed map[string]int
	// AnswerP50 and AnswerP99 are answer times over the answered calls.
	AnswerP50, AnswerP99 time.Duration
	DigitsSent           int
	// HeardAudio counts the answered calls that heard any speech; SpeechMean and SpeechMin
	// are the seconds of speech each heard.
	HeardAudio           int
	SpeechMean           float64
	SpeechMin            float64
	PacketsRecv          int64
	PacketsLost          int64
	LossPercent          float64
	JitterMeanMs         float64
	JitterP99Ms          float64
	MaxJitterMs          float64
	PacketsSent          int64
	DigitsPerCallPlanned int
}

// Summarize adds up the calls of a run.
func (r *Result) Summarize() Summary {
	s := Summary{Failed: map[string]int{}, DigitsPerCallPlanned: r.Plan.Script.Digits()}
	var answer []time.Duration
	var jitter []float64
	var speech float64
	var expected int64
	s.SpeechMin = -1
	for _, c := range r.Calls {
		rep := c.Report
		s.Attempted++
		if rep.OK {
			s.OK++
		} else {
			s.Failed[rep.Outcome]++
		}
		s.DigitsSent += len(rep.DigitsSent)
		if !rep.Answered {
			continue
		}
		s.Answered++
		answer = append(answer, time.Duration(rep.AnswerTime))
		if m := rep.Media; m != nil {
			if m.SpeechSeconds > 0 {
				s.HeardAudio++
			}
			speech += m.SpeechSeconds
			if s.SpeechMin < 0 || m.SpeechSeconds < s.SpeechMin {
				s.SpeechMin = m.SpeechSeconds
			}
			s.PacketsRecv += m.PacketsRecv
			s.PacketsSent += m.PacketsSent
			s.PacketsLost += m.PacketsLost
			expected += m.PacketsRecv + m.PacketsLost
			jitter = append(jitter, m.JitterMs)
			s.MaxJitterMs = max(s.MaxJitterMs, m.MaxJitterMs)
		}
	}
	if s.SpeechMin < 0 {
		s.SpeechMin = 0
	}
	if s.Answered > 0 {
		s.SpeechMean = speech / float64(s.Answered)
	}
	if expected > 0 {
		s.LossPercent = float64(s.PacketsLost) / float64(expected) * 100
	}
	slices.Sort(answer)
	s.AnswerP50, s.AnswerP99 = percentile(answer, 50), percentile(answer, 99)
	slices.Sort(jitter)
	s.JitterP99Ms = percentile(jitter, 99)
	for _, j := range jitter {
		s.JitterMeanMs += j / float64(len(jitter))
	}
	return s
}

// percentile returns the p-th percentile of sorted values (nearest rank).
func percentile[T any](sorted []T, p int) T {
	var zero T
	if len(sorted) == 0 {
		return zero
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

// WriteTable prints the run as a table for people.
func (r *Result) WriteTable(w io.Writer) error {
	s := r.Summarize()
	p := r.Plan
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", k, fmt.Sprintf(format, args...)) }
	row("target", "%s", p.Target)
	row("script", "%s (held %s)", p.Script, p.Hold)
	row("calls", "%d at %g/s; peak %d at once; run took %s", p.Calls, p.Rate, r.PeakCalls, r.Elapsed.Round(time.Millisecond))
	row("attempted", "%d", s.Attempted)
	row("answered", "%d", s.Answered)
	row("completed (script ran, audio heard)", "%d", s.OK)
	reasons := make([]string, 0, len(s.Failed))
	for k := range s.Failed {
		reasons = append(reasons, k)
	}
	sort.Strings(reasons)
	if len(reasons) == 0 {
		row("failed", "0")
	}
	for _, k := range reasons {
		row("failed: "+k, "%d", s.Failed[k])
	}
	row("answer time p50 / p99", "%s / %s", ms(s.AnswerP50), ms(s.AnswerP99))
	row("DTMF digits sent", "%d (%d planned a call)", s.DigitsSent, s.DigitsPerCallPlanned)
	row("calls that heard audio", "%d of %d answered", s.HeardAudio, s.Answered)
	row("speech heard a call", "mean %.2f s, min %.2f s", s.SpeechMean, s.SpeechMin)
	row("RTP sent / received", "%d / %d packets", s.PacketsSent, s.PacketsRecv)
	row("RTP loss", "%d packets (%.3f%%)", s.PacketsLost, s.LossPercent)
	row("RTP jitter", "mean %.2f ms, p99 %.2f ms, max %.2f ms", s.JitterMeanMs, s.JitterP99Ms, s.MaxJitterMs)
	u := r.Usage
	row("generator CPU", "%s (%s a call)", u.CPU.Round(time.Millisecond), u.CPUPerCall.Round(10*time.Microsecond))
	row("generator memory", "peak RSS %s (%s before), %s a concurrent call", mib(u.PeakRSS), mib(u.BaseRSS), kib(u.RSSPerCall))
	row("generator heap", "peak %s (%s before), %s a concurrent call; %d goroutines at peak",
		mib(int64(u.PeakHeap)), mib(int64(u.BaseHeap)), kib(int64(u.HeapPerCall)), u.PeakGoroutine)
	return tw.Flush()
}

// csvHeader names the columns of WriteCSV.
var csvHeader = []string{"call", "start_ms", "call_id", "outcome", "answered", "answer_ms", "digits_sent",
	"speech_s", "packets_sent", "packets_received", "packets_lost", "jitter_ms", "duration_ms", "failure"}

// WriteCSV writes one row per call.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, c := range r.Calls {
		rep := c.Report
		var speech, jitter string
		var sent, recv, lost int64
		if m := rep.Media; m != nil {
			speech, jitter = ftoa(m.SpeechSeconds), ftoa(m.JitterMs)
			sent, recv, lost = m.PacketsSent, m.PacketsRecv, m.PacketsLost
		}
		answer := ""
		if rep.Answered {
			answer = ftoa(float64(time.Duration(rep.AnswerTime).Microseconds()) / 1000)
		}
		err := cw.Write([]string{strconv.Itoa(c.Index + 1), strconv.FormatInt(c.Start.Milliseconds(), 10), rep.CallID, rep.Outcome,
			strconv.FormatBool(rep.Answered), answer, rep.DigitsSent, speech, i64(sent), i64(recv), i64(lost), jitter,
			strconv.FormatInt(time.Duration(rep.Duration).Milliseconds(), 10), strings.ReplaceAll(rep.Failure, "\n", " ")})
		if err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
func i64(n int64) string    { return strconv.FormatInt(n, 10) }

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
func kib(b int64) string { return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10)) }
