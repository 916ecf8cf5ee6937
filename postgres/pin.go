package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/foshan-hotline/hotline"
)

// The phone-service PIN lockout rule (../shared/DESIGN.md, Privacy and security).
const (
	// PINMaxFailures is how many wrong PINs lock an account.
	PINMaxFailures = 5
	// PINFailureWindow is how long a wrong PIN counts towards the lock.
	PINFailureWindow = 24 * time.Hour
	// PINLockDuration is how long a lock lasts.
	PINLockDuration = 30 * time.Minute
)

// PINError is the error of a PIN verification that did not succeed: a wrong PIN, a lock, or
// both (the wrong PIN that locked the account). errors.Is(err, hotline.ErrPINMismatch) holds
// when the PIN was compared and was wrong; errors.Is(err, hotline.ErrPINLocked) when the
// account is locked now. Test for the lock first: a locked account is all a caller is told.
type PINError struct {
	// Checked reports whether the PIN given was compared; a locked account refuses without
	// comparing.
	Checked bool
	// Remaining is how many more wrong PINs the account takes before it locks.
	Remaining int
	// LockedUntil is when the lock ends; zero when the account is not locked.
	LockedUntil time.Time
}

// Error describes the failure without the PIN.
func (e *PINError) Error() string {
	switch {
	case !e.LockedUntil.IsZero() && e.Checked:
		return fmt.Sprintf("%v; %v until %s", hotline.ErrPINMismatch, hotline.ErrPINLocked, e.LockedUntil.Format(time.RFC3339))
	case !e.LockedUntil.IsZero():
		return fmt.Sprintf("%v until %s", hotline.ErrPINLocked, e.LockedUntil.Format(time.RFC3339))
	default:
		return fmt.Sprintf("%v (%d tries left)", hotline.ErrPINMismatch, e.Remaining)
	}
}

// Unwrap returns the sentinels the failure matches.
func (e *PINError) Unwrap() []error {
	var errs []error
	if e.Checked {
		errs = append(errs, hotline.ErrPINMismatch)
	}
	if !e.LockedUntil.IsZero() {
		errs = append(errs, hotline.ErrPINLocked)
	}
	return errs
}

const pinHashQuery = `
	SELECT pin_hash
	FROM platform.citizens
	WHERE id = $1`

const pinGuardInsert = `
	INSERT INTO hotline.pin_guard (citizen_id)
	VALUES ($1)
	ON CONFLICT (citizen_id) DO NOTHING`

const pinGuardLockQuery = `
	SELECT locked_until
	FROM hotline.pin_guard
	WHERE citizen_id = $1
	FOR UPDATE`

const pinGuardQuery = `
	SELECT locked_until
	FROM hotline.pin_guard
	WHERE citizen_id = $1`

// pinFailuresQuery counts the failures that count: within the window ($2, exclusive), after the
// end of the last lock ($3, inclusive, NULL when never locked) and after the last success.
// Attempts of one citizen are written under the guard's row lock, so ids follow their order.
const pinFailuresQuery = `
	SELECT count(*)
	FROM hotline.pin_attempts
	WHERE citizen_id = $1 AND NOT ok AND at > $2
	  AND ($3::timestamptz IS NULL OR at >= $3)
	  AND id > COALESCE((SELECT max(id) FROM hotline.pin_attempts
	                     WHERE citizen_id = $1 AND ok AND at > $2), 0)`

const pinAttemptInsert = `
	INSERT INTO hotline.pin_attempts (citizen_id, at, ok, call_id)
	VALUES ($1, $2, $3, $4)`

const pinGuardLock = `
	UPDATE hotline.pin_guard
	SET locked_until = $2, lock_count = lock_count + 1
	WHERE citizen_id = $1`

// VerifyPIN checks a citizen's phone-service PIN, records the attempt against the call callID
// (a hotline.calls id; empty for none) and applies the lockout rule: PINMaxFailures wrong PINs
// within PINFailureWindow lock the account for PINLockDuration. The failures that count are
// those since the later of the last correct PIN and the end of the last lock, so a correct PIN
// or a lock that has run out starts the count afresh. A locked account refuses without
// comparing the PIN or recording the attempt.
//
// It returns nil for the right PIN; a *PINError matching hotline.ErrPINMismatch and/or
// hotline.ErrPINLocked; hotline.ErrNoPIN when the citizen set none; hotline.ErrNotFound for an
// unknown citizen. Attempts on one account are serialised by a row lock (concurrent wrong PINs
// lock the account exactly once); the bcrypt comparison runs under it, which holds up only
// that account.
func (s *Store) VerifyPIN(ctx context.Context, citizenID int64, pin, callID string) error {
	what := fmt.Sprintf("verify PIN of citizen %d", citizenID)
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback()

	var hash sql.NullString
	if err := tx.GetContext(ctx, &hash, pinHashQuery, citizenID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", what, hotline.ErrNotFound)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if !hash.Valid {
		return fmt.Errorf("%s: %w", what, hotline.ErrNoPIN)
	}

	// The guard row exists before it is locked; a concurrent first insert waits for ours.
	if _, err := tx.ExecContext(ctx, pinGuardInsert, citizenID); err != nil {
		return fmt.Errorf("%s: guard: %w", what, err)
	}
	var lockedUntil sql.NullTime
	if err := tx.GetContext(ctx, &lockedUntil, pinGuardLockQuery, citizenID); err != nil {
		return fmt.Errorf("%s: lock guard: %w", what, err)
	}
	now := s.now()
	if lockedUntil.Valid && now.Before(lockedUntil.Time) {
		return &PINError{LockedUntil: lockedUntil.Time}
	}

	var lastLockEnd any
	if lockedUntil.Valid {
		lastLockEnd = lockedUntil.Time
	}
	var failures int
	if err := tx.GetContext(ctx, &failures, pinFailuresQuery, citizenID, now.Add(-PINFailureWindow), lastLockEnd); err != nil {
		return fmt.Errorf("%s: count failures: %w", what, err)
	}

	// A count already at the limit (the rule was tightened) locks without a comparison.
	checked := failures < PINMaxFailures
	var ok bool
	if checked {
		ok = s.checker(hash.String, pin)
		var call any
		if callID != "" {
			call = callID
		}
		if _, err := tx.ExecContext(ctx, pinAttemptInsert, citizenID, now, ok, call); err != nil {
			return fmt.Errorf("%s: record attempt: %w", what, err)
		}
		if !ok {
			failures++
		}
	}

	perr := &PINError{Checked: checked, Remaining: max(PINMaxFailures-failures, 0)}
	if !ok && failures >= PINMaxFailures {
		perr.LockedUntil = now.Add(PINLockDuration).Truncate(time.Microsecond)
		if _, err := tx.ExecContext(ctx, pinGuardLock, citizenID, perr.LockedUntil); err != nil {
			return fmt.Errorf("%s: lock account: %w", what, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	if ok {
		return nil
	}
	return perr
}

// PINLockedUntil returns when a citizen's PIN lock ends, or the zero time when the account is
// not locked now (an unknown citizen is not locked), so the IVR can say so before asking for
// the PIN.
func (s *Store) PINLockedUntil(ctx context.Context, citizenID int64) (time.Time, error) {
	var lockedUntil sql.NullTime
	err := s.db.GetContext(ctx, &lockedUntil, pinGuardQuery, citizenID)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil // never failed
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("PIN lock of citizen %d: %w", citizenID, err)
	}
	if !lockedUntil.Valid || !s.now().Before(lockedUntil.Time) {
		return time.Time{}, nil
	}
	return lockedUntil.Time, nil
}
