package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Reports are the supervisors' figures, computed from the event rows the hotline keeps —
// queue entries, offers, call steps, the agents' state log, callbacks and survey answers —
// for any range of days, per queue or per agent, by 15 minutes, hour, day or week, in
// Asia/Shanghai time. The definitions are those of README ("Reports") and of the page.

// reportWorkMem is the memory a report query's sorts and hashes may use before spilling to
// disk: a year's rows aggregate in memory.
const reportWorkMem = "128MB"

// reportSelect runs a report query in a read-only transaction with reportWorkMem.
func reportSelect(ctx context.Context, db *sqlx.DB, dst any, query string, args ...any) error {
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL work_mem = '"+reportWorkMem+"'"); err != nil {
		return err
	}
	return tx.SelectContext(ctx, dst, query, args...)
}

// Bucket is a report's time step.
type Bucket string

// Buckets.
const (
	Bucket15Min Bucket = "15m"
	BucketHour  Bucket = "hour"
	BucketDay   Bucket = "day"
	BucketWeek  Bucket = "week"
)

// interval is the bucket's width for date_bin; weeks start on Monday (2000-01-03 was one).
func (b Bucket) interval() (string, error) {
	switch b {
	case Bucket15Min:
		return "15 minutes", nil
	case BucketHour:
		return "1 hour", nil
	case BucketDay:
		return "1 day", nil
	case BucketWeek:
		return "7 days", nil
	}
	return "", fmt.Errorf("bucket %q: want 15m, hour, day or week", b)
}

// ReportQuery selects a report's rows: [From, To) in time, one queue or agent or all.
type ReportQuery struct {
	From, To time.Time
	Bucket   Bucket
	Queue    string
	AgentID  int64
}

// QueueFigures are a queue's figures for one bucket. Calls are counted in the bucket in
// which they entered the queue; a call transferred to another queue is offered to that
// queue too. Entries still waiting are not counted until they end.
type QueueFigures struct {
	Bucket  time.Time `db:"bucket" json:"bucket"`
	QueueID string    `db:"queue_id" json:"queue_id"`
	// Offered: entries into the queue that ended (answered, abandoned, overflowed, left for a
	// message or a callback, or lost with a controller).
	Offered  int `db:"offered" json:"offered"`
	Answered int `db:"answered" json:"answered"`
	// AnsweredIn15s: answered within 15 s of entering the queue (the 12345 standard).
	AnsweredIn15s int `db:"answered_15s" json:"answered_15s"`
	// Abandoned: the caller hung up while waiting; ShortAbandoned of them within 5 s.
	Abandoned      int `db:"abandoned" json:"abandoned"`
	ShortAbandoned int `db:"short_abandoned" json:"short_abandoned"`
	// ServiceLevel = AnsweredIn15s / Offered; ServiceLevelAnsweredAbandoned = AnsweredIn15s /
	// (Answered + Abandoned after 5 s). Nil when there is nothing to divide by.
	ServiceLevel                  *float64 `db:"service_level" json:"service_level"`
	ServiceLevelAnsweredAbandoned *float64 `db:"service_level_aa" json:"service_level_answered_abandoned"`
	// ASA: average queue time of the answered calls, seconds.
	ASA *float64 `db:"asa" json:"asa_seconds"`
	// AHT = talk + hold + wrap-up per answered call, seconds; Talk excludes Hold.
	AHT  *float64 `db:"aht" json:"aht_seconds"`
	Talk *float64 `db:"talk" json:"talk_seconds"`
	Hold *float64 `db:"hold" json:"hold_seconds"`
	Wrap *float64 `db:"wrap" json:"wrap_seconds"`
	// Transfers: blind transfers and completed consultations by the queue's agents.
	Transfers int `db:"transfers" json:"transfers"`
	// CallbacksRequested in the bucket for the queue, CallbacksCompleted of them reached.
	CallbacksRequested int `db:"callbacks_requested" json:"callbacks_requested"`
	CallbacksCompleted int `db:"callbacks_completed" json:"callbacks_completed"`
}

