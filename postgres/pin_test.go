package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres"
)

// countChecks makes the store count its PIN comparisons.
func countChecks(f *fixture) *atomic.Int64 {
	var n atomic.Int64
	postgres.SetPINChecker(f.store, func(hash, pin string) bool {
		n.Add(1)
		return pii.CheckPIN(hash, pin)
	})
	return &n
}

// attempts returns the failures and successes recorded for a citizen.
func (f *fixture) attempts(t *testing.T, citizen int64) (failures, successes int) {
	t.Helper()
	err := f.db.QueryRow(`SELECT count(*) FILTER (WHERE NOT ok), count(*) FILTER (WHERE ok)
		FROM hotline.pin_attempts WHERE citizen_id = $1`, citizen).Scan(&failures, &successes)
	if err != nil {
		t.Fatal(err)
	}
	return failures, successes
}

func (f *fixture) lockCount(t *testing.T, citizen int64) int {
	t.Helper()
	var n int
	if err := f.db.Get(&n, `SELECT COALESCE((SELECT lock_count FROM hotline.pin_guard WHERE citizen_id = $1), 0)`, citizen); err != nil {
		t.Fatal(err)
	}
	return n
}

// fail enters a wrong PIN and checks it was refused as a mismatch with remaining tries left.
func (f *fixture) fail(t *testing.T, citizen int64, remaining int) {
	t.Helper()
	err := f.store.VerifyPIN(context.Background(), citizen, "000000", "")
	var perr *postgres.PINError
	if !errors.As(err, &perr) || !errors.Is(err, hotline.ErrPINMismatch) || errors.Is(err, hotline.ErrPINLocked) {
		t.Fatalf("wrong PIN: err = %v, want a mismatch", err)
	}
	if got, want := perr.Remaining, remaining; got != want {
		t.Errorf("Remaining = %d, want %d", got, want)
	}
}

func TestVerifyPIN(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	checks := countChecks(f)
	if err := f.store.VerifyPIN(ctx, f.real, realPIN, ""); err != nil {
		t.Fatalf("right PIN: %v", err)
	}
	f.fail(t, f.real, 4)
	if err := f.store.VerifyPIN(ctx, f.bare, realPIN, ""); !errors.Is(err, hotline.ErrPINMismatch) {
		t.Errorf("another citizen's PIN: err = %v, want a mismatch", err)
	}
	if err := f.store.VerifyPIN(ctx, f.ordinary, realPIN, ""); !errors.Is(err, hotline.ErrNoPIN) {
		t.Errorf("citizen without PIN: err = %v, want ErrNoPIN", err)
	}
	if err := f.store.VerifyPIN(ctx, f.real+1000, realPIN, ""); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("unknown citizen: err = %v, want ErrNotFound", err)
	}
	if got, want := checks.Load(), int64(3); got != want {
		t.Errorf("%d PIN comparisons, want %d", got, want)
	}
	failures, successes := f.attempts(t, f.real)
	if failures != 1 || successes != 1 {
		t.Errorf("recorded %d failures, %d successes; want 1, 1", failures, successes)
	}
	if n := f.lockCount(t, f.ordinary); n != 0 {
		t.Errorf("citizen without PIN has lock count %d", n)
	}
}

func TestVerifyPINRecordsCall(t *testing.T) {
	f := newFixture(t)
	const call = "7d0e6c3a-2b1f-4c8e-9a57-0f3c1d2e4b6a"
	f.exec(t, `INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at)
		VALUES ($1, 'pbx1', '1741600000.1', '13800138000', now())`, call)
	if err := f.store.VerifyPIN(context.Background(), f.real, realPIN, call); err != nil {
		t.Fatal(err)
	}
	var got string
	if err := f.db.Get(&got, `SELECT call_id::text FROM hotline.pin_attempts WHERE citizen_id = $1`, f.real); err != nil {
		t.Fatal(err)
	}
	if got != call {
		t.Errorf("attempt recorded against call %q, want %q", got, call)
	}
}

