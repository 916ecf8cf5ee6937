package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline"
)

// Routing (Assign). A waiting call is a queue entry that has not left, is not being offered
// and belongs to a live instance (heartbeat within the lease). Calls are served by effective
// priority, priority + waited seconds × the queue's ageing_per_minute / 60, highest first, then
// by entry time: so an agent with several skills gets the call first in that order across
// their queues, and a call whose offer failed keeps its place. The agent is one of the
// available agents with the queue's skill, an endpoint, and a session on a live instance,
// picked by the queue's strategy: longest_idle (idle since longest), fewest_calls (fewest
// accepted offers since midnight, China Standard Time, then idle longest) or skill_level
// (highest level, then idle longest). Entries and agents are locked FOR UPDATE SKIP LOCKED,
// so concurrent rounds on several instances pass each other by; the unique indexes on
// pending offers per agent and per call back this up.
//
// A call an agent transferred to a named agent (TransferToAgent) waits in its queue reserved
// for that agent until target_until: only that agent is offered it, before the other calls
// they could take (like a contact in an agent's own queue), and it is ordered by its first
// wait's entry time (waiting_since). Once the reservation lapses it is an ordinary entry.
//
// Channels: hotline_acd (a call waits, an agent became available or an offer ended: a round
// may find work),
// hotline_offer_<instance> (payload: the id of an offer for a call of that instance) and
// hotline_agent (payload: the id of an agent whose state changed).

// ChannelACD is the channel announcing that an assignment round may find work.
const ChannelACD = "hotline_acd"

// ChannelAgent is the channel announcing an agent's state change; the payload is the id.
const ChannelAgent = "hotline_agent"

// OfferChannel is the channel announcing offers for the calls of an instance; the payload is
// the offer's id.
func OfferChannel(instance string) string { return "hotline_offer_" + instance }

// assignCandidatesQuery lists the waiting calls of live instances ($1 the oldest live
// heartbeat) whose queue's skill has an available agent, by effective priority at $2: at most
// $3, and not many more than there are agents to offer them to (a long backlog and one free
// agent make a short list).
const assignCandidatesQuery = `
	SELECT e.id, e.call_id::text AS call_id, e.queue_id, e.instance_id, q.skill_id, q.strategy,
	       q.ring_timeout_seconds, q.whisper_prompt,
	       CASE WHEN e.target_until > $2 THEN e.target_agent_id END AS target_agent_id
	FROM hotline.queue_entries e
	JOIN hotline.instances i ON i.id = e.instance_id
	JOIN hotline.queues q ON q.id = e.queue_id
	WHERE e.left_at IS NULL AND e.offer_id IS NULL AND i.heartbeat_at > $1
	  AND q.skill_id IN (SELECT s.skill_id
	                     FROM hotline.agent_status st
	                     JOIN hotline.agent_skills s ON s.agent_id = st.agent_id
	                     WHERE st.state = 'available')
	  AND (e.target_agent_id IS NULL OR e.target_until <= $2
	       OR EXISTS (SELECT 1 FROM hotline.agent_status t WHERE t.agent_id = e.target_agent_id AND t.state = 'available'))
	ORDER BY (e.target_until > $2) IS TRUE DESC,
	         e.priority + EXTRACT(EPOCH FROM ($2::timestamptz - COALESCE(e.waiting_since, e.entered_at))) * q.ageing_per_minute / 60.0 DESC,
	         COALESCE(e.waiting_since, e.entered_at), e.id
	LIMIT LEAST($3, 2 * (SELECT count(*) FROM hotline.agent_status WHERE state = 'available') + 8)`

