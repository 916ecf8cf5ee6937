package sipua

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/pion/rtp"
	"github.com/zaf/g711"
)

// ErrNoTelephoneEvent is returned when keys are pressed on a call whose far end did not
// accept telephone-event/8000 in its SDP answer.
var ErrNoTelephoneEvent = errors.New("the far end did not accept telephone-event/8000 (RFC 4733 digits)")

// ErrStreamEnded is returned when keys are pressed after the call's media stopped.
var ErrStreamEnded = errors.New("the call's media has stopped")

// frame is the packet interval of every stream.
const frame = 20 * time.Millisecond

// frameSamples is how many samples one frame carries at 8000 Hz.
const frameSamples = SampleRate * 20 / 1000

// PCMWriter receives what the far end says, as 8 kHz 16-bit samples; *WAVWriter is one.
type PCMWriter interface {
	Write(pcm []int16) error
}

// StreamOptions says what a Stream sends and where what it hears goes.
type StreamOptions struct {
	// Audio is played once from the start of the call, then silence is sent.
	Audio []int16
	// Record, when set, receives the far end's audio, gaps filled with silence.
	Record PCMWriter
	// OnDigit, when set, is called for each key the far end presses.
	OnDigit func(ReceivedDigit)
	// Source, when set, supplies the voice after Audio, a frame of 160 samples (20 ms) at a
	// time: it fills frame and reports whether it did; silence is sent when it did not.
	// Called from the sender's goroutine, once per frame; it must not block.
	Source func(frame []int16) bool
}

// Stream carries one answered call's audio both ways over its RTP session: one goroutine
// sends a frame every 20 ms (the audio to play, else silence, or a key being pressed), another
// reads what arrives: audio is decoded, measured and recorded, telephone events are decoded
// into digits.
type Stream struct {
	sess     *media.RTPSession
	codec    string
	audioPT  uint8 // sent
	audioRx  uint8 // received
	alaw     bool
	eventPT  uint8
	eventRx  uint8
	hasEvent bool
	start    time.Time
	opts     StreamOptions

	keys    chan keyRequest
	changed chan struct{} // a packet arrived; for the one waiter
	stopped chan struct{} // the receiver has stopped
	senders sync.WaitGroup

	sourced []int16 // the frame Source fills; the sender's own

	mu       sync.Mutex
	audio    []int16
	audioPos int
	sent     int64
	recv     receiveState
}

// keyRequest asks the sender to press digits and says when they were sent.
type keyRequest struct {
	digits string
	done   chan error
}

// NewStream prepares the media of an answered call; Start runs it.
func NewStream(med *diago.DialogMedia, opts StreamOptions) (*Stream, error) {
	sess := med.RTPSession()
	if sess == nil {
		return nil, errors.New("the call has no RTP session")
	}
	s := &Stream{sess: sess, opts: opts, audio: opts.Audio,
		keys: make(chan keyRequest), changed: make(chan struct{}, 1), stopped: make(chan struct{})}
	found := false
	for _, c := range sess.Sess.CommonCodecs() {
		switch {
		case c.Matches(media.CodecTelephoneEvent8000):
			if !s.hasEvent {
				s.eventPT, s.eventRx, s.hasEvent = c.PayloadType, c.PayloadTypeRecv(), true
			}
		case !found && (c.Matches(media.CodecAudioUlaw) || c.Matches(media.CodecAudioAlaw)):
			s.audioPT, s.audioRx, found = c.PayloadType, c.PayloadTypeRecv(), true
			s.alaw = c.Matches(media.CodecAudioAlaw)
			s.codec = strings.ToUpper(c.Name) + "/8000"
		}
	}
	if !found {
		return nil, fmt.Errorf("no G.711 codec was negotiated (%v)", sess.Sess.CommonCodecs())
	}
	// diago's packet writer keeps a 20 ms ticker that nothing here reads.
	if med.RTPPacketWriter != nil {
		med.RTPPacketWriter.ClockDisable()
	}
	return s, nil
}

// Codec returns the negotiated audio codec, e.g. "PCMU/8000".
func (s *Stream) Codec() string { return s.codec }

// TelephoneEvent returns the payload type of telephone-event/8000, and false when the far
// end did not accept it.
func (s *Stream) TelephoneEvent() (uint8, bool) { return s.eventPT, s.hasEvent }

// Start begins sending and receiving: the sender stops when ctx ends, the receiver when the
// media is closed.
func (s *Stream) Start(ctx context.Context) {
	s.start = time.Now()
	s.senders.Add(1)
	go func() {
		defer s.senders.Done()
		s.send(ctx)
	}()
	go func() {
		defer close(s.stopped)
		s.receive()
	}()
}

// Wait waits until the sender has stopped (ctx of Start ended) and the receiver too (the
// media was closed).
func (s *Stream) Wait() {
	s.senders.Wait()
	<-s.stopped
}

// Play replaces what is being sent by pcm, from its start; silence follows it.
func (s *Stream) Play(pcm []int16) {
	s.mu.Lock()
	s.audio, s.audioPos = pcm, 0
	s.mu.Unlock()
}

