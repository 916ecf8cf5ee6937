package sipua_test

import (
	"context"
	"errors"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/sipua"
	"github.com/foshan-hotline/hotline/sipua/siptest"
)

// startServer starts a test SIP server for the test.
func startServer(t *testing.T, opts siptest.Options) *siptest.Server {
	t.Helper()
	srv, err := siptest.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// newPhone starts a phone for the test.
func newPhone(t *testing.T, cfg sipua.Config) *sipua.Phone {
	t.Helper()
	p, err := sipua.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func mustScript(t *testing.T, text string) sipua.Script {
	t.Helper()
	s, err := sipua.ParseScript(text)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCallDigitsInOrderWithAudio(t *testing.T) {
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			srv := startServer(t, siptest.Options{KeepAudio: true})
			// The phone says something too, so the server's recording can be checked.
			p := newPhone(t, sipua.Config{Transport: transport, From: "13800138000", Audio: siptest.Tone(660, 2*time.Second)})
			path := filepath.Join(t.TempDir(), "call.wav")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := sipua.NewWAVWriter(f)
			if err != nil {
				t.Fatal(err)
			}
			// 440604 presses 4 twice in a row: had both presses one timestamp, as diago's own
			// DTMF writer gives them when no audio is sent, the second would be taken for a
			// repeat of the first, here as by Asterisk.
			script := mustScript(t, "wait:prompt 2s; keys 1; wait 300ms; keys 2#; wait:silence 3s; wait 1500ms; keys 440604; listen 1s; hangup")
			rep, err := p.Call(context.Background(), srv.URI("12345", transport), script, sipua.CallOptions{AnswerTimeout: 5 * time.Second, Record: rec})
			if err != nil {
				t.Fatal(err)
			}
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if !rep.OK {
				var b strings.Builder
				rep.WriteText(&b)
				t.Fatalf("call failed: %s\n%s", rep.Failure, b.String())
			}
			if got, want := rep.DigitsSent, "12#440604"; got != want {
				t.Errorf("digits sent = %q, want %q", got, want)
			}
			if got, want := rep.Media.Codec, "PCMU/8000"; got != want {
				t.Errorf("codec = %q, want %q", got, want)
			}
			if rep.Media.TelephoneEvent != 101 {
				t.Errorf("telephone-event payload type = %d, want 101", rep.Media.TelephoneEvent)
			}
			codes := []int{}
			for _, r := range rep.Responses {
				codes = append(codes, r.Code)
			}
			// sipgo hands responses that arrive within microseconds of each other to the
			// dialog in any order, or folds them into one: only the answer's place is sure.
			if n := len(codes); n == 0 || codes[n-1] != 200 || n > 1 && codes[0] >= 200 {
				t.Errorf("responses = %v, want 100 Trying and 180 Ringing, then 200 OK", codes)
			}

			calls, err := srv.WaitCalls(ctxTimeout(t, 5*time.Second), 1)
			if err != nil {
				t.Fatal(err)
			}
			c := calls[0]
			if got, want := c.Digits, "12#440604"; got != want {
				t.Errorf("digits received = %q, want %q", got, want)
			}
			for _, d := range c.DigitTimes {
				if got, want := time.Duration(d.Duration), sipua.DigitDuration; got != want {
					t.Errorf("digit %s lasted %s, want %s", d.Digit, got, want)
				}
			}
			if got, want := c.From, "13800138000"; got != want {
				t.Errorf("caller = %q, want %q", got, want)
			}
			// Audio flowed both ways all along.
			if c.Media.PacketsRecv < 100 || rep.Media.PacketsRecv < 100 {
				t.Errorf("packets received: server %d, phone %d; want audio all through the call", c.Media.PacketsRecv, rep.Media.PacketsRecv)
			}
			if c.Media.SpeechSeconds < 1 {
				t.Errorf("server heard %.2f s of the phone's tone, want at least 1 s", c.Media.SpeechSeconds)
			}
			// The prompt was played at the answer and after each key press: the recording is
			// loud at its start, and silent once the prompt ended.
			pcm, err := sipua.ReadWAV(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := rms(pcm[:4000]); got < 1000 {
				t.Errorf("recording's first half second has RMS %.0f, want the prompt (about 4200)", got)
			}
			if rep.Media.Seconds[0].Speech != true {
				t.Errorf("second 0 = %+v, want speech", rep.Media.Seconds[0])
			}
			quiet := false
			for _, s := range rep.Media.Seconds {
				if !s.Speech && s.Packets > 0 && s.Level < -60 {
					quiet = true
				}
			}
			if !quiet {
				t.Errorf("no silent second heard between the prompts: %+v", rep.Media.Seconds)
			}
		})
	}
}

func rms(pcm []int16) float64 {
	var s float64
	for _, v := range pcm {
		s += float64(v) * float64(v)
	}
	if len(pcm) == 0 {
		return 0
	}
	return math.Sqrt(s / float64(len(pcm)))
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestCallFailures(t *testing.T) {
	closed := closedPorts(t)
	tests := []struct {
		name      string
		cfg       sipua.Config
		user      string // called at the test server; else target
		target    string
		script    string
		timeout   time.Duration
		outcome   string
		failure   string // a part of the message
		ended     string // a part of how the call ended
		serverSaw string // the server's outcome, "" when it saw no call
	}{
		{name: "busy", user: "busy", script: "listen 1s",
			outcome: "486 Busy Here", failure: "486 Busy Here", ended: "486", serverSaw: siptest.Busy},
		{name: "no answer", user: "noanswer", script: "listen 1s", timeout: time.Second,
			outcome: sipua.OutcomeNoAnswer, failure: "no answer within 1s (last response 180 Ringing)", ended: "cancelled", serverSaw: siptest.Cancelled},
		{name: "codec refused", cfg: sipua.Config{Codecs: []string{"PCMU"}}, user: "12345", script: "listen 1s",
			outcome: sipua.OutcomeCodec, failure: "refuses the offered codecs (PCMU): 488 Not Acceptable Here", serverSaw: siptest.CodecRefused},
		{name: "no response over udp", target: "sip:12345@" + closed.udp, script: "listen 1s", timeout: time.Second,
			outcome: sipua.OutcomeNoResponse, failure: "no response from " + closed.udp + " over udp within 1s"},
		{name: "refused over tcp", cfg: sipua.Config{Transport: "tcp"}, target: "sip:12345@" + closed.tcp + ";transport=tcp", script: "listen 1s",
			outcome: sipua.OutcomeUnreachable, failure: "cannot reach " + closed.tcp + " over tcp"},
		{name: "unknown host", target: "sip:12345@no-such-host.invalid", script: "listen 1s", timeout: 3 * time.Second,
			outcome: sipua.OutcomeUnreachable, failure: "no-such-host.invalid"},
		{name: "nothing heard", user: "12345", script: "wait:prompt 2s; wait:silence 3s; listen 1s",
			outcome: sipua.OutcomeNoAudio, failure: "step 3 (listen 1s): no speech heard in 1s", ended: "hung up by the phone", serverSaw: siptest.Answered},
		{name: "far end hangs up early", user: "hangup", script: "wait:prompt 2s; listen 5s",
			outcome: sipua.OutcomeRemoteHangup, failure: "step 2 (listen 5s): after", ended: "hung up by the far end", serverSaw: siptest.Answered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, siptest.Options{Codecs: []string{"PCMA"}})
			target := tt.target
			if tt.user != "" {
				target = srv.URI(tt.user, "udp")
			}
			if len(tt.cfg.Codecs) == 0 {
				tt.cfg.Codecs = []string{"PCMA"}
			}
			p := newPhone(t, tt.cfg)
			rep, err := p.Call(context.Background(), target, mustScript(t, tt.script), sipua.CallOptions{AnswerTimeout: tt.timeout})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK {
				t.Fatalf("call succeeded, want %s", tt.outcome)
			}
			if got, want := rep.Outcome, tt.outcome; got != want {
				t.Errorf("outcome = %q, want %q (%s)", got, want, rep.Failure)
			}
			if !strings.Contains(rep.Failure, tt.failure) {
				t.Errorf("failure = %q, want it to say %q", rep.Failure, tt.failure)
			}
			if !strings.Contains(rep.Ended, tt.ended) {
				t.Errorf("ended = %q, want it to say %q", rep.Ended, tt.ended)
			}
			if tt.serverSaw == "" {
				return
			}
			calls, err := srv.WaitCalls(ctxTimeout(t, 5*time.Second), 1)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := calls[0].Outcome, tt.serverSaw; got != want {
				t.Errorf("server saw %q, want %q", got, want)
			}
		})
	}
}

