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
// Channels: hotline_acd (a call waits or an agent became free: run a round),
// hotline_offer_<instance> (payload: the id of an offer for a call of that instance) and
// hotline_agent (payload: the id of an agent whose state changed).

// ChannelACD is the channel announcing that an assignment round may find work.
const ChannelACD = "hotline_acd"

// ChannelAgent is the channel announcing an agent's state change; the payload is the id.
const ChannelAgent = "hotline_agent"

// OfferChannel is the channel announcing offers for the calls of an instance; the payload is
// the offer's id.
func OfferChannel(instance string) string { return "hotline_offer_" + instance }

const acdNotify = `SELECT pg_notify('hotline_acd', '')`

// notifyACD asks for an assignment round when tx commits.
func notifyACD(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, acdNotify); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

// assignCandidatesQuery lists the waiting calls of live instances ($1 the oldest live
// heartbeat) whose queue's skill has an available agent, by effective priority at $2.
const assignCandidatesQuery = `
	SELECT e.id, e.call_id::text AS call_id, e.queue_id, e.instance_id, q.skill_id, q.strategy,
	       q.ring_timeout_seconds, q.whisper_prompt
	FROM hotline.queue_entries e
	JOIN hotline.instances i ON i.id = e.instance_id
	JOIN hotline.queues q ON q.id = e.queue_id
	WHERE e.left_at IS NULL AND e.offer_id IS NULL AND i.heartbeat_at > $1
	  AND q.skill_id IN (SELECT s.skill_id
	                     FROM hotline.agent_status st
	                     JOIN hotline.agent_skills s ON s.agent_id = st.agent_id
	                     WHERE st.state = 'available')
	ORDER BY e.priority + EXTRACT(EPOCH FROM ($2::timestamptz - e.entered_at)) * q.ageing_per_minute / 60.0 DESC,
	         e.entered_at, e.id
	LIMIT $3`

