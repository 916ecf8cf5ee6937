package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
)

// Agent states (hotline.AgentState) and their rules. Every transition is one transaction that
// locks the agent's hotline.agent_status row, updates it, writes a hotline.agent_state_log row
// (state, previous state, reason, cause, call, time) and announces the agent's id on the
// channel hotline_agent.
//
//   - Login: a logged-out agent starts paused with reason hotline.PauseLogin and receives no
//     call until they choose available (Amazon Connect's agents log in Offline). An agent is
//     logged in at most once: a second login takes the session over, keeps the state (a call
//     in progress goes on) and returns the session it replaced.
//   - Logout: not while ringing or talking, nor in wrap-up of a queue that requires a
//     disposition not yet given; a supervisor may force it (ForceState, audited).
//   - Available: from paused or missed. Asked while ringing, talking or in wrap-up it cancels
//     a pause asked for during the call.
//   - Paused with a reason code of hotline.pause_reasons: from available, missed or another
//     pause; asked while ringing, talking or in wrap-up it is kept as the pending pause and taken
//     when the work ends.
//   - Ringing, talking, wrap-up and missed follow the agent's offers (acd.go).
//
// A request that does not fit the state is a *hotline.StateError (matching
// hotline.ErrConflict) saying what to do; an unknown agent is hotline.ErrNotFound; a value out
// of range (unknown pause reason or disposition, a required disposition missing) is
// hotline.ErrInvalid.

// DefaultLease is how long a controller instance stays live without a heartbeat: its calls
// are offered and its agents routed only while it is live, and after it they are released.
const DefaultLease = 30 * time.Second

// MaxWrapUp bounds the wrap-up time left after an extension.
const MaxWrapUp = time.Hour

// maxNotes bounds the notes of a wrap-up, in characters (the column's CHECK).
const maxNotes = 2000

// AuditForceState is the audit_log action of a supervisor forcing an agent's state
// (object_type agent, object_id the agent's id, detail from, to and reason).
const AuditForceState = "agent_state_forced"

// chinaTime is the hotline's time zone (Asia/Shanghai, without daylight saving since 1991):
// an agent's day runs from midnight to midnight there.
var chinaTime = time.FixedZone("CST", 8*60*60)

// ACD is the contact centre on PostgreSQL: agent states, the routing of waiting calls to
// agents, offers and the controller instances that own calls. One runs in each controller
// instance, named by its instance id. It is safe for concurrent use.
type ACD struct {
	store    *Store
	instance string
	lease    time.Duration
	born     time.Time // what the instance queued or offered before is an earlier process's
	// candidatesRead, when set (tests), runs between an assignment round's reading of the
	// waiting calls and its transaction.
	candidatesRead func()
}

// NewACD returns the ACD of the controller instance named instance on store's database and
// clock. Create it before the instance takes calls: Start releases what the instance's calls
// left from before.
func NewACD(store *Store, instance string) *ACD {
	return &ACD{store: store, instance: instance, lease: DefaultLease, born: store.now()}
}

// Instance returns the id of the controller instance the ACD runs in.
func (a *ACD) Instance() string { return a.instance }

// SetLease changes how long an instance stays live without a heartbeat (DefaultLease). Call
// it before the ACD is used.
func (a *ACD) SetLease(d time.Duration) { a.lease = d }

// agentRow is a row of hotline.agent_status.
type agentRow struct {
	AgentID      int64              `db:"agent_id"`
	State        hotline.AgentState `db:"state"`
	Reason       string             `db:"reason"`
	Since        time.Time          `db:"since"`
	IdleSince    sql.NullTime       `db:"idle_since"`
	Instance     sql.NullString     `db:"instance_id"`
	Session      sql.NullString     `db:"session_id"`
	PendingPause sql.NullString     `db:"pending_pause"`
	WrapUpUntil  sql.NullTime       `db:"wrap_up_until"`
	CallID       sql.NullString     `db:"call_id"`
	OfferID      sql.NullInt64      `db:"offer_id"`
}

