package ivr_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/ari"
)

// outcomes returns the recorded outcomes of the calls, by outcome.
func outcomes(rec *memRecorder) map[string]int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	out := map[string]int{}
	for id := range rec.calls {
		out[rec.ends[id].Outcome]++
	}
	return out
}

// TestStrayLegIsHungUp: a leg that entered the application for a call (StasisStart with
// arguments) which no call claims — its originate timed out on the controller's side after
// Asterisk made it — is hung up rather than left in Stasis.
func TestStrayLegIsHungUp(t *testing.T) {
	cfg, rec, _ := flowConfig(t, holdFlow)
	r := startRigWith(t, cfg, rec, &fakeServices{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	client, err := ari.NewClient(r.h.URL, "hotline", "hotline-secret")
	must(t, err)
	leg, err := client.Originate(ctx, ari.OriginateRequest{Endpoint: "Local/83330000@hotline-out", App: "hotline",
		AppArgs: []string{"transfer", "a-call-long-gone"}, ChannelID: ari.NewID()})
	must(t, err)
	far := outsidePhone(t, ctx, r.h.Sim)
	r.strayHungUp(t, ctx, client, leg.ID, far)
}

// TestTransferEndsWhenTheFarEndsHangupIsLost: the events of the far end hanging up are lost
// (as with a websocket gap); the transferred call notices in its next quiet-spell check and
// ends rather than holding the caller in a bridge with nobody.
func TestTransferEndsWhenTheFarEndsHangupIsLost(t *testing.T) {
	cfg, rec, _ := flowConfig(t, transferFlow)
	cfg.TransferCheck = 300 * time.Millisecond
	r := startRigWith(t, cfg, rec, &fakeServices{})
	c, ctx := r.call(t, "13800138000")
	must(t, c.Expect(ctx, "common/repeat_hint"))
	must(t, c.Press(ctx, "1", 0))
	far := outsidePhone(t, ctx, r.h.Sim)
	hears(t, ctx, "caller", c.Sim(), far)
	for _, typ := range []string{"StasisEnd", "ChannelDestroyed", "ChannelHangupRequest", "ChannelLeftBridge"} {
		r.h.Sim.LoseEvents(typ, 100)
	}
	must(t, far.Hangup())
	must(t, c.WaitEnd(ctx))
	for _, typ := range []string{"StasisEnd", "ChannelDestroyed", "ChannelHangupRequest", "ChannelLeftBridge"} {
		r.h.Sim.LoseEvents(typ, 0)
	}
	r.h.Engine.Wait()
	if got := outcomes(rec)[hotline.OutcomeTransferred]; got != 1 {
		t.Errorf("outcomes %v, want one transferred call", outcomes(rec))
	}
}

// TestOverloadRefusesPolitely: with two calls in progress and a limit of two, a third caller
// hears the busy apology and is hung up, recorded as overload and counted in the metrics;
// once a line is free, the next caller is served.
func TestOverloadRefusesPolitely(t *testing.T) {
	cfg, rec, _ := flowConfig(t, holdFlow)
	r := startRigWith(t, cfg, rec, &fakeServices{})
	r.h.Engine.SetLimits(ivr.Limits{MaxCalls: 2})
	a, ctx := r.call(t, "13800138001")
	must(t, a.Expect(ctx, "common/repeat_hint"))
	b, _ := r.call(t, "13800138002")
	must(t, b.Expect(ctx, "common/repeat_hint"))

	over, _ := r.call(t, "13800138003")
	must(t, over.Expect(ctx, "common/lines_busy"))
	must(t, over.WaitEnd(ctx))
	if strings.Contains(strings.Join(over.Heard, " "), "common/welcome") {
		t.Errorf("the refused caller heard %v", over.Heard)
	}
	waitFor(t, ctx, "the refusal to be recorded", func() bool { return outcomes(rec)[ivr.OutcomeOverload] == 1 })

	must(t, a.Press(ctx, "1", 0))
	must(t, a.WaitEnd(ctx))
	waitFor(t, ctx, "a free line", func() bool { return r.h.Engine.Stats().Active == 1 })
	d, _ := r.call(t, "13800138004")
	must(t, d.Expect(ctx, "common/welcome", "common/repeat_hint"))

	reg := prometheus.NewRegistry()
	must(t, reg.Register(r.h.Engine.Collector()))
	text := gather(t, reg)
	for _, want := range []string{`hotline_ivr_calls_limit{kind="max"} 2`, `hotline_ivr_calls_limit{kind="soft"} 1`,
		`hotline_ivr_calls_rejected_total{reason="overload"} 1`, `hotline_ivr_calls_rejected_total{reason="draining"} 0`,
		`hotline_ivr_calls_active 2`} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("metrics lack %s:\n%s", want, text)
		}
	}
	must(t, b.Hangup())
	must(t, d.Hangup())
	r.h.Engine.Wait()
}