// conversations are the accepted offers with their talk, hold and wrap-up in seconds and
// their transfers: one row per agent's part of a call, so that a transferred call's talk is
// split between the agents, never counted twice. A hold lasts until the next resume, or the
// end of the talk. The desk's steps are read once for the range and joined by call: holds and
// transfers are few.
const conversations = `
holds AS (
    SELECT call_id, entered_at AS held_at, CASE WHEN next_node = 'resume' THEN next_at END AS resumed_at
    FROM (SELECT call_id, node, entered_at,
                 lead(entered_at) OVER w AS next_at, lead(node) OVER w AS next_node
          FROM hotline.call_steps
          WHERE flow = 'desk' AND node IN ('hold', 'resume')
            AND entered_at >= $1 AND entered_at < $2::timestamptz + interval '1 day'
          WINDOW w AS (PARTITION BY call_id ORDER BY seq)) x
    WHERE node = 'hold'
),
transfers AS (
    SELECT call_id, entered_at FROM hotline.call_steps
    WHERE flow = 'desk' AND node IN ('transfer', 'complete')
      AND entered_at >= $1 AND entered_at < $2::timestamptz + interval '1 day'
),
offered AS (
    -- answered in the range, or up to a day after it (a call that entered before the end)
    SELECT o.* FROM hotline.offers o
    WHERE o.state = 'accepted' AND o.call_id IS NOT NULL
      AND o.decided_at >= $1 AND o.decided_at < $2::timestamptz + interval '1 day'
),
hold_of AS (
    SELECT o.id, sum(extract(epoch FROM least(coalesce(h.resumed_at, o.talk_ended_at, h.held_at),
                                              coalesce(o.talk_ended_at, 'infinity')) - h.held_at)) AS hold
    FROM offered o JOIN holds h ON h.call_id = o.call_id
     AND h.held_at >= o.decided_at AND h.held_at < coalesce(o.talk_ended_at, 'infinity')
    GROUP BY o.id
),
transfers_of AS (
    SELECT o.id, count(*) AS n
    FROM offered o JOIN transfers t ON t.call_id = o.call_id
     AND t.entered_at >= o.decided_at AND t.entered_at <= coalesce(o.talk_ended_at, 'infinity')
    GROUP BY o.id
),
conv AS (
    SELECT o.id, o.call_id, o.agent_id, o.queue_id, o.entry_id, o.decided_at,
           extract(epoch FROM coalesce(o.talk_ended_at, o.decided_at) - o.decided_at) AS talk_all,
           extract(epoch FROM coalesce(o.wrapped_up_at, o.talk_ended_at, o.decided_at) - coalesce(o.talk_ended_at, o.decided_at)) AS wrap,
           coalesce(h.hold, 0) AS hold, coalesce(t.n, 0) AS transfers
    FROM offered o LEFT JOIN hold_of h ON h.id = o.id LEFT JOIN transfers_of t ON t.id = o.id
)`

const queueReportQuery = `
WITH ` + conversations + `,
e AS (
    SELECT q.queue_id, q.outcome, q.entered_at, q.left_at,
           date_bin($3::interval, q.entered_at AT TIME ZONE 'Asia/Shanghai', '2000-01-03') AS bucket,
           c.decided_at AS answered_at, c.talk_all, c.hold, c.wrap, c.transfers
    FROM hotline.queue_entries q
    LEFT JOIN conv c ON c.entry_id = q.id
    WHERE q.entered_at >= $1 AND q.entered_at < $2 AND q.left_at IS NOT NULL AND ($4 = '' OR q.queue_id = $4)
),
f AS (
    SELECT bucket, queue_id, count(*) AS offered,
           count(*) FILTER (WHERE outcome = 'answered') AS answered,
           count(*) FILTER (WHERE outcome = 'answered' AND answered_at - entered_at <= interval '15 seconds') AS answered_15s,
           count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned,
           count(*) FILTER (WHERE outcome = 'abandoned' AND left_at - entered_at < interval '5 seconds') AS short_abandoned,
           avg(extract(epoch FROM answered_at - entered_at)) FILTER (WHERE outcome = 'answered') AS asa,
           avg(talk_all + wrap) FILTER (WHERE outcome = 'answered' AND talk_all IS NOT NULL) AS aht,
           avg(talk_all - hold) FILTER (WHERE outcome = 'answered' AND talk_all IS NOT NULL) AS talk,
           avg(hold) FILTER (WHERE outcome = 'answered' AND talk_all IS NOT NULL) AS hold,
           avg(wrap) FILTER (WHERE outcome = 'answered' AND talk_all IS NOT NULL) AS wrap,
           coalesce(sum(transfers), 0) AS transfers
    FROM e GROUP BY bucket, queue_id
),
cb AS (
    SELECT date_bin($3::interval, requested_at AT TIME ZONE 'Asia/Shanghai', '2000-01-03') AS bucket, queue_id,
           count(*) AS requested, count(*) FILTER (WHERE status = 'done') AS completed
    FROM hotline.callbacks
    WHERE requested_at >= $1 AND requested_at < $2 AND queue_id IS NOT NULL AND ($4 = '' OR queue_id = $4)
    GROUP BY 1, 2
)
SELECT coalesce(f.bucket, cb.bucket) AS bucket, coalesce(f.queue_id, cb.queue_id) AS queue_id,
       coalesce(f.offered, 0) AS offered, coalesce(f.answered, 0) AS answered, coalesce(f.answered_15s, 0) AS answered_15s,
       coalesce(f.abandoned, 0) AS abandoned, coalesce(f.short_abandoned, 0) AS short_abandoned,
       f.answered_15s::float8 / nullif(f.offered, 0) AS service_level,
       f.answered_15s::float8 / nullif(f.answered + f.abandoned - f.short_abandoned, 0) AS service_level_aa,
       f.asa, f.aht, f.talk, f.hold, f.wrap, coalesce(f.transfers, 0) AS transfers,
       coalesce(cb.requested, 0) AS callbacks_requested, coalesce(cb.completed, 0) AS callbacks_completed
FROM f FULL JOIN cb ON cb.bucket = f.bucket AND cb.queue_id = f.queue_id
ORDER BY 1, 2`

