package sipua

import (
	"context"
	"math"
	"time"

	"github.com/pion/rtp"
)

// SpeechLevel is the loudness, in dBFS, above which a 20 ms frame counts as speech: prompts
// are recorded around -20 dBFS, line noise and comfort noise stay below -50.
const SpeechLevel = -45.0

// speechRun is how many loud frames in a row are heard as speech, so a click is not.
const speechRun = 3

// silentLevel stands for the loudness of digital silence, which has no logarithm.
const silentLevel = -96.0

// maxFill is the longest gap in the far end's audio that a recording fills with silence.
const maxFill = 30 * SampleRate

// Second is what arrived during one second of a call, counted from the answer.
type Second struct {
	At      int     `json:"at_s"`
	Packets int     `json:"packets"`
	Level   float64 `json:"level_dbfs"`
	Speech  bool    `json:"speech"`
}

// receiveState is what the receiver has learned; Stream.mu guards it.
type receiveState struct {
	ssrc     uint32
	have     bool
	base     int64 // extended sequence number of the source's first packet
	max      int64 // highest extended sequence number seen
	received int64 // packets of the current source
	expected int64 // of earlier sources
	lost     int64 // of earlier sources
	packets  int64 // every packet of every source

	firstArrival time.Time
	firstTS      uint32
	transit      float64
	haveTransit  bool
	jitter       float64 // RFC 3550 interarrival jitter, in samples
	maxJitter    float64

	nextTS      uint32
	haveTS      bool
	lastArrival time.Time

	run           int
	lastSpeech    time.Time
	speechSamples int64
	seconds       []secondAcc

	events eventDecoder
	digits []ReceivedDigit
}

type secondAcc struct {
	packets int
	sumSq   float64
	samples int
	speech  int // samples in speech
}

// count notes a packet of any payload type: sources and sequence numbers for the loss.
func (r *receiveState) count(h *rtp.Header) {
	r.packets++
	if !r.have || h.SSRC != r.ssrc {
		if r.have {
			r.expected += r.max - r.base + 1
			r.lost += max(0, r.max-r.base+1-r.received)
		}
		r.have, r.ssrc, r.received = true, h.SSRC, 0
		r.base, r.max = int64(h.SequenceNumber), int64(h.SequenceNumber)
		r.haveTransit, r.haveTS = false, false
	}
	r.received++
	if d := int64(int16(h.SequenceNumber - uint16(r.max))); d > 0 {
		r.max += d
	}
}

// audio notes an audio packet and its decoded samples, arriving at now (at from the answer);
// it returns how many samples of silence a recording needs before these.
func (r *receiveState) audio(h *rtp.Header, pcm []int16, now time.Time, at time.Duration) int {
	r.count(h)

	// RFC 3550 A.8: the transit time's variation, in timestamp units. A marker bit starts a
	// talkspurt after a pause in which Asterisk sent nothing: the transit is measured afresh.
	if !r.haveTransit || h.Marker {
		r.firstArrival, r.firstTS, r.haveTransit, r.transit = now, h.Timestamp, true, 0
	} else {
		arrival := now.Sub(r.firstArrival).Seconds() * SampleRate
		transit := arrival - float64(int32(h.Timestamp-r.firstTS))
		d := math.Abs(transit - r.transit)
		r.transit = transit
		r.jitter += (d - r.jitter) / 16
		r.maxJitter = max(r.maxJitter, r.jitter)
	}

	// A recording keeps to the clock: a gap in the timestamps, or in the arrivals (a far end
	// that sends nothing between prompts), is filled with silence.
	fill := 0
	if r.haveTS {
		if d := int32(h.Timestamp - r.nextTS); d > 0 {
			fill = int(d)
		}
		if gap := now.Sub(r.lastArrival); gap > 10*frame {
			fill = max(fill, int((gap-frame)*SampleRate/time.Second))
		}
		fill = min(fill, maxFill)
	}
	r.nextTS, r.haveTS, r.lastArrival = h.Timestamp+uint32(len(pcm)), true, now

	var sumSq float64
	for _, v := range pcm {
		sumSq += float64(v) * float64(v)
	}
	loud := len(pcm) > 0 && level(sumSq, len(pcm)) > SpeechLevel
	speech := 0
	if loud {
		r.run++
		switch {
		case r.run == speechRun:
			speech = speechRun * len(pcm) // the run's first frames count from here
			r.lastSpeech = now
		case r.run > speechRun:
			speech = len(pcm)
			r.lastSpeech = now
		}
	} else {
		r.run = 0
	}
	r.speechSamples += int64(speech)

	i := int(at / time.Second)
	if i >= 0 && i < int(MaxScriptDuration/time.Second)+600 {
		for len(r.seconds) <= i {
			r.seconds = append(r.seconds, secondAcc{})
		}
		s := &r.seconds[i]
		s.packets++
		s.sumSq += sumSq
		s.samples += len(pcm)
		s.speech += speech
	}
	return fill
}