// TestDrainFinishesThenApologises: while draining, a new caller hears the busy apology; a
// call that finishes within the drain timeout ends normally; the one still in progress at
// the deadline hears the apology and is hung up; every call is recorded.
func TestDrainFinishesThenApologises(t *testing.T) {
	cfg, rec, _ := flowConfig(t, holdFlow)
	r := startRigWith(t, cfg, rec, &fakeServices{})
	quick, ctx := r.call(t, "13800138001")
	must(t, quick.Expect(ctx, "common/repeat_hint"))
	slow, _ := r.call(t, "13800138002")
	must(t, slow.Expect(ctx, "common/repeat_hint"))

	handedOver := make(chan struct{})
	r.h.Engine.SetHandover(func(context.Context) { close(handedOver) })
	done := make(chan ivr.DrainResult, 1)
	go func() { done <- r.h.Engine.Drain(ctx, 2*time.Second) }()
	waitFor(t, ctx, "the drain to start", r.h.Engine.Draining)

	late, _ := r.call(t, "13800138003")
	must(t, late.Expect(ctx, "common/lines_busy"))
	must(t, late.WaitEnd(ctx))
	must(t, quick.Press(ctx, "1", 0))
	must(t, quick.Expect(ctx, "common/goodbye"))
	must(t, quick.WaitEnd(ctx))

	must(t, slow.Expect(ctx, "common/system_busy", "common/goodbye"))
	must(t, slow.WaitEnd(ctx))
	var res ivr.DrainResult
	select {
	case res = <-done:
	case <-ctx.Done():
		t.Fatal("the drain did not end")
	}
	select {
	case <-handedOver:
	default:
		t.Error("the handover hook was not called")
	}
	if res.InProgress != 2 || res.Finished != 1 || res.Ended != 1 || res.Refused != 1 {
		t.Errorf("drain = %+v, want 2 in progress, 1 finished, 1 ended, 1 refused", res)
	}
	got := outcomes(rec)
	if got[hotline.OutcomeSelfServed] != 1 || got[ivr.OutcomeOverload] != 1 || got[""] != 0 || len(rec.calls) != 3 {
		t.Errorf("outcomes %v of %d calls, want a self-served, an overload and a third ended", got, len(rec.calls))
	}
}

// TestLookupsDegradeAboveTheSoftLimit: with more calls than the soft limit in progress, a
// lookup waits at most a second — a source that takes 1.5 s is given up and the caller hears
// the fallback; with the load gone, the same lookup is awaited and answers.
func TestLookupsDegradeAboveTheSoftLimit(t *testing.T) {
	r := startRig(t, func(ctx context.Context, source string, args map[string]any) (any, error) {
		if source == "citizen_by_caller" {
			select {
			case <-time.After(1500 * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return billData(ctx, source, args)
	})
	r.h.Engine.SetLimits(ivr.Limits{MaxCalls: 10, SoftCalls: 1})
	other, ctx := r.call(t, "13900139000")
	toMainMenu(t, other, ctx)

	c, _ := r.call(t, "13800138000")
	toMainMenu(t, c, ctx)
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "common/system_busy"))
	if strings.Contains(strings.Join(c.Heard, " "), "bills/pick_kind") {
		t.Errorf("the degraded lookup was awaited: %v", c.Heard)
	}
	if a := r.h.Engine.Admission(); a.Degraded == 0 {
		t.Error("no degradation counted")
	}
	must(t, c.Hangup())
	must(t, other.Hangup())
	must(t, c.WaitEnd(ctx))
	must(t, other.WaitEnd(ctx))
	waitFor(t, ctx, "the calls to end", func() bool { return r.h.Engine.Stats().Active == 0 })

	c, _ = r.call(t, "13800138000")
	toMainMenu(t, c, ctx)
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "bills/pick_kind"))
	must(t, c.Hangup())
	must(t, c.WaitEnd(ctx))
	r.h.Engine.Wait()
}