func (r agentRow) status() hotline.AgentStatus {
	return hotline.AgentStatus{AgentID: r.AgentID, State: r.State, Reason: r.Reason, Since: r.Since,
		CallID: r.CallID.String, OfferID: r.OfferID.Int64, WrapUpUntil: r.WrapUpUntil.Time,
		PendingPause: r.PendingPause.String, IdleSince: r.IdleSince.Time, Session: r.Session.String,
		Instance: r.Instance.String}
}

// free is the agent after their work with a call: paused with the reason they asked for
// meanwhile, or available, idle since now.
func (r agentRow) free(now time.Time) agentRow {
	r.CallID, r.OfferID, r.WrapUpUntil = sql.NullString{}, sql.NullInt64{}, sql.NullTime{}
	if r.PendingPause.String != "" {
		r.State, r.Reason, r.PendingPause = hotline.AgentPaused, r.PendingPause.String, sql.NullString{}
		return r
	}
	r.State, r.Reason = hotline.AgentAvailable, ""
	r.IdleSince = sql.NullTime{Time: now, Valid: true}
	return r
}

// offline is the agent logged out.
func (r agentRow) offline() agentRow {
	r.State, r.Reason = hotline.AgentOffline, ""
	r.Session, r.Instance, r.PendingPause = sql.NullString{}, sql.NullString{}, sql.NullString{}
	r.CallID, r.OfferID, r.WrapUpUntil, r.IdleSince = sql.NullString{}, sql.NullInt64{}, sql.NullTime{}, sql.NullTime{}
	return r
}

// busy reports whether the agent is on a call: ringing or talking.
func (r agentRow) busy() bool {
	return r.State == hotline.AgentRinging || r.State == hotline.AgentTalking
}

// stateError says why the request does not fit the agent's state, and what to do.
func stateError(s hotline.AgentState) *hotline.StateError {
	reason := map[hotline.AgentState]string{
		hotline.AgentOffline: "log in first",
		hotline.AgentRinging: "the phone is ringing: answer it or let it ring out first",
		hotline.AgentTalking: "end the call first",
		hotline.AgentWrapUp:  "end wrap-up first",
	}[s]
	if reason == "" {
		reason = "not possible now"
	}
	return &hotline.StateError{State: s, Reason: reason}
}

const agentStatusLock = `
	SELECT agent_id, state, reason, since, idle_since, instance_id, session_id, pending_pause,
	       wrap_up_until, call_id::text AS call_id, offer_id
	FROM hotline.agent_status
	WHERE agent_id = $1
	FOR UPDATE`

const agentStatusQuery = `
	SELECT agent_id, state, reason, since, idle_since, instance_id, session_id, pending_pause,
	       wrap_up_until, call_id::text AS call_id, offer_id
	FROM hotline.agent_status
	WHERE agent_id = $1`

// agentStatusCreate gives an agent their status row, logged out, on first use; no row for an
// unknown agent.
const agentStatusCreate = `
	INSERT INTO hotline.agent_status (agent_id, since)
	SELECT id, $2 FROM hotline.agents WHERE id = $1
	ON CONFLICT (agent_id) DO NOTHING`

const agentExistsQuery = `SELECT EXISTS (SELECT 1 FROM hotline.agents WHERE id = $1)`

// lockAgent locks the agent's status row in tx, creating it if need be.
func (a *ACD) lockAgent(ctx context.Context, tx *sqlx.Tx, agentID int64, now time.Time) (agentRow, error) {
	var r agentRow
	err := a.txGet(ctx, tx, &r, agentStatusLock, agentID)
	if !errors.Is(err, sql.ErrNoRows) {
		return r, err
	}
	if _, err := a.txExec(ctx, tx, agentStatusCreate, agentID, now); err != nil {
		return r, err
	}
	err = a.txGet(ctx, tx, &r, agentStatusLock, agentID)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("agent %d: %w", agentID, hotline.ErrNotFound)
	}
	return r, err
}