// level returns the loudness of samples whose squares add up to sumSq, in dBFS.
func level(sumSq float64, n int) float64 {
	if n == 0 || sumSq == 0 {
		return silentLevel
	}
	rms := math.Sqrt(sumSq / float64(n))
	return max(silentLevel, 20*math.Log10(rms/32768))
}

// secondsReport turns the per-second sums into Seconds; a second is speech when at least
// 100 ms of it was.
func (r *receiveState) secondsReport() []Second {
	out := make([]Second, len(r.seconds))
	for i, s := range r.seconds {
		out[i] = Second{At: i, Packets: s.packets, Level: math.Round(level(s.sumSq, s.samples)*10) / 10,
			Speech: s.speech >= SampleRate/10}
	}
	return out
}

// lossJitter returns packets expected and lost over every source, and the jitter in ms.
func (r *receiveState) lossJitter() (expected, lost int64, jitter, maxJitter float64) {
	expected, lost = r.expected, r.lost
	if r.have {
		expected += r.max - r.base + 1
		lost += max(0, r.max-r.base+1-r.received)
	}
	return expected, lost, r.jitter / (SampleRate / 1000), r.maxJitter / (SampleRate / 1000)
}

// heard is a snapshot of the hearing, for the script's waits.
type heard struct {
	lastSpeech    time.Time
	speechSamples int64
}

func (s *Stream) heard() heard {
	s.mu.Lock()
	defer s.mu.Unlock()
	return heard{lastSpeech: s.recv.lastSpeech, speechSamples: s.recv.speechSamples}
}

// waitUntil waits until cond holds of what was heard, re-checking on each packet and at
// the time cond asks for; it returns false when deadline, ctx or the media end first. Only
// one goroutine may wait on a stream at a time.
func (s *Stream) waitUntil(ctx context.Context, deadline time.Time, cond func(h heard, now time.Time) (bool, time.Time)) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		now := time.Now()
		ok, recheck := cond(s.heard(), now)
		if ok {
			return true
		}
		if !now.Before(deadline) {
			return false
		}
		next := deadline
		if !recheck.IsZero() && recheck.Before(next) {
			next = recheck
		}
		timer.Reset(time.Until(next))
		select {
		case <-s.changed:
		case <-timer.C:
		case <-s.stopped:
			ok, _ := cond(s.heard(), time.Now())
			return ok
		case <-ctx.Done():
			return false
		}
	}
}

// MediaStats is what a stream sent and received.
type MediaStats struct {
	Codec          string          `json:"codec"`
	TelephoneEvent int             `json:"telephone_event_pt,omitempty"`
	LocalAddr      string          `json:"local_rtp"`
	RemoteAddr     string          `json:"remote_rtp"`
	PacketsSent    int64           `json:"packets_sent"`
	PacketsRecv    int64           `json:"packets_received"`
	PacketsLost    int64           `json:"packets_lost"`
	LossPercent    float64         `json:"loss_percent"`
	JitterMs       float64         `json:"jitter_ms"`
	MaxJitterMs    float64         `json:"max_jitter_ms"`
	SpeechSeconds  float64         `json:"speech_seconds"`
	Seconds        []Second        `json:"seconds"`
	DigitsReceived []ReceivedDigit `json:"digits_received,omitempty"`
}

// Stats returns what the stream has sent and received so far.
func (s *Stream) Stats() MediaStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	expected, lost, jitter, maxJitter := s.recv.lossJitter()
	st := MediaStats{
		Codec:          s.codec,
		LocalAddr:      s.sess.Sess.Laddr.String(),
		RemoteAddr:     s.sess.Sess.Raddr.String(),
		PacketsSent:    s.sent,
		PacketsRecv:    s.recv.packets,
		PacketsLost:    lost,
		JitterMs:       math.Round(jitter*100) / 100,
		MaxJitterMs:    math.Round(maxJitter*100) / 100,
		SpeechSeconds:  math.Round(float64(s.recv.speechSamples)/SampleRate*100) / 100,
		Seconds:        s.recv.secondsReport(),
		DigitsReceived: append([]ReceivedDigit(nil), s.recv.digits...),
	}
	if s.hasEvent {
		st.TelephoneEvent = int(s.eventPT)
	}
	if expected > 0 {
		st.LossPercent = math.Round(float64(lost)/float64(expected)*10000) / 100
	}
	return st
}
