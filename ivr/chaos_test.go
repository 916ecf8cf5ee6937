//go:build chaos

package ivr_test

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

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
