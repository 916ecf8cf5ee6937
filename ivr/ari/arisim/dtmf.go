package arisim

import (
	"strings"
	"time"
)

// Asterisk's DTMF defaults: 100 ms tones, 100 ms between them; a comma
// is a 500 ms pause.
const (
	dtmfMinDuration = 100 * time.Millisecond
	dtmfDefBetween  = 100 * time.Millisecond
	dtmfPause       = 500 * time.Millisecond
)

func validDigit(r rune) bool {
	return (r >= '0' && r <= '9') || strings.ContainsRune("*#ABCDabcd", r)
}

// sendDTMF emits digits from ch: each digit is reported on the receiving
// side when it ends. Requests on one channel queue behind each other.
func (s *Sim) sendDTMF(from *channel, digits string, before, between, dur time.Duration, deliver func(d string, dur time.Duration)) {
	if dur < dtmfMinDuration {
		dur = dtmfMinDuration
	}
	if between < 0 {
		between = 0
	}
	now := s.now()
	offset := before
	if from.dtmfFree.After(now) {
		offset += time.Duration(float64(from.dtmfFree.Sub(now)) * s.speed)
	}
	for _, r := range digits {
		if r == ',' {
			offset += dtmfPause
			continue
		}
		if !validDigit(r) {
			continue
		}
		offset += between + dur
		d := strings.ToUpper(string(r))
		s.after(offset, func() {
			if !from.hungup {
				deliver(d, dur)
			}
		})
	}
	from.dtmfFree = now.Add(s.scale(offset + between))
}

// dtmfFrom is what a channel's outgoing DTMF reaches: the far Local
// half, or for a phone channel the phone itself.
func (s *Sim) dtmfFrom(ch *channel) func(string, time.Duration) {
	return func(d string, dur time.Duration) {
		if p := ch.peer; p != nil {
			s.receiveDTMF(p, d, dur, true)
			return
		}
		s.callEvent(ch, HeardEvent{Type: "dtmf", Digit: d})
	}
}

// receiveDTMF reports a digit received on ch and passes it on to the
// other members of ch's bridge.
func (s *Sim) receiveDTMF(ch *channel, d string, dur time.Duration, forward bool) {
	if ch.hungup {
		return
	}
	s.emitChan(ch, &ev{typ: "ChannelDtmfReceived", body: []kv{{"digit", d},
		{"duration_ms", int(dur / time.Millisecond)}, {"channel", ch.json()}}})
	s.callEvent(ch, HeardEvent{Type: "dtmf", Digit: d})
	s.recordingDTMF(ch, d)
	if !forward || ch.bridge == nil {
		return
	}
	for _, m := range ch.bridge.members {
		if m == ch {
			continue
		}
		if m.peer != nil {
			s.receiveDTMF(m.peer, d, dur, false)
		} else {
			s.callEvent(m, HeardEvent{Type: "dtmf", Digit: d})
		}
	}
}

func init() {
	handle("POST", "channels/{channelId}/dtmf", withStasis(func(s *Sim, ch *channel, r *req) resp {
		digits := r.p.get("dtmf")
		if digits == "" {
			return fail(errDTMFRequired)
		}
		ms := func(k string, def int) time.Duration {
			return time.Duration(r.p.intParam(k, def)) * time.Millisecond
		}
		s.sendDTMF(ch, digits, ms("before", 0), ms("between", 100), ms("duration", 100), s.dtmfFrom(ch))
		return noContent()
	}))
}
