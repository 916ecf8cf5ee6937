package agentdesk

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/lib/pq"
	"golang.org/x/sync/errgroup"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// The snapshot of an agent: what the desk shows them, sent whole on every websocket connect
// and after every change, and answered by GET /api/agent/status. A reconnecting desk gets the
// pending offer again with the same id: nothing is lost or doubled by reconnecting.
//
// The queries here are the desk's own reads of the ACD's tables; they change nothing.

// userView is a desk user.
type userView struct {
	ID          int64        `json:"id"`
	Username    string       `json:"username"`
	DisplayName string       `json:"display_name"`
	Role        hotline.Role `json:"role"`
	// TakesCalls tells whether the user has a phone and works in the ACD.
	TakesCalls bool `json:"takes_calls"`
}

func viewUser(a hotline.Agent) userView {
	return userView{ID: a.ID, Username: a.Username, DisplayName: a.DisplayName, Role: a.Role, TakesCalls: a.Endpoint != ""}
}

// statusView is an agent's state.
type statusView struct {
	State        hotline.AgentState `json:"state"`
	Reason       string             `json:"reason,omitempty"`
	Since        *time.Time         `json:"since"`
	CallID       string             `json:"call_id,omitempty"`
	WrapUpUntil  *time.Time         `json:"wrap_up_until,omitempty"`
	PendingPause string             `json:"pending_pause,omitempty"`
}

func viewStatus(st hotline.AgentStatus) statusView {
	v := statusView{State: st.State, Reason: st.Reason, CallID: st.CallID, PendingPause: st.PendingPause,
		Since: timeOrNil(st.Since), WrapUpUntil: timeOrNil(st.WrapUpUntil)}
	if v.State == "" {
		v.State = hotline.AgentOffline
	}
	return v
}

func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// offerView is a call ringing the agent's phone.
type offerView struct {
	ID           int64     `json:"id" db:"id"`
	CallID       string    `json:"call_id" db:"call_id"`
	QueueID      string    `json:"queue_id" db:"queue_id"`
	QueueName    string    `json:"queue_name" db:"queue_name"`
	CallerNumber string    `json:"caller_number" db:"caller_number"`
	OfferedAt    time.Time `json:"offered_at" db:"offered_at"`
	// Kind is "call", or "callback" for a callback (回拨; 回访 when it follows up a work
	// order): it has no call yet (call_id ""), the desk answers it by the offer's id.
	Kind            string `json:"kind" db:"kind"`
	CallbackID      int64  `json:"callback_id,omitempty" db:"callback_id"`
	WorkOrderID     int64  `json:"work_order_id,omitempty" db:"work_order_id"`
	WorkOrderNumber string `json:"work_order_number,omitempty" db:"work_order_number"`
}

// callView is the call the agent is on.
type callView struct {
	ID           string     `json:"id" db:"id"`
	QueueID      string     `json:"queue_id" db:"queue_id"`
	QueueName    string     `json:"queue_name" db:"queue_name"`
	CallerNumber string     `json:"caller_number" db:"caller_number"`
	Language     string     `json:"language" db:"language"`
	StartedAt    time.Time  `json:"started_at" db:"started_at"`
	ConnectedAt  *time.Time `json:"connected_at" db:"connected_at"`
	// Callback tells a callback's call to the citizen: no hold, no transfer.
	Callback bool `json:"callback" db:"callback"`
}

// wrapUpView is the call an agent in wrap-up is finishing, with the dispositions of its
// queue.
type wrapUpView struct {
	CallID       string     `json:"call_id" db:"call_id"`
	QueueID      string     `json:"queue_id" db:"queue_id"`
	QueueName    string     `json:"queue_name" db:"queue_name"`
	Required     bool       `json:"disposition_required" db:"disposition_required"`
	Dispositions []codeName `json:"dispositions" db:"-"`
}

// codeName is a pause reason or a disposition.
type codeName struct {
	Code string `json:"code" db:"code"`
	Name string `json:"name" db:"name"`
}

// queueView is a queue the agent serves and how busy it is.
type queueView struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Level int    `json:"level"`
	// Waiting counts the calls in the queue, Offered those of them ringing an agent.
	Waiting         int        `json:"waiting"`
	Offered         int        `json:"offered"`
	OldestEnteredAt *time.Time `json:"oldest_entered_at"`
	AgentsAvailable int        `json:"agents_available"`
}

// snapshot is everything the desk shows an agent.
type snapshot struct {
	Agent  userView    `json:"agent"`
	Status statusView  `json:"status"`
	Offer  *offerView  `json:"offer"`
	Call   *callView   `json:"call"`
	WrapUp *wrapUpView `json:"wrap_up"`
	Queues []queueView `json:"queues"`
}