// assignOne offers entry $1 (call $4, queue $5, instance $7) to an available agent with skill
// $2 on a live instance ($3 the oldest live heartbeat) picked by strategy $9 ($8 is the start
// of the day for fewest_calls), at $6. It returns one row: whether the entry could be locked
// and, when an agent was found, the offer.
const assignOne = `
	WITH entry AS (
		SELECT id FROM hotline.queue_entries
		WHERE id = $1 AND left_at IS NULL AND offer_id IS NULL
		FOR UPDATE SKIP LOCKED),
	pick AS (
		SELECT st.agent_id, a.endpoint
		FROM hotline.agent_skills s
		JOIN hotline.agent_status st ON st.agent_id = s.agent_id
		JOIN hotline.agents a ON a.id = s.agent_id
		JOIN hotline.instances i ON i.id = st.instance_id
		WHERE EXISTS (SELECT 1 FROM entry)
		  AND s.skill_id = $2 AND st.state = 'available' AND a.active AND a.endpoint <> ''
		  AND i.heartbeat_at > $3
		  AND NOT EXISTS (SELECT 1 FROM hotline.offers p WHERE p.agent_id = st.agent_id AND p.state = 'pending')
		ORDER BY CASE WHEN $9 = 'skill_level' THEN -s.level ELSE 0 END,
		         CASE WHEN $9 = 'fewest_calls'
		              THEN (SELECT count(*) FROM hotline.offers c
		                    WHERE c.agent_id = st.agent_id AND c.state = 'accepted' AND c.decided_at >= $8)
		              ELSE 0 END,
		         st.idle_since NULLS FIRST, st.agent_id
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
}

// Assign runs one assignment round in one transaction: it offers up to max waiting calls to
// available agents (see Routing above), sets the agents ringing and announces each offer on
// the owning instance's channel. It returns the offers made.
func (a *ACD) Assign(ctx context.Context, max int) ([]hotline.Offer, error) {
	if max <= 0 {
		return nil, nil
	}
	now := a.store.now()
	live := now.Add(-a.lease)
	day := now.In(chinaTime)
	dayStart := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, chinaTime)
	var offers []hotline.Offer
	err := a.inTx(ctx, func(tx *sqlx.Tx) error {
		list, err := a.txStmt(ctx, tx, assignCandidatesQuery)
		if err != nil {
			return err
		}
		var cands []candidate
		if err := list.SelectContext(ctx, &cands, live, now, 4*max); err != nil {
			return fmt.Errorf("waiting calls: %w", err)
		}
		if len(cands) == 0 {
			return nil
		}
		one, err := a.txStmt(ctx, tx, assignOne)
		if err != nil {
			return err
		}
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
			if err := one.GetContext(ctx, &r, c.EntryID, c.Skill, live, c.CallID, c.Queue, now, c.Instance, dayStart, c.Strategy); err != nil {
				return fmt.Errorf("offer entry %d: %w", c.EntryID, err)
			}
			switch {
			case !r.Locked: // taken by another round, or gone
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
		if _, err := tx.ExecContext(ctx, offersNotify, pq.Array(instances), pq.Array(ids), pq.Array(agents)); err != nil {
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
	SELECT o.id, o.call_id::text AS call_id, COALESCE(o.entry_id, 0) AS entry_id, o.agent_id, o.queue_id,
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

const offerAgentQuery = `SELECT agent_id FROM hotline.offers WHERE id = $1`

const offerLock = `
	SELECT o.id, o.call_id::text AS call_id, o.agent_id, o.queue_id, o.state, COALESCE(o.entry_id, 0) AS entry_id,
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
	var agentID int64
	if err := a.store.get(ctx, fmt.Sprintf("%s: offer %d", what, offerID), &agentID, offerAgentQuery, offerID); err != nil {
		return err
	}
	err := a.inTx(ctx, func(tx *sqlx.Tx) error {
		now := a.store.now()
		cur, err := lockAgent(ctx, tx, agentID, now)
		if err != nil {
			return err
		}
		var o offerState
		if err := tx.GetContext(ctx, &o, offerLock, offerID); err != nil {
			return err
		}
		next, cause, err := decide(tx, o, cur, now)
		if err != nil || next == cur || cur.OfferID.Int64 != offerID {
			return err
		}
		_, err = writeAgent(ctx, tx, cur, next, cause, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: offer %d: %w", what, offerID, err)
	}
	return nil
}

const offerAccept = `UPDATE hotline.offers SET state = 'accepted', decided_at = $2 WHERE id = $1`

const entryAnswered = `
	UPDATE hotline.queue_entries SET left_at = $2, outcome = 'answered'
	WHERE id = $1 AND left_at IS NULL`

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
		if _, err := tx.ExecContext(ctx, offerAccept, o.ID, now); err != nil {
			return cur, "", err
		}
		if o.EntryID != 0 {
			if _, err := tx.ExecContext(ctx, entryAnswered, o.EntryID, now); err != nil {
				return cur, "", err
			}
		}
		if cur.State != hotline.AgentRinging {
			return cur, "", nil
		}
		next := cur
		next.State = hotline.AgentTalking
		return next, "answered", nil
	})
}

const offerEnd = `UPDATE hotline.offers SET state = $2, decided_at = $3, cause = $4 WHERE id = $1`

// entryReoffer makes an entry waiting again after its offer ended; it keeps its entry time.
const entryReoffer = `UPDATE hotline.queue_entries SET offer_id = NULL WHERE id = $1 AND offer_id = $2`

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
		if _, err := tx.ExecContext(ctx, offerEnd, o.ID, outcome, now, cause); err != nil {
			return cur, "", err
		}
		if o.EntryID != 0 {
			if _, err := tx.ExecContext(ctx, entryReoffer, o.EntryID, o.ID); err != nil {
				return cur, "", err
			}
		}
		if err := notifyACD(ctx, tx); err != nil {
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
		if _, err := tx.ExecContext(ctx, offerTalkEnded, o.ID, now); err != nil {
			return cur, "", err
		}
		if cur.State != hotline.AgentTalking || cur.OfferID.Int64 != o.ID {
			return cur, "", nil
		}
		next, err := afterTalk(ctx, tx, cur, o.WrapUp, now)
		return next, "conversation_ended", err
	})
}

// afterTalk is the agent after a conversation: in wrap-up for wrapUp seconds, or free.
func afterTalk(ctx context.Context, tx *sqlx.Tx, cur agentRow, wrapUp int, now time.Time) (agentRow, error) {
	if wrapUp > 0 {
		next := cur
		next.State, next.Reason = hotline.AgentWrapUp, ""
		next.WrapUpUntil = sql.NullTime{Time: now.Add(time.Duration(wrapUp) * time.Second), Valid: true}
		return next, nil
	}
	if _, err := tx.ExecContext(ctx, offerWrappedUp, cur.OfferID.Int64, now, "", ""); err != nil {
		return cur, err
	}
	return cur.free(now), notifyACD(ctx, tx)
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
		if err := tx.SelectContext(ctx, &ids, wrapUpsDueQuery, now); err != nil {
			return err
		}
		for _, id := range ids {
			cur, err := lockAgent(ctx, tx, id, now)
			if err != nil {
				return err
			}
			if err := closeWrapUp(ctx, tx, cur, now); err != nil {
				return err
			}
			if _, err := writeAgent(ctx, tx, cur, cur.free(now), "wrap_up_expired", now); err != nil {
				return err
			}
			n++
		}
		if n == 0 {
			return nil
		}
		return notifyACD(ctx, tx)
	})
	if err != nil {
		return 0, fmt.Errorf("expire wrap-ups: %w", err)
	}
	return n, nil
}

