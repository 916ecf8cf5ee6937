package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline"
)

// DefaultCallbackSpacing is the wait before the next try of a callback that was not answered;
// the n-th retry waits n times as long.
const DefaultCallbackSpacing = 10 * time.Minute

// SetCallbackSpacing changes the wait between tries of a callback.
func (s *Store) SetCallbackSpacing(d time.Duration) { s.callbackSpacing = d }

const callbackRelease = `
	UPDATE hotline.callbacks SET status = 'pending', agent_id = NULL
	WHERE id = $1 AND status IN ('pending', 'assigned')`

const callbackAttemptInsert = `
	INSERT INTO hotline.callback_attempts
		(callback_id, offer_id, agent_id, call_id, attempt, started_at, ended_at, outcome, cause)
	SELECT $1, NULLIF($2::bigint, 0), NULLIF($3::bigint, 0), NULLIF($4, '')::uuid, c.attempts + 1, $5, $5, $6, $7
	FROM hotline.callbacks c
	WHERE c.id = $1
	RETURNING attempt`

const callbackAfterAttempt = `
	UPDATE hotline.callbacks SET
		attempts = $2,
		last_outcome = $3,
		status = CASE WHEN $3 = 'answered' THEN 'done'
		              WHEN $2 >= max_attempts THEN 'failed'
		              ELSE 'pending' END,
		agent_id = CASE WHEN $3 = 'answered' THEN agent_id END,
		done_at = CASE WHEN $3 = 'answered' OR $2 >= max_attempts THEN $4::timestamptz END,
		next_attempt_at = $4::timestamptz + $5::float8 * $2 * interval '1 second'
	WHERE id = $1`

