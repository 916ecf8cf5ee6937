package ari

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// eventually polls cond until it holds; the long limit only stops a hung
// test, it asserts nothing about speed.
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

const evTail = `"timestamp":"2026-11-25T17:52:43.373+0000","asterisk_id":"02:fc:00:00:00:01","application":"hotline"`

func stasisStartJSON(id string) string {
	return fmt.Sprintf(`{"type":"StasisStart",%s,"args":[],"channel":{"id":%q,"name":"Local/x","state":"Ring"}}`, evTail, id)
}

// fastOptions are lifecycle options scaled down for tests.
func fastOptions() ConnOptions {
	return ConnOptions{
		BackoffInitial: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		PingInterval: time.Hour, PingTimeout: time.Hour, ReconcileGrace: 20 * time.Millisecond,
	}
}

// runConn runs c in the background; the returned func stops it and returns
// Run's error.
func runConn(c *Conn) func() error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

func TestConnReconnectReconciles(t *testing.T) {
	before := runtime.NumGoroutine()
	f := newFakeAsterisk(t)
	f.app = Application{ChannelIDs: []string{"c1", "c2"}}
	f.channels = []Channel{{ID: "c1"}, {ID: "c2"}}
	f.session = func(ctx context.Context, ws *websocket.Conn, n int) {
		if n == 1 {
			_ = send(ctx, ws, stasisStartJSON("c1"))
			ws.Close(websocket.StatusGoingAway, "restart") // Asterisk restarts
			return
		}
		serve(ctx, ws)
	}
	var (
		mu    sync.Mutex
		recs  []Reconciliation
		calls = map[string]*Inbox{}
		err   error
	)
	opts := fastOptions()
	opts.Handler = func(c *Conn, ev Event) {
		if s, ok := ev.(*StasisStart); ok {
			mu.Lock()
			calls[s.Channel.ID] = c.Router().NewInbox(ChannelRef(s.Channel.ID))
			mu.Unlock()
		}
	}
	var c *Conn
	opts.OnReconcile = func(_ context.Context, r Reconciliation) {
		if c.Health().Reconnects == 0 {
			return // the first session may or may not live long enough
		}
		mu.Lock()
		recs = append(recs, r)
		mu.Unlock()
	}
	c, err = NewConn(f.node("ast1", "hotline"), opts)
	if err != nil {
		t.Fatal(err)
	}
	stale := c.Router().NewInbox(ChannelRef("c-gone")) // a call whose channel vanished meanwhile
	stop := runConn(c)

	eventually(t, "a reconciliation after the reconnect", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(recs) >= 1
	})
	mu.Lock()
	r := recs[0]
	start := calls["c1"]
	mu.Unlock()
	if start == nil {
		t.Fatal("StasisStart of c1 not handled")
	}
	if got, want := r.Node, "ast1"; got != want {
		t.Errorf("Node = %q, want %q", got, want)
	}
	if got := r.Unowned; len(got) != 1 || got[0].ID != "c2" {
		t.Errorf("Unowned = %v, want [c2]", got)
	}
	if got, want := r.Gone, []string{"c-gone"}; !slices.Equal(got, want) {
		t.Errorf("Gone = %v, want %v", got, want)
	}
	h := c.Health()
	if !h.Connected || h.Reconnects != 1 || h.EventsReceived != 1 || h.Replaced {
		t.Errorf("Health = %+v, want connected, 1 reconnect, 1 event", h)
	}
	if got, want := h.Inboxes, int64(2); got != want {
		t.Errorf("Inboxes = %d, want %d", got, want)
	}
	if err := stop(); err != nil {
		t.Errorf("Run = %v, want nil after cancel", err)
	}
	if c.Health().Connected {
		t.Error("still connected after Run returned")
	}
	stale.Close()
	start.Close()
	if len(f.badQuery) > 0 {
		t.Errorf("credentials sent in URLs: %v", f.badQuery)
	}
	f.srv.CloseClientConnections()
	eventually(t, "goroutines of the connection to end", func() bool {
		return runtime.NumGoroutine() <= before+2 // the test server's own
	})
}