const instanceUpsert = `
	INSERT INTO hotline.instances (id, started_at, heartbeat_at) VALUES ($1, $2, $2)
	ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at`

// Heartbeat tells the other instances that this one is live.
func (a *ACD) Heartbeat(ctx context.Context) error {
	if _, err := a.store.db.ExecContext(ctx, instanceUpsert, a.instance, a.store.now()); err != nil {
		return fmt.Errorf("heartbeat of instance %s: %w", a.instance, err)
	}
	return nil
}

const instanceStart = `
	INSERT INTO hotline.instances (id, started_at, heartbeat_at) VALUES ($1, $2, $2)
	ON CONFLICT (id) DO UPDATE SET started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at`

// Start registers this instance as starting now. What an earlier process of the same instance
// left behind (calls queued and offers made before NewACD) is released as if it had died: its
// calls cannot have survived it, so their queue entries are lost and their pending offers
// cancelled, and the agents ringing or talking for them are released. Agents' sessions are
// left alone: they log in again and take over.
func (a *ACD) Start(ctx context.Context) error {
	err := a.inTx(ctx, func(tx *sqlx.Tx) error {
		now := a.store.now()
		if _, err := tx.ExecContext(ctx, instanceStart, a.instance, now); err != nil {
			return err
		}
		born := sql.NullTime{Time: a.born, Valid: true}
		_, err := release(ctx, tx, []string{a.instance}, false, born, now, "instance_restarted")
		return err
	})
	if err != nil {
		return fmt.Errorf("start instance %s: %w", a.instance, err)
	}
	return nil
}

// deadInstancesQuery lists the instances other than $2 whose heartbeat is older than $1 and
// that still own something: agents logged in, pending offers, waiting calls, agents on calls.
const deadInstancesQuery = `
	SELECT i.id FROM hotline.instances i
	WHERE i.heartbeat_at <= $1 AND i.id <> $2
	  AND (EXISTS (SELECT 1 FROM hotline.agent_status st WHERE st.instance_id = i.id AND st.state <> 'offline')
	       OR EXISTS (SELECT 1 FROM hotline.offers o WHERE o.instance_id = i.id AND o.state = 'pending')
	       OR EXISTS (SELECT 1 FROM hotline.queue_entries e
	                  WHERE e.instance_id = i.id AND e.left_at IS NULL AND e.offer_id IS NULL)
	       OR EXISTS (SELECT 1 FROM hotline.agent_status st JOIN hotline.offers o ON o.id = st.offer_id
	                  WHERE o.instance_id = i.id AND st.state = 'talking'))
	ORDER BY i.id`