// agentPart is a snapshot without the queue counts, which are read for all agents at once.
type agentPart struct {
	snapshot
	skills []skillLevel
}

type skillLevel struct {
	Queue string `db:"queue_id"`
	Level int    `db:"level"`
}

// queueCount is how busy a queue is.
type queueCount struct {
	ID              string     `db:"id"`
	Name            string     `db:"name"`
	Waiting         int        `db:"waiting"`
	Offered         int        `db:"offered"`
	OldestEnteredAt *time.Time `db:"oldest_entered_at"`
	AgentsAvailable int        `db:"agents_available"`
}

// compose completes p with the counts of the agent's queues.
func compose(p agentPart, counts map[string]queueCount) snapshot {
	s := p.snapshot
	s.Queues = make([]queueView, 0, len(p.skills))
	for _, sk := range p.skills {
		c := counts[sk.Queue]
		s.Queues = append(s.Queues, queueView{ID: sk.Queue, Name: c.Name, Level: sk.Level, Waiting: c.Waiting,
			Offered: c.Offered, OldestEnteredAt: c.OldestEnteredAt, AgentsAvailable: c.AgentsAvailable})
	}
	return s
}

// The parts of the snapshots of the agents $1 (ids), each read for all of them at once.

// pendingOffersQuery reads the pending offers of the agents, the latest first.
const pendingOffersQuery = `
	SELECT o.agent_id, o.id, COALESCE(o.call_id::text, '') AS call_id, o.queue_id, q.name AS queue_name,
	       COALESCE(c.caller_number, cb.number) AS caller_number, o.offered_at,
	       CASE WHEN o.callback_id IS NULL THEN 'call' ELSE 'callback' END AS kind,
	       COALESCE(cb.id, 0) AS callback_id, COALESCE(w.id, 0) AS work_order_id, COALESCE(w.number, '') AS work_order_number
	FROM hotline.offers o
	JOIN hotline.queues q ON q.id = o.queue_id
	LEFT JOIN hotline.calls c ON c.id = o.call_id
	LEFT JOIN hotline.callbacks cb ON cb.id = o.callback_id
	LEFT JOIN hotline.work_orders w ON w.id = cb.work_order_id
	WHERE o.agent_id = ANY ($1::bigint[]) AND o.state = 'pending'
	ORDER BY o.agent_id, o.id DESC`

// currentCallsQuery reads, for each agent $1[i], the call $2[i] they are on and the queue it
// reached them through.
const currentCallsQuery = `
	SELECT w.agent_id, c.id::text AS id, c.caller_number, c.language, c.started_at,
	       COALESCE(o.queue_id, c.queue_id, cb.queue_id, '') AS queue_id, COALESCE(q.name, '') AS queue_name,
	       COALESCE(CASE WHEN o.state = 'accepted' THEN o.decided_at END, cb.ended_at) AS connected_at,
	       cb.ended_at IS NOT NULL AS callback
	FROM unnest($1::bigint[], $2::uuid[]) AS w(agent_id, call_id)
	JOIN hotline.calls c ON c.id = w.call_id
	LEFT JOIN LATERAL (SELECT queue_id, state, decided_at FROM hotline.offers
	                   WHERE call_id = c.id AND agent_id = w.agent_id
	                   ORDER BY id DESC LIMIT 1) o ON true
	-- A callback's call to the citizen: its queue is the callback's, it connected when answered.
	LEFT JOIN LATERAL (SELECT b.queue_id, a.ended_at FROM hotline.callback_attempts a
	                   JOIN hotline.callbacks b ON b.id = a.callback_id
	                   WHERE a.call_id = c.id AND a.outcome = 'answered' LIMIT 1) cb ON true
	LEFT JOIN hotline.queues q ON q.id = COALESCE(o.queue_id, c.queue_id, cb.queue_id)`

// lastAnsweredQuery reads the last call each agent answered: the one a wrap-up is for.
const lastAnsweredQuery = `
	SELECT w.agent_id, o.call_id, o.queue_id, o.queue_name, o.disposition_required
	FROM unnest($1::bigint[]) AS w(agent_id)
	CROSS JOIN LATERAL (
	  -- A callback's offer has no call: its wrap-up is for the call to the citizen, if any.
	  SELECT COALESCE(o.call_id::text, (SELECT a.call_id::text FROM hotline.callback_attempts a
	                                    WHERE a.offer_id = o.id ORDER BY a.attempt DESC LIMIT 1), '') AS call_id,
	         o.queue_id, q.name AS queue_name, q.disposition_required
	  FROM hotline.offers o
	  JOIN hotline.queues q ON q.id = o.queue_id
	  WHERE o.agent_id = w.agent_id AND o.state = 'accepted'
	  ORDER BY o.decided_at DESC NULLS LAST, o.id DESC
	  LIMIT 1) o`

