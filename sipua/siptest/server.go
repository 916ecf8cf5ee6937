// Package siptest is a small SIP server that stands in for Asterisk in tests: a registrar,
// and a UAS that answers, plays a known prompt, records what it receives and logs the RFC 4733
// digits it gets. It listens on loopback only, over UDP and TCP.
//
// What the UAS does depends on the number called:
//
//	busy       answers 486 Busy Here
//	noanswer   rings (180) and never answers, until the caller cancels
//	hangup     answers, plays the prompt once and hangs up when it ends
//	any other  answers, plays the prompt, plays it again after every key it receives,
//	           and waits for the caller to hang up
package siptest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"

	"github.com/foshan-hotline/hotline/sipua"
)

// Options configure a Server.
type Options struct {
	// Prompt is what the UAS plays; default Tone(440, time.Second).
	Prompt []int16
	// Codecs the UAS accepts, "PCMU" and/or "PCMA"; default both. An offer with neither
	// gets 488 Not Acceptable Here.
	Codecs []string
	// User and Password, when User is set, are required of every INVITE and REGISTER with
	// digest authentication (a 401 challenge).
	User     string
	Password string
	// RingTime is how long the UAS rings before it answers; default 50 ms.
	RingTime time.Duration
	// KeepAudio keeps what each caller said in Call.Audio.
	KeepAudio bool
	// Log receives the SIP library's warnings; nil discards them.
	Log *slog.Logger
}

// Outcomes of a Call.
const (
	Answered     = "answered"
	Busy         = "busy"
	Cancelled    = "cancelled"
	Unauthorized = "unauthorized"
	CodecRefused = "codec refused"
)

// Call is what the UAS saw of one INVITE.
type Call struct {
	From    string
	To      string
	Outcome string
	// Digits are the keys received, in order; DigitTimes says when and how long.
	Digits     string
	DigitTimes []sipua.ReceivedDigit
	// Media is what the UAS sent and received on an answered call.
	Media sipua.MediaStats
	// Audio is what the caller said, when Options.KeepAudio is set.
	Audio []int16
}

// Server is a running test SIP server.
type Server struct {
	opts   Options
	codecs []media.Codec
	dg     *diago.Diago
	ua     *sipgo.UserAgent
	udp    net.PacketConn
	tcp    net.Listener
	cancel context.CancelFunc
	served sync.WaitGroup

	mu      sync.Mutex
	calls   []Call
	ended   chan struct{} // signalled when a call is recorded
	nonces  map[string]bool
	contact map[string]string // registered user → Contact URI
}

// Start starts a server on 127.0.0.1, UDP and TCP each on a port of the system's choice.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if len(opts.Prompt) == 0 {
		opts.Prompt = Tone(440, time.Second)
	}
	if opts.RingTime <= 0 {
		opts.RingTime = 50 * time.Millisecond
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, ended: make(chan struct{}, 1), nonces: map[string]bool{}, contact: map[string]string{}}
	names := opts.Codecs
	if len(names) == 0 {
		names = []string{"PCMU", "PCMA"}
	}
	for _, n := range names {
		switch n {
		case "PCMU":
			s.codecs = append(s.codecs, media.CodecAudioUlaw)
		case "PCMA":
			s.codecs = append(s.codecs, media.CodecAudioAlaw)
		default:
			return nil, fmt.Errorf("siptest: codec %q: want PCMU or PCMA", n)
		}
	}
	s.codecs = append(s.codecs, media.CodecTelephoneEvent8000)

	var err error
	if s.udp, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("siptest: %w", err)
	}
	if s.tcp, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		s.udp.Close()
		return nil, fmt.Errorf("siptest: %w", err)
	}
	if s.ua, err = sipgo.NewUA(sipgo.WithUserAgent("siptest")); err != nil {
		return nil, fmt.Errorf("siptest: %w", err)
	}
	srv, err := sipgo.NewServer(s.ua, sipgo.WithServerLogger(opts.Log))
	if err != nil {
		return nil, fmt.Errorf("siptest: %w", err)
	}
	srv.OnRegister(s.register)
	s.dg = diago.NewDiago(s.ua, diago.WithServer(srv), diago.WithLogger(opts.Log),
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: port(s.udp.LocalAddr())}),
		diago.WithTransport(diago.Transport{Transport: "tcp", BindHost: "127.0.0.1", BindPort: port(s.tcp.Addr())}),
		diago.WithMediaConfig(diago.MediaConfig{Codecs: s.codecs}),
	)
	sctx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	s.dg.HandleFunc(func(d *diago.DialogServerSession) { s.answer(sctx, d) })
	s.served.Add(2)
	go func() { defer s.served.Done(); _ = srv.ServeUDP(s.udp) }()
	go func() { defer s.served.Done(); _ = srv.ServeTCP(s.tcp) }()
	// The server's own requests (a BYE) go out of the UDP socket once sipgo has pooled it.
	for range 5000 {
		if _, err := s.ua.TransportLayer().GetConnection("udp", s.udp.LocalAddr().String()); err == nil {
			return s, nil
		}
		time.Sleep(time.Millisecond)
	}
	s.Close()
	return nil, errors.New("siptest: the UDP socket was not served in time")
}

func port(a net.Addr) int {
	_, p, _ := net.SplitHostPort(a.String())
	n, _ := strconv.Atoi(p)
	return n
}

// Close stops the server; calls in progress end.
func (s *Server) Close() error {
	s.cancel()
	err := errors.Join(s.udp.Close(), s.tcp.Close(), s.ua.Close())
	s.served.Wait()
	return err
}

// Addr returns the server's address for transport "udp" or "tcp".
func (s *Server) Addr(transport string) string {
	if transport == "tcp" {
		return s.tcp.Addr().String()
	}
	return s.udp.LocalAddr().String()
}

// URI returns the SIP URI that calls user at the server over transport.
func (s *Server) URI(user, transport string) string {
	u := "sip:" + user + "@" + s.Addr(transport)
	if transport == "tcp" {
		u += ";transport=tcp"
	}
	return u
}

// Calls returns the calls that have ended, in the order they ended.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// WaitCalls waits until n calls have ended, or ctx ends.
func (s *Server) WaitCalls(ctx context.Context, n int) ([]Call, error) {
	for {
		if calls := s.Calls(); len(calls) >= n {
			return calls, nil
		}
		select {
		case <-s.ended:
		case <-ctx.Done():
			return s.Calls(), fmt.Errorf("siptest: %d of %d calls ended: %w", len(s.Calls()), n, ctx.Err())
		}
	}
}

// Registered returns the Contact a user registered, and whether it is registered.
func (s *Server) Registered(user string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.contact[user]
	return c, ok
}

func (s *Server) record(c Call) {
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	select {
	case s.ended <- struct{}{}:
	default:
	}
}

// Tone returns dur of a sine wave at freq Hz, at about -15 dBFS: a prompt that is easy
// to hear and to tell from silence.
func Tone(freq float64, dur time.Duration) []int16 {
	n := int(dur.Seconds() * sipua.SampleRate)
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(6000 * math.Sin(2*math.Pi*freq*float64(i)/sipua.SampleRate))
	}
	return pcm
}
