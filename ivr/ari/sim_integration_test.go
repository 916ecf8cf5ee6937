package ari_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// simNode is a simulated Asterisk served over a real TCP listener that can
// be restarted on the same address.
type simNode struct {
	t    *testing.T
	addr string
	sim  *arisim.Sim
	srv  *http.Server
}

func startSim(t *testing.T, addr string) *simNode {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	n := &simNode{t: t, addr: l.Addr().String(), sim: arisim.New(arisim.Options{Speed: 10})}
	n.srv = &http.Server{Handler: n.sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go n.srv.Serve(l)
	t.Cleanup(n.stop)
	return n
}

// stop shuts the node down like an Asterisk restart: sockets die, state is lost.
func (n *simNode) stop() {
	n.sim.Close()
	n.srv.Close()
}

func (n *simNode) node() ari.Node {
	return ari.Node{Name: "sim1", URL: "http://" + n.addr, User: "hotline", Password: "hotline-secret", App: "hotline"}
}

// callRecorder is the test's stand-in for the engine's StasisStart handler.
type callRecorder struct {
	mu    sync.Mutex
	recs  []ari.Reconciliation
	calls chan *ari.Inbox
}

func newRecorder() *callRecorder { return &callRecorder{calls: make(chan *ari.Inbox, 16)} }

func (r *callRecorder) options() ari.ConnOptions {
	return ari.ConnOptions{
		BackoffInitial: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		ReconcileGrace: 20 * time.Millisecond,
		Handler: func(c *ari.Conn, ev ari.Event) {
			if s, ok := ev.(*ari.StasisStart); ok {
				r.calls <- c.Router().NewInbox(ari.ChannelRef(s.Channel.ID))
			}
		},
		OnReconcile: func(_ context.Context, rec ari.Reconciliation) {
			r.mu.Lock()
			r.recs = append(r.recs, rec)
			r.mu.Unlock()
		},
	}
}

// next returns the inbox of the next call the handler took.
func (r *callRecorder) next(t *testing.T) *ari.Inbox {
	t.Helper()
	select {
	case in := <-r.calls:
		return in
	case <-time.After(20 * time.Second):
		t.Fatal("no StasisStart reached the handler")
		return nil
	}
}

// waitApp waits until the node lists the application: the websocket is up
// and registered, so a call entering Stasis() now reaches the controller.
func waitApp(t *testing.T, c *ari.Conn) {
	t.Helper()
	eventually(t, "application registered", func() bool {
		_, err := c.Client().Application(c.App()).Get(context.Background())
		return c.Health().Connected && err == nil
	})
}

// waitEvent returns the first event in the inbox matching match.
func waitEvent(t *testing.T, in *ari.Inbox, what string, match func(ari.Event) bool) ari.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for {
		ev, err := in.Next(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if match(ev) {
			return ev
		}
	}
}

func is[T ari.Event](ev ari.Event) bool { _, ok := ev.(T); return ok }

func TestSimCallFlow(t *testing.T) {
	sn := startSim(t, "")
	rec := newRecorder()
	c, err := ari.NewConn(sn.node(), rec.options())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v", err)
		}
	}()
	waitApp(t, c)

	call, err := sn.sim.PlaceCall(ctx, arisim.CallOptions{Caller: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	in := rec.next(t)
	defer in.Close()
	ch := c.Client().Channel(call.ChannelID())

	if err := ch.Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, in, "ChannelStateChange Up", func(ev ari.Event) bool {
		s, ok := ev.(*ari.ChannelStateChange)
		return ok && s.Channel.State == "Up"
	})

	pid := ari.NewID()
	if err := in.Own(ari.PlaybackRef(pid)); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.Play(ctx, ari.PlayOptions{ID: pid, Media: []string{"sound:beep", "sound:digits/1"}}); err != nil {
		t.Fatal(err)
	}
	var media []string
	fin := waitEvent(t, in, "PlaybackFinished", func(ev ari.Event) bool {
		if s, ok := ev.(*ari.PlaybackStarted); ok && s.Playback.ID == pid {
			media = append(media, s.Playback.MediaURI)
		}
		return is[*ari.PlaybackFinished](ev)
	}).(*ari.PlaybackFinished)
	if fin.Playback.ID != pid || fin.Playback.State != "done" {
		t.Errorf("PlaybackFinished = %+v, want %s done", fin.Playback, pid)
	}
	if want := []string{"sound:beep", "sound:digits/1"}; !slices.Equal(media, want) {
		t.Errorf("played %v, want both media of the list %v", media, want)
	}

	if err := call.Press(ctx, "12#", 0); err != nil {
		t.Fatal(err)
	}
	var digits string
	for len(digits) < 3 {
		d := waitEvent(t, in, "DTMF", is[*ari.ChannelDtmfReceived]).(*ari.ChannelDtmfReceived)
		digits += d.Digit
	}
	if got, want := digits, "12#"; got != want {
		t.Errorf("digits = %q, want %q", got, want)
	}

	if err := ch.Hangup(ctx, ari.HangupNormal); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, in, "StasisEnd", is[*ari.StasisEnd])
	if err := ch.Answer(ctx); !errors.Is(err, ari.ErrChannelGone) {
		t.Errorf("Answer after hangup = %v, want ErrChannelGone", err)
	}
}