func TestPINLockout(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	checks := countChecks(f)
	start := f.clock.Now()
	for remaining := 4; remaining > 0; remaining-- {
		f.fail(t, f.real, remaining)
		f.clock.Advance(time.Minute)
	}
	if l, err := f.store.PINLock(ctx, f.real); err != nil || l.Locked() {
		t.Fatalf("PINLock after 4 failures = %+v, %v; want not locked", l, err)
	}

	// The fifth failure locks.
	err := f.store.VerifyPIN(ctx, f.real, "999999", "")
	var perr *postgres.PINError
	if !errors.As(err, &perr) || !errors.Is(err, hotline.ErrPINLocked) || !errors.Is(err, hotline.ErrPINMismatch) {
		t.Fatalf("fifth wrong PIN: err = %v, want a mismatch that locks", err)
	}
	lockedAt := f.clock.Now()
	if got, want := perr.LockedUntil, lockedAt.Add(30*time.Minute); !got.Equal(want) || perr.Held {
		t.Errorf("LockedUntil = %v (held %v), want %v", got, perr.Held, want)
	}
	if got, want := perr.Remaining, 0; got != want {
		t.Errorf("Remaining = %d, want %d", got, want)
	}

	// Locked: even the right PIN is refused, without a comparison or a record.
	f.clock.Advance(30*time.Minute - time.Second)
	before := checks.Load()
	err = f.store.VerifyPIN(ctx, f.real, realPIN, "")
	if !errors.As(err, &perr) || !errors.Is(err, hotline.ErrPINLocked) || errors.Is(err, hotline.ErrPINMismatch) || perr.Checked {
		t.Fatalf("right PIN while locked: err = %v, want locked without a comparison", err)
	}
	if got := checks.Load(); got != before {
		t.Errorf("%d comparisons while locked", got-before)
	}
	if l, err := f.store.PINLock(ctx, f.real); err != nil || !l.Until.Equal(lockedAt.Add(30*time.Minute)) || !l.Since.Equal(lockedAt) || l.Held || l.InRow != 1 {
		t.Errorf("PINLock = %+v, %v; want until %v, 1 in a row", l, err, lockedAt.Add(30*time.Minute))
	}
	if failures, successes := f.attempts(t, f.real); failures != 5 || successes != 0 {
		t.Errorf("recorded %d failures, %d successes; want 5, 0", failures, successes)
	}

	// The lock expires, but the failures before it still count (within 24 hours): the next
	// wrong PIN locks again at once, for longer.
	f.clock.Advance(time.Second)
	if f.clock.Now().Sub(start) >= postgres.PINFailureWindow {
		t.Fatal("test clock left the failure window")
	}
	if l, err := f.store.PINLock(ctx, f.real); err != nil || l.Locked() {
		t.Errorf("PINLock after expiry = %+v, %v; want not locked", l, err)
	}
	err = f.store.VerifyPIN(ctx, f.real, "000000", "")
	if !errors.As(err, &perr) || !errors.Is(err, hotline.ErrPINLocked) || !errors.Is(err, hotline.ErrPINMismatch) {
		t.Fatalf("wrong PIN after the lock expired: err = %v, want a mismatch that locks again", err)
	}
	if got, want := perr.LockedUntil, f.clock.Now().Add(6*time.Hour); !got.Equal(want) {
		t.Errorf("second lock until %v, want %v", got, want)
	}
	if got, want := f.lockCount(t, f.real), 2; got != want {
		t.Errorf("lock count = %d, want %d", got, want)
	}
}

// TestPINTwentyWrongOverSixHours tries 20 wrong PINs evenly spread over 6 hours: at most 6 of
// them may be compared (issue 8: the lock used to start the count afresh, letting 15 through).
func TestPINTwentyWrongOverSixHours(t *testing.T) {
	f := newFixture(t)
	checks := countChecks(f)
	const tries = 20
	step := 6 * time.Hour / (tries - 1)
	var through int
	for i := range tries {
		if i > 0 {
			f.clock.Advance(step)
		}
		err := f.store.VerifyPIN(context.Background(), f.real, "000000", "")
		var perr *postgres.PINError
		if !errors.As(err, &perr) {
			t.Fatalf("try %d: err = %v, want a *PINError", i+1, err)
		}
		if perr.Checked {
			through++
		}
	}
	if through > 6 || checks.Load() > 6 {
		t.Errorf("%d of %d wrong PINs compared (%d comparisons) in 6 hours, want at most 6", through, tries, checks.Load())
	}
	if failures, _ := f.attempts(t, f.real); failures != through {
		t.Errorf("recorded %d failures, want %d", failures, through)
	}
}

