package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/foshan-hotline/hotline"
)

// The phone-service PIN lockout rule (../shared/DESIGN.md, Privacy and security, and README).
// It is kept per ID number, registered or not, so that a number nobody registered fails and
// locks exactly like a citizen's: nothing tells a caller whether a number is registered before
// the number and its PIN are verified.
//
//   - A wrong PIN counts for PINFailureWindow; a correct PIN, or an unlock, clears the count.
//   - PINMaxFailures counting failures lock the account for PINLockDuration.
//   - Once locked, the account has no free tries until a correct PIN: every wrong PIN after a
//     lock locks it again at once, each lock longer than the one before (30 minutes, 6 hours,
//     24 hours), and the fourth holds it until an agent or a service station unlocks it
//     (Store.UnlockPIN, audited).
//   - The locks in a row are forgotten after a correct PIN, an unlock, or PINLockDecay without
//     a lock since the last one ended.
//   - A locked account refuses every PIN, right or wrong, without comparing or recording it.
const (
	// PINMaxFailures is how many wrong PINs within PINFailureWindow lock an account.
	PINMaxFailures = 5
	// PINFailureWindow is how long a wrong PIN counts towards a lock.
	PINFailureWindow = 24 * time.Hour
	// PINLockDuration is how long the first lock in a row lasts.
	PINLockDuration = 30 * time.Minute
	// PINLockDecay is how long after the end of its last lock an account's locks in a row are
	// forgotten, so that the next lock is a first one again.
	PINLockDecay = 7 * 24 * time.Hour
)

// pinLockSteps are the durations of the locks in a row; the lock after the last one is held
// until an agent or a service station unlocks the account. The second step is 6 hours rather
// than 2 so that no 6 hours let more than 6 PINs be compared.
var pinLockSteps = [...]time.Duration{PINLockDuration, 6 * time.Hour, 24 * time.Hour}

// pinLockFor returns how long the n-th lock in a row lasts, or held when it lasts until
// unlocked.
func pinLockFor(n int) (d time.Duration, held bool) {
	if n > len(pinLockSteps) {
		return 0, true
	}
	return pinLockSteps[n-1], false
}

// standInPINHash is compared with the PIN given when the platform holds no PIN hash at all to
// stand in for a missing one: a bcrypt hash, at pii.PINCost, of a random PIN nobody knows.
const standInPINHash = "$2a$10$bPtfeaKIzGJs/TYS3XZgnuKmoXrAsQx3Y9YqZ9quXEaYEHgrXZ4Jy"

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
	// LockedUntil is when the lock ends; zero when the account is not locked or is held.
	LockedUntil time.Time
	// Held reports a lock that lasts until an agent or a service station unlocks the account.
	Held bool
}

func (e *PINError) locked() bool { return e.Held || !e.LockedUntil.IsZero() }