// QueueReport returns the queues' figures per bucket of q.
func QueueReport(ctx context.Context, db *sqlx.DB, q ReportQuery) ([]QueueFigures, error) {
	iv, err := q.Bucket.interval()
	if err != nil {
		return nil, err
	}
	var out []QueueFigures
	if err := reportSelect(ctx, db, &out, queueReportQuery, q.From, q.To, iv, q.Queue); err != nil {
		return nil, fmt.Errorf("queue report: %w", err)
	}
	for i := range out {
		out[i].Bucket = localBucket(out[i].Bucket)
	}
	return out, nil
}

// localBucket reads a bucket's start (a timestamp without time zone, in Asia/Shanghai).
func localBucket(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, chinaTime)
}

// AgentFigures are an agent's figures over the whole range: their conversations (counted in
// the bucket in which they were answered) and the time in each state.
type AgentFigures struct {
	AgentID     int64    `db:"agent_id" json:"agent_id"`
	DisplayName string   `db:"display_name" json:"display_name"`
	Answered    int      `db:"answered" json:"answered"`
	AHT         *float64 `db:"aht" json:"aht_seconds"`
	Talk        *float64 `db:"talk" json:"talk_seconds"`
	Hold        *float64 `db:"hold" json:"hold_seconds"`
	Wrap        *float64 `db:"wrap" json:"wrap_seconds"`
	Transfers   int      `db:"transfers" json:"transfers"`
	// Missed offers: rung out or rejected.
	Missed int `db:"missed" json:"missed"`
	// States: seconds in each state within the range (from the state log).
	States map[string]float64 `db:"-" json:"states"`
	// Satisfaction: survey answers of the agent's calls, Satisfied of them 4 or 5.
	Surveyed  int `db:"surveyed" json:"surveyed"`
	Satisfied int `db:"satisfied" json:"satisfied"`
}

const agentReportQuery = `
WITH ` + conversations + `,
work AS (
    SELECT agent_id, count(*) AS answered, avg(talk_all + wrap) AS aht, avg(talk_all - hold) AS talk,
           avg(hold) AS hold, avg(wrap) AS wrap, sum(transfers) AS transfers
    FROM conv WHERE decided_at < $2 GROUP BY agent_id
),
missed AS (
    SELECT agent_id, count(*) AS n FROM hotline.offers
    WHERE state IN ('timeout', 'rejected') AND offered_at >= $1 AND offered_at < $2 GROUP BY agent_id
),
surveys AS (
    SELECT agent_id, count(*) AS surveyed, count(*) FILTER (WHERE score >= 4) AS satisfied
    FROM hotline.survey_answers WHERE answered_at >= $1 AND answered_at < $2 AND agent_id IS NOT NULL GROUP BY agent_id
)
SELECT a.id AS agent_id, a.display_name, coalesce(w.answered, 0) AS answered, w.aht, w.talk, w.hold, w.wrap,
       coalesce(w.transfers, 0) AS transfers, coalesce(m.n, 0) AS missed,
       coalesce(s.surveyed, 0) AS surveyed, coalesce(s.satisfied, 0) AS satisfied
FROM hotline.agents a
LEFT JOIN work w ON w.agent_id = a.id
LEFT JOIN missed m ON m.agent_id = a.id
LEFT JOIN surveys s ON s.agent_id = a.id
WHERE a.endpoint IS NOT NULL AND ($3 = 0 OR a.id = $3)
ORDER BY a.display_name`

