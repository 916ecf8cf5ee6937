package siptest

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"github.com/foshan-hotline/hotline/sipua"
)

// answer runs one incoming call; diago hangs up or rejects whatever it leaves open.
func (s *Server) answer(ctx context.Context, d *diago.DialogServerSession) {
	c := Call{From: d.FromUser(), To: d.ToUser()}
	defer func() { s.record(c) }()
	if s.opts.User != "" && !s.authorized(d.InviteRequest, func(res *sip.Response) { _ = d.WriteResponse(res) }) {
		c.Outcome = Unauthorized
		return
	}
	_ = d.Trying()
	// Like Asterisk, which rings or answers after its dialplan ran, not in the same instant.
	time.Sleep(5 * time.Millisecond)
	switch c.To {
	case "busy":
		c.Outcome = Busy
		_ = d.Respond(sip.StatusBusyHere, "Busy Here", nil)
		return
	case "noanswer":
		_ = d.Ringing()
		select {
		case <-d.Context().Done():
		case <-ctx.Done():
		}
		c.Outcome = Cancelled
		return
	}
	if !s.acceptsOffer(d.InviteRequest.Body()) {
		c.Outcome = CodecRefused
		_ = d.Respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil)
		return
	}
	_ = d.Ringing()
	t := time.NewTimer(s.opts.RingTime)
	select {
	case <-t.C:
	case <-d.Context().Done():
		c.Outcome = Cancelled
		return
	}
	med, err := d.Answer(diago.AnswerOptions{Codecs: s.codecs})
	if err != nil {
		return
	}
	defer med.Close()
	c.Outcome = Answered

	var rec pcmBuffer
	opts := sipua.StreamOptions{Audio: s.opts.Prompt}
	if s.opts.KeepAudio {
		opts.Record = &rec
	}
	var stream *sipua.Stream
	opts.OnDigit = func(sipua.ReceivedDigit) { stream.Play(s.opts.Prompt) }
	stream, err = sipua.NewStream(med, opts)
	if err != nil {
		return
	}
	sctx, stop := context.WithCancel(ctx)
	stream.Start(sctx)
	if c.To == "hangup" {
		t.Reset(time.Duration(len(s.opts.Prompt)) * time.Second / sipua.SampleRate)
		select {
		case <-t.C:
			hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = d.Hangup(hctx)
			cancel()
		case <-d.Context().Done():
		case <-ctx.Done():
		}
		t.Stop()
	} else {
		select {
		case <-d.Context().Done():
		case <-ctx.Done():
		}
	}
	stop()
	med.Close()
	stream.Wait()
	c.Media = stream.Stats()
	for _, dg := range c.Media.DigitsReceived {
		c.Digits += dg.Digit
	}
	c.DigitTimes = c.Media.DigitsReceived
	c.Audio = rec.samples()
}

// acceptsOffer reports whether an SDP offer has an audio codec the server accepts: diago
// would answer an offer of telephone-event alone.
func (s *Server) acceptsOffer(sdp []byte) bool {
	formats := map[string]string{"0": "PCMU", "8": "PCMA"}
	var offered []string
	for _, line := range strings.Split(string(sdp), "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "m=audio "); ok {
			if f := strings.Fields(rest); len(f) > 2 {
				offered = f[2:]
			}
		}
		if rest, ok := strings.CutPrefix(line, "a=rtpmap:"); ok {
			if pt, enc, ok := strings.Cut(rest, " "); ok {
				name, _, _ := strings.Cut(enc, "/")
				formats[pt] = strings.ToUpper(name)
			}
		}
	}
	for _, f := range offered {
		for _, c := range s.codecs {
			if !c.IsAuxiliary() && strings.EqualFold(formats[f], c.Name) {
				return true
			}
		}
	}
	return false
}

// pcmBuffer keeps what a caller said.
type pcmBuffer struct {
	mu  sync.Mutex
	pcm []int16
}

func (b *pcmBuffer) Write(pcm []int16) error {
	b.mu.Lock()
	b.pcm = append(b.pcm, pcm...)
	b.mu.Unlock()
	return nil
}

func (b *pcmBuffer) samples() []int16 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.pcm
}