// assignOne offers entry $1 (call $4, queue $5, instance $7) to an available agent with skill
// $2 on a live instance ($3 the oldest live heartbeat) at $6, agent $8 only when it is not
// NULL (the entry is reserved for them): the first in the order of the queue's strategy
// (assignOrder). It returns one row: whether the entry could be locked and,
// when an agent was found, the offer. Each strategy has its own statement, so that the
// planner walks an index in the strategy's order and stops at the first agent who fits.
const (
	assignPick = `
	WITH entry AS (
		SELECT id FROM hotline.queue_entries
		WHERE id = $1 AND left_at IS NULL AND offer_id IS NULL
		FOR UPDATE SKIP LOCKED),
	pick AS (
		SELECT st.agent_id, a.endpoint
		FROM hotline.agent_status st
		JOIN hotline.agent_skills s ON s.agent_id = st.agent_id AND s.skill_id = $2
		JOIN hotline.agents a ON a.id = st.agent_id
		JOIN hotline.instances i ON i.id = st.instance_id
		WHERE EXISTS (SELECT 1 FROM entry)
		  AND st.state = 'available' AND a.active AND a.endpoint <> '' AND i.heartbeat_at > $3
		  AND NOT EXISTS (SELECT 1 FROM hotline.offers p WHERE p.agent_id = st.agent_id AND p.state = 'pending')
		  AND ($8::bigint IS NULL OR st.agent_id = $8)
		  -- An agent a call is reserved for takes that call first, even when the round read
		  -- its candidates before the agent became available.
		  AND ($8::bigint IS NOT NULL OR NOT EXISTS (
		      SELECT 1 FROM hotline.queue_entries r
		      WHERE r.target_agent_id = st.agent_id AND r.left_at IS NULL AND r.offer_id IS NULL AND r.target_until > $6))
		`
	assignRest = `
		LIMIT 1
		FOR UPDATE OF st SKIP LOCKED),
	offer AS (
		INSERT INTO hotline.offers (call_id, agent_id, queue_id, offered_at, entry_id, endpoint, instance_id)
		SELECT $4, agent_id, $5, $6, $1, endpoint, $7 FROM pick
		RETURNING id, agent_id, endpoint),
	marked AS (
		UPDATE hotline.queue_entries e SET offer_id = offer.id FROM offer WHERE e.id = $1),
	ringing AS (
		UPDATE hotline.agent_status st
		SET state = 'ringing', reason = '', since = $6, call_id = $4, offer_id = offer.id
		FROM offer WHERE st.agent_id = offer.agent_id),
	logged AS (
		INSERT INTO hotline.agent_state_log (agent_id, state, previous, reason, cause, call_id, at)
		SELECT agent_id, 'ringing', 'available', '', 'offer', $4, $6 FROM offer)
	SELECT EXISTS (SELECT 1 FROM entry) AS locked, offer.id, offer.agent_id, offer.endpoint
	FROM (SELECT 1) one LEFT JOIN offer ON true`

	assignLongestIdle = assignPick + `ORDER BY st.idle_since, st.agent_id` + assignRest
	assignSkillLevel  = assignPick + `ORDER BY s.level DESC, st.idle_since, st.agent_id` + assignRest
	// assignFewestCalls counts the accepted offers since $9, the start of the day.
	assignFewestCalls = assignPick + `
		ORDER BY (SELECT count(*) FROM hotline.offers c
		          WHERE c.agent_id = st.agent_id AND c.state = 'accepted' AND c.decided_at >= $9),
		         st.idle_since, st.agent_id` + assignRest
)

// assignOrder is the statement of each strategy.
var assignOrder = map[string]string{
	hotline.StrategyLongestIdle: assignLongestIdle,
	hotline.StrategySkillLevel:  assignSkillLevel,
	hotline.StrategyFewestCalls: assignFewestCalls,
}

// offersNotify announces offers to the instances owning their calls, and their agents.
const offersNotify = `
	SELECT pg_notify('hotline_offer_' || x.instance, x.id::text), pg_notify('hotline_agent', x.agent::text)
	FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS x(instance, id, agent)`

// candidate is a waiting call an assignment round looks at.
type candidate struct {
	EntryID  int64  `db:"id"`
	CallID   string `db:"call_id"`
	Queue    string `db:"queue_id"`
	Instance string `db:"instance_id"`
	Skill    string `db:"skill_id"`
	Strategy string `db:"strategy"`
	Ring     int    `db:"ring_timeout_seconds"`
	Whisper  string `db:"whisper_prompt"`
	// Target is the agent the entry is reserved for, while it is.
	Target sql.NullInt64 `db:"target_agent_id"`
}