func TestSimReconnectAfterRestart(t *testing.T) {
	sn := startSim(t, "")
	rec := newRecorder()
	c, err := ari.NewConn(sn.node(), rec.options())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	waitApp(t, c)
	call, err := sn.sim.PlaceCall(ctx, arisim.CallOptions{Caller: "13800138001"})
	if err != nil {
		t.Fatal(err)
	}
	old := rec.next(t)
	defer old.Close()

	sn.stop() // Asterisk restarts: the call is lost, the socket dies
	sn2 := startSim(t, sn.addr)
	eventually(t, "reconnected to the restarted node", func() bool {
		h := c.Health()
		return h.Connected && h.Reconnects >= 1
	})
	waitApp(t, c)
	eventually(t, "reconciliation reporting the lost call", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for _, r := range rec.recs {
			if slices.Contains(r.Gone, call.ChannelID()) {
				return true
			}
		}
		return false
	})
	// The engine ends calls reported gone; it must, since a restarted
	// Asterisk may reuse their channel ids.
	old.Close()
	// New calls reach the controller again.
	call2, err := sn2.sim.PlaceCall(ctx, arisim.CallOptions{Caller: "13800138002"})
	if err != nil {
		t.Fatal(err)
	}
	in := rec.next(t)
	defer in.Close()
	if err := c.Client().Channel(call2.ChannelID()).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, in, "ChannelStateChange", is[*ari.ChannelStateChange])
}

// eventually polls cond until it holds; the limit only stops a hung test.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkSimCallEvents measures events per second routed by the client
// from the simulator: each op is one call that is answered, plays a
// ten-item media list (Started/Continuing/Finished events) and is hung up.
func BenchmarkSimCallEvents(b *testing.B) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	sim := arisim.New(arisim.Options{Speed: 1000})
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	defer srv.Close()
	defer sim.Close()

	var wg sync.WaitGroup
	var started atomic.Int64
	opts := ari.ConnOptions{Handler: func(c *ari.Conn, ev ari.Event) {
		s, ok := ev.(*ari.StasisStart)
		if !ok {
			return
		}
		in := c.Router().NewInbox(ari.ChannelRef(s.Channel.ID))
		wg.Go(func() { runBenchCall(b, c, in, s.Channel.ID) })
		started.Add(1)
	}}
	c, err := ari.NewConn(ari.Node{Name: "sim", URL: "http://" + l.Addr().String(), User: "hotline", Password: "hotline-secret", App: "hotline"}, opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	for {
		if _, err := c.Client().Application("hotline").Get(ctx); err == nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.ResetTimer()
	t0 := time.Now()
	for i := range b.N {
		if _, err := sim.PlaceCall(ctx, arisim.CallOptions{Caller: fmt.Sprintf("138%08d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	// Every call must have reached the application before waiting for the calls to end.
	for started.Load() < int64(b.N) {
		if time.Since(t0) > time.Minute {
			b.Fatalf("%d of %d calls reached the application", started.Load(), b.N)
		}
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	st := c.Router().Stats()
	b.ReportMetric(float64(st.Routed+st.Unowned)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(st.Routed+st.Unowned)/float64(b.N), "events/call")
	cancel()
	<-done
}

func runBenchCall(b *testing.B, c *ari.Conn, in *ari.Inbox, id string) {
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ch := c.Client().Channel(id)
	if err := ch.Answer(ctx); err != nil {
		b.Error(err)
		return
	}
	pid := ari.NewID()
	_ = in.Own(ari.PlaybackRef(pid))
	media := make([]string, 10)
	for i := range media {
		media[i] = fmt.Sprintf("sound:digits/%d", i)
	}
	if _, err := ch.Play(ctx, ari.PlayOptions{ID: pid, Media: media}); err != nil {
		b.Error(err)
		return
	}
	for {
		ev, err := in.Next(ctx)
		if err != nil {
			b.Error(err)
			return
		}
		if f, ok := ev.(*ari.PlaybackFinished); ok && f.Playback.ID == pid {
			break
		}
	}
	if err := ch.Hangup(ctx, ari.HangupNormal); err != nil {
		b.Error(err)
		return
	}
	for {
		ev, err := in.Next(ctx)
		if err != nil {
			b.Error(err)
			return
		}
		if _, ok := ev.(*ari.StasisEnd); ok {
			return
		}
	}
}