// agentWrite stores an agent's status ($1–$11), logs the transition when the state or the
// reason changed ($12 the previous state, $13 the cause, $14 whether to log) and announces
// the agent on hotline_agent, and on hotline_acd when the agent became available ($15).
const agentWrite = `
	WITH st AS (
		UPDATE hotline.agent_status
		SET state = $2, reason = $3, since = $4, idle_since = $5, instance_id = $6, session_id = $7,
		    pending_pause = $8, wrap_up_until = $9, call_id = $10, offer_id = $11
		WHERE agent_id = $1
		RETURNING agent_id),
	log AS (
		INSERT INTO hotline.agent_state_log (agent_id, state, previous, reason, cause, call_id, at)
		SELECT agent_id, $2, $12, $3, $13, $10, $4 FROM st WHERE $14::boolean)
	SELECT pg_notify('hotline_agent', agent_id::text), CASE WHEN $15::boolean THEN pg_notify('hotline_acd', '') END
	FROM st`

// writeAgent stores next in place of cur, logging the transition with its cause when the
// state or the reason changes, and asks for an assignment round when the agent becomes
// available. It returns next as stored.
func (a *ACD) writeAgent(ctx context.Context, tx *sqlx.Tx, cur, next agentRow, cause string, now time.Time) (agentRow, error) {
	logged := next.State != cur.State || next.Reason != cur.Reason
	if logged {
		next.Since = now
	}
	_, err := a.txExec(ctx, tx, agentWrite, next.AgentID, next.State, next.Reason, next.Since, next.IdleSince,
		next.Instance, next.Session, next.PendingPause, next.WrapUpUntil, next.CallID, next.OfferID,
		cur.State, cause, logged, logged && next.State == hotline.AgentAvailable)
	if err != nil {
		return cur, fmt.Errorf("store state: %w", err)
	}
	return next, nil
}