// Assign runs one assignment round: it offers up to max waiting calls to available agents (see
// Routing above), sets the agents ringing and announces each offer on the owning instance's
// channel, all in one transaction. It returns the offers made.
func (a *ACD) Assign(ctx context.Context, max int) ([]hotline.Offer, error) {
	if max <= 0 {
		return nil, nil
	}
	now := a.store.now()
	live := now.Add(-a.lease)
	day := now.In(chinaTime)
	dayStart := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, chinaTime)
	// The candidates are read before the transaction: most rounds find none, and those that
	// do lock each entry as they offer it.
	var cands []candidate
	if err := a.store.list(ctx, "assign: waiting calls", &cands, assignCandidatesQuery, live, now, 4*max); err != nil {
		return nil, err
	}
	if len(cands) == 0 {
		return nil, nil
	}
	if a.candidatesRead != nil {
		a.candidatesRead()
	}
	var offers []hotline.Offer
	err := a.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		stmts := map[string]*sqlx.Stmt{}
		exhausted := map[string]bool{} // skills without an agent left this round
		for _, c := range cands {
			if len(offers) == max {
				break
			}
			if exhausted[c.Skill] {
				continue
			}
			var r struct {
				Locked   bool           `db:"locked"`
				ID       sql.NullInt64  `db:"id"`
				AgentID  sql.NullInt64  `db:"agent_id"`
				Endpoint sql.NullString `db:"endpoint"`
			}
			one := stmts[c.Strategy]
			if one == nil {
				query, ok := assignOrder[c.Strategy]
				if !ok {
					query = assignLongestIdle
				}
				if one, err = a.txStmt(ctx, tx, query); err != nil {
					return err
				}
				stmts[c.Strategy] = one
			}
			args := []any{c.EntryID, c.Skill, live, c.CallID, c.Queue, now, c.Instance, c.Target}
			if c.Strategy == hotline.StrategyFewestCalls {
				args = append(args, dayStart)
			}
			if err := one.GetContext(ctx, &r, args...); err != nil {
				return fmt.Errorf("offer entry %d: %w", c.EntryID, err)
			}
			switch {
			case !r.Locked: // taken by another round, or gone
			case !r.ID.Valid && c.Target.Valid: // the agent it is reserved for was taken
			case !r.ID.Valid:
				exhausted[c.Skill] = true
			default:
				offers = append(offers, hotline.Offer{ID: r.ID.Int64, CallID: c.CallID, EntryID: c.EntryID,
					AgentID: r.AgentID.Int64, QueueID: c.Queue, Endpoint: r.Endpoint.String, Instance: c.Instance,
					State: hotline.OfferPending, RingTimeout: time.Duration(c.Ring) * time.Second, Whisper: c.Whisper,
					OfferedAt: now})
			}
		}
		if len(offers) == 0 {
			return nil
		}
		instances, ids, agents := make([]string, len(offers)), make([]int64, len(offers)), make([]int64, len(offers))
		for i, o := range offers {
			instances[i], ids[i], agents[i] = o.Instance, o.ID, o.AgentID
		}
		if _, err := a.txExec(ctx, tx, offersNotify, pq.Array(instances), pq.Array(ids), pq.Array(agents)); err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("assign: %w", err)
	}
	return offers, nil
}

