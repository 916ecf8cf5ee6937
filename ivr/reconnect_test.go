package ivr_test

import (
	"context"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
)

// transferFlow puts a caller through to an outside number on 1.
const transferFlow = `
flow: main
start: wait
nodes:
  wait:
    kind: menu
    prompts: [common/repeat_hint]
    timeout: 60s
    options:
      "1": {next: out, label: 转接}
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

// reconnect cuts the engine's websocket to the simulator and waits until it is back and
// the reconciliation that follows has had its say.
func reconnect(t *testing.T, ctx context.Context, h *flowtest.Harness) {
	t.Helper()
	before := h.Cluster.Conns()[0].Health().Reconnects
	if n := h.Sim.CutSockets(); n == 0 {
		t.Fatal("no websocket to cut")
	}
	waitFor(t, ctx, "the websocket to come back", func() bool {
		hl := h.Cluster.Conns()[0].Health()
		return hl.Connected && hl.Reconnects > before
	})
	// Reconciliation looks twice, ReconcileGrace apart, then acts.
	time.Sleep(ari.DefaultReconcileGrace + 500*time.Millisecond)
}

// outsidePhone returns the simulator's call of the outside phone once it is up.
func outsidePhone(t *testing.T, ctx context.Context, sim *arisim.Sim) *arisim.Call {
	t.Helper()
	var id string
	waitFor(t, ctx, "the outside phone", func() bool {
		for _, ci := range sim.Calls() {
			if ci.Kind == "outbound" && ci.State == "up" {
				id = ci.ID
				return true
			}
		}
		return false
	})
	c, err := sim.Call(id)
	must(t, err)
	return c
}

// TestReconnectDuringTransferKeepsBothSides: a websocket reconnect while a caller talks to
// an outside number through a transfer leaves the conversation alone — neither Local half
// of the transfer's leg is taken for an orphan — and no bogus call is recorded.
func TestReconnectDuringTransferKeepsBothSides(t *testing.T) {
	cfg, rec, _ := flowConfig(t, transferFlow)
	r := startRigWith(t, cfg, rec, &fakeServices{})
	c, ctx := r.call(t, "13800138000")
	must(t, c.Expect(ctx, "common/repeat_hint"))
	must(t, c.Press(ctx, "1", 0))
	far := outsidePhone(t, ctx, r.h.Sim)
	hears(t, ctx, "caller", c.Sim(), far)

	reconnect(t, ctx, r.h)

	if got := r.h.Engine.Stats().Orphans; got != 0 {
		t.Errorf("orphans = %d after the reconnect, want 0", got)
	}
	select {
	case <-far.Done():
		t.Fatal("the outside phone was hung up by the reconnect")
	default:
	}
	if c.Ended() {
		t.Fatal("the caller was hung up by the reconnect")
	}
	hears(t, ctx, "caller", c.Sim(), far)
	must(t, far.Hangup())
	must(t, c.WaitEnd(ctx))
	r.h.Engine.Wait()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.calls) != 1 {
		t.Errorf("%d calls recorded, want 1", len(rec.calls))
	}
}

// TestReconnectDuringAgentCallAndMonitoring: a reconnect while a caller talks to an agent
// and a supervisor listens leaves all three connected.
func TestReconnectDuringAgentCallAndMonitoring(t *testing.T) {
	m := startMonitorRig(t, arisim.PhoneBehaviour{Mode: arisim.PhoneAnswer})
	must(t, m.start(t, ivr.MonitorListen))
	waitFor(t, m.ctx, "the supervisor's phone", func() bool { return len(m.supervisorCalls()) == 1 })
	super, err := m.h.Sim.Call(m.supervisorCalls()[0])
	must(t, err)
	hears(t, m.ctx, "supervisor", super, m.caller, m.agent)

	reconnect(t, m.ctx, m.h)

	if got := m.h.Engine.Stats().Orphans; got != 0 {
		t.Errorf("orphans = %d after the reconnect, want 0", got)
	}
	hears(t, m.ctx, "supervisor", super, m.caller, m.agent)
	hears(t, m.ctx, "caller", m.caller, m.agent)
	hears(t, m.ctx, "agent", m.agent, m.caller)
	m.mu.Lock()
	ended := len(m.ended)
	m.mu.Unlock()
	if ended != 0 {
		t.Errorf("the monitoring session ended with the reconnect")
	}
	must(t, m.mon.Stop(m.ctx, "7"))
	m.end(t)
	must(t, m.caller.Hangup())
	m.h.Engine.Wait()
	m.rec.mu.Lock()
	defer m.rec.mu.Unlock()
	if len(m.rec.calls) != 1 {
		t.Errorf("%d calls recorded, want 1", len(m.rec.calls))
	}
}
