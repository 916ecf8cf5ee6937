package ari_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// TestReconcileRetriesWhenTheNodeHangs: the node's application listing hangs when the
// websocket connects; reconciliation gives that look up after ReconcileTimeout and tries
// again, and once the node answers it reports the channel nobody owns.
func TestReconcileRetriesWhenTheNodeHangs(t *testing.T) {
	sn := startSim(t, "")
	sn.sim.DelayRoute("GET", "applications/{applicationName}", time.Minute)
	var mu sync.Mutex
	var recs []ari.Reconciliation
	c, err := ari.NewConn(sn.node(), ari.ConnOptions{
		BackoffInitial: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond,
		ReconcileGrace: 20 * time.Millisecond, ReconcileTimeout: 200 * time.Millisecond,
		Handler: func(*ari.Conn, ari.Event) {}, // claims nothing: every channel is unowned
		OnReconcile: func(_ context.Context, r ari.Reconciliation) {
			mu.Lock()
			recs = append(recs, r)
			mu.Unlock()
		},
	})
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
	eventually(t, "connected", func() bool { return c.Health().Connected })
	call, err := sn.sim.PlaceCall(ctx, arisim.CallOptions{Caller: "13800138001"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "a failed look at the node", func() bool { return c.Health().ReconcileErrors > 0 })
	sn.sim.ClearFaults()
	eventually(t, "reconciliation reporting the unowned call", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range recs {
			if slices.ContainsFunc(r.Unowned, func(ch ari.Channel) bool { return ch.ID == call.ChannelID() }) {
				return true
			}
		}
		return false
	})
	if h := c.Health(); h.Reconnects != 0 {
		t.Errorf("reconnects = %d: the retry is within the session", h.Reconnects)
	}
}
