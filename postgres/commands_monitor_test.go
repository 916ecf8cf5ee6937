package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// fakeMonitors records the monitoring commands it carries out and answers with MonitorFunc.
type fakeMonitors struct {
	mu          sync.Mutex
	got         []string
	MonitorFunc func(callID string, cmd hotline.MonitorCommand) error
}

func (f *fakeMonitors) MonitorCommand(ctx context.Context, callID string, cmd hotline.MonitorCommand) error {
	f.mu.Lock()
	f.got = append(f.got, callID+" "+cmd.Action+" "+cmd.ID)
	f.mu.Unlock()
	return f.MonitorFunc(callID, cmd)
}

// twoBuses runs the command buses of instances a and b on a fresh database with a call owned
// by each; a monitors with ma, b with mb (nil: b has no monitoring).
func twoBuses(t testing.TB, ma, mb postgres.MonitorController) (busA, busB *postgres.CommandBus, onA, onB string) {
	t.Helper()
	url := pgtest.URL(t)
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	onA, onB = "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b"
	for id, instance := range map[string]string{onA: "a", onB: "b"} {
		if _, err := db.Exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, instance_id)
			VALUES ($1::uuid, 'ast1', $1::text, '13800138000', now(), $2)`, id, instance); err != nil {
			t.Fatal(err)
		}
	}
	none := &fakeController{ControlFunc: func(string, hotline.CallCommand) error { return nil }}
	busA = postgres.NewCommandBus(db, url, "a", none, quiet())
	busB = postgres.NewCommandBus(db, url, "b", none, quiet())
	busA.SetMonitor(ma)
	if mb != nil {
		busB.SetMonitor(mb)
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, bus := range []*postgres.CommandBus{busA, busB} {
		wg.Go(func() { bus.Run(ctx) })
	}
	t.Cleanup(func() { stop(); wg.Wait() })
	return busA, busB, onA, onB
}

// TestCommandBusCarriesMonitoringToTheOwner: a monitoring command given on b for a call of
// a is carried out by a's monitoring, its refusal comes back with its kind and reason; one
// for b's own call stays on b, and without monitoring on b it is refused.
func TestCommandBusCarriesMonitoringToTheOwner(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := &fakeMonitors{MonitorFunc: func(callID string, cmd hotline.MonitorCommand) error {
		if cmd.Action == hotline.MonitorActionStop {
			return fmt.Errorf("monitoring session %s: %w", cmd.ID, hotline.ErrNotFound)
		}
		return nil
	}}
	_, busB, onA, onB := twoBuses(t, a, nil)
	start := hotline.MonitorCommand{Action: hotline.MonitorActionStart, ID: "1", AgentID: 7,
		AgentEndpoint: "PJSIP/1001", Supervisor: "PJSIP/1100", Mode: "listen"}
	waitUntil(t, ctx, func() bool { return busB.Monitor(ctx, onA, start) == nil })
	if err := busB.Monitor(ctx, onA, hotline.MonitorCommand{Action: hotline.MonitorActionMode, ID: "1", Mode: "barge"}); err != nil {
		t.Errorf("mode: %v", err)
	}
	err := busB.Monitor(ctx, onA, hotline.MonitorCommand{Action: hotline.MonitorActionStop, ID: "1"})
	if !errors.Is(err, hotline.ErrNotFound) || !strings.Contains(err.Error(), "monitoring session 1") {
		t.Errorf("a's refusal = %v, want ErrNotFound with its reason", err)
	}
	if err := busB.Monitor(ctx, onB, start); !errors.Is(err, hotline.ErrConflict) || !strings.Contains(err.Error(), "not available") {
		t.Errorf("b's own call without monitoring = %v, want ErrConflict: not available", err)
	}
	if err := busB.Monitor(ctx, onA, hotline.MonitorCommand{Action: "spy", ID: "1"}); !errors.Is(err, hotline.ErrInvalid) {
		t.Errorf("a malformed command = %v, want ErrInvalid", err)
	}
	if err := busB.Monitor(ctx, "00000000-0000-0000-0000-0000000000ff", start); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("an unknown call = %v, want ErrNotFound", err)
	}
	// Call control on the same bus is unaffected.
	if err := busB.Control(ctx, onA, hotline.CallCommand{Action: hotline.ActionHold, AgentID: 7}); err != nil {
		t.Errorf("call control beside monitoring: %v", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	last := a.got[len(a.got)-3:]
	if want := []string{onA + " start 1", onA + " mode 1", onA + " stop 1"}; fmt.Sprint(last) != fmt.Sprint(want) {
		t.Errorf("instance a carried out %v, want %v at the end", a.got, want)
	}
}

// BenchmarkCommandBusMonitorRemote measures a monitoring command's round trip from the
// instance a supervisor's desk is on to the instance that owns the call and back: a row in
// call_commands, NOTIFY, the owner's result, NOTIFY.
func BenchmarkCommandBusMonitorRemote(b *testing.B) {
	a := &fakeMonitors{MonitorFunc: func(string, hotline.MonitorCommand) error { return nil }}
	_, busB, onA, _ := twoBuses(b, a, nil)
	ctx := context.Background()
	mode := hotline.MonitorCommand{Action: hotline.MonitorActionMode, ID: "1", Mode: "whisper"}
	for busB.Monitor(ctx, onA, mode) != nil { // both listeners up
		time.Sleep(10 * time.Millisecond)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := busB.Monitor(ctx, onA, mode); err != nil {
			b.Fatal(err)
		}
	}
}
