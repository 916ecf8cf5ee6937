package softphone_test

import (
	"context"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/sipua"
	"github.com/foshan-hotline/hotline/sipua/siptest"
	"github.com/foshan-hotline/hotline/sipua/softphone"
)

// power returns the share of pcm's energy at freq Hz (Goertzel), 0 to about 1.
func power(pcm []int16, freq float64) float64 {
	if len(pcm) == 0 {
		return 0
	}
	k := 2 * math.Cos(2*math.Pi*freq/sipua.SampleRate)
	var s1, s2, total float64
	for _, v := range pcm {
		x := float64(v)
		s1, s2 = x+k*s1-s2, s1
		total += x * x
	}
	p := s1*s1 + s2*s2 - k*s1*s2
	if total == 0 {
		return 0
	}
	return 2 * p / (float64(len(pcm)) * total)
}

// recorder keeps what a party heard.
type recorder struct {
	mu  sync.Mutex
	pcm []int16
}

func (r *recorder) Write(pcm []int16) error {
	r.mu.Lock()
	r.pcm = append(r.pcm, pcm...)
	r.mu.Unlock()
	return nil
}

func (r *recorder) samples() []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int16(nil), r.pcm...)
}

type statuses struct {
	mu   sync.Mutex
	seen []string
	ch   chan softphone.Status
}

func (s *statuses) change(_ int64, st softphone.Status) {
	s.mu.Lock()
	s.seen = append(s.seen, st.State)
	s.mu.Unlock()
	select {
	case s.ch <- st:
	default:
	}
}

func (s *statuses) wait(t *testing.T, l *softphone.Line, state string) softphone.Status {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if st := l.Status(); st.State == state {
			return st
		}
		select {
		case <-s.ch:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("line is %+v, waited for %s", l.Status(), state)
		}
	}
}

// An agent's softphone registers with digest authentication, rings for a call, answers on
// the desk's command, and carries both voices: the caller hears the agent's microphone (a
// 1000 Hz tone) and the desk hears the caller (a 440 Hz tone). Logging out removes the
// registration.
func TestSoftphoneRegistersRingsAndCarriesAudio(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := siptest.Start(ctx, siptest.Options{User: "1001", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st := &statuses{ch: make(chan softphone.Status, 16)}
	lines, err := softphone.New(softphone.Options{Registrar: "sip:" + srv.Addr("udp"), OnChange: st.change})
	if err != nil {
		t.Fatal(err)
	}
	defer lines.Close()
	if err := lines.Online(7, softphone.Account{User: "1001", Password: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	line := lines.Line(7)
	st.wait(t, line, softphone.Idle)
	contact, ok := srv.Registered("1001")
	if !ok {
		t.Fatal("the softphone is not registered at the registrar")
	}

	// The agent's browser: a microphone with a 1000 Hz tone, a speaker that keeps frames.
	var heard recorder
	stopListening := line.Listen(func(f []int16) { heard.Write(f) })
	defer stopListening()
	mic := siptest.Tone(1000, 4*time.Second)
	micCtx, stopMic := context.WithCancel(ctx)
	defer stopMic()
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i+softphone.FrameSamples <= len(mic); i += softphone.FrameSamples {
			select {
			case <-micCtx.Done():
				return
			case <-tick.C:
			}
			line.Speak(mic[i : i+softphone.FrameSamples])
		}
	}()

	// Asterisk offering the call: a caller with a 440 Hz voice dials the registered contact.
	caller, err := sipua.New(ctx, sipua.Config{From: "12345", Audio: siptest.Tone(440, 3*time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	script, err := sipua.ParseScript("wait:prompt 3s; listen 1s; hangup")
	if err != nil {
		t.Fatal(err)
	}
	var callerHeard recorder
	reports := make(chan *sipua.Report, 1)
	go func() {
		target := strings.Trim(contact, "<>")
		rep, err := caller.Call(ctx, target, script, sipua.CallOptions{Record: &callerHeard, AnswerTimeout: 10 * time.Second})
		if err != nil {
			t.Error(err)
		}
		reports <- rep
	}()
	ringing := st.wait(t, line, softphone.Ringing)
	if !strings.Contains(ringing.Caller, "12345") {
		t.Errorf("ringing shows caller %q, want 12345", ringing.Caller)
	}
	if err := line.Hangup(); err != nil { // nothing: Hangup of a ringing call declines it …
		t.Fatal(err)
	}
	if rep := <-reports; rep == nil || rep.OK || rep.Outcome == "" {
		t.Fatalf("declined call: %+v", rep)
	}
	st.wait(t, line, softphone.Idle)

	// … so call again and answer.
	go func() {
		rep, err := caller.Call(ctx, strings.Trim(contact, "<>"), script, sipua.CallOptions{Record: &callerHeard, AnswerTimeout: 10 * time.Second})
		if err != nil {
			t.Error(err)
		}
		reports <- rep
	}()
	st.wait(t, line, softphone.Ringing)
	if err := line.Answer(); err != nil {
		t.Fatal(err)
	}
	st.wait(t, line, softphone.Talking)
	rep := <-reports
	if rep == nil || !rep.OK {
		t.Fatalf("answered call: %+v", rep)
	}
	st.wait(t, line, softphone.Idle)
	if p := power(callerHeard.samples(), 1000); p < 0.5 {
		t.Errorf("the caller heard the agent's 1000 Hz at %.2f of the energy; want most of it", p)
	}
	if p := power(heard.samples(), 440); p < 0.5 {
		t.Errorf("the desk heard the caller's 440 Hz at %.2f of the energy (%d samples); want most of it", p, len(heard.samples()))
	}
	if err := line.Answer(); err != softphone.ErrNotRinging {
		t.Errorf("answer with nothing ringing: %v", err)
	}

	lines.Offline(7)
	if _, ok := srv.Registered("1001"); ok {
		t.Error("still registered after the agent went offline")
	}
	if lines.Line(7) != nil {
		t.Error("the line is still there")
	}
}

func TestSoftphoneBadRegistration(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	srv, err := siptest.Start(ctx, siptest.Options{User: "1001", Password: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st := &statuses{ch: make(chan softphone.Status, 16)}
	lines, err := softphone.New(softphone.Options{Registrar: "sip:" + srv.Addr("udp"), OnChange: st.change})
	if err != nil {
		t.Fatal(err)
	}
	defer lines.Close()
	if err := lines.Online(7, softphone.Account{User: "1001", Password: "wrong"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for lines.Line(7).Status().Problem == "" {
		select {
		case <-st.ch:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("no problem reported: %+v", lines.Line(7).Status())
		}
	}
	if s := lines.Line(7).Status(); s.State != softphone.Registering || !strings.Contains(s.Problem, "403") {
		t.Errorf("status with a wrong password = %+v; want registering with the 403", s)
	}
	for _, bad := range []string{"", "10@01", "a b"} {
		if err := lines.Online(8, softphone.Account{User: bad}); err == nil {
			t.Errorf("account %q accepted", bad)
		}
	}
	if _, err := softphone.New(softphone.Options{Registrar: "http://x"}); err == nil {
		t.Error("registrar http://x accepted")
	}
}
