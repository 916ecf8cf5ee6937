package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
)

// The agent's own lists on the desk: the calls offered to them and the callbacks of their
// queues.

// RecentCall is a call (or callback) offered to an agent, with how it went.
type RecentCall struct {
	OfferID    int64  `db:"offer_id" json:"offer_id"`
	CallID     string `db:"call_id" json:"call_id"`
	CallbackID *int64 `db:"callback_id" json:"callback_id"`
	// Number is the caller's number, or the number called back.
	Number    string     `db:"number" json:"number"`
	QueueID   string     `db:"queue_id" json:"queue_id"`
	QueueName string     `db:"queue_name" json:"queue_name"`
	OfferedAt time.Time  `db:"offered_at" json:"offered_at"`
	DecidedAt *time.Time `db:"decided_at" json:"decided_at"`
	// TalkEndedAt is when the conversation ended; nil while it goes on.
	TalkEndedAt *time.Time `db:"talk_ended_at" json:"talk_ended_at"`
	// State is the offer's: accepted (answered), timeout, rejected or cancelled (the caller
	// hung up while it rang).
	State string `db:"state" json:"state"`
	// Outcome is the call's outcome (agent, transferred, abandoned …), "" while it goes on.
	Outcome         string `db:"outcome" json:"outcome"`
	Disposition     string `db:"disposition" json:"disposition"`
	DispositionName string `db:"disposition_name" json:"disposition_name"`
	// TalkSeconds is the conversation's length, 0 when not answered.
	TalkSeconds int `db:"talk_seconds" json:"talk_seconds"`
}

const recentCallsQuery = `
	SELECT o.id AS offer_id, coalesce(o.call_id::text, '') AS call_id, o.callback_id,
	       coalesce(c.caller_number, cb.number, '') AS number, o.queue_id, coalesce(q.name, o.queue_id) AS queue_name,
	       o.offered_at, o.decided_at, o.talk_ended_at, o.state, coalesce(c.outcome, '') AS outcome,
	       o.disposition, coalesce(dp.name, '') AS disposition_name,
	       CASE WHEN o.state = 'accepted' AND o.talk_ended_at IS NOT NULL
	            THEN greatest(0, round(EXTRACT(EPOCH FROM o.talk_ended_at - o.decided_at)))::int ELSE 0 END AS talk_seconds
	FROM hotline.offers o
	LEFT JOIN hotline.calls c ON c.id = o.call_id
	LEFT JOIN hotline.callbacks cb ON cb.id = o.callback_id
	LEFT JOIN hotline.queues q ON q.id = o.queue_id
	LEFT JOIN hotline.dispositions dp ON dp.queue_id = o.queue_id AND dp.code = o.disposition
	WHERE o.agent_id = $1 AND o.state <> 'pending'
	ORDER BY o.offered_at DESC, o.id DESC
	LIMIT $2`

// RecentCalls returns the last limit calls and callbacks offered to the agent, newest first,
// answered or not; the one ringing now is not among them.
func RecentCalls(ctx context.Context, db *sqlx.DB, agentID int64, limit int) ([]RecentCall, error) {
	calls := make([]RecentCall, 0, limit)
	if err := db.SelectContext(ctx, &calls, recentCallsQuery, agentID, limit); err != nil {
		return nil, fmt.Errorf("recent calls of agent %d: %w", agentID, err)
	}
	return calls, nil
}

// AgentCallback is a callback an agent may call: one of their queues' that waits, or one
// they tried or asked for lately.
type AgentCallback struct {
	ID          int64      `db:"id" json:"id"`
	Number      string     `db:"number" json:"number"`
	QueueID     string     `db:"queue_id" json:"queue_id"`
	QueueName   string     `db:"queue_name" json:"queue_name"`
	RequestedAt time.Time  `db:"requested_at" json:"requested_at"`
	DueAt       time.Time  `db:"due_at" json:"due_at"`
	Status      string     `db:"status" json:"status"`
	Attempts    int        `db:"attempts" json:"attempts"`
	MaxAttempts int        `db:"max_attempts" json:"max_attempts"`
	LastOutcome string     `db:"last_outcome" json:"last_outcome"`
	DoneAt      *time.Time `db:"done_at" json:"done_at"`
	// Mine is whether the agent tried it, holds it or asked to call it back now.
	Mine bool `db:"mine" json:"mine"`
	// Preferred is whether the agent asked to call it back now.
	Preferred bool `db:"preferred" json:"preferred"`
}

