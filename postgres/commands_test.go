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

// fakeController records the commands it carries out and answers with ControlFunc.
type fakeController struct {
	mu          sync.Mutex
	got         []string
	ControlFunc func(callID string, cmd hotline.CallCommand) error
}

func (f *fakeController) Control(ctx context.Context, callID string, cmd hotline.CallCommand) error {
	f.mu.Lock()
	f.got = append(f.got, callID+" "+cmd.Action)
	f.mu.Unlock()
	return f.ControlFunc(callID, cmd)
}

func TestCommandBusCarriesCommandsToTheOwner(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := pgtest.URL(t)
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	call := func(id, instance string, ended bool) string {
		t.Helper()
		_, err := db.ExecContext(ctx, `INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, instance_id, ended_at)
			VALUES ($1::uuid, 'ast1', $1::text, '13800138000', now(), NULLIF($2, ''), CASE WHEN $3 THEN now() END)`, id, instance, ended)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	onA := call("00000000-0000-0000-0000-00000000000a", "a", false)
	onB := call("00000000-0000-0000-0000-00000000000b", "b", false)
	onC := call("00000000-0000-0000-0000-00000000000c", "c", false) // no instance c runs
	ended := call("00000000-0000-0000-0000-0000000000e0", "a", true)

	a := &fakeController{ControlFunc: func(callID string, cmd hotline.CallCommand) error {
		if cmd.Action == hotline.ActionResume {
			return fmt.Errorf("resume: the caller is not on hold: %w", hotline.ErrConflict)
		}
		return nil
	}}
	b := &fakeController{ControlFunc: func(string, hotline.CallCommand) error { return nil }}
	busA := postgres.NewCommandBus(db, url, "a", a, quiet())
	busB := postgres.NewCommandBus(db, url, "b", b, quiet())
	busB.SetTimeout(time.Second)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, bus := range []*postgres.CommandBus{busA, busB} {
		wg.Go(func() { bus.Run(runCtx) })
	}
	defer func() { stop(); wg.Wait() }()

	hold := hotline.CallCommand{Action: hotline.ActionHold, AgentID: 7}
	// Given on b for a call of a: a carries it out.
	waitUntil(t, ctx, func() bool { return busB.Control(ctx, onA, hold) == nil })
	// The owner's refusal comes back with its reason and its kind.
	err = busB.Control(ctx, onA, hotline.CallCommand{Action: hotline.ActionResume, AgentID: 7})
	if !errors.Is(err, hotline.ErrConflict) || !strings.Contains(err.Error(), "not on hold") {
		t.Errorf("remote refusal = %v, want ErrConflict with its reason", err)
	}
	// A call of b given on b stays local.
	if err := busB.Control(ctx, onB, hold); err != nil {
		t.Errorf("local command: %v", err)
	}
	if err := busB.Control(ctx, "00000000-0000-0000-0000-0000000000ff", hold); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("unknown call = %v, want ErrNotFound", err)
	}
	if err := busB.Control(ctx, ended, hold); !errors.Is(err, hotline.ErrConflict) {
		t.Errorf("ended call = %v, want ErrConflict", err)
	}
	if err := busB.Control(ctx, onA, hotline.CallCommand{Action: "park"}); !errors.Is(err, hotline.ErrInvalid) {
		t.Errorf("malformed command = %v, want ErrInvalid", err)
	}
	if err := busB.Control(ctx, onC, hold); err == nil || !strings.Contains(err.Error(), "did not carry out") {
		t.Errorf("command for a dead instance = %v, want a time-out", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.got) < 2 || a.got[len(a.got)-1] != onA+" resume" {
		t.Errorf("instance a carried out %v", a.got)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if fmt.Sprint(b.got) != fmt.Sprint([]string{onB + " hold"}) {
		t.Errorf("instance b carried out %v, want only its own call's hold", b.got)
	}
}

// waitUntil polls cond until it holds or ctx ends.
func waitUntil(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatal("condition never held")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