// txStmt returns query prepared (once per pooled connection) for use in tx: an assignment
// round runs its statements many times a second.
func (a *ACD) txStmt(ctx context.Context, tx *sqlx.Tx, query string) (*sqlx.Stmt, error) {
	st, err := a.store.prepared(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	return tx.StmtxContext(ctx, st), nil
}

// offerSelect reads offers with their queue's ring timeout and whisper prompt.
const offerSelect = `
	SELECT o.id, COALESCE(o.call_id::text, '') AS call_id, COALESCE(o.entry_id, 0) AS entry_id, o.agent_id, o.queue_id,
	       o.endpoint, COALESCE(o.instance_id, '') AS instance_id, o.state, o.offered_at,
	       q.ring_timeout_seconds, q.whisper_prompt
	FROM hotline.offers o
	JOIN hotline.queues q ON q.id = o.queue_id`

const offerQuery = offerSelect + ` WHERE o.id = $1`

const pendingOffersQuery = offerSelect + ` WHERE o.state = 'pending' AND o.instance_id = $1 ORDER BY o.id`

// offerRow is an offer as read, before its queue's settings are turned into durations.
type offerRow struct {
	hotline.Offer
	Ring    int    `db:"ring_timeout_seconds"`
	Whisper string `db:"whisper_prompt"`
}

func (r offerRow) offer() hotline.Offer {
	o := r.Offer
	o.RingTimeout, o.Whisper = time.Duration(r.Ring)*time.Second, r.Whisper
	return o
}

// Offer returns an offer with its queue's ring timeout and whisper prompt.
func (a *ACD) Offer(ctx context.Context, offerID int64) (hotline.Offer, error) {
	var r offerRow
	if err := a.store.get(ctx, fmt.Sprintf("offer %d", offerID), &r, offerQuery, offerID); err != nil {
		return hotline.Offer{}, err
	}
	return r.offer(), nil
}

// PendingOffers returns the offers still pending for the calls of this instance, oldest
// first: what the instance's listener may have missed while it reconnected.
func (a *ACD) PendingOffers(ctx context.Context) ([]hotline.Offer, error) {
	var rows []offerRow
	if err := a.store.list(ctx, "pending offers", &rows, pendingOffersQuery, a.instance); err != nil {
		return nil, err
	}
	offers := make([]hotline.Offer, len(rows))
	for i, r := range rows {
		offers[i] = r.offer()
	}
	return offers, nil
}

// offerState is an offer locked for one of its events.
type offerState struct {
	ID        int64  `db:"id"`
	CallID    string `db:"call_id"`
	AgentID   int64  `db:"agent_id"`
	Queue     string `db:"queue_id"`
	State     string `db:"state"`
	EntryID   int64  `db:"entry_id"`
	TalkEnded bool   `db:"talk_ended"`
	WrapUp    int    `db:"wrap_up_seconds"`
}

// offerAgentLock locks the status row of the agent of offer $1.
const offerAgentLock = `
	SELECT agent_id, state, reason, since, idle_since, instance_id, session_id, pending_pause,
	       wrap_up_until, call_id::text AS call_id, offer_id
	FROM hotline.agent_status
	WHERE agent_id = (SELECT agent_id FROM hotline.offers WHERE id = $1)
	FOR UPDATE`

const offerAgentQuery = `SELECT agent_id FROM hotline.offers WHERE id = $1`

const offerLock = `
	SELECT o.id, COALESCE(o.call_id::text, '') AS call_id, o.agent_id, o.queue_id, o.state, COALESCE(o.entry_id, 0) AS entry_id,
	       o.talk_ended_at IS NOT NULL AS talk_ended, q.wrap_up_seconds
	FROM hotline.offers o
	JOIN hotline.queues q ON q.id = o.queue_id
	WHERE o.id = $1
	FOR UPDATE OF o`

// offerEvent runs an event of an offer in a transaction: with the agent's status row locked
// (first, as every transition does) and then the offer, decide returns the agent's new row
// and the cause of the transition. The agent moves only while the offer is theirs
// (agent_status.offer_id): otherwise decide's row is ignored.
func (a *ACD) offerEvent(ctx context.Context, what string, offerID int64,
	decide func(tx *sqlx.Tx, o offerState, cur agentRow, now time.Time) (agentRow, string, error)) error {
	err := a.inTx(ctx, func(tx *sqlx.Tx) error {
		now := a.store.now()
		var cur agentRow
		err := a.txGet(ctx, tx, &cur, offerAgentLock, offerID)
		if errors.Is(err, sql.ErrNoRows) { // no such offer, or its agent has no status row yet
			var agentID int64
			if err := a.txGet(ctx, tx, &agentID, offerAgentQuery, offerID); errors.Is(err, sql.ErrNoRows) {
				return hotline.ErrNotFound
			} else if err != nil {
				return err
			}
			cur, err = a.lockAgent(ctx, tx, agentID, now)
		}
		if err != nil {
			return err
		}
		var o offerState
		if err := a.txGet(ctx, tx, &o, offerLock, offerID); err != nil {
			return err
		}
		next, cause, err := decide(tx, o, cur, now)
		if err != nil || next == cur || cur.OfferID.Int64 != offerID {
			return err
		}
		_, err = a.writeAgent(ctx, tx, cur, next, cause, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: offer %d: %w", what, offerID, err)
	}
	return nil
}

// offerAccept accepts offer $1 at $2 and closes its queue entry as answered.
const offerAccept = `
	WITH o AS (
		UPDATE hotline.offers SET state = 'accepted', decided_at = $2 WHERE id = $1
		RETURNING entry_id)
	UPDATE hotline.queue_entries e SET left_at = $2, outcome = 'answered'
	FROM o WHERE e.id = o.entry_id AND e.left_at IS NULL`

// OfferAnswered records that the agent answered the offer and was bridged with the caller:
// the offer is accepted, the call leaves its queue as answered and the agent is talking. An
// offer answered again is left as it is; one that already ended otherwise is
// hotline.ErrConflict.
func (a *ACD) OfferAnswered(ctx context.Context, offerID int64) error {
	return a.offerEvent(ctx, "offer answered", offerID, func(tx *sqlx.Tx, o offerState, cur agentRow, now time.Time) (agentRow, string, error) {
		switch o.State {
		case hotline.OfferAccepted:
			return cur, "", nil
		case hotline.OfferPending:
		default:
			return cur, "", fmt.Errorf("offer ended as %s: %w", o.State, hotline.ErrConflict)
		}
		if _, err := a.txExec(ctx, tx, offerAccept, o.ID, now); err != nil {
			return cur, "", err
		}
		if cur.State != hotline.AgentRinging {
			return cur, "", nil
		}
		next := cur
		next.State = hotline.AgentTalking
		return next, "answered", nil
	})
}

// offerEnd ends offer $1 with outcome $2 at $3 for cause $4; its queue entry (or callback)
// waits again, keeping its entry time, and a round is asked for. An entry reserved for the
// agent of an offer that timed out, was rejected or failed is reserved no longer.
const offerEnd = `
	WITH o AS (
		UPDATE hotline.offers SET state = $2, decided_at = $3, cause = $4 WHERE id = $1
		RETURNING id, entry_id, callback_id, agent_id),
	e AS (
		UPDATE hotline.queue_entries e SET offer_id = NULL,
			target_until = CASE WHEN e.target_agent_id = o.agent_id AND $2 <> 'cancelled'
			                    THEN LEAST(e.target_until, $3) ELSE e.target_until END
		FROM o WHERE e.id = o.entry_id AND e.offer_id = o.id),
	cb AS (
		UPDATE hotline.callbacks c SET status = 'pending', agent_id = NULL
		FROM o WHERE c.id = o.callback_id AND c.status = 'assigned')
	SELECT pg_notify('hotline_acd', '') FROM o`

// endedOutcomes are the outcomes of an offer that did not connect.
var endedOutcomes = []string{hotline.OfferTimeout, hotline.OfferRejected, hotline.OfferFailed, hotline.OfferCancelled}

// OfferEnded records an offer that did not connect, with its outcome (hotline.OfferTimeout,
// OfferRejected, OfferFailed or OfferCancelled; hotline.ErrInvalid otherwise) and cause. The
// call waits again at its place. The agent goes to missed after a timeout, rejection or
// failure; after a cancellation (the caller hung up or left while it rang) they are
// available again, still idle since when they were. An agent who asked for a pause while it
// rang is paused instead. An offer that has already ended is left as it is; one accepted is
// hotline.ErrConflict.
func (a *ACD) OfferEnded(ctx context.Context, offerID int64, outcome, cause string) error {
	if !slices.Contains(endedOutcomes, outcome) {
		return fmt.Errorf("offer %d ended: outcome %q: %w", offerID, outcome, hotline.ErrInvalid)
	}
	return a.offerEvent(ctx, "offer ended", offerID, func(tx *sqlx.Tx, o offerState, cur agentRow, now time.Time) (agentRow, string, error) {
		switch o.State {
		case hotline.OfferPending:
		case hotline.OfferAccepted:
			return cur, "", fmt.Errorf("offer was answered: %w", hotline.ErrConflict)
		default:
			return cur, "", nil
		}
		if _, err := a.txExec(ctx, tx, offerEnd, o.ID, outcome, now, cause); err != nil {
			return cur, "", err
		}
		if cur.State != hotline.AgentRinging {
			return cur, "", nil
		}
		next := cur.afterRing(outcome)
		return next, outcome + ": " + cause, nil
	})
}

// afterRing is the agent after an offer that did not connect: paused if they asked for it,
// available as idle as before if the caller went away, missed otherwise.
func (r agentRow) afterRing(outcome string) agentRow {
	r.CallID, r.OfferID = sql.NullString{}, sql.NullInt64{}
	switch {
	case r.PendingPause.String != "":
		r.State, r.Reason, r.PendingPause = hotline.AgentPaused, r.PendingPause.String, sql.NullString{}
	case outcome == hotline.OfferCancelled:
		r.State, r.Reason = hotline.AgentAvailable, ""
	default:
		r.State, r.Reason = hotline.AgentMissed, outcome
	}
	return r
}

const offerTalkEnded = `UPDATE hotline.offers SET talk_ended_at = $2 WHERE id = $1`

// ConversationEnded records the end of an answered offer's conversation: the agent goes to
// wrap-up for the queue's wrap-up time, or, with none, straight to available or to the pause
// they asked for. An offer not accepted is hotline.ErrConflict; a conversation ended again is
// left as it is.
func (a *ACD) ConversationEnded(ctx context.Context, offerID int64) error {
	return a.offerEvent(ctx, "conversation ended", offerID, func(tx *sqlx.Tx, o offerState, cur agentRow, now time.Time) (agentRow, string, error) {
		if o.State != hotline.OfferAccepted {
			return cur, "", fmt.Errorf("offer is %s, not answered: %w", o.State, hotline.ErrConflict)
		}
		if o.TalkEnded {
			return cur, "", nil
		}
		if _, err := a.txExec(ctx, tx, offerTalkEnded, o.ID, now); err != nil {
			return cur, "", err
		}
		if cur.State != hotline.AgentTalking || cur.OfferID.Int64 != o.ID {
			return cur, "", nil
		}
		next, err := a.afterTalk(ctx, tx, cur, o.WrapUp, now)
		return next, "conversation_ended", err
	})
}

// afterTalk is the agent after a conversation: in wrap-up for wrapUp seconds, or free.
func (a *ACD) afterTalk(ctx context.Context, tx *sqlx.Tx, cur agentRow, wrapUp int, now time.Time) (agentRow, error) {
	if wrapUp > 0 {
		next := cur
		next.State, next.Reason = hotline.AgentWrapUp, ""
		next.WrapUpUntil = sql.NullTime{Time: now.Add(time.Duration(wrapUp) * time.Second), Valid: true}
		return next, nil
	}
	if _, err := a.txExec(ctx, tx, offerWrappedUp, cur.OfferID.Int64, now, "", ""); err != nil {
		return cur, err
	}
	return cur.free(now), nil
}

const wrapUpsDueQuery = `
	SELECT agent_id FROM hotline.agent_status
	WHERE state = 'wrap_up' AND wrap_up_until <= $1
	ORDER BY agent_id
	FOR UPDATE SKIP LOCKED`

// ExpireWrapUps ends the wrap-ups whose time is up: the agents become available, or paused
// if they asked for it, and their calls are left without a disposition (like a time-boxed
// wrap-up code elsewhere: an agent cannot stay in wrap-up by not choosing one). It returns
// how many ended.
func (a *ACD) ExpireWrapUps(ctx context.Context) (int, error) {
	n := 0
	err := a.inTx(ctx, func(tx *sqlx.Tx) error {
		now := a.store.now()
		var ids []int64
		if err := a.txSelect(ctx, tx, &ids, wrapUpsDueQuery, now); err != nil {
			return err
		}
		for _, id := range ids {
			cur, err := a.lockAgent(ctx, tx, id, now)
			if err != nil {
				return err
			}
			if err := a.closeWrapUp(ctx, tx, cur, now); err != nil {
				return err
			}
			if _, err := a.writeAgent(ctx, tx, cur, cur.free(now), "wrap_up_expired", now); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("expire wrap-ups: %w", err)
	}
	return n, nil
}
