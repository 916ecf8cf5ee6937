package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline"
)

// What the desk shows of agents: their state, the pause reasons and dispositions to choose
// from, the queues they serve, and the time they spent in each state.

// Status returns the agent's state now; an agent who never logged in is offline.
func (a *ACD) Status(ctx context.Context, agentID int64) (hotline.AgentStatus, error) {
	var r agentRow
	err := a.store.db.GetContext(ctx, &r, agentStatusQuery, agentID)
	if errors.Is(err, sql.ErrNoRows) {
		var exists bool
		if err := a.store.db.GetContext(ctx, &exists, agentExistsQuery, agentID); err != nil {
			return hotline.AgentStatus{}, fmt.Errorf("status of agent %d: %w", agentID, err)
		}
		if !exists {
			return hotline.AgentStatus{}, fmt.Errorf("status of agent %d: %w", agentID, hotline.ErrNotFound)
		}
		return hotline.AgentStatus{AgentID: agentID, State: hotline.AgentOffline}, nil
	}
	if err != nil {
		return hotline.AgentStatus{}, fmt.Errorf("status of agent %d: %w", agentID, err)
	}
	return r.status(), nil
}

const agentStatusesQuery = `
	SELECT agent_id, state, reason, since, idle_since, instance_id, session_id, pending_pause,
	       wrap_up_until, call_id::text AS call_id, offer_id
	FROM hotline.agent_status
	WHERE agent_id = ANY ($1::bigint[])`

// Statuses returns the states of the agents agentIDs now, read together; an agent who never
// logged in to the ACD, or an unknown one, has none in the result.
func (a *ACD) Statuses(ctx context.Context, agentIDs []int64) (map[int64]hotline.AgentStatus, error) {
	var rows []agentRow
	if err := a.store.list(ctx, fmt.Sprintf("status of %d agents", len(agentIDs)), &rows, agentStatusesQuery, pq.Array(agentIDs)); err != nil {
		return nil, err
	}
	out := make(map[int64]hotline.AgentStatus, len(rows))
	for _, r := range rows {
		out[r.AgentID] = r.status()
	}
	return out, nil
}

const pauseReasonsQuery = `SELECT code, name FROM hotline.pause_reasons ORDER BY position, code`

// PauseReasons lists the reasons an agent may pause with, in the order to show them.
func (a *ACD) PauseReasons(ctx context.Context) ([]hotline.PauseReason, error) {
	var rs []hotline.PauseReason
	if err := a.store.db.SelectContext(ctx, &rs, pauseReasonsQuery); err != nil {
		return nil, fmt.Errorf("pause reasons: %w", err)
	}
	return rs, nil
}

const dispositionsQuery = `
	SELECT code, name FROM hotline.dispositions WHERE queue_id = $1 ORDER BY position, code`

// Dispositions lists the dispositions of a queue, in the order to show them; none for a queue
// without any (or an unknown one).
func (a *ACD) Dispositions(ctx context.Context, queue string) ([]hotline.Disposition, error) {
	var ds []hotline.Disposition
	if err := a.store.db.SelectContext(ctx, &ds, dispositionsQuery, queue); err != nil {
		return nil, fmt.Errorf("dispositions of queue %s: %w", queue, err)
	}
	return ds, nil
}

// queueCountsQuery counts, for each queue the agent's skills serve, the calls waiting there
// on live instances ($2 is the oldest live heartbeat) and the oldest one's wait until $3.
const queueCountsQuery = `
	SELECT q.id AS queue_id, q.name,
	       count(e.id) AS waiting,
	       count(e.offer_id) AS offered,
	       COALESCE(EXTRACT(EPOCH FROM ($3 - min(e.entered_at)))::float8, 0) AS oldest
	FROM hotline.agent_skills s
	JOIN hotline.queues q ON q.skill_id = s.skill_id
	LEFT JOIN (hotline.queue_entries e JOIN hotline.instances i ON i.id = e.instance_id AND i.heartbeat_at > $2)
	       ON e.queue_id = q.id AND e.left_at IS NULL
	WHERE s.agent_id = $1
	GROUP BY q.id, q.name
	ORDER BY q.id`

// QueueCounts returns, for each queue the agent's skills serve, how many calls wait and how
// long the oldest has waited. Calls of an instance that stopped answering are not counted.
func (a *ACD) QueueCounts(ctx context.Context, agentID int64) ([]hotline.QueueCount, error) {
	now := a.store.now()
	var rows []struct {
		hotline.QueueCount
		Oldest float64 `db:"oldest"`
	}
	if err := a.store.db.SelectContext(ctx, &rows, queueCountsQuery, agentID, now.Add(-a.lease), now); err != nil {
		return nil, fmt.Errorf("queue counts of agent %d: %w", agentID, err)
	}
	counts := make([]hotline.QueueCount, len(rows))
	for i, r := range rows {
		counts[i] = r.QueueCount
		counts[i].OldestWait = max(time.Duration(r.Oldest*float64(time.Second)).Round(time.Second), 0)
	}
	return counts, nil
}

// stateLogQuery returns the agent's transitions from the last one before $2 up to $3.
const stateLogQuery = `
	SELECT state, reason, at
	FROM hotline.agent_state_log
	WHERE agent_id = $1 AND at < $3
	  AND at >= COALESCE((SELECT max(at) FROM hotline.agent_state_log
	                      WHERE agent_id = $1 AND at <= $2), $2)
	ORDER BY at, id`

// StateTimes returns how long the agent spent in each state on the day of day in China
// Standard Time, computed from hotline.agent_state_log alone: each transition lasts until the
// next one, the day's end, or now. An agent without transitions was offline.
func (a *ACD) StateTimes(ctx context.Context, agentID int64, day time.Time) (hotline.StateTimes, error) {
	d := day.In(chinaTime)
	start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, chinaTime)
	end := start.AddDate(0, 0, 1)
	st := hotline.StateTimes{Day: start, States: map[hotline.AgentState]time.Duration{}, Paused: map[string]time.Duration{}}
	var exists bool
	if err := a.store.db.GetContext(ctx, &exists, agentExistsQuery, agentID); err != nil {
		return st, fmt.Errorf("state times of agent %d: %w", agentID, err)
	}
	if !exists {
		return st, fmt.Errorf("state times of agent %d: %w", agentID, hotline.ErrNotFound)
	}
	var rows []struct {
		State  hotline.AgentState `db:"state"`
		Reason string             `db:"reason"`
		At     time.Time          `db:"at"`
	}
	if err := a.store.db.SelectContext(ctx, &rows, stateLogQuery, agentID, start, end); err != nil {
		return st, fmt.Errorf("state times of agent %d: %w", agentID, err)
	}
	stop := end
	if now := a.store.now(); now.Before(stop) {
		stop = now
	}
	if stop.Before(start) {
		return st, nil
	}
	add := func(state hotline.AgentState, reason string, from, to time.Time) {
		if from.Before(start) {
			from = start
		}
		if to.After(stop) {
			to = stop
		}
		if !to.After(from) {
			return
		}
		st.States[state] += to.Sub(from)
		if state == hotline.AgentPaused {
			st.Paused[reason] += to.Sub(from)
		}
	}
	if len(rows) == 0 || rows[0].At.After(start) {
		first := stop
		if len(rows) > 0 {
			first = rows[0].At
		}
		add(hotline.AgentOffline, "", start, first)
	}
	for i, r := range rows {
		to := stop
		if i+1 < len(rows) {
			to = rows[i+1].At
		}
		add(r.State, r.Reason, r.At, to)
	}
	return st, nil
}