// stateTimeQuery sums each agent's time per state within [$1, $2): each log row lasts until
// the agent's next row (or now), clipped to the range; the state an agent was in at $1 comes
// from their last row before it.
const stateTimeQuery = `
WITH rows AS (
    SELECT agent_id, state, at, id FROM hotline.agent_state_log
    WHERE at >= $1 AND at < $2 AND ($3 = 0 OR agent_id = $3)
    UNION ALL
    SELECT b.agent_id, b.state, b.at, b.id FROM hotline.agents a,
    LATERAL (SELECT agent_id, state, at, id FROM hotline.agent_state_log l
             WHERE l.agent_id = a.id AND l.at < $1 ORDER BY l.at DESC, l.id DESC LIMIT 1) b
    WHERE ($3 = 0 OR a.id = $3)
),
log AS (
    SELECT agent_id, state, at, lead(at) OVER (PARTITION BY agent_id ORDER BY at, id) AS until FROM rows
)
SELECT agent_id, state,
       sum(extract(epoch FROM least(coalesce(until, now()), $2) - greatest(at, $1))) AS seconds
FROM log
WHERE least(coalesce(until, now()), $2) > greatest(at, $1)
GROUP BY agent_id, state`

// AgentReport returns each agent's figures over [q.From, q.To) (the bucket is not used).
func AgentReport(ctx context.Context, db *sqlx.DB, q ReportQuery) ([]AgentFigures, error) {
	var out []AgentFigures
	if err := reportSelect(ctx, db, &out, agentReportQuery, q.From, q.To, q.AgentID); err != nil {
		return nil, fmt.Errorf("agent report: %w", err)
	}
	var times []struct {
		AgentID int64   `db:"agent_id"`
		State   string  `db:"state"`
		Seconds float64 `db:"seconds"`
	}
	if err := reportSelect(ctx, db, &times, stateTimeQuery, q.From, q.To, q.AgentID); err != nil {
		return nil, fmt.Errorf("agent report: state times: %w", err)
	}
	byAgent := map[int64]map[string]float64{}
	for _, t := range times {
		if byAgent[t.AgentID] == nil {
			byAgent[t.AgentID] = map[string]float64{}
		}
		byAgent[t.AgentID][t.State] += t.Seconds
	}
	for i := range out {
		out[i].States = byAgent[out[i].AgentID]
		if out[i].States == nil {
			out[i].States = map[string]float64{}
		}
	}
	return out, nil
}

// FlowFunnel is the IVR containment of one flow over a range: calls that entered the flow,
// those that ended in the IVR served (outcome self_served: ended by the caller or the flow
// without an agent, a message, a callback, a transfer or an error), those that asked for an
// agent (entered a queue: the call's queue is set) and those an agent answered (its agent is
// set).
type FlowFunnel struct {
	Flow        string `db:"flow" json:"flow"`
	Entered     int    `db:"entered" json:"entered"`
	SelfServed  int    `db:"self_served" json:"self_served"`
	AskedAgent  int    `db:"asked_agent" json:"asked_agent"`
	AgentAnswer int    `db:"answered" json:"answered"`
}

const funnelQuery = `
SELECT f.flow, count(*) AS entered,
       count(*) FILTER (WHERE c.outcome = 'self_served') AS self_served,
       count(*) FILTER (WHERE c.queue_id IS NOT NULL) AS asked_agent,
       count(*) FILTER (WHERE c.agent_id IS NOT NULL) AS answered
FROM (SELECT DISTINCT s.call_id, s.flow
      FROM hotline.call_steps s JOIN hotline.calls c ON c.id = s.call_id
      WHERE c.started_at >= $1 AND c.started_at < $2 AND s.flow <> 'desk') f
JOIN hotline.calls c ON c.id = f.call_id
GROUP BY f.flow ORDER BY entered DESC, f.flow`