// lockAfterFailure enters a wrong PIN and checks that it locks, returning the lock.
func (f *fixture) lockAfterFailure(t *testing.T, citizen int64) *postgres.PINError {
	t.Helper()
	err := f.store.VerifyPIN(context.Background(), citizen, "000000", "")
	var perr *postgres.PINError
	if !errors.As(err, &perr) || !errors.Is(err, hotline.ErrPINMismatch) || !errors.Is(err, hotline.ErrPINLocked) {
		t.Fatalf("wrong PIN: err = %v, want a mismatch that locks", err)
	}
	return perr
}

// TestPINLockEscalates locks an account again and again: 30 minutes, 6 hours, 24 hours, then
// until someone unlocks it.
func TestPINLockEscalates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	checks := countChecks(f)
	for remaining := 4; remaining > 0; remaining-- {
		f.fail(t, f.real, remaining)
	}
	for i, want := range []time.Duration{30 * time.Minute, 6 * time.Hour, 24 * time.Hour} {
		perr := f.lockAfterFailure(t, f.real)
		if got := perr.LockedUntil.Sub(f.clock.Now()); got != want || perr.Held {
			t.Fatalf("lock %d: for %v (held %v), want %v", i+1, got, perr.Held, want)
		}
		f.clock.Advance(want)
	}
	// 30 h 30 min on: the failures of the first hours no longer count, the locks do.
	perr := f.lockAfterFailure(t, f.real)
	if !perr.Held || !perr.LockedUntil.IsZero() {
		t.Fatalf("fourth lock: %+v, want held until unlocked", perr)
	}
	if got, want := f.lockCount(t, f.real), 4; got != want {
		t.Errorf("lock count = %d, want %d", got, want)
	}

	heldAt := f.clock.Now()

	// Held: a month later the right PIN is still refused, without a comparison.
	f.clock.Advance(30 * 24 * time.Hour)
	before := checks.Load()
	err := f.store.VerifyPIN(ctx, f.real, realPIN, "")
	if !errors.As(err, &perr) || !errors.Is(err, hotline.ErrPINLocked) || perr.Checked || !perr.Held {
		t.Fatalf("right PIN a month after the hold: err = %v, want held without a comparison", err)
	}
	if checks.Load() != before {
		t.Error("a held account compared a PIN")
	}
	if l, err := f.store.PINLock(ctx, f.real); err != nil || !l.Held || !l.Locked() || l.InRow != 4 || !l.Since.Equal(heldAt) {
		t.Errorf("PINLock = %+v, %v; want held since %v, 4 in a row", l, err, heldAt)
	}
	if failures, _ := f.attempts(t, f.real); failures != 8 {
		t.Errorf("recorded %d failures, want 8", failures)
	}
}

// TestPINLocksDecay: locks in a row are forgotten a week after the last one ended, not before.
func TestPINLocksDecay(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name    string
		citizen int64
		after   time.Duration // after the first lock ended
		locks   bool          // the next wrong PIN locks at once
	}{
		{"within a week", f.real, 3 * 24 * time.Hour, true},
		{"after a week", f.bare, postgres.PINLockDecay, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for remaining := 4; remaining > 0; remaining-- {
				f.fail(t, tc.citizen, remaining)
			}
			f.lockAfterFailure(t, tc.citizen)
			f.clock.Advance(30*time.Minute + tc.after)
			if !tc.locks {
				f.fail(t, tc.citizen, 4)
				return
			}
			if perr := f.lockAfterFailure(t, tc.citizen); perr.LockedUntil.Sub(f.clock.Now()) != 6*time.Hour {
				t.Errorf("lock after %v: until %v, want 6 hours on", tc.after, perr.LockedUntil)
			}
		})
	}
}

// TestPINRightPINAfterLock: a correct PIN after a lock clears the failures and the locks in a
// row.
func TestPINRightPINAfterLock(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for remaining := 4; remaining > 0; remaining-- {
		f.fail(t, f.real, remaining)
	}
	f.lockAfterFailure(t, f.real)
	f.clock.Advance(30 * time.Minute)
	if err := f.store.VerifyPIN(ctx, f.real, realPIN, ""); err != nil {
		t.Fatalf("right PIN after the lock expired: %v", err)
	}
	if l, err := f.store.PINLock(ctx, f.real); err != nil || l.Locked() || l.InRow != 0 {
		t.Errorf("PINLock after the right PIN = %+v, %v; want nothing", l, err)
	}
	for remaining := 4; remaining > 0; remaining-- {
		f.fail(t, f.real, remaining)
	}
	if perr := f.lockAfterFailure(t, f.real); perr.LockedUntil.Sub(f.clock.Now()) != 30*time.Minute {
		t.Errorf("lock after the right PIN: until %v, want a first lock of 30 minutes", perr.LockedUntil)
	}
}

