//go:build chaos

package ivr_test

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/ari"
)

// The slow fault tests: `make chaos` (go test -tags chaos -run Chaos). Each runs hundreds
// of simulated callers with the connection's default settings and logs what it measured.

// TestChaosSilentDrop: fault test c with 250 callers in a menu, 50 talking through a
// transfer, and the default pings (every 4 s, 5 s
// to answer): the drop is noticed and the websocket back within 10 s.
func TestChaosSilentDrop(t *testing.T) {
	cfg, rec, _ := flowConfig(t, faultFlow)
	r := startFaultRig(t, cfg, rec, ari.ConnOptions{}, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	took := silentDrop(t, r, ctx, 250, 50)
	t.Logf("silent drop with 250 callers in a menu and 50 in a transfer: reconnected %v after the network went silent", took.Round(10*time.Millisecond))
	limit := ari.DefaultPingInterval + ari.DefaultPingTimeout + ari.DefaultBackoffInitial + time.Second
	if took > limit {
		t.Errorf("reconnected after %v, want within %v", took, limit)
	}
}

// TestChaosNodeRestart: fault test d with 300 callers and the node down for 5 s.
func TestChaosNodeRestart(t *testing.T) {
	cfg, rec, _ := flowConfig(t, holdFlow)
	r := startFaultRig(t, cfg, rec, ari.ConnOptions{}, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	took := nodeRestart(t, r, ctx, 300, 5*time.Second)
	t.Logf("node restart with 300 callers (down 5 s): the first new caller heard the welcome %v after the node was back", took.Round(10*time.Millisecond))
	if limit := ari.DefaultBackoffMax + 2*time.Second; took > limit {
		t.Errorf("new calls taken %v after the node came back, want within %v", took, limit)
	}
}

// TestChaosHungRequest: fault test e with 300 callers and the default RequestTimeout (5 s).
func TestChaosHungRequest(t *testing.T) {
	cfg, rec, _ := flowConfig(t, holdFlow)
	r := startFaultRig(t, cfg, rec, ari.ConnOptions{}, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	hungPlay(t, r, ctx, 300)
	t.Logf("hung play requests with 300 callers: all served without prompts in %v", time.Since(start).Round(10*time.Millisecond))
}

// TestChaosOverload: 2,000 calls arriving within about a second against a limit of 300.
func TestChaosOverload(t *testing.T) {
	cfg, rec, _ := flowConfig(t, holdFlow)
	cfg.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	r := startFaultRig(t, cfg, rec, ari.ConnOptions{}, 20)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	burst(t, r, ctx, 2000, 300)
	t.Logf("overload: 2000 calls against a limit of 300 done in %v", time.Since(start).Round(10*time.Millisecond))
	if h := r.conn.Health(); h.Reconnects != 0 {
		t.Errorf("the websocket reconnected %d times during the burst", h.Reconnects)
	}
}

// queueFlow queues a caller who presses 1, announcing the position every 10 s.
const queueFlow = `
flow: main
start: wait
nodes:
  wait:
    kind: menu
    prompts: [common/repeat_hint]
    timeout: 60s
    options:
      "1": {next: q, label: 排队}
    agent: q
    on_fail: q
  q:
    kind: queue
    queue: general
    prompts: [common/transfer_agent]
    announce_every: 10s
    answered: bye
    overflow: bye
  bye:
    kind: hangup
    prompts: [common/goodbye]
`

// TestChaosQueueAnnouncementsSkipped: above the soft limit a queued caller's position
// announcement is skipped (it reads the database); once the load is gone, it is spoken.
func TestChaosQueueAnnouncementsSkipped(t *testing.T) {
	cfg, rec, svc := flowConfig(t, queueFlow)
	r := startRigWith(t, cfg, rec, svc)
	r.h.Engine.SetLimits(ivr.Limits{MaxCalls: 10, SoftCalls: 1})
	other, ctx := r.call(t, "13900139000")
	must(t, other.Expect(ctx, "common/repeat_hint"))
	c, _ := r.call(t, "13800138000")
	must(t, c.Expect(ctx, "common/repeat_hint"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "common/transfer_agent"))
	waitFor(t, ctx, "an announcement to be skipped", func() bool { return r.h.Engine.Admission().Degraded > 0 })
	if slices.Contains(c.Heard, "queue/ahead") {
		t.Fatalf("the position was announced above the soft limit: %v", c.Heard)
	}
	must(t, other.Hangup())
	must(t, other.WaitEnd(ctx))
	must(t, c.Expect(ctx, "queue/ahead"))
	must(t, c.Hangup())
	must(t, c.WaitEnd(ctx))
	r.h.Engine.Wait()
}