// Error describes the failure without the PIN or the account.
func (e *PINError) Error() string {
	var lock string
	switch {
	case e.Held:
		lock = fmt.Sprintf("%v until unlocked", hotline.ErrPINLocked)
	case !e.LockedUntil.IsZero():
		lock = fmt.Sprintf("%v until %s", hotline.ErrPINLocked, e.LockedUntil.Format(time.RFC3339))
	}
	switch {
	case lock != "" && e.Checked:
		return fmt.Sprintf("%v; %s", hotline.ErrPINMismatch, lock)
	case lock != "":
		return lock
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
	if e.locked() {
		errs = append(errs, hotline.ErrPINLocked)
	}
	return errs
}

const pinHashQuery = `
	SELECT id_number_hmac, pin_hash
	FROM platform.citizens
	WHERE id = $1`

// pinSubjectQuery finds the citizen with an ID number's keyed hash ($1), if any, and the PIN
// hash to compare: the citizen's own when the account is active and has one, or else a stand-in
// (the newest citizen's PIN hash, at the platform's current bcrypt cost; $2 when there is none),
// so that every number costs the same query and the same comparison.
const pinSubjectQuery = `
	SELECT c.id AS citizen_id,
	       COALESCE(CASE WHEN c.status = 'active' THEN c.pin_hash END, s.pin_hash, $2) AS pin_hash,
	       COALESCE(c.status = 'active' AND c.pin_hash IS NOT NULL, false) AS usable
	FROM (SELECT $1::bytea AS hmac) k
	LEFT JOIN platform.citizens c ON c.id_number_hmac = k.hmac
	LEFT JOIN LATERAL (SELECT pin_hash FROM platform.citizens
	                   WHERE pin_hash IS NOT NULL ORDER BY id DESC LIMIT 1) s ON true`

// pinGuardInsert makes sure the guard row exists and names the citizen, who may have
// registered since the number was first tried.
const pinGuardInsert = `
	INSERT INTO hotline.pin_guard (id_number_hmac, citizen_id)
	VALUES ($1, $2)
	ON CONFLICT (id_number_hmac) DO UPDATE SET citizen_id = EXCLUDED.citizen_id
	WHERE pin_guard.citizen_id IS DISTINCT FROM EXCLUDED.citizen_id`

const pinGuardLockQuery = `
	SELECT locked_at, locked_until, held, lock_count, failures_after
	FROM hotline.pin_guard
	WHERE id_number_hmac = $1
	FOR UPDATE`

// pinFailuresQuery counts the failures that count: within the window ($2, exclusive) and
// after the last correct PIN or unlock ($3, an attempt id). Attempts on one number are written
// under the guard's row lock, so ids follow their order.
const pinFailuresQuery = `
	SELECT count(*)
	FROM hotline.pin_attempts
	WHERE id_number_hmac = $1 AND NOT ok AND at > $2 AND id > $3`

const pinAttemptInsert = `
	INSERT INTO hotline.pin_attempts (id_number_hmac, citizen_id, at, ok, call_id)
	VALUES ($1, $2, $3, $4, $5)
	RETURNING id`

const pinGuardLock = `
	UPDATE hotline.pin_guard
	SET locked_at = $2, locked_until = $3, held = $4, lock_count = $5
	WHERE id_number_hmac = $1`

// pinGuardClear forgets the failures up to attempt $2 and the locks in a row.
const pinGuardClear = `
	UPDATE hotline.pin_guard
	SET locked_until = NULL, held = false, lock_count = 0, failures_after = $2
	WHERE id_number_hmac = $1`

// pinSubject is the account a PIN is tried against: an ID number, registered or not.
type pinSubject struct {
	hmac    []byte
	citizen sql.NullInt64 // the citizen with the number, if any
	hash    string        // compared with the PIN given
	usable  bool          // hash is the account's own; otherwise the comparison only takes time
}

// pinGuard is an account's lock state (a hotline.pin_guard row).
type pinGuard struct {
	LockedAt      sql.NullTime `db:"locked_at"`
	LockedUntil   sql.NullTime `db:"locked_until"`
	Held          bool         `db:"held"`
	LockCount     int          `db:"lock_count"`
	FailuresAfter int64        `db:"failures_after"`
}

// lockedAt reports whether the guard locks the account at now.
func (g pinGuard) lockedAt(now time.Time) bool {
	return g.Held || (g.LockedUntil.Valid && now.Before(g.LockedUntil.Time))
}

// locksInRow returns how many locks in a row stand at now: none once PINLockDecay has passed
// since the last one ended.
func (g pinGuard) locksInRow(now time.Time) int {
	if g.Held || (g.LockedUntil.Valid && now.Before(g.LockedUntil.Time.Add(PINLockDecay))) {
		return g.LockCount
	}
	return 0
}

// VerifyPIN checks the phone-service PIN of the citizen with the platform id, records the
// attempt against the call callID (a hotline.calls id; empty for none) and applies the lockout
// rule (see PINMaxFailures). It is for callers that already know the citizen; a caller who
// keys an ID number goes through VerifyIDNumberPIN.
//
// It returns nil for the right PIN; a *PINError matching hotline.ErrPINMismatch and/or
// hotline.ErrPINLocked; hotline.ErrNoPIN when the citizen set none; hotline.ErrNotFound for an
// unknown citizen. Attempts on one account are serialised by a row lock (concurrent wrong PINs
// lock the account exactly once); the bcrypt comparison runs under it, which holds up only
// that account.
func (s *Store) VerifyPIN(ctx context.Context, citizenID int64, pin, callID string) error {
	what := fmt.Sprintf("verify PIN of citizen %d", citizenID)
	var row struct {
		HMAC []byte         `db:"id_number_hmac"`
		Hash sql.NullString `db:"pin_hash"`
	}
	if err := s.db.GetContext(ctx, &row, pinHashQuery, citizenID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", what, hotline.ErrNotFound)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if !row.Hash.Valid {
		return fmt.Errorf("%s: %w", what, hotline.ErrNoPIN)
	}
	sub := pinSubject{hmac: row.HMAC, citizen: sql.NullInt64{Int64: citizenID, Valid: true}, hash: row.Hash.String, usable: true}
	if err := s.tryPIN(ctx, sub, pin, callID); err != nil {
		var perr *PINError
		if errors.As(err, &perr) {
			return perr
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// VerifyIDNumberPIN checks the phone-service PIN of the account with an 18-character ID number
// (a lower-case x check character is accepted), records the attempt against the call callID
// and applies the lockout rule (see PINMaxFailures), and returns the citizen when the pair is
// right.
//
// Until the pair is verified, every valid number takes the same path and time: a number
// nobody registered, an account that is not active or has no PIN is compared with a stand-in
// hash of the same cost, recorded, counted and locked like any other, and fails as a wrong
// PIN (a *PINError). Only after a correct PIN may it say more: hotline.ErrNotRealName (wrapped)
// for an ordinary registered user. An invalid number (length, birth date, check character, all
// public arithmetic) is an error wrapping hotline.ErrIDNumber and is neither looked up nor
// counted. Neither the number nor the PIN appears in an error.
func (s *Store) VerifyIDNumberPIN(ctx context.Context, idNumber, pin, callID string) (*hotline.Citizen, error) {
	const what = "verify PIN by ID number"
	if strings.HasSuffix(idNumber, "x") {
		idNumber = strings.TrimSuffix(idNumber, "x") + "X"
	}
	if err := hotline.ValidateIDNumber(idNumber); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	sub := pinSubject{hmac: s.pii.LookupHash(idNumber)}
	var row struct {
		Citizen sql.NullInt64 `db:"citizen_id"`
		Hash    string        `db:"pin_hash"`
		Usable  bool          `db:"usable"`
	}
	if err := s.db.GetContext(ctx, &row, pinSubjectQuery, sub.hmac, standInPINHash); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	sub.citizen, sub.hash, sub.usable = row.Citizen, row.Hash, row.Usable
	if err := s.tryPIN(ctx, sub, pin, callID); err != nil {
		var perr *PINError
		if errors.As(err, &perr) {
			return nil, perr
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	c, err := s.Citizen(ctx, sub.citizen.Int64)
	if err != nil {
		return nil, err
	}
	if !c.RealName() {
		return nil, fmt.Errorf("verify PIN of citizen %d: %w", c.ID, hotline.ErrNotRealName)
	}
	return c, nil
}

// tryPIN compares pin with the subject's hash under the lockout rule and records the attempt:
// nil when the PIN is right (and the hash the account's own), a *PINError when it is not.
func (s *Store) tryPIN(ctx context.Context, sub pinSubject, pin, callID string) error {
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()

	// The guard row exists before it is locked; a concurrent first insert waits for ours.
	if _, err := tx.ExecContext(ctx, pinGuardInsert, sub.hmac, sub.citizen); err != nil {
		return fmt.Errorf("guard: %w", err)
	}
	var g pinGuard
	if err := tx.GetContext(ctx, &g, pinGuardLockQuery, sub.hmac); err != nil {
		return fmt.Errorf("lock guard: %w", err)
	}
	now := s.now()
	if g.lockedAt(now) {
		perr := &PINError{Held: g.Held}
		if !g.Held {
			perr.LockedUntil = g.LockedUntil.Time
		}
		return perr
	}
	locks := g.locksInRow(now)
	var failures int
	if err := tx.GetContext(ctx, &failures, pinFailuresQuery, sub.hmac, now.Add(-PINFailureWindow), g.FailuresAfter); err != nil {
		return fmt.Errorf("count failures: %w", err)
	}

	ok := s.checker(sub.hash, pin) && sub.usable
	var call any
	if callID != "" {
		call = callID
	}
	var attempt int64
	if err := tx.GetContext(ctx, &attempt, pinAttemptInsert, sub.hmac, sub.citizen, now, ok, call); err != nil {
		return fmt.Errorf("record attempt: %w", missingRef(err))
	}
	if ok {
		if _, err := tx.ExecContext(ctx, pinGuardClear, sub.hmac, attempt); err != nil {
			return fmt.Errorf("clear failures: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		return nil
	}

	failures++
	perr := &PINError{Checked: true, Remaining: max(PINMaxFailures-failures, 0)}
	if failures >= PINMaxFailures || locks > 0 {
		locks++
		d, held := pinLockFor(locks)
		var until sql.NullTime
		if !held {
			until = sql.NullTime{Time: now.Add(d).Truncate(time.Microsecond), Valid: true}
		}
		perr.Remaining, perr.LockedUntil, perr.Held = 0, until.Time, held
		if _, err := tx.ExecContext(ctx, pinGuardLock, sub.hmac, now, until, held, locks); err != nil {
			return fmt.Errorf("lock account: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return perr
}

// PINLock is the state of an account's PIN lock.
type PINLock struct {
	// Since is when the lock began; zero when the account is not locked.
	Since time.Time
	// Until is when a timed lock ends; zero when the account is not locked or is held.
	Until time.Time
	// Held reports a lock that lasts until an agent or a service station unlocks the account.
	Held bool
	// InRow is how many locks in a row stand (the next one lasts longer); 0 once they are
	// forgotten.
	InRow int
}

// Locked reports whether the account refuses every PIN now.
func (l PINLock) Locked() bool { return l.Held || !l.Until.IsZero() }

const pinLockQuery = `
	SELECT g.locked_at, g.locked_until, g.held, g.lock_count, g.failures_after
	FROM platform.citizens c
	JOIN hotline.pin_guard g ON g.id_number_hmac = c.id_number_hmac
	WHERE c.id = $1`

// PINLock returns the state of a citizen's PIN lock now, so the desk can show it and the IVR
// can say so before asking for the PIN; a citizen who never failed, or an unknown one, is not
// locked.
func (s *Store) PINLock(ctx context.Context, citizenID int64) (PINLock, error) {
	var g pinGuard
	err := s.db.GetContext(ctx, &g, pinLockQuery, citizenID)
	if errors.Is(err, sql.ErrNoRows) {
		return PINLock{}, nil
	}
	if err != nil {
		return PINLock{}, fmt.Errorf("PIN lock of citizen %d: %w", citizenID, err)
	}
	now := s.now()
	l := PINLock{Held: g.Held, InRow: g.locksInRow(now)}
	if !g.Held && g.lockedAt(now) {
		l.Until = g.LockedUntil.Time
	}
	if l.Locked() {
		l.Since = g.LockedAt.Time
	}
	return l, nil
}

// PINUnlock says who lifts a PIN lock and why, for the audit log: an agent of the desk after
// checking the caller's identity, or a service station where the citizen showed their ID card
// (StationID, with the agent who entered it if any).
type PINUnlock struct {
	// AgentID is the desk user who unlocks (hotline.agents id); 0 for none.
	AgentID int64
	// StationID is the service station (platform.service_stations id) where the citizen was
	// identified; 0 for none. One of AgentID and StationID is required.
	StationID int
	// Reason says why, e.g. how the citizen was identified. Required.
	Reason string
	// IP is the address the unlock came from, if known.
	IP string
}

const unlockCitizenQuery = `
	SELECT id_number_hmac
	FROM platform.citizens
	WHERE id = $1`

const unlockStationQuery = `
	SELECT count(*)
	FROM platform.service_stations
	WHERE id = $1`

const unlockGuardQuery = `
	SELECT locked_at, locked_until, held, lock_count, failures_after
	FROM hotline.pin_guard
	WHERE id_number_hmac = $1
	FOR UPDATE`

// unlockGuard clears the guard's locks and the failures so far.
const unlockGuard = `
	UPDATE hotline.pin_guard
	SET locked_until = NULL, held = false, lock_count = 0,
	    failures_after = COALESCE((SELECT max(id) FROM hotline.pin_attempts WHERE id_number_hmac = $1), 0)
	WHERE id_number_hmac = $1`

const auditInsert = `
	INSERT INTO hotline.audit_log (at, actor_id, action, object_type, object_id, detail, ip)
	VALUES ($1, NULLIF($2::bigint, 0), $3, $4, $5, $6, NULLIF($7, '')::inet)`

// AuditPINUnlock is the audit_log action of an unlock (object_type citizen, object_id the
// citizen's id; detail has the reason, the station and the lock lifted).
const AuditPINUnlock = "pin_unlock"

// UnlockPIN lifts a citizen's PIN lock, held or timed, and forgets the failures and locks in a
// row, writing who did it and why to hotline.audit_log in the same transaction. An account that
// is not locked is cleared and audited all the same. It returns an error wrapping ErrBadInput
// without a reason or without an agent and a station, and hotline.ErrNotFound for an unknown
// citizen, agent or station.
func (s *Store) UnlockPIN(ctx context.Context, citizenID int64, u PINUnlock) error {
	what := fmt.Sprintf("unlock PIN of citizen %d", citizenID)
	if strings.TrimSpace(u.Reason) == "" {
		return fmt.Errorf("%s: no reason: %w", what, ErrBadInput)
	}
	if u.AgentID == 0 && u.StationID == 0 {
		return fmt.Errorf("%s: neither an agent nor a station: %w", what, ErrBadInput)
	}
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback()

	var hmac []byte
	if err := tx.GetContext(ctx, &hmac, unlockCitizenQuery, citizenID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", what, hotline.ErrNotFound)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if u.StationID != 0 {
		var n int
		if err := tx.GetContext(ctx, &n, unlockStationQuery, u.StationID); err != nil {
			return fmt.Errorf("%s: station: %w", what, err)
		}
		if n == 0 {
			return fmt.Errorf("%s: station %d: %w", what, u.StationID, hotline.ErrNotFound)
		}
	}
	now := s.now()
	var g pinGuard
	switch err := tx.GetContext(ctx, &g, unlockGuardQuery, hmac); {
	case errors.Is(err, sql.ErrNoRows): // never failed: nothing to clear
	case err != nil:
		return fmt.Errorf("%s: lock guard: %w", what, err)
	default:
		if _, err := tx.ExecContext(ctx, unlockGuard, hmac); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}

	detail := struct {
		Reason      string     `json:"reason"`
		StationID   int        `json:"station_id,omitempty"`
		Held        bool       `json:"held"`
		LockedUntil *time.Time `json:"locked_until,omitempty"`
		InRow       int        `json:"locks_in_row"`
	}{Reason: u.Reason, StationID: u.StationID, Held: g.Held, InRow: g.locksInRow(now)}
	if !g.Held && g.lockedAt(now) {
		detail.LockedUntil = &g.LockedUntil.Time
	}
	js, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("%s: audit detail: %w", what, err)
	}
	if _, err := tx.ExecContext(ctx, auditInsert, now, u.AgentID, AuditPINUnlock, "citizen",
		strconv.FormatInt(citizenID, 10), string(js), u.IP); err != nil {
		return fmt.Errorf("%s: audit: %w", what, missingRef(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}