// dispositionsQuery reads the dispositions of the queues $1, in the order to show them.
const dispositionsQuery = `
	SELECT queue_id, code, name FROM hotline.dispositions WHERE queue_id = ANY ($1::text[])
	ORDER BY queue_id, position, code`

// agentQueuesQuery reads the queues the agents serve and at which level, highest first.
const agentQueuesQuery = `
	SELECT s.agent_id, q.id AS queue_id, s.level
	FROM hotline.agent_skills s
	JOIN hotline.queues q ON q.skill_id = s.skill_id
	WHERE s.agent_id = ANY ($1::bigint[])
	ORDER BY s.agent_id, s.level DESC, q.id`

// queueCountsQuery counts, per queue, the calls waiting on live instances (heartbeat after
// $1; the calls of a dead instance wait for nobody), those of them ringing an agent, and the
// available agents with the queue's skill.
const queueCountsQuery = `
	SELECT q.id, q.name, w.waiting, w.offered, w.oldest_entered_at,
	       (SELECT count(*) FROM hotline.agent_status st
	        JOIN hotline.agent_skills s ON s.agent_id = st.agent_id AND s.skill_id = q.skill_id
	        WHERE st.state = 'available') AS agents_available
	FROM hotline.queues q
	CROSS JOIN LATERAL (
	  SELECT count(*) AS waiting, count(e.offer_id) AS offered, min(e.entered_at) AS oldest_entered_at
	  FROM hotline.queue_entries e
	  JOIN hotline.instances i ON i.id = e.instance_id AND i.heartbeat_at > $1
	  WHERE e.queue_id = q.id AND e.left_at IS NULL
	) w
	ORDER BY q.id`

// uuidPattern is the text form of a call id.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// AgentStatuses is an ACD that reads the states of many agents in one query; the snapshots
// of a batch of agents use it when the ACD has it (*postgres.ACD does). Agents without a
// state (never logged in to the ACD, or unknown) are missing from the result.
type AgentStatuses interface {
	Statuses(ctx context.Context, agentIDs []int64) (map[int64]hotline.AgentStatus, error)
}

var _ AgentStatuses = (*postgres.ACD)(nil)

// loadAgent reads what a snapshot shows of agent a.
func (s *Server) loadAgent(ctx context.Context, a hotline.Agent) (agentPart, error) {
	parts, err := s.loadAgents(ctx, []hotline.Agent{a})
	if err != nil {
		return agentPart{}, err
	}
	return parts[0], nil
}

