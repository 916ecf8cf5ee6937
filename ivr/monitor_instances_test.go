package ivr_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// The engine's monitoring carries out the monitoring commands the bus brings.
var _ postgres.MonitorController = (*ivr.Monitors)(nil)

// noCalls is the call controller of an instance that owns no call.
type noCalls struct{}

func (noCalls) Control(ctx context.Context, callID string, cmd hotline.CallCommand) error {
	return hotline.ErrNotFound
}

// TestMonitorFromAnotherInstance: a supervisor whose desk is on instance b listens to,
// whispers to, barges in on and stops listening to a call that instance a's engine owns.
// Each command goes through the command bus as call control does (a row in call_commands,
// NOTIFY to a, a's result back to b); the supervisor's phone is called once, the refusals of
// a come back with their kind and reason, and the conversation goes on afterwards.
func TestMonitorFromAnotherInstance(t *testing.T) {
	m := startMonitorRig(t, arisim.PhoneBehaviour{Mode: arisim.PhoneAnswer})
	url := pgtest.URL(t)
	db, err := sqlx.Open("postgres", url)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.ExecContext(m.ctx, `INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, instance_id)
		VALUES ($1::uuid, 'ast1', $1::text, '13800138000', now(), 'a')`, m.callID)
	must(t, err)

	busA := postgres.NewCommandBus(db, url, "a", m.h.Engine, nil)
	busA.SetMonitor(m.mon)
	busB := postgres.NewCommandBus(db, url, "b", noCalls{}, nil) // b runs no monitoring of its own
	runCtx, stop := context.WithCancel(m.ctx)
	var wg sync.WaitGroup
	for _, bus := range []*postgres.CommandBus{busA, busB} {
		wg.Go(func() { bus.Run(runCtx) })
	}
	t.Cleanup(func() { stop(); wg.Wait() })

	start := hotline.MonitorCommand{Action: hotline.MonitorActionStart, ID: "7", AgentID: 1,
		AgentEndpoint: "PJSIP/1001", Supervisor: "PJSIP/1100", Mode: ivr.MonitorListen}
	must(t, busB.Monitor(m.ctx, m.callID, start))
	waitFor(t, m.ctx, "the supervisor's phone", func() bool { return len(m.supervisorCalls()) == 1 })
	super, err := m.h.Sim.Call(m.supervisorCalls()[0])
	must(t, err)
	hears(t, m.ctx, "supervisor", super, m.caller, m.agent)
	hears(t, m.ctx, "agent", m.agent, m.caller)

	// a's refusals come back to b.
	again := start
	again.ID = "8"
	if err := busB.Monitor(m.ctx, m.callID, again); !errors.Is(err, hotline.ErrConflict) || !strings.Contains(err.Error(), "monitored already") {
		t.Errorf("a second session on the call = %v, want ErrConflict: monitored already", err)
	}
	if err := busB.Monitor(m.ctx, m.callID, hotline.MonitorCommand{Action: hotline.MonitorActionMode, ID: "9", Mode: ivr.MonitorBarge}); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("the mode of a session a does not have = %v, want ErrNotFound", err)
	}
	if err := busB.Monitor(m.ctx, m.callID, hotline.MonitorCommand{Action: hotline.MonitorActionMode, ID: "7", Mode: "shout"}); !errors.Is(err, hotline.ErrInvalid) {
		t.Errorf("a mode a does not know = %v, want ErrInvalid", err)
	}

	must(t, busB.Monitor(m.ctx, m.callID, hotline.MonitorCommand{Action: hotline.MonitorActionMode, ID: "7", Mode: ivr.MonitorWhisper}))
	hears(t, m.ctx, "agent", m.agent, m.caller, super)
	hears(t, m.ctx, "caller", m.caller, m.agent)
	must(t, busB.Monitor(m.ctx, m.callID, hotline.MonitorCommand{Action: hotline.MonitorActionMode, ID: "7", Mode: ivr.MonitorBarge}))
	hears(t, m.ctx, "caller", m.caller, m.agent, super)
	hears(t, m.ctx, "agent", m.agent, m.caller, super)
	if got := m.supervisorCalls(); !slices.Equal(got, []string{super.ID()}) {
		t.Errorf("calls to the supervisor's phone %v, want only %s: switching modes redialled", got, super.ID())
	}
	must(t, busB.Monitor(m.ctx, m.callID, hotline.MonitorCommand{Action: hotline.MonitorActionStop, ID: "7"}))
	e := m.end(t)
	var modes []string
	for _, s := range e.Modes {
		modes = append(modes, s.Mode)
	}
	if want := []string{"listen", "whisper", "barge"}; !slices.Equal(modes, want) || e.Reason != "stopped" {
		t.Errorf("the session went %v and ended %q, want %v and stopped", modes, e.Reason, want)
	}
	<-super.Done()
	leftovers(t, m)
	hears(t, m.ctx, "caller", m.caller, m.agent)

	var rows []struct {
		Instance string `db:"instance_id"`
		Kind     string `db:"error_kind"`
	}
	must(t, db.SelectContext(m.ctx, &rows, `SELECT instance_id, COALESCE(error_kind, '') AS error_kind FROM hotline.call_commands ORDER BY id`))
	if len(rows) != 7 {
		t.Errorf("%d commands went through call_commands, want 7: %+v", len(rows), rows)
	}
	for _, r := range rows {
		if r.Instance != "a" {
			t.Errorf("a command for instance %q, want a", r.Instance)
		}
	}
}