// agentCallbacksQuery: the waiting callbacks ($3 horizon: pending or assigned) of the queues
// whose skill the agent has, and the callbacks of any status the agent tried, holds or asked
// for since $2; waiting ones first by due time, then the rest newest first.
const agentCallbacksQuery = `
	WITH mine AS (
		SELECT callback_id AS id FROM hotline.callback_attempts WHERE agent_id = $1 AND started_at >= $2
		UNION
		SELECT id FROM hotline.callbacks WHERE (agent_id = $1 OR preferred_agent_id = $1) AND requested_at >= $2),
	queues AS (
		SELECT q.id FROM hotline.queues q JOIN hotline.agent_skills s ON s.skill_id = q.skill_id WHERE s.agent_id = $1)
	SELECT b.id, b.number, coalesce(b.queue_id, '') AS queue_id, coalesce(q.name, '') AS queue_name, b.requested_at,
	       b.next_attempt_at AS due_at, b.status, b.attempts, b.max_attempts, b.last_outcome, b.done_at,
	       b.id IN (SELECT id FROM mine) AS mine, coalesce(b.preferred_agent_id = $1, false) AS preferred
	FROM hotline.callbacks b
	LEFT JOIN hotline.queues q ON q.id = b.queue_id
	WHERE (b.status IN ('pending', 'assigned') AND (b.queue_id IN (SELECT id FROM queues) OR b.agent_id = $1
	                                                OR b.preferred_agent_id = $1))
	   OR b.id IN (SELECT id FROM mine)
	ORDER BY b.status NOT IN ('pending', 'assigned'), CASE WHEN b.status IN ('pending', 'assigned') THEN b.next_attempt_at END,
	         b.requested_at DESC, b.id
	LIMIT $3`

// AgentCallbacks returns the callbacks of the agent's queues waiting to be made, and those the
// agent tried or asked for since since (done, failed or cancelled ones included), at most limit.
func AgentCallbacks(ctx context.Context, db *sqlx.DB, agentID int64, since time.Time, limit int) ([]AgentCallback, error) {
	cbs := make([]AgentCallback, 0, 16)
	if err := db.SelectContext(ctx, &cbs, agentCallbacksQuery, agentID, since, limit); err != nil {
		return nil, fmt.Errorf("callbacks of agent %d: %w", agentID, err)
	}
	return cbs, nil
}

// callBackNowUpdate makes a pending callback of the agent's queues (or one without a queue)
// due at $3 if it was due later, names the agent as the one to offer it to, and asks the
// ACD for a round.
const callBackNowUpdate = `
	WITH b AS (
		UPDATE hotline.callbacks SET next_attempt_at = least(next_attempt_at, $3), preferred_agent_id = $2
		WHERE id = $1 AND status = 'pending'
		  AND (queue_id IS NULL OR agent_id = $2 OR preferred_agent_id = $2
		       OR queue_id IN (SELECT q.id FROM hotline.queues q JOIN hotline.agent_skills s ON s.skill_id = q.skill_id
		                       WHERE s.agent_id = $2))
		RETURNING id)
	SELECT b.id, pg_notify('hotline_acd', '') IS NOT NULL AS notified FROM b`

// callbackVisible tells why a callback could not be called back now: whether it exists for
// the agent (their queue's, theirs, or without a queue) and its status.
const callbackVisible = `
	SELECT b.status
	FROM hotline.callbacks b
	WHERE b.id = $1
	  AND (b.queue_id IS NULL OR b.agent_id = $2 OR b.preferred_agent_id = $2
	       OR b.queue_id IN (SELECT q.id FROM hotline.queues q JOIN hotline.agent_skills s ON s.skill_id = q.skill_id
	                         WHERE s.agent_id = $2)
	       OR EXISTS (SELECT 1 FROM hotline.callback_attempts a WHERE a.callback_id = b.id AND a.agent_id = $2))`

// CallBackNow asks for callback id to be offered to the agent next: the callback becomes due
// now and names the agent, and the ACD is woken for a round. The callback must be pending (not
// being called, done, failed or cancelled: hotline.ErrConflict) and belong to one of the
// agent's queues (else hotline.ErrNotFound, as for a callback that does not exist).
func CallBackNow(ctx context.Context, db *sqlx.DB, agentID, id int64, now time.Time) error {
	var row struct {
		ID       int64 `db:"id"`
		Notified bool  `db:"notified"`
	}
	err := db.GetContext(ctx, &row, callBackNowUpdate, id, agentID, now)
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("call back %d now: %w", id, err)
	}
	var status string
	switch err := db.GetContext(ctx, &status, callbackVisible, id, agentID); {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("callback %d: %w", id, hotline.ErrNotFound)
	case err != nil:
		return fmt.Errorf("call back %d now: %w", id, err)
	}
	return fmt.Errorf("callback %d is %s, not waiting: %w", id, status, hotline.ErrConflict)
}
