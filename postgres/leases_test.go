package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// Leases: an application is held by one instance; another takes it only once it expired for
// longer than the grace, with the next epoch; the old holder's renewal then fails, and its own
// instance asking for it back is heard by the holder.
func TestAppLeases(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()
	a, b := postgres.NewLeases(db, "a"), postgres.NewLeases(db, "b")
	ep, ok, err := a.Acquire(ctx, "hotline-a", 3*time.Second, time.Second, true)
	if err != nil || !ok || ep != 1 {
		t.Fatalf("a acquires = %d %v %v, want epoch 1", ep, ok, err)
	}
	if _, ok, err := b.Acquire(ctx, "hotline-a", 3*time.Second, time.Second, false); err != nil || ok {
		t.Fatalf("b acquires a live lease = %v %v, want refused", ok, err)
	}
	if held, _, err := a.Renew(ctx, "hotline-a", 1, 3*time.Second); err != nil || !held {
		t.Fatalf("a renews = %v %v", held, err)
	}
	if apps, err := b.Expired(ctx, time.Second); err != nil || len(apps) != 0 {
		t.Fatalf("expired = %v %v, want none", apps, err)
	}
	// a stops renewing: the lease runs out, and after the grace b takes it.
	if _, err := db.Exec(`UPDATE hotline.app_leases SET expires_at = now() - interval '500 milliseconds'`); err != nil {
		t.Fatal(err)
	}
	if apps, _ := b.Expired(ctx, time.Second); len(apps) != 0 {
		t.Fatalf("expired within the grace = %v, want none", apps)
	}
	if _, ok, _ := b.Acquire(ctx, "hotline-a", 3*time.Second, time.Second, false); ok {
		t.Fatal("b took a lease expired within the grace")
	}
	if _, err := db.Exec(`UPDATE hotline.app_leases SET expires_at = now() - interval '2 seconds'`); err != nil {
		t.Fatal(err)
	}
	if apps, _ := b.Expired(ctx, time.Second); len(apps) != 1 || apps[0] != "hotline-a" {
		t.Fatalf("expired = %v, want hotline-a", apps)
	}
	ep, ok, err = b.Acquire(ctx, "hotline-a", 3*time.Second, time.Second, false)
	if err != nil || !ok || ep != 2 {
		t.Fatalf("b takes over = %d %v %v, want epoch 2", ep, ok, err)
	}
	if held, _, err := a.Renew(ctx, "hotline-a", 1, 3*time.Second); err != nil || held {
		t.Fatalf("a renews a lease taken over = %v %v, want false", held, err)
	}
	// a, restarted, asks for its application back; b hears it at its next renewal.
	if _, ok, _ := a.Acquire(ctx, "hotline-a", 3*time.Second, time.Second, true); ok {
		t.Fatal("a took back a live lease")
	}
	if held, wanted, err := b.Renew(ctx, "hotline-a", 2, 3*time.Second); err != nil || !held || !wanted {
		t.Fatalf("b renews = held %v wanted %v %v, want both", held, wanted, err)
	}
	if err := b.Release(ctx, "hotline-a", 2); err != nil {
		t.Fatal(err)
	}
	if apps, _ := postgres.NewLeases(db, "c").Expired(ctx, time.Second); len(apps) != 0 {
		t.Fatalf("expired = %v: an application asked back is left to its instance", apps)
	}
	if ep, ok, err := a.Acquire(ctx, "hotline-a", 3*time.Second, time.Second, true); err != nil || !ok || ep != 3 {
		t.Fatalf("a takes back = %d %v %v, want epoch 3", ep, ok, err)
	}
}