// PressKeys sends digits as telephone events, each held DigitDuration, with 100 ms of
// audio between two keys, and returns once the last end packet was sent.
func (s *Stream) PressKeys(ctx context.Context, digits string) error {
	if !s.hasEvent {
		return ErrNoTelephoneEvent
	}
	req := keyRequest{digits: digits, done: make(chan error, 1)}
	select {
	case s.keys <- req:
	case <-s.stopped:
		return ErrStreamEnded
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// send writes one packet every 20 ms until ctx ends or writing fails.
func (s *Stream) send(ctx context.Context) {
	var (
		pkt      = rtp.Packet{Header: rtp.Header{Version: 2, SSRC: rand.Uint32(), SequenceNumber: uint16(rand.Uint32())}}
		ts       = rand.Uint32()
		payload  = make([]byte, frameSamples)
		event    = make([]byte, 4)
		first    = true
		req      *keyRequest
		pending  string   // digits of req not pressed yet
		plan     []uint16 // durations of the packets of the key being pressed
		planned  int      // packets of plan sent
		code     byte
		gap      int // audio frames to send before the next key
		keyStart uint32
	)
	frames := int(DigitDuration / frame)
	ticker := time.NewTicker(frame)
	defer ticker.Stop()
	finish := func(err error) {
		if req != nil {
			req.done <- err
			req = nil
		}
	}
	// one sends the stream's next frame: a telephone-event packet while a key is pressed,
	// audio otherwise.
	one := func() error {
		if req == nil {
			select {
			case r := <-s.keys:
				req, pending = &r, r.digits
			default:
			}
		}
		if plan == nil && pending != "" && gap == 0 {
			code, _ = eventCode(rune(pending[0]))
			pending = pending[1:]
			plan, planned, keyStart = keyPress(frames, frameSamples), 0, ts
		}
		if plan != nil {
			end := planned >= len(plan)-endRepeats
			pkt.Marker, pkt.PayloadType, pkt.Timestamp = planned == 0, s.eventPT, keyStart
			pkt.Payload = eventPayload(event, code, end, plan[planned])
			planned++
			if planned == len(plan) {
				// The event took len(plan) frames of the stream's time.
				ts = keyStart + uint32(len(plan)*frameSamples)
				plan, gap = nil, int(digitGap/frame)
				if pending == "" {
					finish(nil)
				}
			}
		} else {
			s.nextAudio(payload)
			pkt.Marker, pkt.PayloadType, pkt.Timestamp = first, s.audioPT, ts
			pkt.Payload = payload
			ts += frameSamples
			first = false
			if gap > 0 {
				gap--
			}
		}
		if err := s.sess.WriteRTP(&pkt); err != nil {
			return fmt.Errorf("send RTP: %w", err)
		}
		pkt.SequenceNumber++
		s.mu.Lock()
		s.sent++
		s.mu.Unlock()
		return nil
	}
	// Frames follow the clock, not the ticks: a tick that comes late (a busy machine) is
	// made up by sending the frames that are due, up to maxBurst; beyond that the stream
	// skips ahead, as a phone that stalled would, so timestamps keep to the clock.
	const maxBurst = 5
	begin := time.Now()
	var done int64
	for {
		select {
		case <-ctx.Done():
			finish(ctx.Err())
			return
		case <-ticker.C:
		}
		due := int64(time.Since(begin)/frame) + 1
		for ; done < due; done++ {
			if behind := due - done; behind > maxBurst && plan == nil {
				ts += uint32(behind-maxBurst) * frameSamples
				done = due - maxBurst
			}
			if err := one(); err != nil {
				finish(err)
				return
			}
		}
	}
}

// nextAudio encodes the next frame of the audio to play, else of the source, else silence,
// into payload.
func (s *Stream) nextAudio(payload []byte) {
	s.mu.Lock()
	var pcm []int16
	if s.audioPos < len(s.audio) {
		end := min(s.audioPos+frameSamples, len(s.audio))
		pcm = s.audio[s.audioPos:end]
		s.audioPos = end
	}
	s.mu.Unlock()
	if pcm == nil && s.opts.Source != nil {
		if s.sourced == nil {
			s.sourced = make([]int16, frameSamples)
		}
		if s.opts.Source(s.sourced) {
			pcm = s.sourced
		}
	}
	for i := range payload {
		var v int16
		if i < len(pcm) {
			v = pcm[i]
		}
		if s.alaw {
			payload[i] = g711.EncodeAlawFrame(v)
		} else {
			payload[i] = g711.EncodeUlawFrame(v)
		}
	}
}

// receive reads packets until the media is closed.
func (s *Stream) receive() {
	buf := make([]byte, media.RTPBufSize)
	pcm := make([]int16, 0, 4*frameSamples)
	var pkt rtp.Packet
	for {
		if _, err := s.sess.ReadRTP(buf, &pkt); err != nil {
			return
		}
		now := time.Now()
		at := now.Sub(s.start)
		switch pkt.PayloadType {
		case s.audioRx:
			pcm = pcm[:0]
			for _, b := range pkt.Payload {
				if s.alaw {
					pcm = append(pcm, g711.DecodeAlawFrame(b))
				} else {
					pcm = append(pcm, g711.DecodeUlawFrame(b))
				}
			}
			s.mu.Lock()
			fill := s.recv.audio(&pkt.Header, pcm, now, at)
			s.mu.Unlock()
			if s.opts.Record != nil {
				if fill > 0 {
					_ = s.opts.Record.Write(make([]int16, fill))
				}
				_ = s.opts.Record.Write(pcm)
			}
		case s.eventRx:
			if !s.hasEvent {
				continue
			}
			var got []ReceivedDigit
			s.mu.Lock()
			s.recv.count(&pkt.Header)
			s.recv.events.packet(pkt.Payload, pkt.Timestamp, at, SampleRate, func(d ReceivedDigit) {
				got = append(got, d)
			})
			s.recv.digits = append(s.recv.digits, got...)
			s.mu.Unlock()
			if s.opts.OnDigit != nil {
				for _, d := range got {
					s.opts.OnDigit(d)
				}
			}
		default:
			continue
		}
		select {
		case s.changed <- struct{}{}:
		default:
		}
	}
}

// Ended returns a channel closed once the stream's media has stopped.
func (s *Stream) Ended() <-chan struct{} { return s.stopped }
