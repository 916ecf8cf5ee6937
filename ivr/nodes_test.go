package ivr_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
)

// holdFlow welcomes a caller and waits long for a key: calls that stay put while a test
// changes the network around them.
const holdFlow = `
flow: main
start: welcome
nodes:
  welcome:
    kind: play
    prompts: [common/welcome]
    next: wait
  wait:
    kind: menu
    prompts: [common/repeat_hint]
    timeout: 60s
    options:
      "1": {next: bye, label: 再见}
    agent: bye
    on_fail: bye
  bye:
    kind: hangup
    prompts: [common/goodbye]
`

// TestNodesWithTheSameChannelIDs runs two Asterisk nodes whose channel ids collide (two
// nodes without systemname started in the same second hand out the same
// <epoch>.<counter>). Node A's websocket drops, its caller hangs up meanwhile, and A comes
// back: A's call is recorded as lost with its node, and B's call, with the same channel
// id, goes on untouched.
func TestNodesWithTheSameChannelIDs(t *testing.T) {
	cfg, rec, _ := flowConfig(t, holdFlow)
	cfg.SoundURI = flowtest.SoundURI
	eng, err := ivr.New(cfg)
	if err != nil {
		t.Fatal(err)
	}

	dirs, err := flowtest.SoundDirs(cfg.SoundsDir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	epoch := time.Now()
	clock := func() time.Time { return time.Unix(1764900000, 0).Add(time.Since(epoch)) }
	var sims [2]*arisim.Sim
	var urls [2]string
	for i := range sims {
		sims[i] = arisim.New(arisim.Options{SoundDirs: dirs, Speed: 20, Now: clock})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: sims[i].Handler()}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close(); sims[i].Close() })
		urls[i] = ln.Addr().String()
	}
	proxyA := startProxy(t, urls[0])
	nodes := []ari.Node{
		{Name: "a", URL: "http://" + proxyA.addr, User: "hotline", Password: "hotline-secret", App: "hotline"},
		{Name: "b", URL: "http://" + urls[1], User: "hotline", Password: "hotline-secret", App: "hotline"},
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	cluster, err := ari.NewCluster(nodes, eng.Options(ari.ConnOptions{Logger: quiet,
		BackoffInitial: 50 * time.Millisecond, BackoffMax: 100 * time.Millisecond, ReconcileGrace: 100 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx, cluster) }()
	t.Cleanup(func() { stop(); <-done })
	for cluster.Ready() != nil {
		if ctx.Err() != nil {
			t.Fatal("the engine did not connect to both nodes")
		}
		time.Sleep(10 * time.Millisecond)
	}

	ha, hb := &flowtest.Harness{Sim: sims[0]}, &flowtest.Harness{Sim: sims[1]}
	ca, err := ha.Call(ctx, "13800138000")
	must(t, err)
	must(t, ca.Expect(ctx, "common/repeat_hint"))
	cb, err := hb.Call(ctx, "13900139000")
	must(t, err)
	must(t, cb.Expect(ctx, "common/repeat_hint"))
	if a, b := ca.Sim().ChannelID(), cb.Sim().ChannelID(); a != b {
		t.Fatalf("channel ids %s and %s differ: the test needs them equal", a, b)
	}
	if got, want := eng.Stats().Active, 2; got != want {
		t.Errorf("active calls = %d, want %d", got, want)
	}

	// Node A drops off the network; its caller hangs up while it is away.
	proxyA.cut()
	must(t, ca.Hangup())
	must(t, ca.WaitEnd(ctx))
	proxyA.restore()
	for eng.Stats().ByOutcome[hotline.OutcomeNodeLost] == 0 {
		if ctx.Err() != nil {
			t.Fatalf("node A's call was not recorded as lost: %+v", eng.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// B's caller is still in the menu and is served.
	if cb.Ended() {
		t.Fatal("node B's call ended when node A reconnected")
	}
	must(t, cb.Press(ctx, "1", 0))
	must(t, cb.Expect(ctx, "common/goodbye"))
	must(t, cb.WaitEnd(ctx))
	eng.Wait()

	rec.mu.Lock()
	defer rec.mu.Unlock()
	outcomes := map[string]string{}
	for id, c := range rec.calls {
		outcomes[c.Node] = rec.ends[id].Outcome
	}
	if got, want := outcomes["a"], hotline.OutcomeNodeLost; got != want {
		t.Errorf("node a's call outcome = %q, want %q", got, want)
	}
	if got, want := outcomes["b"], hotline.OutcomeSelfServed; got != want {
		t.Errorf("node b's call outcome = %q, want %q", got, want)
	}
	if got := eng.Stats().Orphans; got != 0 {
		t.Errorf("orphans = %d, want 0: no channel was taken over", got)
	}
}

// proxy forwards TCP connections to an address until cut: then it drops every connection
// and refuses new ones, like a node gone from the network, until restored.
type proxy struct {
	t      *testing.T
	addr   string
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *proxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *proxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}
