package sipua

import (
	"encoding/binary"
	"time"
)

// Telephone events (RFC 4733, which replaced RFC 2833): a key press is a run of RTP packets
// that all carry the event's start timestamp, a growing duration, and an end flag on the last
// three.

// eventCodes are the RFC 4733 event codes of the DTMF keys.
const eventKeys = "0123456789*#ABCD"

// eventCode returns the telephone-event code of a DTMF key.
func eventCode(r rune) (byte, bool) {
	for i, k := range eventKeys {
		if k == r {
			return byte(i), true
		}
	}
	return 0, false
}

// DigitDuration is how long each key is held: Asterisk reports the digits it receives from a
// phone like this one with duration_ms 100.
const DigitDuration = 100 * time.Millisecond

// digitGap is the audio sent between two keys of one keys step, so that each event starts
// at a later timestamp than the one before.
const digitGap = 100 * time.Millisecond

// endRepeats is how many times the end of an event is sent (RFC 4733 section 2.5.1.4).
const endRepeats = 3

// eventPayload encodes one telephone-event packet's payload into b (4 bytes).
func eventPayload(b []byte, code byte, end bool, duration uint16) []byte {
	b = b[:4]
	b[0] = code
	b[1] = 10 // volume: -10 dBm0
	if end {
		b[1] |= 0x80
	}
	binary.BigEndian.PutUint16(b[2:], duration)
	return b
}

// keyPress is the packet plan of one key: the durations (in samples) of its packets, sent
// one per 20 ms frame; the last endRepeats packets carry the end flag.
func keyPress(frames int, frameSamples int) []uint16 {
	d := make([]uint16, 0, frames+endRepeats-1)
	for i := 1; i < frames; i++ {
		d = append(d, uint16(i*frameSamples))
	}
	for range endRepeats {
		d = append(d, uint16(frames*frameSamples))
	}
	return d
}

// ReceivedDigit is a key the far end pressed, as decoded from its telephone events.
type ReceivedDigit struct {
	Digit string `json:"digit"`
	// At is when the key's first packet arrived, from the answer.
	At Millis `json:"at_ms"`
	// Duration is the key's length as the end packet says it.
	Duration Millis `json:"duration_ms"`
}

// eventDecoder turns telephone-event packets into digits: an event is known by its RTP
// timestamp and counted once, on its first end packet or when a later event begins before
// its end arrived.
type eventDecoder struct {
	open      bool
	ts        uint32
	code      byte
	at        time.Duration
	duration  uint16
	lastEnded uint32
	anyEnded  bool
}

// packet decodes one event packet arriving at at and calls emit for each digit it finishes.
func (d *eventDecoder) packet(payload []byte, ts uint32, at time.Duration, rate int, emit func(ReceivedDigit)) {
	if len(payload) < 4 || int(payload[0]) >= len(eventKeys) {
		return
	}
	code, end, dur := payload[0], payload[1]&0x80 != 0, binary.BigEndian.Uint16(payload[2:])
	if d.anyEnded && ts == d.lastEnded {
		return // a repeated end packet
	}
	if d.open && ts != d.ts {
		emit(d.digit(rate)) // the previous event lost its end packets
		d.open = false
	}
	if !d.open {
		d.open, d.ts, d.code, d.at = true, ts, code, at
	}
	d.duration = dur
	if end {
		d.open, d.lastEnded, d.anyEnded = false, ts, true
		emit(d.digit(rate))
	}
}

func (d *eventDecoder) digit(rate int) ReceivedDigit {
	return ReceivedDigit{
		Digit:    string(eventKeys[d.code]),
		At:       Millis(d.at),
		Duration: Millis(time.Duration(d.duration) * time.Second / time.Duration(rate)),
	}
}