func TestCallFarEndHangsUpAsScripted(t *testing.T) {
	srv := startServer(t, siptest.Options{})
	p := newPhone(t, sipua.Config{})
	rep, err := p.Call(context.Background(), srv.URI("hangup", "udp"), mustScript(t, "wait:prompt 2s; wait:hangup 5s"), sipua.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("call failed: %s", rep.Failure)
	}
	if !strings.Contains(rep.Ended, "far end") {
		t.Errorf("ended = %q, want by the far end", rep.Ended)
	}
}

func TestCallDigestAuthentication(t *testing.T) {
	srv := startServer(t, siptest.Options{User: "1001", Password: "s3cret"})
	for _, tt := range []struct {
		password string
		ok       bool
		outcome  string
	}{
		{password: "s3cret", ok: true, outcome: sipua.OutcomeOK},
		{password: "wrong", outcome: "403 Forbidden"},
		{password: "", outcome: "401 Unauthorized"},
	} {
		t.Run("password "+tt.password, func(t *testing.T) {
			p := newPhone(t, sipua.Config{From: "1001", Password: tt.password})
			rep, err := p.Call(context.Background(), srv.URI("12345", "udp"), mustScript(t, "wait:prompt 2s; hangup"), sipua.CallOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK != tt.ok || rep.Outcome != tt.outcome {
				t.Errorf("ok %v, outcome %q (%s); want %v, %q", rep.OK, rep.Outcome, rep.Failure, tt.ok, tt.outcome)
			}
		})
	}
}

func TestCallThroughOutboundProxy(t *testing.T) {
	srv := startServer(t, siptest.Options{})
	// The request URI names a host that does not exist: only the proxy route reaches the server.
	p := newPhone(t, sipua.Config{Proxy: "sip:" + srv.Addr("udp")})
	rep, err := p.Call(context.Background(), "sip:12345@hotline.invalid", mustScript(t, "wait:prompt 2s; keys 9; hangup"), sipua.CallOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		t.Fatalf("call failed: %s", rep.Failure)
	}
	calls, err := srv.WaitCalls(ctxTimeout(t, 5*time.Second), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := calls[0].Digits, "9"; got != want {
		t.Errorf("digits = %q, want %q", got, want)
	}
}

func TestCallBadTarget(t *testing.T) {
	p := newPhone(t, sipua.Config{})
	for _, target := range []string{"12345@127.0.0.1", "http://127.0.0.1/", "sip:", "sip:12345@", "sip:12345@127.0.0.1;transport=sctp"} {
		_, err := p.Call(context.Background(), target, mustScript(t, "listen 1s"), sipua.CallOptions{})
		if !errors.Is(err, sipua.ErrBadTarget) {
			t.Errorf("Call(%q) = %v, want ErrBadTarget", target, err)
		}
	}
}

// closedPorts finds a UDP and a TCP port on loopback that nothing listens on.
func closedPorts(t *testing.T) (p struct{ udp, tcp string }) {
	t.Helper()
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.udp, p.tcp = u.LocalAddr().String(), l.Addr().String()
	u.Close()
	l.Close()
	return p
}
