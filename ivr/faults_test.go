package ivr_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
)

// faultFlow is holdFlow with a transfer to an outside number on 2: callers wait in a menu
// or talk through a transfer while a fault strikes.
const faultFlow = `
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
      "2": {next: out, label: 转接}
    agent: bye
    on_fail: bye
  out:
    kind: transfer
    number: "83331234"
    timeout: 20s
    failed: bye
  bye:
    kind: hangup
    prompts: [common/goodbye]
`

// faultRig is a simulated node and an engine whose connection options a fault test sets.
type faultRig struct {
	sim  *arisim.Sim
	eng  *ivr.Engine
	conn *ari.Conn
	rec  *memRecorder
	h    *flowtest.Harness // callers
	url  string
	tr   *http.Transport // the engine's, whose idle connections a test closes
}

// startFaultRig runs cfg (its Recorder rec) on a simulated node at speed with opts.
func startFaultRig(t *testing.T, cfg ivr.Config, rec *memRecorder, opts ari.ConnOptions, speed float64) *faultRig {
	t.Helper()
	cfg.SoundURI = flowtest.SoundURI
	eng, err := ivr.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dirs, err := flowtest.SoundDirs(cfg.SoundsDir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sim := arisim.New(arisim.Options{SoundDirs: dirs, Speed: speed})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: sim.Handler()}
	go srv.Serve(ln)
	url := "http://" + ln.Addr().String()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	tr := ari.NewTransport()
	opts.HTTPClient = &http.Client{Transport: tr}
	cluster, err := ari.NewCluster([]ari.Node{{Name: "sim", URL: url, User: "hotline", Password: "hotline-secret", App: "hotline"}},
		eng.Options(opts))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx, cluster) }()
	t.Cleanup(func() {
		stop()
		<-done
		srv.Close()
		sim.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for cluster.Ready() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the engine did not connect")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &faultRig{sim: sim, eng: eng, conn: cluster.Conns()[0], rec: rec, h: &flowtest.Harness{Sim: sim}, url: url, tr: tr}
}

// fastConn are connection options that notice a silent drop within 0.3 s and come back at once.
func fastConn() ari.ConnOptions {
	return ari.ConnOptions{PingInterval: 100 * time.Millisecond, PingTimeout: 200 * time.Millisecond,
		BackoffInitial: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		ReconcileGrace: 100 * time.Millisecond, ReconcileTimeout: time.Second}
}

// holding places n callers and waits until each is in the menu of holdFlow or faultFlow.
func holding(t *testing.T, ctx context.Context, h *flowtest.Harness, n int) []*flowtest.Caller {
	t.Helper()
	callers := make([]*flowtest.Caller, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			c, err := h.Call(ctx, fmt.Sprintf("1380000%04d", i))
			if err == nil {
				err = c.Expect(ctx, "common/repeat_hint")
			}
			callers[i] = c
			if err != nil {
				errs <- fmt.Errorf("caller %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return callers
}

// serveAll has every caller press 1 and hear goodbye, in parallel.
func serveAll(t *testing.T, ctx context.Context, callers []*flowtest.Caller, prompts bool) {
	t.Helper()
	errs := make(chan error, len(callers))
	var wg sync.WaitGroup
	for i, c := range callers {
		wg.Go(func() {
			err := c.Press(ctx, "1", 0)
			if err == nil && prompts {
				err = c.Expect(ctx, "common/goodbye")
			}
			if err == nil {
				err = c.WaitEnd(ctx)
			}
			if err != nil {
				errs <- fmt.Errorf("caller %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// waitOutcomes waits until want calls have the outcome.
func waitOutcomes(t *testing.T, ctx context.Context, rec *memRecorder, outcome string, want int) {
	t.Helper()
	for {
		got := outcomes(rec)
		if got[outcome] >= want {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("outcomes %v, want %d %q", got, want, outcome)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// settled waits until the goroutines are back to about base: nothing a fault left behind
// keeps running.
func settled(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= base+10 {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d at the start:\n%s", n, base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// transferring has each caller press 2 and waits until all talk to their outside phone,
// which it returns.
func transferring(t *testing.T, ctx context.Context, sim *arisim.Sim, callers []*flowtest.Caller) []*arisim.Call {
	t.Helper()
	for _, c := range callers {
		must(t, c.Press(ctx, "2", 0))
	}
	var phones []*arisim.Call
	waitFor(t, ctx, "the outside phones to answer", func() bool {
		phones = phones[:0]
		for _, ci := range sim.Calls() {
			if ci.Kind == "outbound" && ci.State == "up" {
				if p, err := sim.Call(ci.ID); err == nil && len(p.Hears()) == 1 {
					phones = append(phones, p)
				}
			}
		}
		return len(phones) == len(callers)
	})
	return phones
}

// silentDrop black-holes the websocket while n callers wait in faultFlow's menu and k talk
// through a transfer: one more caller hangs up in the gap and a new call arrives in it. The
// drop is noticed, the socket reconnected, the caller who left recorded as lost, the call
// that came in the gap ended with an apology, the transfers left alone, and every other
// caller served. It returns how long the controller took to reconnect.
func silentDrop(t *testing.T, r *faultRig, ctx context.Context, n, k int) time.Duration {
	t.Helper()
	callers := holding(t, ctx, r.h, n+k+1)
	leaving := callers[n+k]
	phones := transferring(t, ctx, r.sim, callers[n:n+k])
	talking := callers[n : n+k]
	callers = callers[:n]

	start := time.Now()
	if r.sim.Blackhole() != 1 {
		t.Fatal("no websocket to black-hole")
	}
	must(t, leaving.Hangup())
	newcomer, err := r.h.Call(ctx, "13900000000")
	must(t, err)
	for h := r.conn.Health(); h.Reconnects == 0 || !h.Connected; h = r.conn.Health() {
		if ctx.Err() != nil {
			t.Fatal("the silent drop was not noticed")
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(start)

	must(t, newcomer.Expect(ctx, "common/system_busy", "common/goodbye"))
	must(t, newcomer.WaitEnd(ctx))
	waitOutcomes(t, ctx, r.rec, hotline.OutcomeNodeLost, 1)
	for i, p := range phones {
		select {
		case <-p.Done():
			t.Errorf("transfer %d: the outside phone was hung up by the reconnect", i)
		default:
		}
		if talking[i].Ended() {
			t.Errorf("transfer %d: the caller was hung up by the reconnect", i)
		}
	}
	serveAll(t, ctx, callers, true)
	for _, p := range phones {
		_ = p.Hangup()
	}
	for _, c := range talking {
		must(t, c.WaitEnd(ctx))
	}
	r.eng.Wait()
	got := outcomes(r.rec)
	if got[hotline.OutcomeSelfServed] != n || got[hotline.OutcomeTransferred] != k || got[hotline.OutcomeNodeLost] != 1 || got[hotline.OutcomeError] != 1 {
		t.Errorf("outcomes %v, want %d self-served, %d transferred, 1 node_lost (left in the gap), 1 error (came in the gap)", got, n, k)
	}
	if o := r.eng.Stats().Orphans; o != 1 {
		t.Errorf("orphans = %d, want 1", o)
	}
	return took
}

// TestSilentDropIsReconciled: a websocket black-holed without a close frame while 50 callers
// wait in a menu and 10 talk through a transfer (fault test c, with fast pings; TestChaosSilentDrop uses the defaults).
func TestSilentDropIsReconciled(t *testing.T) {
	cfg, rec, _ := flowConfig(t, faultFlow)
	cfg.PlaybackGrace = 500 * time.Millisecond
	r := startFaultRig(t, cfg, rec, fastConn(), 20)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	silentDrop(t, r, ctx, 50, 10)
}

// nodeRestart restarts the node (down for down) while n callers wait in a menu: the
// controller reconnects with back-off, records every call as lost by the node, and takes
// the next call at once. It returns how long after the node came back the next caller heard
// the welcome.
func nodeRestart(t *testing.T, r *faultRig, ctx context.Context, n int, down time.Duration) time.Duration {
	t.Helper()
	callers := holding(t, ctx, r.h, n)
	r.sim.Restart(down)
	for _, c := range callers {
		must(t, c.WaitEnd(ctx))
	}
	back := time.Now().Add(down)
	waitOutcomes(t, ctx, r.rec, hotline.OutcomeNodeLost, n)
	for time.Now().Before(back) {
		time.Sleep(5 * time.Millisecond)
	}
	var c *flowtest.Caller
	for {
		var err error
		// A call placed before the controller has reconnected meets Stasis() failing.
		if c, err = r.h.Call(ctx, "13900000000"); err == nil {
			if err = c.Expect(ctx, "common/welcome"); err == nil {
				break
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("no new call taken after the restart: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(back)
	must(t, c.Expect(ctx, "common/repeat_hint"))
	serveAll(t, ctx, []*flowtest.Caller{c}, true)
	r.eng.Wait()
	if got := outcomes(r.rec); got[hotline.OutcomeNodeLost] != n || got[hotline.OutcomeSelfServed] != 1 {
		t.Errorf("outcomes %v, want %d node_lost and the new call self-served", got, n)
	}
	if h := r.conn.Health(); h.Reconnects < 1 {
		t.Errorf("reconnects = %d", h.Reconnects)
	}
	return took
}

// TestNodeRestartRecordsLostCalls: fault test d with 50 callers and a node down for 0.5 s.
func TestNodeRestartRecordsLostCalls(t *testing.T) {
	cfg, rec, _ := flowConfig(t, holdFlow)
	r := startFaultRig(t, cfg, rec, fastConn(), 20)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	nodeRestart(t, r, ctx, 50, 500*time.Millisecond)
}

// hungPlay has every play request hang while n callers call: each request gives up after
// RequestTimeout, and each call goes on without its prompts — the caller presses 1 in the
// menu they cannot hear and the call ends as served. Once Asterisk answers again, a caller
// hears the prompts.
func hungPlay(t *testing.T, r *faultRig, ctx context.Context, n int) {
	t.Helper()
	r.sim.DelayRoute("POST", "channels/{channelId}/play", time.Hour)
	callers := make([]*flowtest.Caller, n)
	for i := range callers {
		c, err := r.h.Call(ctx, fmt.Sprintf("1380000%04d", i))
		must(t, err)
		callers[i] = c
	}
	serveAll(t, ctx, callers, false)
	r.eng.Wait()
	if got := outcomes(r.rec); got[hotline.OutcomeSelfServed] != n {
		t.Errorf("outcomes %v, want %d self-served", got, n)
	}
	r.sim.ClearFaults()
	c, err := r.h.Call(ctx, "13900000000")
	must(t, err)
	must(t, c.Expect(ctx, "common/welcome", "common/repeat_hint"))
	serveAll(t, ctx, []*flowtest.Caller{c}, true)
}

// TestHungRequestIsBounded: fault test e — Asterisk stops answering play requests while 50
// callers call.
func TestHungRequestIsBounded(t *testing.T) {
	cfg, rec, _ := flowConfig(t, holdFlow)
	cfg.RequestTimeout = 300 * time.Millisecond
	r := startFaultRig(t, cfg, rec, fastConn(), 20)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hungPlay(t, r, ctx, 50)
}

// TestBargeInGoesOnBeforeTheStop: a key pressed during a prompt takes the caller on without
// waiting for Asterisk to answer the prompt's stop. Asterisk plays a channel's playbacks one
// after another, so the next prompt can be asked for at once; here the stop is held for as long
// as the test runs, and the caller still hears the goodbye after the prompt they pressed
// through and the call ends served.
func TestBargeInGoesOnBeforeTheStop(t *testing.T) {
	cfg, rec, _ := flowConfig(t, holdFlow)
	cfg.RequestTimeout = time.Hour // the stop waits as long as the node holds it
	r := startFaultRig(t, cfg, rec, fastConn(), 20)
	r.sim.DelayRoute("DELETE", "playbacks/{playbackId}", time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := r.h.Call(ctx, "13800000000")
	must(t, err)
	must(t, c.Expect(ctx, "common/repeat_hint"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "common/goodbye"))
	must(t, c.WaitEnd(ctx))
	r.eng.Wait()
	if got := outcomes(r.rec); got[hotline.OutcomeSelfServed] != 1 {
		t.Errorf("outcomes %v, want the call self-served", got)
	}
}

// burst places n calls at once against a limit: the callers beyond it hear the busy
// apology and are hung up; the others are served; nothing is left running. It returns how
// many were admitted.
func burst(t *testing.T, r *faultRig, ctx context.Context, n, limit int) int {
	t.Helper()
	base := runtime.NumGoroutine()
	r.eng.SetLimits(ivr.Limits{MaxCalls: limit})
	type result struct {
		admitted bool
		err      error
	}
	results := make(chan result, n)
	release := make(chan struct{}) // the admitted callers hold until every call has arrived
	var placed sync.WaitGroup
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		placed.Add(1)
		wg.Go(func() {
			c, err := r.h.Call(ctx, fmt.Sprintf("138%08d", i))
			placed.Done()
			if err != nil {
				results <- result{err: err}
				return
			}
			if err := c.Expect(ctx, "common/repeat_hint"); err != nil {
				// Refused: with the apology, or, in a flood, unanswered with the busy tone.
				if c.Ended() && (slicesContains(c.Heard, "common/lines_busy") || len(c.Heard) == 0) {
					results <- result{}
					return
				}
				results <- result{err: fmt.Errorf("caller %d: %w", i, err)}
				return
			}
			<-release
			err = c.Press(ctx, "1", 0)
			if err == nil {
				err = c.Expect(ctx, "common/goodbye")
			}
			if err == nil {
				err = c.WaitEnd(ctx)
			}
			results <- result{admitted: true, err: err}
		})
	}
	placed.Wait()
	t.Logf("%d calls placed in %v", n, time.Since(start).Round(time.Millisecond))
	// Each caller is in the menu or refused by now, or fails its Expect.
	for r.eng.Stats().Active+int(r.eng.Admission().Rejected) < n && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(results)
	admitted := 0
	for res := range results {
		if res.err != nil {
			t.Error(res.err)
		}
		if res.admitted {
			admitted++
		}
	}
	r.eng.Wait()
	got := outcomes(r.rec)
	if admitted != limit || got[ivr.OutcomeOverload] != n-limit || got[hotline.OutcomeSelfServed] != limit {
		t.Errorf("%d admitted, outcomes %v; want %d served and %d refused", admitted, got, limit, n-limit)
	}
	a := r.eng.Admission()
	if a.Rejected != uint64(n-limit) || a.Refusing != 0 {
		t.Errorf("admission %+v, want %d rejected and none refusing", a, n-limit)
	}
	t.Logf("%d served, %d refused: %d with the apology, %d with the busy tone", admitted, a.Rejected, a.Rejected-a.BusyTone, a.BusyTone)
	r.tr.CloseIdleConnections() // a burst's connections would otherwise idle for 30 s
	settled(t, base)
	return admitted
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestOverloadBurst: 300 calls at once against a limit of 50.
func TestOverloadBurst(t *testing.T) {
	cfg, rec, _ := flowConfig(t, holdFlow)
	r := startFaultRig(t, cfg, rec, ari.ConnOptions{}, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	burst(t, r, ctx, 300, 50)
	if h := r.conn.Health(); h.Reconnects != 0 {
		t.Errorf("the websocket reconnected %d times during the burst", h.Reconnects)
	}
}