// change runs one request on an agent's state in a transaction: decide gets the locked row
// and returns the new one and the cause of the transition (or an error, and nothing changes).
func (a *ACD) change(ctx context.Context, what string, agentID int64,
	decide func(tx *sqlx.Tx, cur agentRow, now time.Time) (agentRow, string, error)) (hotline.AgentStatus, error) {
	var out agentRow
	err := a.inTx(ctx, func(tx *sqlx.Tx) error {
		now := a.store.now()
		cur, err := a.lockAgent(ctx, tx, agentID, now)
		if err != nil {
			return err
		}
		next, cause, err := decide(tx, cur, now)
		if err != nil || next == cur {
			out = cur
			return err
		}
		out, err = a.writeAgent(ctx, tx, cur, next, cause, now)
		return err
	})
	if err != nil {
		return hotline.AgentStatus{}, fmt.Errorf("%s of agent %d: %w", what, agentID, err)
	}
	return out.status(), nil
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (a *ACD) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := a.store.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

const agentLoginQuery = `SELECT active FROM hotline.agents WHERE id = $1`

// Login logs the agent in with the desk session sessionID on this instance. A logged-out
// agent starts paused with reason hotline.PauseLogin; an agent logged in elsewhere is taken
// over, keeping their state, and previousSession is the session replaced ("" if none) so that
// the desk can tell it. An inactive agent is refused with hotline.ErrForbidden.
func (a *ACD) Login(ctx context.Context, agentID int64, sessionID string) (previousSession string, st hotline.AgentStatus, err error) {
	if sessionID == "" {
		return "", hotline.AgentStatus{}, fmt.Errorf("login of agent %d: no session: %w", agentID, hotline.ErrInvalid)
	}
	st, err = a.change(ctx, "login", agentID, func(tx *sqlx.Tx, cur agentRow, now time.Time) (agentRow, string, error) {
		var active bool
		if err := a.txGet(ctx, tx, &active, agentLoginQuery, agentID); err != nil {
			return cur, "", err
		}
		if !active {
			return cur, "", fmt.Errorf("account disabled: %w", hotline.ErrForbidden)
		}
		if _, err := a.txExec(ctx, tx, instanceUpsert, a.instance, now); err != nil {
			return cur, "", fmt.Errorf("instance %s: %w", a.instance, err)
		}
		if cur.Session.String != sessionID {
			previousSession = cur.Session.String
		}
		next := cur
		next.Session = sql.NullString{String: sessionID, Valid: true}
		next.Instance = sql.NullString{String: a.instance, Valid: true}
		if cur.State == hotline.AgentOffline {
			next.State, next.Reason = hotline.AgentPaused, hotline.PauseLogin
			return next, "login", nil
		}
		return next, "takeover", nil
	})
	return previousSession, st, err
}

const wrapUpQueueQuery = `
	SELECT q.id, q.disposition_required,
	       EXISTS (SELECT 1 FROM hotline.dispositions d WHERE d.queue_id = q.id AND d.code = $2) AS known
	FROM hotline.offers o
	JOIN hotline.queues q ON q.id = o.queue_id
	WHERE o.id = $1`

const offerWrappedUp = `
	UPDATE hotline.offers SET wrapped_up_at = $2, disposition = $3, notes = $4
	WHERE id = $1 AND wrapped_up_at IS NULL`

// closeWrapUp records the end of the agent's wrap-up, without a disposition, when the agent
// leaves it other than by EndWrapUp.
func (a *ACD) closeWrapUp(ctx context.Context, tx *sqlx.Tx, cur agentRow, now time.Time) error {
	if cur.State != hotline.AgentWrapUp || !cur.OfferID.Valid {
		return nil
	}
	if _, err := a.txExec(ctx, tx, offerWrappedUp, cur.OfferID.Int64, now, "", ""); err != nil {
		return fmt.Errorf("end wrap-up of offer %d: %w", cur.OfferID.Int64, err)
	}
	return nil
}

// wrapUpQueue is what the queue of a wrap-up's offer says about a disposition.
type wrapUpQueue struct {
	Queue    string `db:"id"`
	Required bool   `db:"disposition_required"`
	Known    bool   `db:"known"`
}

// Logout logs the agent out with a cause (logout, session_expired …). An agent ringing or
// talking, or in wrap-up of a queue requiring a disposition, cannot log out (a
// *hotline.StateError); a supervisor can force it with ForceState.
func (a *ACD) Logout(ctx context.Context, agentID int64, cause string) error {
	_, err := a.change(ctx, "logout", agentID, func(tx *sqlx.Tx, cur agentRow, now time.Time) (agentRow, string, error) {
		switch {
		case cur.State == hotline.AgentOffline || cur.busy():
			return cur, "", stateError(cur.State)
		case cur.State == hotline.AgentWrapUp && cur.OfferID.Valid:
			var q wrapUpQueue
			if err := a.txGet(ctx, tx, &q, wrapUpQueueQuery, cur.OfferID.Int64, ""); err != nil {
				return cur, "", fmt.Errorf("queue of offer %d: %w", cur.OfferID.Int64, err)
			}
			if q.Required {
				return cur, "", &hotline.StateError{State: cur.State, Reason: "choose a disposition first"}
			}
			if err := a.closeWrapUp(ctx, tx, cur, now); err != nil {
				return cur, "", err
			}
		}
		return cur.offline(), cause, nil
	})
	return err
}

// SetAvailable makes a paused or missed agent available: idle from now on. Asked while
// ringing, talking or in wrap-up it cancels the pause asked for during the call, if any.
func (a *ACD) SetAvailable(ctx context.Context, agentID int64) (hotline.AgentStatus, error) {
	return a.change(ctx, "set available", agentID, func(tx *sqlx.Tx, cur agentRow, now time.Time) (agentRow, string, error) {
		switch cur.State {
		case hotline.AgentAvailable:
			return cur, "", nil
		case hotline.AgentPaused, hotline.AgentMissed:
			next := cur
			next.State, next.Reason = hotline.AgentAvailable, ""
			next.IdleSince = sql.NullTime{Time: now, Valid: true}
			return next, "agent", nil
		case hotline.AgentRinging, hotline.AgentTalking, hotline.AgentWrapUp:
			if cur.PendingPause.String != "" {
				next := cur
				next.PendingPause = sql.NullString{}
				return next, "", nil
			}
		}
		return cur, "", stateError(cur.State)
	})
}

const pauseReasonExists = `SELECT EXISTS (SELECT 1 FROM hotline.pause_reasons WHERE code = $1)`

// Pause pauses the agent with reason, a code of hotline.pause_reasons (hotline.ErrInvalid
// otherwise). Asked while ringing, talking or in wrap-up, the pause is kept as pending and
// taken when the work with the call ends.
func (a *ACD) Pause(ctx context.Context, agentID int64, reason string) (hotline.AgentStatus, error) {
	return a.change(ctx, "pause", agentID, func(tx *sqlx.Tx, cur agentRow, now time.Time) (agentRow, string, error) {
		var known bool
		if err := a.txGet(ctx, tx, &known, pauseReasonExists, reason); err != nil {
			return cur, "", err
		}
		if !known {
			return cur, "", fmt.Errorf("pause reason %q: %w", reason, hotline.ErrInvalid)
		}
		next := cur
		switch cur.State {
		case hotline.AgentAvailable, hotline.AgentPaused, hotline.AgentMissed:
			next.State, next.Reason = hotline.AgentPaused, reason
			return next, "agent", nil
		case hotline.AgentRinging, hotline.AgentTalking, hotline.AgentWrapUp:
			next.PendingPause = sql.NullString{String: reason, Valid: true}
			return next, "", nil
		}
		return cur, "", stateError(cur.State)
	})
}

// EndWrapUp ends the agent's wrap-up with a disposition (a code of the call's queue; "" for
// none) and notes, recorded with the call's offer. An unknown disposition, one missing where
// the queue requires it, or notes over 2,000 characters are hotline.ErrInvalid. The agent
// becomes available, or paused if they asked for a pause during the call.
func (a *ACD) EndWrapUp(ctx context.Context, agentID int64, disposition, notes string) (hotline.AgentStatus, error) {
	if n := len([]rune(notes)); n > maxNotes {
		return hotline.AgentStatus{}, fmt.Errorf("end wrap-up of agent %d: notes of %d characters, at most %d: %w",
			agentID, n, maxNotes, hotline.ErrInvalid)
	}
	return a.change(ctx, "end wrap-up", agentID, func(tx *sqlx.Tx, cur agentRow, now time.Time) (agentRow, string, error) {
		if cur.State != hotline.AgentWrapUp {
			return cur, "", &hotline.StateError{State: cur.State, Reason: "not in wrap-up"}
		}
		if cur.OfferID.Valid {
			var q wrapUpQueue
			if err := a.txGet(ctx, tx, &q, wrapUpQueueQuery, cur.OfferID.Int64, disposition); err != nil {
				return cur, "", fmt.Errorf("queue of offer %d: %w", cur.OfferID.Int64, err)
			}
			switch {
			case disposition == "" && q.Required:
				return cur, "", fmt.Errorf("queue %s requires a disposition: %w", q.Queue, hotline.ErrInvalid)
			case disposition != "" && !q.Known:
				return cur, "", fmt.Errorf("disposition %q is not one of queue %s: %w", disposition, q.Queue, hotline.ErrInvalid)
			}
			if _, err := a.txExec(ctx, tx, offerWrappedUp, cur.OfferID.Int64, now, disposition, notes); err != nil {
				return cur, "", fmt.Errorf("record wrap-up of offer %d: %w", cur.OfferID.Int64, err)
			}
		}
		return cur.free(now), "wrap_up_done", nil
	})
}

// ExtendWrapUp gives the agent d more wrap-up time; the time left may not exceed MaxWrapUp
// (hotline.ErrInvalid).
func (a *ACD) ExtendWrapUp(ctx context.Context, agentID int64, d time.Duration) (hotline.AgentStatus, error) {
	return a.change(ctx, "extend wrap-up", agentID, func(tx *sqlx.Tx, cur agentRow, now time.Time) (agentRow, string, error) {
		if cur.State != hotline.AgentWrapUp {
			return cur, "", &hotline.StateError{State: cur.State, Reason: "not in wrap-up"}
		}
		until := cur.WrapUpUntil.Time
		if until.Before(now) {
			until = now
		}
		until = until.Add(d)
		if d <= 0 || until.Sub(now) > MaxWrapUp {
			return cur, "", fmt.Errorf("extend wrap-up by %v: at most %v left: %w", d, MaxWrapUp, hotline.ErrInvalid)
		}
		next := cur
		next.WrapUpUntil = sql.NullTime{Time: until, Valid: true}
		return next, "", nil
	})
}

const actorQuery = `SELECT role, active FROM hotline.agents WHERE id = $1`

const agentAuditInsert = `
	INSERT INTO hotline.audit_log (at, actor_id, action, object_type, object_id, detail)
	VALUES ($1, $2, $3, 'agent', $4, $5)`

// ForceState is a supervisor (actorID) setting an agent's state: offline (a forced logout,
// whatever the agent is doing), available or paused with a reason. The change is written to
// hotline.audit_log. An agent forced out while ringing or talking keeps the call: the offer
// runs its course without moving the agent again. A pause of an agent on a call is kept as
// pending, like the agent's own; making available an agent on a call is a
// *hotline.StateError. An actor who is not an active supervisor or admin gets
// hotline.ErrForbidden.
func (a *ACD) ForceState(ctx context.Context, actorID, agentID int64, state hotline.AgentState, reason string) (hotline.AgentStatus, error) {
	return a.change(ctx, "force state", agentID, func(tx *sqlx.Tx, cur agentRow, now time.Time) (agentRow, string, error) {
		var actor struct {
			Role   hotline.Role `db:"role"`
			Active bool         `db:"active"`
		}
		err := a.txGet(ctx, tx, &actor, actorQuery, actorID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return cur, "", err
		}
		if err != nil || !actor.Active || !actor.Role.AtLeast(hotline.RoleSupervisor) {
			return cur, "", fmt.Errorf("user %d is not a supervisor: %w", actorID, hotline.ErrForbidden)
		}
		next := cur
		switch state {
		case hotline.AgentOffline:
			if cur.State == hotline.AgentOffline {
				return cur, "", stateError(cur.State)
			}
			if err := a.closeWrapUp(ctx, tx, cur, now); err != nil {
				return cur, "", err
			}
			next = cur.offline()
		case hotline.AgentAvailable:
			switch cur.State {
			case hotline.AgentOffline, hotline.AgentRinging, hotline.AgentTalking:
				return cur, "", stateError(cur.State)
			}
			if err := a.closeWrapUp(ctx, tx, cur, now); err != nil {
				return cur, "", err
			}
			if cur.State != hotline.AgentAvailable {
				next = cur
				next.PendingPause = sql.NullString{}
				next = next.free(now)
			}
		case hotline.AgentPaused:
			var known bool
			if err := a.txGet(ctx, tx, &known, pauseReasonExists, reason); err != nil {
				return cur, "", err
			}
			if !known {
				return cur, "", fmt.Errorf("pause reason %q: %w", reason, hotline.ErrInvalid)
			}
			switch cur.State {
			case hotline.AgentOffline:
				return cur, "", stateError(cur.State)
			case hotline.AgentRinging, hotline.AgentTalking:
				next.PendingPause = sql.NullString{String: reason, Valid: true}
			default:
				if err := a.closeWrapUp(ctx, tx, cur, now); err != nil {
					return cur, "", err
				}
				next.PendingPause = sql.NullString{String: reason, Valid: true}
				next = next.free(now)
			}
		default:
			return cur, "", fmt.Errorf("a supervisor sets an agent offline, available or paused, not %q: %w", state, hotline.ErrInvalid)
		}
		detail, err := json.Marshal(map[string]string{"from": string(cur.State), "to": string(state), "reason": reason})
		if err != nil {
			return cur, "", err
		}
		if _, err := a.txExec(ctx, tx, agentAuditInsert, now, actorID, AuditForceState, fmt.Sprint(agentID), detail); err != nil {
			return cur, "", fmt.Errorf("audit: %w", err)
		}
		return next, fmt.Sprintf("supervisor %d", actorID), nil
	})
}

// txGet, txExec and txSelect run a query in tx as a statement prepared once per pooled
// connection: the ACD's transactions run many small statements, and an unprepared one costs
// the driver a second round trip.
func (a *ACD) txGet(ctx context.Context, tx *sqlx.Tx, dest any, query string, args ...any) error {
	st, err := a.txStmt(ctx, tx, query)
	if err != nil {
		return err
	}
	return st.GetContext(ctx, dest, args...)
}

func (a *ACD) txSelect(ctx context.Context, tx *sqlx.Tx, dest any, query string, args ...any) error {
	st, err := a.txStmt(ctx, tx, query)
	if err != nil {
		return err
	}
	return st.SelectContext(ctx, dest, args...)
}

func (a *ACD) txExec(ctx context.Context, tx *sqlx.Tx, query string, args ...any) (sql.Result, error) {
	st, err := a.txStmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}
