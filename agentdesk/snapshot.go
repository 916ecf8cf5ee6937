package agentdesk

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/foshan-hotline/hotline"
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

const pendingOfferQuery = `
	SELECT o.id, o.call_id::text AS call_id, o.queue_id, q.name AS queue_name, c.caller_number, o.offered_at
	FROM hotline.offers o
	JOIN hotline.queues q ON q.id = o.queue_id
	JOIN hotline.calls c ON c.id = o.call_id
	WHERE o.agent_id = $1 AND o.state = 'pending'
	ORDER BY o.id DESC`

// currentCallQuery reads call $1 and the queue it reached agent $2 through.
const currentCallQuery = `
	SELECT c.id::text AS id, c.caller_number, c.language, c.started_at,
	       COALESCE(o.queue_id, c.queue_id, '') AS queue_id, COALESCE(q.name, '') AS queue_name,
	       CASE WHEN o.state = 'accepted' THEN o.decided_at END AS connected_at
	FROM hotline.calls c
	LEFT JOIN LATERAL (SELECT queue_id, state, decided_at FROM hotline.offers
	                   WHERE call_id = c.id AND agent_id = $2
	                   ORDER BY id DESC LIMIT 1) o ON true
	LEFT JOIN hotline.queues q ON q.id = COALESCE(o.queue_id, c.queue_id)
	WHERE c.id = $1`

// lastAnsweredQuery reads the last call agent $1 answered: the one a wrap-up is for.
const lastAnsweredQuery = `
	SELECT o.call_id::text AS call_id, o.queue_id, q.name AS queue_name, q.disposition_required
	FROM hotline.offers o
	JOIN hotline.queues q ON q.id = o.queue_id
	WHERE o.agent_id = $1 AND o.state = 'accepted'
	ORDER BY o.decided_at DESC NULLS LAST, o.id DESC
	LIMIT 1`

const dispositionsQuery = `
	SELECT code, name FROM hotline.dispositions WHERE queue_id = $1 ORDER BY position, code`

const agentQueuesQuery = `
	SELECT q.id AS queue_id, s.level
	FROM hotline.agent_skills s
	JOIN hotline.queues q ON q.skill_id = s.skill_id
	WHERE s.agent_id = $1
	ORDER BY s.level DESC, q.id`

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

// loadAgent reads what a snapshot shows of agent a.
func (s *Server) loadAgent(ctx context.Context, a hotline.Agent) (agentPart, error) {
	p := agentPart{snapshot: snapshot{Agent: viewUser(a), Status: statusView{State: hotline.AgentOffline}}}
	if a.Endpoint == "" {
		return p, nil // takes no calls: always offline, no queues
	}
	st, err := s.states.Status(ctx, a.ID)
	switch {
	case errors.Is(err, hotline.ErrNotFound): // never logged in to the ACD
	case err != nil:
		return p, fmt.Errorf("snapshot of agent %d: %w", a.ID, err)
	default:
		p.Status = viewStatus(st)
	}
	var offers []offerView
	if err := s.o.DB.SelectContext(ctx, &offers, pendingOfferQuery, a.ID); err != nil {
		return p, fmt.Errorf("snapshot of agent %d: offer: %w", a.ID, err)
	}
	if len(offers) > 0 {
		p.Offer = &offers[0]
	}
	if uuidPattern.MatchString(p.Status.CallID) {
		var calls []callView
		if err := s.o.DB.SelectContext(ctx, &calls, currentCallQuery, p.Status.CallID, a.ID); err != nil {
			return p, fmt.Errorf("snapshot of agent %d: call: %w", a.ID, err)
		}
		if len(calls) > 0 {
			p.Call = &calls[0]
		}
	}
	if p.Status.State == hotline.AgentWrapUp {
		var w []wrapUpView
		if err := s.o.DB.SelectContext(ctx, &w, lastAnsweredQuery, a.ID); err != nil {
			return p, fmt.Errorf("snapshot of agent %d: wrap-up: %w", a.ID, err)
		}
		if len(w) > 0 {
			p.WrapUp = &w[0]
			p.WrapUp.Dispositions = []codeName{}
			if err := s.o.DB.SelectContext(ctx, &p.WrapUp.Dispositions, dispositionsQuery, p.WrapUp.QueueID); err != nil {
				return p, fmt.Errorf("snapshot of agent %d: dispositions: %w", a.ID, err)
			}
		}
	}
	if err := s.o.DB.SelectContext(ctx, &p.skills, agentQueuesQuery, a.ID); err != nil {
		return p, fmt.Errorf("snapshot of agent %d: queues: %w", a.ID, err)
	}
	return p, nil
}

// loadQueueCounts reads how busy every queue is.
func (s *Server) loadQueueCounts(ctx context.Context) (map[string]queueCount, error) {
	var rows []queueCount
	if err := s.o.DB.SelectContext(ctx, &rows, queueCountsQuery, s.now().Add(-s.o.InstanceLease)); err != nil {
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
