package postgres_test

import (
	"context"
	"errors"
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
	if until, err := f.store.PINLockedUntil(ctx, f.real); err != nil || !until.IsZero() {
		t.Fatalf("PINLockedUntil after 4 failures = %v, %v; want not locked", until, err)
	}

	// The fifth failure locks.
	err := f.store.VerifyPIN(ctx, f.real, "999999", "")
	var perr *postgres.PINError
	if !errors.As(err, &perr) || !errors.Is(err, hotline.ErrPINLocked) || !errors.Is(err, hotline.ErrPINMismatch) {
		t.Fatalf("fifth wrong PIN: err = %v, want a mismatch that locks", err)
	}
	lockedAt := f.clock.Now()
	if got, want := perr.LockedUntil, lockedAt.Add(postgres.PINLockDuration); !got.Equal(want) {
		t.Errorf("LockedUntil = %v, want %v", got, want)
	}
	if got, want := perr.Remaining, 0; got != want {
		t.Errorf("Remaining = %d, want %d", got, want)
	}

	// Locked: even the right PIN is refused, without a comparison or a record.
	f.clock.Advance(postgres.PINLockDuration - time.Second)
	before := checks.Load()
	err = f.store.VerifyPIN(ctx, f.real, realPIN, "")
	if !errors.As(err, &perr) || !errors.Is(err, hotline.ErrPINLocked) || errors.Is(err, hotline.ErrPINMismatch) || perr.Checked {
		t.Fatalf("right PIN while locked: err = %v, want locked without a comparison", err)
	}
	if got := checks.Load(); got != before {
		t.Errorf("%d comparisons while locked", got-before)
	}
	if until, err := f.store.PINLockedUntil(ctx, f.real); err != nil || !until.Equal(lockedAt.Add(postgres.PINLockDuration)) {
		t.Errorf("PINLockedUntil = %v, %v; want %v", until, err, lockedAt.Add(postgres.PINLockDuration))
	}
	if failures, successes := f.attempts(t, f.real); failures != 5 || successes != 0 {
		t.Errorf("recorded %d failures, %d successes; want 5, 0", failures, successes)
	}

	// The lock expires; the failures before it no longer count, though within 24 hours.
	f.clock.Advance(time.Second)
	if f.clock.Now().Sub(start) >= postgres.PINFailureWindow {
		t.Fatal("test clock left the failure window")
	}
	if until, err := f.store.PINLockedUntil(ctx, f.real); err != nil || !until.IsZero() {
		t.Errorf("PINLockedUntil after expiry = %v, %v; want not locked", until, err)
	}
	f.fail(t, f.real, 4)
	f.fail(t, f.real, 3)
	if err := f.store.VerifyPIN(ctx, f.real, realPIN, ""); err != nil {
		t.Fatalf("right PIN after the lock expired: %v", err)
	}
	if got, want := f.lockCount(t, f.real), 1; got != want {
		t.Errorf("lock count = %d, want %d", got, want)
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