// Call states are written in the background, the latest per call; a write under an epoch
// that moved on is discarded and the writer hears that the lease was lost; the adopter makes
// the calls' rows its own and gets their pending offers.
func TestCallStatesFencing(t *testing.T) {
	db := pgtest.DB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, b := postgres.NewLeases(db, "a"), postgres.NewLeases(db, "b")
	if _, ok, err := a.Acquire(ctx, "hotline-a", 3*time.Second, 0, true); err != nil || !ok {
		t.Fatal(ok, err)
	}
	lost := make(chan int64, 4)
	wa := postgres.NewCallStates(db, "a", nil, 10*time.Millisecond, func(app string, epoch int64) { lost <- epoch })
	go wa.Run(ctx)
	const call1, call2 = "7f8a1f0e-0000-4000-8000-000000000001", "7f8a1f0e-0000-4000-8000-000000000002"
	state := func(node string) []byte {
		b, _ := json.Marshal(map[string]string{"node": node})
		return b
	}
	wa.SaveState(call1, "hotline-a", 1, "ast1", "ch-1", state("welcome"))
	wa.SaveState(call1, "hotline-a", 1, "ast1", "ch-1", state("main_menu"))
	wa.SaveState(call2, "hotline-a", 1, "ast1", "ch-2", state("wait"))
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	if err := wa.Sync(sctx); err != nil {
		t.Fatal(err)
	}
	// Read by another writer: what the database holds.
	got, err := postgres.NewCallStates(db, "a", nil, 0, nil).LoadStates(ctx, "hotline-a", "ast1")
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]string
	if err := json.Unmarshal(got["ch-1"], &s); err != nil || s["node"] != "main_menu" {
		t.Fatalf("states = %q, want call 1 at main_menu", got)
	}
	// b takes the application over; a's later writes are discarded and a hears it.
	if _, err := db.Exec(`UPDATE hotline.app_leases SET expires_at = now() - interval '1 minute'`); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := b.Acquire(ctx, "hotline-a", 3*time.Second, 0, false); err != nil || !ok {
		t.Fatal(ok, err)
	}
	wa.SaveState(call1, "hotline-a", 1, "ast1", "ch-1", state("bills"))
	wa.DropState(call2, "hotline-a", 1)
	select {
	case ep := <-lost:
		if ep != 1 {
			t.Errorf("lost epoch %d, want 1", ep)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the writer was not told its lease was lost")
	}
	got, err = postgres.NewCallStates(db, "b", nil, 0, nil).LoadStates(ctx, "hotline-a", "ast1")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got["ch-1"], &s); err != nil || s["node"] != "main_menu" || len(got) != 2 {
		t.Fatalf("states after the takeover = %q, want both as a left them", got)
	}
	// A writer reads its own pending states over the database's: a call it is about to delete
	// is not there.
	wc := postgres.NewCallStates(db, "c", nil, time.Hour, nil)
	wc.DropState(call2, "hotline-a", 2)
	wc.SaveState(call1, "hotline-a", 2, "ast1", "ch-1", state("survey"))
	got, err = wc.LoadStates(ctx, "hotline-a", "ast1")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(got["ch-1"], &s); err != nil || s["node"] != "survey" || len(got) != 1 {
		t.Fatalf("states with pending ones = %q, want call 1 at survey only", got)
	}
	wb := postgres.NewCallStates(db, "b", nil, 0, nil)
	if _, err := wb.AdoptCalls(ctx, "hotline-a", 2, []string{call1, call2}); err != nil {
		t.Fatalf("b adopts: %v", err)
	}
	if _, err := wa.AdoptCalls(ctx, "hotline-a", 1, []string{call1}); err == nil {
		t.Fatal("a adopted calls under an old epoch")
	}
}

// SaveStateWait returns once the state is in the database; while the database holds the
// write back, the wait ends at the caller's deadline and the state is written after, and a
// newer state of the call written answers the older waits too.
func TestSaveStateWait(t *testing.T) {
	db := pgtest.DB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, ok, err := postgres.NewLeases(db, "a").Acquire(ctx, "hotline-a", 30*time.Second, 0, true); err != nil || !ok {
		t.Fatal(ok, err)
	}
	w := postgres.NewCallStates(db, "a", nil, time.Hour, nil) // only asked writes
	go w.Run(ctx)
	const call = "7f8a1f0e-0000-4000-8000-000000000003"
	save := func(ctx context.Context, node string) error {
		b, _ := json.Marshal(map[string]string{"node": node})
		return w.SaveStateWait(ctx, call, "hotline-a", 1, "ast1", "ch-3", b)
	}
	stored := func() string {
		var node string
		db.Get(&node, `SELECT state->>'node' FROM hotline.call_states WHERE call_id = $1`, call)
		return node
	}
	if err := save(ctx, "welcome"); err != nil || stored() != "welcome" {
		t.Fatalf("save = %v, stored %q: want welcome written", err, stored())
	}
	// The lease row locked: the writes wait for it.
	tx, err := db.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`SELECT 1 FROM hotline.app_leases WHERE app = 'hotline-a' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	short, scancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer scancel()
	if err := save(short, "menu"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("save while the write is held = %v, want the deadline", err)
	}
	waited := make(chan error, 1)
	go func() { waited <- save(ctx, "bills") }()
	for w.Pending() == 0 { // bills queued behind the held write of menu
		time.Sleep(time.Millisecond)
	}
	b, _ := json.Marshal(map[string]string{"node": "survey"})
	w.SaveState(call, "hotline-a", 1, "ast1", "ch-3", b) // newer, not waited for
	select {
	case err := <-waited:
		t.Fatalf("save returned %v while the write was held", err)
	case <-time.After(300 * time.Millisecond):
	}
	tx.Rollback()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the wait did not end once the write could go on")
	}
	if got := stored(); got != "survey" {
		t.Fatalf("stored %q, want the newest state, survey", got)
	}
}
