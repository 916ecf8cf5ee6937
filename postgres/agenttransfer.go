package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/foshan-hotline/hotline"
)

// Reasons a blind transfer to a named agent is refused with (hotline.ErrConflict).
const (
	ReasonTransferSelf      = "you cannot transfer a call to yourself"
	ReasonTransferLoggedOut = "the agent is logged out"
	ReasonTransferNoSkill   = "the agent lacks the queue's skill"
	ReasonTransferNoPhone   = "the agent has no phone"
	ReasonTransferCallback  = "a callback cannot be transferred to an agent"
)

// agentTransferQuery reads what decides whether the call of offer $1 may be transferred to
// agent $2, with $3 the oldest live heartbeat.
const agentTransferQuery = `
	SELECT o.agent_id AS from_agent, o.entry_id IS NOT NULL AS queued, q.skill_id,
	       COALESCE(a.active, false) AS active, COALESCE(a.endpoint, '') AS endpoint,
	       COALESCE(st.state, 'offline') AS state, COALESCE(i.heartbeat_at > $3, false) AS live,
	       EXISTS (SELECT 1 FROM hotline.agent_skills s WHERE s.agent_id = $2 AND s.skill_id = q.skill_id) AS skilled
	FROM hotline.offers o
	JOIN hotline.queues q ON q.id = o.queue_id
	LEFT JOIN hotline.agents a ON a.id = $2
	LEFT JOIN hotline.agent_status st ON st.agent_id = $2
	LEFT JOIN hotline.instances i ON i.id = st.instance_id
	WHERE o.id = $1`

// CheckTransferToAgent tells whether the caller of offer offerID (the conversation the
// transferring agent is in) may be transferred to agent agentID: not to the transferring agent
// themselves, not to an agent logged out (or whose session's instance stopped), without a
// phone or without the skill of the call's queue, and not for a callback (it has no queue
// entry to go back to); each of these is hotline.ErrConflict with its Reason. An unknown or
// deactivated agent is hotline.ErrInvalid, an unknown offer hotline.ErrNotFound. The agent may
// be busy, paused or in wrap-up: the call waits for them, for a while.
func (a *ACD) CheckTransferToAgent(ctx context.Context, offerID, agentID int64) error {
	var r struct {
		From     int64              `db:"from_agent"`
		Queued   bool               `db:"queued"`
		Skill    string             `db:"skill_id"`
		Active   bool               `db:"active"`
		Endpoint string             `db:"endpoint"`
		State    hotline.AgentState `db:"state"`
		Live     bool               `db:"live"`
		Skilled  bool               `db:"skilled"`
	}
	what := fmt.Sprintf("transfer offer %d to agent %d", offerID, agentID)
	if err := a.store.get(ctx, what, &r, agentTransferQuery, offerID, agentID, a.store.now().Add(-a.lease)); err != nil {
		return err
	}
	refuse := func(reason string) error { return fmt.Errorf("%s: %s: %w", what, reason, hotline.ErrConflict) }
	switch {
	case r.From == agentID:
		return refuse(ReasonTransferSelf)
	case !r.Active:
		return fmt.Errorf("%s: no such agent: %w", what, hotline.ErrInvalid)
	case !r.Queued:
		return refuse(ReasonTransferCallback)
	case r.State == hotline.AgentOffline || !r.Live:
		return refuse(ReasonTransferLoggedOut)
	case r.Endpoint == "":
		return refuse(ReasonTransferNoPhone)
	case !r.Skilled:
		return refuse(ReasonTransferNoSkill)
	}
	return nil
}

// agentTransferInsert puts the call of offer $1 back in the offer's queue, reserved for agent
// $2 from $3 for $4 seconds (twice the queue's ring timeout when $4 is 0): a new entry with the
// first entry's priority and first wait (waiting_since), owned by the call's instance. It asks
// for an assignment round.
const agentTransferInsert = `
	WITH src AS (
		SELECT e.id, e.call_id, e.queue_id, e.priority, COALESCE(e.waiting_since, e.entered_at) AS since,
		       COALESCE(c.instance_id, e.instance_id) AS instance_id, q.ring_timeout_seconds
		FROM hotline.offers o
		JOIN hotline.queue_entries e ON e.id = o.entry_id
		JOIN hotline.queues q ON q.id = e.queue_id
		LEFT JOIN hotline.calls c ON c.id = e.call_id
		WHERE o.id = $1),
	e AS (
		INSERT INTO hotline.queue_entries (call_id, queue_id, priority, entered_at, waiting_since, instance_id,
		                                   target_agent_id, target_until, transferred_from)
		SELECT call_id, queue_id, priority, $3, since, instance_id, $2,
		       $3::timestamptz + make_interval(secs => CASE WHEN $4::int > 0 THEN $4::int ELSE 2 * ring_timeout_seconds END),
		       id
		FROM src
		RETURNING id, queue_id)
	SELECT e.id, e.queue_id, pg_notify('hotline_acd', e.queue_id)::text AS notified FROM e`

// TransferToAgent carries out a blind transfer to a named agent (see CheckTransferToAgent,
// which it does not repeat): the call of offer offerID goes back into the offer's queue,
// reserved for agentID for reserve (0: twice the queue's ring timeout). The reservation
// lapses at that time, or when the agent lets the offer ring out, rejects it or it fails;
// afterwards the entry is offered to anyone in the queue. It returns the new entry.
func (a *ACD) TransferToAgent(ctx context.Context, offerID, agentID int64, reserve time.Duration) (hotline.QueueEntry, error) {
	var row struct {
		ID       int64  `db:"id"`
		Queue    string `db:"queue_id"`
		Notified string `db:"notified"`
	}
	secs := int((reserve + time.Second - 1) / time.Second)
	err := a.store.db.GetContext(ctx, &row, agentTransferInsert, offerID, agentID, a.store.now(), secs)
	if errors.Is(err, sql.ErrNoRows) {
		return hotline.QueueEntry{}, fmt.Errorf("transfer offer %d to agent %d: no queue entry: %w", offerID, agentID, hotline.ErrNotFound)
	}
	if err != nil {
		return hotline.QueueEntry{}, fmt.Errorf("transfer offer %d to agent %d: %w", offerID, agentID, missingRef(err))
	}
	return hotline.QueueEntry{ID: row.ID, Queue: row.Queue}, nil
}