// holdPIN fails a citizen's PIN until the account is held.
func (f *fixture) holdPIN(t *testing.T, citizen int64) {
	t.Helper()
	for remaining := 4; remaining > 0; remaining-- {
		f.fail(t, citizen, remaining)
	}
	for {
		perr := f.lockAfterFailure(t, citizen)
		if perr.Held {
			return
		}
		f.clock.Advance(perr.LockedUntil.Sub(f.clock.Now()))
	}
}

type auditRow struct {
	Actor      *int64    `db:"actor_id"`
	Action     string    `db:"action"`
	ObjectType string    `db:"object_type"`
	ObjectID   string    `db:"object_id"`
	Detail     string    `db:"detail"`
	IP         *string   `db:"ip"`
	At         time.Time `db:"at"`
}

func (f *fixture) audit(t *testing.T) []auditRow {
	t.Helper()
	var rows []auditRow
	if err := f.db.Select(&rows, `SELECT actor_id, action, object_type, object_id, detail::text AS detail,
		host(ip) AS ip, at FROM hotline.audit_log ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestUnlockPIN(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.exec(t, `INSERT INTO hotline.agents (id, username, display_name, role, password_hash) VALUES (7, 'zhang', '张', 'agent', 'x')`)
	f.holdPIN(t, f.real)

	// Refused: nothing changes and nothing is audited.
	for _, tc := range []struct {
		name    string
		citizen int64
		u       postgres.PINUnlock
		err     error
	}{
		{"no reason", f.real, postgres.PINUnlock{AgentID: 7, Reason: " "}, postgres.ErrBadInput},
		{"nobody", f.real, postgres.PINUnlock{Reason: "本人来电核实"}, postgres.ErrBadInput},
		{"unknown agent", f.real, postgres.PINUnlock{AgentID: 8, Reason: "本人来电核实"}, hotline.ErrNotFound},
		{"unknown station", f.real, postgres.PINUnlock{StationID: 999, Reason: "本人持身份证到网点"}, hotline.ErrNotFound},
		{"unknown citizen", f.real + 1000, postgres.PINUnlock{AgentID: 7, Reason: "本人来电核实"}, hotline.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.store.UnlockPIN(ctx, tc.citizen, tc.u); !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
		})
	}
	if rows := f.audit(t); len(rows) != 0 {
		t.Fatalf("refused unlocks audited: %+v", rows)
	}
	if l, err := f.store.PINLock(ctx, f.real); err != nil || !l.Held {
		t.Fatalf("after refused unlocks: PINLock = %+v, %v; want held", l, err)
	}

	// An agent unlocks.
	must(t, f.store.UnlockPIN(ctx, f.real, postgres.PINUnlock{AgentID: 7, Reason: "本人来电，核对身份信息无误", IP: "10.1.2.3"}))
	rows := f.audit(t)
	if len(rows) != 1 {
		t.Fatalf("%d audit rows, want 1", len(rows))
	}
	r := rows[0]
	if r.Actor == nil || *r.Actor != 7 || r.Action != "pin_unlock" || r.ObjectType != "citizen" ||
		r.ObjectID != fmt.Sprint(f.real) || r.IP == nil || *r.IP != "10.1.2.3" || !r.At.Equal(f.clock.Now()) {
		t.Errorf("audit row = %+v", r)
	}
	var detail struct {
		Reason    string `json:"reason"`
		StationID int    `json:"station_id"`
		Held      bool   `json:"held"`
		InRow     int    `json:"locks_in_row"`
	}
	must(t, json.Unmarshal([]byte(r.Detail), &detail))
	if detail.Reason != "本人来电，核对身份信息无误" || !detail.Held || detail.InRow != 4 || detail.StationID != 0 {
		t.Errorf("audit detail = %s", r.Detail)
	}
	if l, err := f.store.PINLock(ctx, f.real); err != nil || l.Locked() || l.InRow != 0 {
		t.Errorf("after the unlock: PINLock = %+v, %v; want nothing", l, err)
	}
	// The slate is clean: four failures leave one try, the fifth locks for 30 minutes.
	for remaining := 4; remaining > 0; remaining-- {
		f.fail(t, f.real, remaining)
	}
	if perr := f.lockAfterFailure(t, f.real); perr.LockedUntil.Sub(f.clock.Now()) != 30*time.Minute {
		t.Errorf("lock after the unlock: until %v, want a first lock of 30 minutes", perr.LockedUntil)
	}

	// A service station unlocks a timed lock.
	must(t, f.store.UnlockPIN(ctx, f.real, postgres.PINUnlock{StationID: f.chanchengA, Reason: "本人持身份证到网点办理"}))
	if err := f.store.VerifyPIN(ctx, f.real, realPIN, ""); err != nil {
		t.Errorf("right PIN after the station's unlock: %v", err)
	}
	rows = f.audit(t)
	if len(rows) != 2 || rows[1].Actor != nil || rows[1].IP != nil || rows[1].Action != "pin_unlock" {
		t.Fatalf("audit rows = %+v", rows)
	}
	must(t, json.Unmarshal([]byte(rows[1].Detail), &detail))
	if detail.StationID != f.chanchengA || detail.Held || detail.InRow != 1 {
		t.Errorf("station's audit detail = %s", rows[1].Detail)
	}
}

func TestPINSuccessResets(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for remaining := 4; remaining > 0; remaining-- {
		f.fail(t, f.real, remaining)
	}
	if err := f.store.VerifyPIN(ctx, f.real, realPIN, ""); err != nil {
		t.Fatalf("right PIN after 4 failures: %v", err)
	}
	// The count starts afresh: four more failures do not lock.
	for remaining := 4; remaining > 0; remaining-- {
		f.fail(t, f.real, remaining)
	}
	if got := f.lockCount(t, f.real); got != 0 {
		t.Errorf("lock count = %d, want 0", got)
	}
}

func TestPINFailuresExpire(t *testing.T) {
	f := newFixture(t)
	for remaining := 4; remaining > 1; remaining-- {
		f.fail(t, f.real, remaining)
	}
	f.clock.Advance(postgres.PINFailureWindow - time.Minute)
	f.fail(t, f.real, 1) // the three earlier failures still count
	f.clock.Advance(2 * time.Minute)
	f.fail(t, f.real, 3) // now only the last one does
	if got := f.lockCount(t, f.real); got != 0 {
		t.Errorf("lock count = %d, want 0", got)
	}
}

// TestPINLockoutRace fails the PIN from 20 goroutines at once: exactly five comparisons and
// five recorded failures, one lock, and every other attempt refused as locked.
func TestPINLockoutRace(t *testing.T) {
	f := newFixture(t)
	checks := countChecks(f)
	const n = 20
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = f.store.VerifyPIN(context.Background(), f.real, "000000", "")
		}()
	}
	close(start)
	wg.Wait()

	var mismatches, locked, both, unchecked int
	for i, err := range errs {
		var perr *postgres.PINError
		if !errors.As(err, &perr) {
			t.Fatalf("attempt %d: err = %v, want a *PINError", i, err)
		}
		m, l := errors.Is(err, hotline.ErrPINMismatch), errors.Is(err, hotline.ErrPINLocked)
		if m {
			mismatches++
		}
		if l {
			locked++
		}
		if m && l {
			both++
		}
		if !perr.Checked {
			unchecked++
		}
	}
	if mismatches != postgres.PINMaxFailures || both != 1 || locked != n-postgres.PINMaxFailures+1 || unchecked != n-postgres.PINMaxFailures {
		t.Errorf("%d mismatches, %d locked, %d both, %d unchecked; want %d, %d, 1, %d",
			mismatches, locked, both, unchecked, postgres.PINMaxFailures, n-postgres.PINMaxFailures+1, n-postgres.PINMaxFailures)
	}
	if got, want := checks.Load(), int64(postgres.PINMaxFailures); got != want {
		t.Errorf("%d PIN comparisons, want %d", got, want)
	}
	if failures, successes := f.attempts(t, f.real); failures != postgres.PINMaxFailures || successes != 0 {
		t.Errorf("recorded %d failures, %d successes; want %d, 0", failures, successes, postgres.PINMaxFailures)
	}
	if got, want := f.lockCount(t, f.real), 1; got != want {
		t.Errorf("lock count = %d, want %d", got, want)
	}
}