func TestConnBackoff(t *testing.T) {
	f := newFakeAsterisk(t)
	// Attempts 1, 2, 4, 5... are refused; attempt 3 connects, then drops.
	f.refuse = func(n int) int {
		if n == 3 {
			return 0
		}
		return http.StatusServiceUnavailable
	}
	f.session = func(ctx context.Context, ws *websocket.Conn, n int) {
		ws.Close(websocket.StatusGoingAway, "bye")
	}
	c, err := NewConn(f.node("ast1", "hotline"), ConnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var delays []time.Duration
	var lastErrs []string
	c.sleep = func(_ context.Context, d time.Duration) bool {
		delays = append(delays, d)
		lastErrs = append(lastErrs, c.Health().LastError)
		if len(delays) == 9 {
			cancel()
			return false
		}
		return true
	}
	if err := c.Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	s := time.Second
	want := []time.Duration{s / 2, s, s / 2, s, 2 * s, 4 * s, 5 * s, 5 * s, 5 * s}
	if !slices.Equal(delays, want) {
		t.Errorf("delays = %v, want %v", delays, want)
	}
	if !strings.Contains(lastErrs[0], "503") {
		t.Errorf("LastError = %q, want the 503", lastErrs[0])
	}
}

func TestNextBackoff(t *testing.T) {
	tests := []struct{ in, want time.Duration }{
		{500 * time.Millisecond, time.Second},
		{2 * time.Second, 4 * time.Second},
		{4 * time.Second, 5 * time.Second},
		{5 * time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.in.String(), func(t *testing.T) {
			if got := nextBackoff(tt.in, 5*time.Second); got != tt.want {
				t.Errorf("nextBackoff(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestConnSilentDropDetectedByPing(t *testing.T) {
	f := newFakeAsterisk(t)
	f.session = func(ctx context.Context, ws *websocket.Conn, n int) {
		if n == 1 {
			// A dead network: nothing is read, so pings go unanswered.
			select {
			case <-ctx.Done():
			case <-f.stop:
			}
			return
		}
		serve(ctx, ws)
	}
	opts := fastOptions()
	opts.PingInterval, opts.PingTimeout = 10*time.Millisecond, 50*time.Millisecond
	c, err := NewConn(f.node("ast1", "hotline"), opts)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var why []string
	c.sleep = func(ctx context.Context, d time.Duration) bool {
		mu.Lock()
		why = append(why, c.Health().LastError)
		mu.Unlock()
		return sleepCtx(ctx, d)
	}
	stop := runConn(c)
	defer stop()
	eventually(t, "a second websocket session", func() bool {
		_, s := f.counts()
		return s >= 2 && c.Health().Connected
	})
	mu.Lock()
	defer mu.Unlock()
	if len(why) == 0 || !strings.Contains(why[0], "no pong") {
		t.Errorf("reconnect reasons = %q, want a missing pong first", why)
	}
}

func TestConnApplicationReplaced(t *testing.T) {
	f := newFakeAsterisk(t)
	f.session = func(ctx context.Context, ws *websocket.Conn, n int) {
		_ = send(ctx, ws, `{"type":"ApplicationReplaced","timestamp":"2026-11-25T17:55:23.003+0000","application":"hotline","asterisk_id":"02:fc:00:00:00:01"}`)
		serve(ctx, ws) // Asterisk keeps the old socket open, silent
	}
	var got []Event
	opts := fastOptions()
	opts.Handler = func(_ *Conn, ev Event) { got = append(got, ev) }
	c, err := NewConn(f.node("ast1", "hotline"), opts)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Run(context.Background())
	if !errors.Is(err, ErrApplicationReplaced) {
		t.Fatalf("Run = %v, want ErrApplicationReplaced", err)
	}
	if len(got) != 1 || got[0].Base().Type != "ApplicationReplaced" || got[0].Base().Node != "ast1" {
		t.Errorf("handler got %v, want the ApplicationReplaced of ast1", got)
	}
	if h := c.Health(); !h.Replaced || h.Connected {
		t.Errorf("Health = %+v, want replaced and disconnected", h)
	}
	if _, s := f.counts(); s != 1 {
		t.Errorf("sessions = %d, want 1: no fight for the application", s)
	}
}

func TestConnUnauthorized(t *testing.T) {
	f := newFakeAsterisk(t)
	n := f.node("ast1", "hotline")
	n.Password = "wrong-password"
	c, err := NewConn(n, fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.session(context.Background())
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("session = %v, want ErrUnauthorized", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestConnEventBeforeHTTPResponse(t *testing.T) {
	f := newFakeAsterisk(t)
	wsc := make(chan *websocket.Conn, 1)
	f.session = func(ctx context.Context, ws *websocket.Conn, n int) {
		wsc <- ws
		serve(ctx, ws)
	}
	opts := fastOptions()
	c, err := NewConn(f.node("ast1", "hotline"), opts)
	if err != nil {
		t.Fatal(err)
	}
	stop := runConn(c)
	defer stop()
	ws := <-wsc
	// Like Asterisk in 72 of 235 plays: PlaybackStarted leaves before the 201.
	f.rest = func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("playbackId")
		_ = send(r.Context(), ws, fmt.Sprintf(`{"type":"PlaybackStarted",%s,"playback":{"id":%q,"media_uri":"sound:x","target_uri":"channel:c1","language":"en","state":"playing"}}`, evTail, id))
		writeJSON(w, http.StatusCreated, Playback{ID: id, MediaURI: "sound:x", TargetURI: "channel:c1", State: "queued"})
	}
	in := c.Router().NewInbox(ChannelRef("c1"))
	defer in.Close()
	pid := NewID()
	if err := in.Own(PlaybackRef(pid)); err != nil {
		t.Fatal(err)
	}
	p, err := c.Client().Channel("c1").Play(context.Background(), PlayOptions{ID: pid, Media: []string{"sound:x"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.ID, pid; got != want {
		t.Errorf("playback id = %q, want %q", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ev, err := in.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ps, ok := ev.(*PlaybackStarted)
	if !ok || ps.Playback.ID != pid || ps.Node != "ast1" {
		t.Errorf("got %#v, want PlaybackStarted %s from ast1", ev, pid)
	}
}

func TestClusterHealthAndMetrics(t *testing.T) {
	f1, f2 := newFakeAsterisk(t), newFakeAsterisk(t)
	events := make(chan Event, 2)
	opts := fastOptions()
	opts.Handler = func(_ *Conn, ev Event) { events <- ev }
	f1.session = func(ctx context.Context, ws *websocket.Conn, n int) {
		_ = send(ctx, ws, stasisStartJSON("a1"))
		serve(ctx, ws)
	}
	f2.session = f1.session
	cl, err := NewCluster([]Node{f1.node("ast1", "hotline-a"), f2.node("ast2", "hotline-a")}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if cl.Ready() == nil {
		t.Error("Ready before connecting = nil, want an error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cl.Run(ctx) }()
	nodes := map[string]bool{}
	for range 2 {
		nodes[(<-events).Base().Node] = true
	}
	if !nodes["ast1"] || !nodes["ast2"] {
		t.Errorf("events came from %v, want ast1 and ast2", nodes)
	}
	eventually(t, "both nodes ready", func() bool { return cl.Ready() == nil })
	if cl.Conn("ast2") == nil || cl.Conn("nope") != nil {
		t.Error("Conn lookup by name is wrong")
	}

	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(cl.Collector()); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue()
			for _, l := range m.GetLabel() {
				if l.GetName() == "node" {
					values[mf.GetName()+"/"+l.GetValue()] = v
				}
			}
		}
	}
	for _, k := range []string{"hotline_ari_node_connected/ast1", "hotline_ari_node_connected/ast2",
		"hotline_ari_node_events_received_total/ast1", "hotline_ari_node_events_unowned_total/ast2"} {
		if got, want := values[k], 1.0; got != want {
			t.Errorf("%s = %v, want %v", k, got, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	if _, err := NewCluster([]Node{f1.node("x", "a"), f2.node("x", "b")}, opts); err == nil {
		t.Error("duplicate node names accepted")
	}
}

// TestConnGateAndReconnect: a gated Conn asks its gate before every connection attempt, and
// Reconnect ends the session in progress so that the next attempt waits at the gate (the
// controller lost the application's lease without Asterisk saying so).
func TestConnGateAndReconnect(t *testing.T) {
	f := newFakeAsterisk(t)
	f.session = func(ctx context.Context, ws *websocket.Conn, n int) { serve(ctx, ws) }
	c, err := NewConn(f.node("ast1", "hotline"), fastOptions())
	if err != nil {
		t.Fatal(err)
	}
	open := make(chan struct{}, 1)
	var mu sync.Mutex
	asked := 0
	c.gate = func(ctx context.Context) error {
		mu.Lock()
		asked++
		mu.Unlock()
		select {
		case <-open:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	stop := runConn(c)
	defer stop()
	eventually(t, "the gate asked", func() bool { mu.Lock(); defer mu.Unlock(); return asked == 1 })
	if _, s := f.counts(); s != 0 {
		t.Fatalf("sessions = %d before the gate opened, want 0", s)
	}
	open <- struct{}{}
	eventually(t, "connected", func() bool { return c.Health().Connected })
	c.Reconnect()
	eventually(t, "the gate asked again", func() bool { mu.Lock(); defer mu.Unlock(); return asked == 2 })
	if c.Health().Connected {
		t.Fatal("still connected while the gate holds")
	}
	if _, s := f.counts(); s != 1 {
		t.Fatalf("sessions = %d while the gate holds, want 1", s)
	}
	open <- struct{}{}
	eventually(t, "connected again", func() bool { _, s := f.counts(); return s == 2 && c.Health().Connected })
}