// CallbackAttempted records one try of a callback and schedules the next: answered ends it as
// done, the last allowed try that was not answered ends it as failed, any other waits
// (spacing × tries so far) for the next try. An outcome of "" means the agent did not take
// the work: the callback waits again at once, its tries unchanged.
func (s *Store) CallbackAttempted(ctx context.Context, task hotline.CallbackTask, offerID, agentID int64, callID, outcome, cause string) error {
	what := fmt.Sprintf("callback %d", task.ID)
	if outcome == "" {
		if _, err := s.db.ExecContext(ctx, callbackRelease, task.ID); err != nil {
			return fmt.Errorf("%s: release: %w", what, err)
		}
		return nil
	}
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{})
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback()
	now := s.now()
	var attempt int
	if err := tx.GetContext(ctx, &attempt, callbackAttemptInsert, task.ID, offerID, agentID, callID, now, outcome, cause); err != nil {
		if err == sql.ErrNoRows {
			return fmt.Errorf("%s: %w", what, hotline.ErrNotFound)
		}
		return fmt.Errorf("%s: record attempt: %w", what, missingRef(err))
	}
	spacing := s.callbackSpacing
	if spacing == 0 {
		spacing = DefaultCallbackSpacing
	}
	if _, err := tx.ExecContext(ctx, callbackAfterAttempt, task.ID, attempt, outcome, now, spacing.Seconds()); err != nil {
		return fmt.Errorf("%s: schedule: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

// Callbacks are dispatched by the same ACD as calls (AssignCallbacks): a callback is due once
// its next_attempt_at has passed, and is offered only while no live call waits in its queue
// (live calls of a queue go first). It goes to an available agent with the queue's skill —
// the agent who asked to call back now (preferred_agent_id) when available, else the one idle
// longest — whose session is on a live instance; that instance rings the agent and then
// dials the citizen. The offer has a callback instead of a call; the callback is assigned
// while it rings and talks, and CallbackAttempted records how each try went.

// assignCallback offers one due callback (at $1, instances live after $2, skipping the
// callbacks in $3) to an agent. It returns one row: the callback's id when one was due and
// locked, and the offer when an agent was found.
const assignCallback = `
	WITH cb AS (
		SELECT c.id, c.queue_id, c.number, c.attempts, c.preferred_agent_id, q.skill_id
		FROM hotline.callbacks c
		JOIN hotline.queues q ON q.id = c.queue_id
		WHERE c.status = 'pending' AND c.next_attempt_at <= $1 AND c.id <> ALL($3::bigint[])
		  AND NOT EXISTS (SELECT 1 FROM hotline.queue_entries e
		                  JOIN hotline.instances i ON i.id = e.instance_id
		                  WHERE e.queue_id = c.queue_id AND e.left_at IS NULL AND i.heartbeat_at > $2)
		  AND NOT EXISTS (SELECT 1 FROM hotline.offers p WHERE p.callback_id = c.id AND p.state = 'pending')
		ORDER BY c.next_attempt_at, c.id
		LIMIT 1
		FOR UPDATE OF c SKIP LOCKED),
	pick AS (
		SELECT st.agent_id, a.endpoint, st.instance_id
		FROM cb
		JOIN hotline.agent_skills s ON s.skill_id = cb.skill_id
		JOIN hotline.agent_status st ON st.agent_id = s.agent_id
		JOIN hotline.agents a ON a.id = st.agent_id
		JOIN hotline.instances i ON i.id = st.instance_id
		WHERE st.state = 'available' AND a.active AND a.endpoint <> '' AND i.heartbeat_at > $2
		  AND NOT EXISTS (SELECT 1 FROM hotline.offers p WHERE p.agent_id = st.agent_id AND p.state = 'pending')
		ORDER BY st.agent_id IS NOT DISTINCT FROM cb.preferred_agent_id DESC, st.idle_since, st.agent_id
		LIMIT 1
		FOR UPDATE OF st SKIP LOCKED),
	offer AS (
		INSERT INTO hotline.offers (callback_id, agent_id, queue_id, offered_at, endpoint, instance_id)
		SELECT cb.id, pick.agent_id, cb.queue_id, $1, pick.endpoint, pick.instance_id FROM cb, pick
		RETURNING id, agent_id, endpoint, instance_id, queue_id),
	assigned AS (
		UPDATE hotline.callbacks c SET status = 'assigned', agent_id = offer.agent_id
		FROM offer WHERE c.id = (SELECT id FROM cb)),
	ringing AS (
		UPDATE hotline.agent_status st
		SET state = 'ringing', reason = '', since = $1, call_id = NULL, offer_id = offer.id
		FROM offer WHERE st.agent_id = offer.agent_id),
	logged AS (
		INSERT INTO hotline.agent_state_log (agent_id, state, previous, reason, cause, at)
		SELECT agent_id, 'ringing', 'available', '', 'callback_offer', $1 FROM offer),
	notified AS (
		SELECT pg_notify('hotline_offer_' || offer.instance_id, offer.id::text),
		       pg_notify('hotline_agent', offer.agent_id::text)
		FROM offer)
	SELECT cb.id AS callback_id, cb.number, cb.attempts, offer.id, offer.agent_id, offer.endpoint,
	       offer.instance_id, offer.queue_id, (SELECT count(*) FROM notified) AS notified
	FROM cb LEFT JOIN offer ON true`

// callbacksOrphaned puts back to waiting the callbacks still assigned with no offer of a live
// instance ($1 the oldest live heartbeat) ringing or talking: their instance died (its offers
// were cancelled by whoever released it) before it could record the try.
const callbacksOrphaned = `
	UPDATE hotline.callbacks c SET status = 'pending', agent_id = NULL
	WHERE c.status = 'assigned'
	  AND NOT EXISTS (SELECT 1 FROM hotline.offers o JOIN hotline.instances i ON i.id = o.instance_id
	                  WHERE o.callback_id = c.id AND i.heartbeat_at > $1
	                    AND (o.state = 'pending' OR o.state = 'accepted' AND o.talk_ended_at IS NULL))`

// ReleaseOrphanedCallbacks puts back to waiting the callbacks a dead instance left assigned
// (see callbacksOrphaned) and returns how many.
func (a *ACD) ReleaseOrphanedCallbacks(ctx context.Context) (int, error) {
	res, err := a.store.db.ExecContext(ctx, callbacksOrphaned, a.store.now().Add(-a.lease))
	if err != nil {
		return 0, fmt.Errorf("release orphaned callbacks: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// AssignCallbacks offers up to max due callbacks to available agents (see above), in one
// transaction, and returns the offers made with their callbacks.
func (a *ACD) AssignCallbacks(ctx context.Context, max int) ([]hotline.Offer, []hotline.CallbackTask, error) {
	if max <= 0 {
		return nil, nil, nil
	}
	var offers []hotline.Offer
	var tasks []hotline.CallbackTask
	err := a.inTx(ctx, func(tx *sqlx.Tx) error {
		now := a.store.now()
		live := now.Add(-a.lease)
		skipped := []int64{}
		for len(offers) < max {
			var r struct {
				CallbackID sql.NullInt64  `db:"callback_id"`
				Number     string         `db:"number"`
				Attempts   int            `db:"attempts"`
				ID         sql.NullInt64  `db:"id"`
				AgentID    sql.NullInt64  `db:"agent_id"`
				Endpoint   sql.NullString `db:"endpoint"`
				Instance   sql.NullString `db:"instance_id"`
				Queue      sql.NullString `db:"queue_id"`
				Notified   int            `db:"notified"`
			}
			err := a.txGet(ctx, tx, &r, assignCallback, now, live, pq.Array(skipped))
			if errors.Is(err, sql.ErrNoRows) {
				return nil // nothing due
			}
			if err != nil {
				return err
			}
			if !r.ID.Valid {
				skipped = append(skipped, r.CallbackID.Int64) // nobody to take it now
				continue
			}
			offers = append(offers, hotline.Offer{ID: r.ID.Int64, AgentID: r.AgentID.Int64, QueueID: r.Queue.String,
				Endpoint: r.Endpoint.String, Instance: r.Instance.String, State: hotline.OfferPending, OfferedAt: now})
			tasks = append(tasks, hotline.CallbackTask{ID: r.CallbackID.Int64, Number: r.Number, Attempt: r.Attempts + 1})
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("assign callbacks: %w", err)
	}
	// The ring timeout and whisper come from the queue, as for calls.
	for i := range offers {
		if o, err := a.Offer(ctx, offers[i].ID); err == nil {
			offers[i].RingTimeout = o.RingTimeout
		}
	}
	return offers, tasks, nil
}

const offerCallbackQuery = `
	SELECT c.id, c.number, c.attempts + 1 AS attempt
	FROM hotline.offers o JOIN hotline.callbacks c ON c.id = o.callback_id
	WHERE o.id = $1`

// OfferCallback returns the callback an offer is for; ok is false for an offer of a call.
func (a *ACD) OfferCallback(ctx context.Context, offerID int64) (task hotline.CallbackTask, ok bool, err error) {
	err = a.store.get(ctx, fmt.Sprintf("offer %d callback", offerID), &task, offerCallbackQuery, offerID)
	if errors.Is(err, hotline.ErrNotFound) {
		return task, false, nil
	}
	return task, err == nil, err
}

// The desk addresses a callback's offer by the offer's id: while the agent's phone rings there
// is no call yet (the call to the citizen is placed once the agent answers).

// CallbackOffer is a callback offered to an agent, as the desk shows it.
type CallbackOffer struct {
	OfferID    int64  `db:"offer_id"`
	AgentID    int64  `db:"agent_id"`
	State      string `db:"state"`
	CallbackID int64  `db:"callback_id"`
	Number     string `db:"number"`
	// CallID is the call that asked for the callback ("" for none); WorkOrderID the work
	// order a follow-up call (回访) is for (0 for none), CitizenID that order's citizen.
	CallID      string `db:"call_id"`
	WorkOrderID int64  `db:"work_order_id"`
	CitizenID   int64  `db:"citizen_id"`
}

// callbackColumns are what a CallbackOffer has of its callback c and work order w.
const callbackColumns = `c.id AS callback_id, c.number,
	       COALESCE(c.call_id::text, '') AS call_id, COALESCE(c.work_order_id, 0) AS work_order_id,
	       COALESCE(w.citizen_id, 0) AS citizen_id`

const callbackOfferQuery = `
	SELECT o.id AS offer_id, o.agent_id, o.state, ` + callbackColumns + `
	FROM hotline.offers o
	JOIN hotline.callbacks c ON c.id = o.callback_id
	LEFT JOIN hotline.work_orders w ON w.id = c.work_order_id
	WHERE o.id = $1`

// OfferedCallback reads the callback offer offerID for agentID: hotline.ErrNotFound when there
// is no such offer of a callback, ErrForbidden when it is another agent's, ErrConflict when it
// rings no more.
func OfferedCallback(ctx context.Context, db sqlx.QueryerContext, offerID, agentID int64) (CallbackOffer, error) {
	var o CallbackOffer
	switch err := sqlx.GetContext(ctx, db, &o, callbackOfferQuery, offerID); {
	case errors.Is(err, sql.ErrNoRows):
		return o, fmt.Errorf("offer %d: %w", offerID, hotline.ErrNotFound)
	case err != nil:
		return o, fmt.Errorf("offer %d: %w", offerID, err)
	case o.AgentID != agentID:
		return o, fmt.Errorf("offer %d is another agent's: %w", offerID, hotline.ErrForbidden)
	case o.State != hotline.OfferPending:
		return o, fmt.Errorf("offer %d ended as %s: %w", offerID, o.State, hotline.ErrConflict)
	}
	return o, nil
}

// callbackOfCallQuery reads the callback whose try made call $1 (the call to the citizen).
const callbackOfCallQuery = `
	SELECT COALESCE(a.offer_id, 0) AS offer_id, COALESCE(a.agent_id, 0) AS agent_id, '' AS state, ` + callbackColumns + `
	FROM hotline.callback_attempts a
	JOIN hotline.callbacks c ON c.id = a.callback_id
	LEFT JOIN hotline.work_orders w ON w.id = c.work_order_id
	WHERE a.call_id = $1`

// CallbackOfCall returns the callback whose try is call callID (the call to the citizen),
// as its offer was read; ok is false for any other call.
func CallbackOfCall(ctx context.Context, db sqlx.QueryerContext, callID string) (o CallbackOffer, ok bool, err error) {
	switch err := sqlx.GetContext(ctx, db, &o, callbackOfCallQuery, callID); {
	case errors.Is(err, sql.ErrNoRows):
		return o, false, nil
	case err != nil:
		return o, false, fmt.Errorf("callback of call %s: %w", callID, err)
	}
	return o, true, nil
}

// LoadCallbackCard reads the card of the citizen a callback offer calls, for actorID: the
// citizen of the follow-up's work order, else of the call that asked for the callback, else
// the one registered with the number; the journey is that call's. Insurance is never shown
// (nobody was verified on this call). It writes the audit row of the citizen shown (reason
// "offered_callback").
func LoadCallbackCard(ctx context.Context, db *sqlx.DB, now time.Time, o CallbackOffer, actorID int64, ip string) (*Card, error) {
	what := fmt.Sprintf("card of callback offer %d", o.OfferID)
	card := &Card{CallerNumber: o.Number, Accounts: []CardAccount{}, Applications: []CardApplication{}}
	card.History.Calls, card.History.WorkOrders = []CardCall{}, []CardWorkOrder{}
	card.Journey.Steps = []CardStep{}
	citizenID := o.CitizenID
	if o.CallID != "" {
		card.Call.ID = o.CallID
		if err := db.SelectContext(ctx, &card.Journey.Steps, cardStepsQuery, o.CallID); err != nil {
			return nil, fmt.Errorf("%s: steps: %w", what, err)
		}
		if citizenID == 0 {
			if err := db.GetContext(ctx, &citizenID, `SELECT COALESCE(citizen_id, 0) FROM hotline.calls WHERE id = $1`, o.CallID); err != nil {
				return nil, fmt.Errorf("%s: call: %w", what, err)
			}
		}
	}
	var who []CardCitizen
	var err error
	if citizenID != 0 {
		err = db.SelectContext(ctx, &who, cardCitizenColumns+` WHERE c.id = $1`, citizenID)
	} else {
		err = db.SelectContext(ctx, &who, cardCitizenColumns+` WHERE c.mobile = $1`, cardNationalNumber(o.Number))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: citizen: %w", what, err)
	}
	since := now.Add(-90 * 24 * time.Hour)
	nocall := "00000000-0000-0000-0000-000000000000"
	if len(who) == 0 {
		card.InsuranceHiddenReason = "未匹配到平台用户"
		if err := db.SelectContext(ctx, &card.History.Calls, cardHistoryCallsQuery, 0, o.Number, since, nocall); err != nil {
			return nil, fmt.Errorf("%s: calls: %w", what, err)
		}
		return card, nil
	}
	ct := who[0]
	ct.MobileMask = MaskMobile(ct.Mobile)
	if ct.Mobile != cardNationalNumber(o.Number) {
		ct.MobileShown = ct.MobileMask
	}
	card.Citizen = &ct
	card.InsuranceHiddenReason = "回拨电话未经身份验证，不显示社保、公积金信息"
	if card.Accounts, err = cardAccounts(ctx, db, ct.ID, now); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := db.SelectContext(ctx, &card.Applications, cardApplicationsQuery, ct.ID); err != nil {
		return nil, fmt.Errorf("%s: applications: %w", what, err)
	}
	if err := db.SelectContext(ctx, &card.History.Calls, cardHistoryCallsQuery, ct.ID, o.Number, since, nocall); err != nil {
		return nil, fmt.Errorf("%s: calls: %w", what, err)
	}
	if err := db.SelectContext(ctx, &card.History.WorkOrders, cardHistoryOrdersQuery, ct.ID, since); err != nil {
		return nil, fmt.Errorf("%s: work orders: %w", what, err)
	}
	detail := map[string]any{"reason": "offered_callback", "offer_id": o.OfferID, "callback_id": o.CallbackID}
	if o.WorkOrderID != 0 {
		detail["work_order_id"] = o.WorkOrderID
	}
	if err := AuditCitizen(ctx, db, now, actorID, AuditViewCitizen, ct.ID, detail, ip); err != nil {
		return nil, err
	}
	return card, nil
}

// callbackConnected names the call to the citizen in the state of the agent talking on the
// callback offer $1, so that the desk shows it and its controls address it.
const callbackConnected = `
	WITH st AS (
		UPDATE hotline.agent_status SET call_id = $2::uuid
		WHERE offer_id = $1 AND state = 'talking' AND call_id IS NULL
		RETURNING agent_id)
	SELECT pg_notify('hotline_agent', agent_id::text) FROM st`

// CallbackConnected records that the citizen of callback offer offerID answered on call
// callID: the agent talking on the offer is now on that call.
func (s *Store) CallbackConnected(ctx context.Context, offerID int64, callID string) error {
	if _, err := s.db.ExecContext(ctx, callbackConnected, offerID, callID); err != nil {
		return fmt.Errorf("callback offer %d connected on call %s: %w", offerID, callID, err)
	}
	return nil
}