// ReleaseDead releases what belongs to the instances whose heartbeat is older than lease
// (this one excepted): their calls' pending offers are cancelled and their waiting calls
// leave their queues as hotline.QueueLost (so they are no longer counted as waiting); agents
// ringing for those calls become available again, agents talking on them go to wrap-up, and
// agents whose desk session was on a dead instance are logged out with cause instance_lost
// unless they are still ringing or talking on a live instance's call (they are released when
// it ends). It returns how many agents it released.
func (a *ACD) ReleaseDead(ctx context.Context, lease time.Duration) (int, error) {
	now := a.store.now()
	var dead []string
	if err := a.store.db.SelectContext(ctx, &dead, deadInstancesQuery, now.Add(-lease), a.instance); err != nil {
		return 0, fmt.Errorf("release dead instances: %w", err)
	}
	if len(dead) == 0 {
		return 0, nil
	}
	var n int
	err := a.inTx(ctx, func(tx *sqlx.Tx) (err error) {
		n, err = release(ctx, tx, dead, true, sql.NullTime{}, now, "instance_lost")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("release dead instances %v: %w", dead, err)
	}
	return n, nil
}

// releaseAgentsLock locks, in id order, the agents on calls of the instances $1 (offered
// before $3, if not NULL) and, when $2, those logged in on them; call_lost says whether the
// agent's call is one of those.
const releaseAgentsLock = `
	SELECT st.agent_id,
	       COALESCE(st.state IN ('ringing', 'talking') AND o.instance_id = ANY($1)
	                AND ($3::timestamptz IS NULL OR o.offered_at < $3), false) AS call_lost,
	       COALESCE(q.wrap_up_seconds, 0) AS wrap_up_seconds
	FROM hotline.agent_status st
	LEFT JOIN hotline.offers o ON o.id = st.offer_id
	LEFT JOIN hotline.queues q ON q.id = o.queue_id
	WHERE st.state <> 'offline'
	  AND ((st.state IN ('ringing', 'talking') AND o.instance_id = ANY($1)
	        AND ($3::timestamptz IS NULL OR o.offered_at < $3))
	       OR ($2 AND st.instance_id = ANY($1)))
	ORDER BY st.agent_id
	FOR UPDATE OF st`

const releaseOffers = `
	UPDATE hotline.offers SET state = 'cancelled', decided_at = $2, cause = $3
	WHERE state = 'pending' AND instance_id = ANY($1) AND ($4::timestamptz IS NULL OR offered_at < $4)`

const releaseEntries = `
	UPDATE hotline.queue_entries SET left_at = $2, outcome = 'lost'
	WHERE left_at IS NULL AND instance_id = ANY($1) AND ($3::timestamptz IS NULL OR entered_at < $3)`

// release frees what belongs to the instances (made before before, if valid), in tx: see
// ReleaseDead; sessions says whether the agents logged in on them are logged out too. It
// returns how many agents it moved.
func release(ctx context.Context, tx *sqlx.Tx, instances []string, sessions bool, before sql.NullTime,
	now time.Time, cause string) (int, error) {
	var agents []struct {
		ID       int64 `db:"agent_id"`
		CallLost bool  `db:"call_lost"`
		WrapUp   int   `db:"wrap_up_seconds"`
	}
	if err := tx.SelectContext(ctx, &agents, releaseAgentsLock, pq.Array(instances), sessions, before); err != nil {
		return 0, fmt.Errorf("lock agents: %w", err)
	}
	if _, err := tx.ExecContext(ctx, releaseOffers, pq.Array(instances), now, cause, before); err != nil {
		return 0, fmt.Errorf("cancel offers: %w", err)
	}
	if _, err := tx.ExecContext(ctx, releaseEntries, pq.Array(instances), now, before); err != nil {
		return 0, fmt.Errorf("close queue entries: %w", err)
	}
	n := 0
	for _, ag := range agents {
		cur, err := lockAgent(ctx, tx, ag.ID, now)
		if err != nil {
			return n, err
		}
		sessionLost := sessions && slices.Contains(instances, cur.Instance.String)
		next := cur
		switch {
		case ag.CallLost && cur.State == hotline.AgentTalking:
			if _, err := tx.ExecContext(ctx, offerTalkEnded, cur.OfferID.Int64, now); err != nil {
				return n, err
			}
			if sessionLost {
				next = cur.offline()
			} else if next, err = afterTalk(ctx, tx, cur, ag.WrapUp, now); err != nil {
				return n, err
			}
		case ag.CallLost:
			next = cur.afterRing(hotline.OfferCancelled)
			if sessionLost {
				next = cur.offline()
			}
		case cur.busy():
			continue // on a live instance's call: released when it ends
		default:
			if err := closeWrapUp(ctx, tx, cur, now); err != nil {
				return n, err
			}
			next = cur.offline()
		}
		if _, err := writeAgent(ctx, tx, cur, next, cause, now); err != nil {
			return n, err
		}
		n++
	}
	if n > 0 {
		return n, notifyACD(ctx, tx)
	}
	return n, nil
}

// errNoInstance is returned for an ACD whose instance name cannot name a channel.
var errNoInstance = errors.New("instance name must be 1 to 48 letters, digits, '_', '-' or '.'")

// ValidInstance reports whether id can name a controller instance: its offer channel name
// must fit PostgreSQL's 63-byte identifiers.
func ValidInstance(id string) error {
	if len(id) == 0 || len(id) > 48 {
		return fmt.Errorf("instance %q: %w", id, errNoInstance)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("instance %q: %w", id, errNoInstance)
		}
	}
	return nil
}