// loadAgents reads what the snapshots show of agents, each part with one query for all of
// them; the parts are in the order of agents. The parts that do not depend on the agents'
// states are read at the same time as the states, on connections of their own.
func (s *Server) loadAgents(ctx context.Context, agents []hotline.Agent) ([]agentPart, error) {
	parts := make([]agentPart, len(agents))
	at := make(map[int64]*agentPart, len(agents)) // of agents who take calls
	var ids []int64
	for i, a := range agents {
		parts[i] = agentPart{snapshot: snapshot{Agent: viewUser(a), Status: statusView{State: hotline.AgentOffline}}}
		if a.Endpoint == "" {
			continue // takes no calls: always offline, no queues
		}
		at[a.ID] = &parts[i]
		ids = append(ids, a.ID)
	}
	if len(ids) == 0 {
		return parts, nil
	}
	wrap := func(what string, err error) error {
		if len(ids) == 1 {
			return fmt.Errorf("snapshot of agent %d: %s%w", ids[0], what, err)
		}
		return fmt.Errorf("snapshots of %d agents: %s%w", len(ids), what, err)
	}

	var offers []struct {
		AgentID int64 `db:"agent_id"`
		offerView
	}
	var skills []struct {
		AgentID int64 `db:"agent_id"`
		skillLevel
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := s.loadStatuses(gctx, ids, at); err != nil {
			return wrap("", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := s.selectPrepared(gctx, &offers, pendingOffersQuery, pq.Array(ids)); err != nil {
			return wrap("offer: ", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := s.selectPrepared(gctx, &skills, agentQueuesQuery, pq.Array(ids)); err != nil {
			return wrap("queues: ", err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, o := range offers {
		if p := at[o.AgentID]; p.Offer == nil { // the latest comes first
			p.Offer = &o.offerView
		}
	}
	for _, sk := range skills {
		p := at[sk.AgentID]
		p.skills = append(p.skills, sk.skillLevel)
	}

	// What the states name: the call an agent is on, the call a wrap-up is for.
	var onCall []int64
	var callIDs []string
	var inWrapUp []int64
	for _, id := range ids {
		st := at[id].Status
		if uuidPattern.MatchString(st.CallID) {
			onCall, callIDs = append(onCall, id), append(callIDs, st.CallID)
		}
		if st.State == hotline.AgentWrapUp {
			inWrapUp = append(inWrapUp, id)
		}
	}
	g, gctx = errgroup.WithContext(ctx)
	if len(onCall) > 0 {
		g.Go(func() error {
			var calls []struct {
				AgentID int64 `db:"agent_id"`
				callView
			}
			if err := s.selectPrepared(gctx, &calls, currentCallsQuery, pq.Array(onCall), pq.Array(callIDs)); err != nil {
				return wrap("call: ", err)
			}
			for _, c := range calls {
				at[c.AgentID].Call = &c.callView
			}
			return nil
		})
	}
	if len(inWrapUp) > 0 {
		g.Go(func() error { return s.loadWrapUps(gctx, inWrapUp, at, wrap) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return parts, nil
}

// loadWrapUps sets the wrap-up of the agents ids, in wrap-up, in at: the last call each
// answered and its queue's dispositions.
func (s *Server) loadWrapUps(ctx context.Context, ids []int64, at map[int64]*agentPart, wrap func(string, error) error) error {
	var ws []struct {
		AgentID int64 `db:"agent_id"`
		wrapUpView
	}
	if err := s.selectPrepared(ctx, &ws, lastAnsweredQuery, pq.Array(ids)); err != nil {
		return wrap("wrap-up: ", err)
	}
	var queues []string
	for _, w := range ws {
		w.Dispositions = []codeName{}
		at[w.AgentID].WrapUp = &w.wrapUpView
		if !slices.Contains(queues, w.QueueID) {
			queues = append(queues, w.QueueID)
		}
	}
	if len(queues) == 0 {
		return nil
	}
	var ds []struct {
		QueueID string `db:"queue_id"`
		codeName
	}
	if err := s.selectPrepared(ctx, &ds, dispositionsQuery, pq.Array(queues)); err != nil {
		return wrap("dispositions: ", err)
	}
	for _, id := range ids {
		if w := at[id].WrapUp; w != nil {
			for _, d := range ds {
				if d.QueueID == w.QueueID {
					w.Dispositions = append(w.Dispositions, d.codeName)
				}
			}
		}
	}
	return nil
}

// loadStatuses sets the state of the agents ids in at: in one query when the ACD can, else
// agent by agent.
func (s *Server) loadStatuses(ctx context.Context, ids []int64, at map[int64]*agentPart) error {
	if many, ok := s.states.(AgentStatuses); ok {
		sts, err := many.Statuses(ctx, ids)
		if err != nil {
			return err
		}
		for id, st := range sts {
			if p := at[id]; p != nil {
				p.Status = viewStatus(st)
			}
		}
		return nil
	}
	for _, id := range ids {
		st, err := s.states.Status(ctx, id)
		switch {
		case errors.Is(err, hotline.ErrNotFound): // never logged in to the ACD
		case err != nil:
			return err
		default:
			at[id].Status = viewStatus(st)
		}
	}
	return nil
}

// selectPrepared runs query, one of the snapshot's, into dest; they run for every change of
// every agent and are prepared once (and on each connection as needed by database/sql).
func (s *Server) selectPrepared(ctx context.Context, dest any, query string, args ...any) error {
	st, err := s.hub.prepared(ctx, query)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	return st.SelectContext(ctx, dest, args...)
}

// loadQueueCounts reads how busy every queue is.
func (s *Server) loadQueueCounts(ctx context.Context) (map[string]queueCount, error) {
	var rows []queueCount
	if err := s.selectPrepared(ctx, &rows, queueCountsQuery, s.now().Add(-s.o.InstanceLease)); err != nil {
		return nil, fmt.Errorf("queue counts: %w", err)
	}
	counts := make(map[string]queueCount, len(rows))
	for _, r := range rows {
		counts[r.ID] = r
	}
	return counts, nil
}

// loadSnapshot reads agent a's snapshot now.
func (s *Server) loadSnapshot(ctx context.Context, a hotline.Agent) (snapshot, error) {
	p, err := s.loadAgent(ctx, a)
	if err != nil {
		return snapshot{}, err
	}
	counts, err := s.loadQueueCounts(ctx)
	if err != nil {
		return snapshot{}, err
	}
	return compose(p, counts), nil
}