// IVRFunnel returns the containment funnel of each flow over [q.From, q.To), counting calls
// by when they started.
func IVRFunnel(ctx context.Context, db *sqlx.DB, q ReportQuery) ([]FlowFunnel, error) {
	var out []FlowFunnel
	if err := reportSelect(ctx, db, &out, funnelQuery, q.From, q.To); err != nil {
		return nil, fmt.Errorf("IVR funnel: %w", err)
	}
	return out, nil
}

// QueueSatisfaction is a queue's survey answers over a range: 满意率 = Satisfied (4 or 5,
// 满意 and 非常满意) over Surveyed.
type QueueSatisfaction struct {
	QueueID   string `db:"queue_id" json:"queue_id"`
	Surveyed  int    `db:"surveyed" json:"surveyed"`
	Satisfied int    `db:"satisfied" json:"satisfied"`
}

const satisfactionQuery = `
SELECT c.queue_id, count(*) AS surveyed, count(*) FILTER (WHERE s.score >= 4) AS satisfied
FROM hotline.survey_answers s JOIN hotline.calls c ON c.id = s.call_id
WHERE s.answered_at >= $1 AND s.answered_at < $2 AND c.queue_id IS NOT NULL AND ($3 = '' OR c.queue_id = $3)
GROUP BY c.queue_id ORDER BY c.queue_id`

// Satisfaction returns each queue's survey answers over [q.From, q.To).
func Satisfaction(ctx context.Context, db *sqlx.DB, q ReportQuery) ([]QueueSatisfaction, error) {
	var out []QueueSatisfaction
	if err := reportSelect(ctx, db, &out, satisfactionQuery, q.From, q.To, q.Queue); err != nil {
		return nil, fmt.Errorf("satisfaction: %w", err)
	}
	return out, nil
}

// OrderTimeliness is how the work orders accepted in a range fared against their deadline,
// per category and department in charge: Resolved of them resolved (办结, the first time),
// OnTime of those by their deadline (the extended one when an extension was approved),
// OverdueOpen not resolved and past it now. The on-time rate is OnTime ÷ (Resolved +
// OverdueOpen): orders still open within their time do not count yet. Merged orders are left
// out (the order they joined counts).
type OrderTimeliness struct {
	Category     string `db:"category" json:"category"`
	DepartmentID *int64 `db:"department_id" json:"department_id"`
	Department   string `db:"department" json:"department"`
	Orders       int    `db:"orders" json:"orders"`
	Resolved     int    `db:"resolved" json:"resolved"`
	OnTime       int    `db:"on_time" json:"on_time"`
	OverdueOpen  int    `db:"overdue_open" json:"overdue_open"`
}

const orderTimelinessQuery = `
WITH o AS (
    SELECT w.id, w.category, w.department_id, w.status,
           CASE WHEN w.extension_state = 'approved' AND w.extension_due_at IS NOT NULL THEN w.extension_due_at ELSE w.due_at END AS due,
           (SELECT min(e.at) FROM hotline.work_order_events e WHERE e.work_order_id = w.id AND e.to_status = 'resolved') AS resolved_at
    FROM hotline.work_orders w
    WHERE w.created_at >= $1 AND w.created_at < $2 AND w.merged_into IS NULL
)
SELECT o.category, o.department_id, coalesce(d.name, '') AS department, count(*) AS orders,
       count(*) FILTER (WHERE o.resolved_at IS NOT NULL) AS resolved,
       count(*) FILTER (WHERE o.resolved_at <= o.due) AS on_time,
       count(*) FILTER (WHERE o.resolved_at IS NULL AND o.due < now() AND o.status <> 'archived') AS overdue_open
FROM o LEFT JOIN platform.departments d ON d.id = o.department_id
GROUP BY o.category, o.department_id, d.name
ORDER BY o.category, d.name NULLS FIRST`

// WorkOrderTimeliness returns the timeliness of the work orders accepted in [q.From, q.To).
func WorkOrderTimeliness(ctx context.Context, db *sqlx.DB, q ReportQuery) ([]OrderTimeliness, error) {
	var out []OrderTimeliness
	if err := reportSelect(ctx, db, &out, orderTimelinessQuery, q.From, q.To); err != nil {
		return nil, fmt.Errorf("work-order timeliness: %w", err)
	}
	return out, nil
}
