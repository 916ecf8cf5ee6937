package ivr_test

import (
	"context"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// TestStrayLegFoundByReconciliation: a leg made for a call that no longer wants it enters
// Stasis while the websocket is silent, so its StasisStart is lost; the reconciliation after
// the reconnect finds it without an owner. It is a leg (in Stasis with arguments), not a
// caller: it is hung up as a stray, with no call recorded and nothing played to it.
func TestStrayLegFoundByReconciliation(t *testing.T) {
	cfg, rec, _ := flowConfig(t, holdFlow)
	r := startRigWith(t, cfg, rec, &fakeServices{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := ari.NewClient(r.h.URL, "hotline", "hotline-secret")
	must(t, err)
	if r.h.Sim.Blackhole() != 1 {
		t.Fatal("no websocket to silence")
	}
	leg, err := client.Originate(ctx, ari.OriginateRequest{Endpoint: "Local/83330000@hotline-out", App: "hotline",
		AppArgs: []string{"transfer", "a-call-long-gone"}, ChannelID: ari.NewID()})
	must(t, err)
	far := outsidePhone(t, ctx, r.h.Sim)
	reconnect(t, ctx, r.h)
	r.strayHungUp(t, ctx, client, leg.ID, far)
}

// strayHungUp checks that stray leg legID was hung up and counted, its far end heard
// nothing, and no call was recorded.
func (r *rig) strayHungUp(t *testing.T, ctx context.Context, client *ari.Client, legID string, far *arisim.Call) {
	t.Helper()
	select {
	case <-far.Done():
	case <-ctx.Done():
		t.Fatal("the stray leg was left in Stasis")
	}
	waitFor(t, ctx, "the stray leg to be counted", func() bool { return r.h.Engine.Admission().Strays == 1 })
	if _, err := client.Channel(legID).Get(ctx); err == nil {
		t.Error("the stray leg is still there")
	}
	for drained := false; !drained; {
		select {
		case e, ok := <-far.Heard():
			if !ok {
				drained = true
			} else if e.Type == "play" {
				t.Errorf("the far end heard %s", e.Media)
			}
		default:
			drained = true
		}
	}
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	if len(r.rec.calls) != 0 {
		t.Errorf("%d calls recorded for a stray leg, want 0", len(r.rec.calls))
	}
}
