package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
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
const conversationsT = `
holds AS (
    SELECT call_id, entered_at AS held_at, CASE WHEN next_node = 'resume' THEN next_at END AS resumed_at
    FROM (SELECT call_id, node, entered_at,
                 lead(entered_at) OVER w AS next_at, lead(node) OVER w AS next_node
          FROM hotline.call_steps
          WHERE flow = 'desk' AND node IN ('hold', 'resume')
            AND entered_at >= {a} AND entered_at < {b}::timestamptz + interval '1 day'
          WINDOW w AS (PARTITION BY call_id ORDER BY seq)) x
    WHERE node = 'hold'
),
transfers AS (
    SELECT call_id, entered_at FROM hotline.call_steps
    WHERE flow = 'desk' AND node IN ('transfer', 'complete')
      AND entered_at >= {a} AND entered_at < {b}::timestamptz + interval '1 day'
),
offered AS (
    -- answered in the range, or up to a day after it (a call that entered before the end)
    SELECT o.* FROM hotline.offers o
    WHERE o.state = 'accepted' AND o.call_id IS NOT NULL
      AND o.decided_at >= {a} AND o.decided_at < {b}::timestamptz + interval '1 day'
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

// conversations are conversationsT over [$1, $2).
var conversations = strings.NewReplacer("{a}", "$1", "{b}", "$2").Replace(conversationsT)

var queueReportQuery = `
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

// queueReportDirect computes the queues' figures per bucket of q from the event rows alone:
// the definition, against which the roll-ups are tested.
func queueReportDirect(ctx context.Context, db *sqlx.DB, q ReportQuery) ([]QueueFigures, error) {
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

var agentReportQuery = `
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

// agentReportDirect computes each agent's figures over [q.From, q.To) from the event rows.
func agentReportDirect(ctx context.Context, db *sqlx.DB, q ReportQuery) ([]AgentFigures, error) {
	var out []AgentFigures
	if err := reportSelect(ctx, db, &out, agentReportQuery, q.From, q.To, q.AgentID); err != nil {
		return nil, fmt.Errorf("agent report: %w", err)
	}
	var times []agentStateTime
	if err := reportSelect(ctx, db, &times, stateTimeQuery, q.From, q.To, q.AgentID); err != nil {
		return nil, fmt.Errorf("agent report: state times: %w", err)
	}
	withStateTimes(out, times)
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

// ivrFunnelDirect computes the containment funnel of each flow over [q.From, q.To) from the
// event rows, counting calls by when they started.
func ivrFunnelDirect(ctx context.Context, db *sqlx.DB, q ReportQuery) ([]FlowFunnel, error) {
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

// satisfactionDirect computes each queue's survey answers over [q.From, q.To) from the rows.
func satisfactionDirect(ctx context.Context, db *sqlx.DB, q ReportQuery) ([]QueueSatisfaction, error) {
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

// Roll-ups. The reports add up per-15-minute (queues) and per-day (agents, state times, the
// IVR funnel, satisfaction) sums kept in the report_* tables for the closed days of Beijing
// time, and compute the sums of the rest of the range — the open days, the partial days at
// its ends and the days whose rows changed since they were rolled up (report_stale, kept by
// triggers) — from the event rows with the same SQL, in the same repeatable-read snapshot.
// Averages are sums over counts in numeric, as avg() computes them, so the figures are those
// of the definitions above, to the last digit (TestReportRollupsEqualDirect).

// rollupGrace is how long after its end a day is rolled up: the calls of its last minutes
// have ended by then.
const rollupGrace = time.Hour

// reportRollupLock is the advisory lock the roll-up job holds: one run at a time.
const reportRollupLock = 1_234_500_025

// span is an interval of time [a, b).
type span struct{ a, b time.Time }

// bindSpan puts a span's bounds into a sums template as the placeholders $n and $n+1.
func bindSpan(tmpl string, n int) string {
	return strings.NewReplacer("{a}", fmt.Sprintf("$%d", n), "{b}", fmt.Sprintf("$%d", n+1)).Replace(tmpl)
}

// queueCols are the columns of report_queue_slots after the slot, and of report_queue_days
// after the day, in order.
const queueCols = `queue_id, offered, answered, answered_15s, abandoned, short_abandoned, asa_us, asa_n,
    conv_n, aht_us, talk_us, hold_us, wrap_us, transfers, callbacks_requested, callbacks_completed`

// queueSumsT sums the queues' figures per 15 minutes (aligned to Beijing time) over [{a}, {b}).
const queueSumsT = `
WITH ` + conversationsT + `,
e AS (
    SELECT q.queue_id, q.outcome, q.entered_at, q.left_at,
           date_bin('15 minutes', q.entered_at, '2000-01-03 00:00:00+08') AS slot,
           c.decided_at AS answered_at, c.talk_all, c.hold, c.wrap, c.transfers
    FROM hotline.queue_entries q
    LEFT JOIN conv c ON c.entry_id = q.id
    WHERE q.entered_at >= {a} AND q.entered_at < {b} AND q.left_at IS NOT NULL
),
f AS (
    SELECT slot, queue_id, count(*) AS offered,
           count(*) FILTER (WHERE outcome = 'answered') AS answered,
           count(*) FILTER (WHERE outcome = 'answered' AND answered_at - entered_at <= interval '15 seconds') AS answered_15s,
           count(*) FILTER (WHERE outcome = 'abandoned') AS abandoned,
           count(*) FILTER (WHERE outcome = 'abandoned' AND left_at - entered_at < interval '5 seconds') AS short_abandoned,
           ((sum(extract(epoch FROM answered_at - entered_at)) FILTER (WHERE outcome = 'answered')) * 1000000)::bigint AS asa_us,
           count(answered_at) FILTER (WHERE outcome = 'answered') AS asa_n,
           count(*) FILTER (WHERE outcome = 'answered' AND talk_all IS NOT NULL) AS conv_n,
           ((sum(talk_all + wrap) FILTER (WHERE outcome = 'answered' AND talk_all IS NOT NULL)) * 1000000)::bigint AS aht_us,
           ((sum(talk_all - hold) FILTER (WHERE outcome = 'answered' AND talk_all IS NOT NULL)) * 1000000)::bigint AS talk_us,
           ((sum(hold) FILTER (WHERE outcome = 'answered' AND talk_all IS NOT NULL)) * 1000000)::bigint AS hold_us,
           ((sum(wrap) FILTER (WHERE outcome = 'answered' AND talk_all IS NOT NULL)) * 1000000)::bigint AS wrap_us,
           coalesce(sum(transfers), 0) AS transfers
    FROM e GROUP BY slot, queue_id
),
cb AS (
    SELECT date_bin('15 minutes', requested_at, '2000-01-03 00:00:00+08') AS slot, queue_id,
           count(*) AS requested, count(*) FILTER (WHERE status = 'done') AS completed
    FROM hotline.callbacks
    WHERE requested_at >= {a} AND requested_at < {b} AND queue_id IS NOT NULL
    GROUP BY 1, 2
)
SELECT coalesce(f.slot, cb.slot) AS slot, coalesce(f.queue_id, cb.queue_id) AS queue_id,
       coalesce(f.offered, 0) AS offered, coalesce(f.answered, 0) AS answered, coalesce(f.answered_15s, 0) AS answered_15s,
       coalesce(f.abandoned, 0) AS abandoned, coalesce(f.short_abandoned, 0) AS short_abandoned,
       f.asa_us, coalesce(f.asa_n, 0) AS asa_n, coalesce(f.conv_n, 0) AS conv_n,
       f.aht_us, f.talk_us, f.hold_us, f.wrap_us, coalesce(f.transfers, 0) AS transfers,
       coalesce(cb.requested, 0) AS callbacks_requested, coalesce(cb.completed, 0) AS callbacks_completed
FROM f FULL JOIN cb ON cb.slot = f.slot AND cb.queue_id = f.queue_id`

// agentCols are the columns of report_agent_days after the day.
const agentCols = `agent_id, answered, aht_us, talk_us, hold_us, wrap_us, transfers, missed, surveyed, satisfied`

// agentSumsT sums the agents' conversations (by the day answered), missed offers (by the day
// offered) and survey answers per Beijing day over [{a}, {b}).
const agentSumsT = `
WITH ` + conversationsT + `,
work AS (
    SELECT hotline.report_day(decided_at) AS day, agent_id, count(*) AS answered, ((sum(talk_all + wrap)) * 1000000)::bigint AS aht_us,
           ((sum(talk_all - hold)) * 1000000)::bigint AS talk_us, ((sum(hold)) * 1000000)::bigint AS hold_us, ((sum(wrap)) * 1000000)::bigint AS wrap_us, sum(transfers) AS transfers
    FROM conv WHERE decided_at < {b} GROUP BY 1, 2
),
missed AS (
    SELECT hotline.report_day(offered_at) AS day, agent_id, count(*) AS n FROM hotline.offers
    WHERE state IN ('timeout', 'rejected') AND offered_at >= {a} AND offered_at < {b} GROUP BY 1, 2
),
surveys AS (
    SELECT hotline.report_day(answered_at) AS day, agent_id, count(*) AS surveyed, count(*) FILTER (WHERE score >= 4) AS satisfied
    FROM hotline.survey_answers WHERE answered_at >= {a} AND answered_at < {b} AND agent_id IS NOT NULL GROUP BY 1, 2
),
wm AS (
    SELECT coalesce(w.day, m.day) AS day, coalesce(w.agent_id, m.agent_id) AS agent_id,
           w.answered, w.aht_us, w.talk_us, w.hold_us, w.wrap_us, w.transfers, m.n AS missed
    FROM work w FULL JOIN missed m ON m.day = w.day AND m.agent_id = w.agent_id
)
SELECT coalesce(wm.day, s.day) AS day, coalesce(wm.agent_id, s.agent_id) AS agent_id,
       coalesce(wm.answered, 0) AS answered, wm.aht_us, wm.talk_us, wm.hold_us, wm.wrap_us,
       coalesce(wm.transfers, 0) AS transfers, coalesce(wm.missed, 0) AS missed,
       coalesce(s.surveyed, 0) AS surveyed, coalesce(s.satisfied, 0) AS satisfied
FROM wm FULL JOIN surveys s ON s.day = wm.day AND s.agent_id = wm.agent_id`

// stateCols are the columns of report_agent_state_days after the day.
const stateCols = `agent_id, state, us`

// stateSumsT sums each agent's seconds per state and Beijing day over [{a}, {b}), as
// stateTimeQuery does over the whole range.
const stateSumsT = `
WITH rows AS (
    SELECT agent_id, state, at, id FROM hotline.agent_state_log
    WHERE at >= {a} AND at < {b}
    UNION ALL
    SELECT b.agent_id, b.state, b.at, b.id FROM hotline.agents a,
    LATERAL (SELECT agent_id, state, at, id FROM hotline.agent_state_log l
             WHERE l.agent_id = a.id AND l.at < {a} ORDER BY l.at DESC, l.id DESC LIMIT 1) b
),
log AS (
    SELECT agent_id, state, at, lead(at) OVER (PARTITION BY agent_id ORDER BY at, id) AS until FROM rows
),
spans AS (
    SELECT agent_id, state, greatest(at, {a}) AS s, least(coalesce(until, now()), {b}) AS e
    FROM log WHERE least(coalesce(until, now()), {b}) > greatest(at, {a})
)
SELECT g.d::date AS day, agent_id, state,
       ((sum(extract(epoch FROM least(e, (g.d + interval '1 day') AT TIME ZONE 'Asia/Shanghai')
                                 - greatest(s, g.d AT TIME ZONE 'Asia/Shanghai')))) * 1000000)::bigint AS us
FROM spans,
     LATERAL generate_series(hotline.report_day(s)::timestamp, hotline.report_day(e - interval '1 microsecond')::timestamp,
                             interval '1 day') g(d)
GROUP BY 1, 2, 3`

// flowCols are the columns of report_flow_days after the day.
const flowCols = `flow, entered, self_served, asked_agent, answered`

// flowSumsT counts the IVR funnel per flow and Beijing day of the calls' start over [{a}, {b}):
// funnelQuery's figures, the call's columns read with its steps.
const flowSumsT = `
SELECT day, flow, count(*) AS entered,
       count(*) FILTER (WHERE outcome = 'self_served') AS self_served,
       count(*) FILTER (WHERE asked) AS asked_agent,
       count(*) FILTER (WHERE answered) AS answered
FROM (SELECT DISTINCT s.call_id, s.flow, hotline.report_day(c.started_at) AS day, c.outcome,
             c.queue_id IS NOT NULL AS asked, c.agent_id IS NOT NULL AS answered
      FROM hotline.calls c JOIN hotline.call_steps s ON s.call_id = c.id
      WHERE c.started_at >= {a} AND c.started_at < {b} AND s.flow <> 'desk') f
GROUP BY 1, 2`

// satisfactionCols are the columns of report_satisfaction_days after the day.
const satisfactionCols = `queue_id, surveyed, satisfied`

// satisfactionSumsT counts the survey answers per queue and Beijing day over [{a}, {b}).
const satisfactionSumsT = `
SELECT hotline.report_day(s.answered_at) AS day, c.queue_id, count(*) AS surveyed, count(*) FILTER (WHERE s.score >= 4) AS satisfied
FROM hotline.survey_answers s JOIN hotline.calls c ON c.id = s.call_id
WHERE s.answered_at >= {a} AND s.answered_at < {b} AND c.queue_id IS NOT NULL
GROUP BY 1, 2`

// rollup is one roll-up table: its key (slot, a timestamptz, or day, a date), its columns
// after the key, and the template of its sums over [{a}, {b}) from the event rows (key first);
// without one, from sums of report_queue_slots.
type rollup struct {
	table, key, cols, sums string
}

var (
	queueSlots   = rollup{"hotline.report_queue_slots", "slot", queueCols, queueSumsT}
	queueDays    = rollup{"hotline.report_queue_days", "day", queueCols, ""}
	agentDays    = rollup{"hotline.report_agent_days", "day", agentCols, agentSumsT}
	stateDays    = rollup{"hotline.report_agent_state_days", "day", stateCols, stateSumsT}
	flowDays     = rollup{"hotline.report_flow_days", "day", flowCols, flowSumsT}
	feedbackDays = rollup{"hotline.report_satisfaction_days", "day", satisfactionCols, satisfactionSumsT}
	// rollups in the order the job computes them.
	rollups = []rollup{queueSlots, queueDays, agentDays, stateDays, flowDays, feedbackDays}
)

// localKey is the SQL of a key column as a timestamp of Beijing time.
func localKey(key string) string {
	if key == "slot" || strings.HasSuffix(key, ".slot") {
		return key + " AT TIME ZONE 'Asia/Shanghai'"
	}
	return key + "::timestamp"
}

// inSpan is the SQL of a roll-up's key within the span [a, b) (of whole days for a day key).
func (r rollup) inSpan(p, a, b string) string {
	if r.key == "slot" {
		return fmt.Sprintf("%sslot >= %s AND %sslot < %s", p, a, p, b)
	}
	return fmt.Sprintf("%sday >= hotline.report_day(%s) AND %sday < hotline.report_day(%s)", p, a, p, b)
}

// sumsQuery is the SQL of a report's sums, the key as t (a timestamp of Beijing time) and
// r's columns: r's rows of the rolled spans, and the sums of the live spans computed by
// live's template from the event rows. Its arguments start at $first.
func sumsQuery(r, live rollup, rolledSpans, liveSpans []span, first int) (string, []any) {
	var as, bs []time.Time
	for _, s := range rolledSpans {
		as, bs = append(as, s.a), append(bs, s.b)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s AS t, %s FROM %s r JOIN unnest($%d::timestamptz[], $%d::timestamptz[]) c(a, b) ON %s",
		localKey("r."+r.key), prefixed("r.", r.cols), r.table, first, first+1, r.inSpan("r.", "c.a", "c.b"))
	args := []any{as, bs}
	for _, s := range liveSpans {
		n := first + len(args)
		fmt.Fprintf(&b, "\nUNION ALL\nSELECT %s AS t, %s FROM (%s\n) l%d", localKey(live.key), live.cols, bindSpan(live.sums, n), n)
		args = append(args, s.a, s.b)
	}
	return b.String(), args
}

// secs is the SQL of a sum of microseconds as the numeric seconds the definitions' sums of
// extract(epoch …) give: the same value, with their six decimals.
func secs(col string) string {
	return "round(sum(" + col + ")::numeric / 1000000, 6)"
}

// prefixed qualifies each of a comma-separated list of columns.
func prefixed(p, cols string) string {
	fields := strings.Split(cols, ",")
	for i, f := range fields {
		fields[i] = p + strings.TrimSpace(f)
	}
	return strings.Join(fields, ", ")
}

// reportTx runs fn in a read-only repeatable-read transaction with reportWorkMem: the roll-ups,
// the stale marks and the event rows a report reads are of one snapshot.
func reportTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL work_mem = '"+reportWorkMem+"'"); err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// localDay is the start of t's day in Beijing time.
func localDay(t time.Time) time.Time {
	t = t.In(chinaTime)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, chinaTime)
}

// dateDay reads a date column (midnight UTC) as the start of that day in Beijing time.
func dateDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, chinaTime)
}

// planReport splits [from, to) into the spans read from the roll-ups (whole days before the
// roll-up's end that are not stale) and the spans computed from the event rows (the rest).
func planReport(ctx context.Context, tx *sqlx.Tx, from, to time.Time) (rolled, live []span, err error) {
	if !from.Before(to) {
		return nil, nil, nil
	}
	var upto sql.NullTime
	if err := tx.GetContext(ctx, &upto, `SELECT upto FROM hotline.report_rollup`); err != nil {
		return nil, nil, fmt.Errorf("roll-up state: %w", err)
	}
	var end time.Time // days before it may be rolled up
	if upto.Valid {
		end = dateDay(upto.Time)
	}
	first := localDay(from)
	if first.Before(from) {
		first = first.AddDate(0, 0, 1)
	}
	stale := map[string]bool{}
	if first.Before(end) {
		var days []time.Time
		if err := tx.SelectContext(ctx, &days, `SELECT DISTINCT day FROM hotline.report_stale WHERE day >= $1::date AND day < $2::date`,
			first.Format(time.DateOnly), end.Format(time.DateOnly)); err != nil {
			return nil, nil, fmt.Errorf("stale days: %w", err)
		}
		for _, d := range days {
			stale[d.Format(time.DateOnly)] = true
		}
	}
	add := func(list []span, a, b time.Time) []span {
		if n := len(list); n > 0 && list[n-1].b.Equal(a) {
			list[n-1].b = b
			return list
		}
		return append(list, span{a, b})
	}
	at := from
	for d := first; ; d = d.AddDate(0, 0, 1) {
		next := d.AddDate(0, 0, 1)
		if next.After(to) || !d.Before(end) {
			break
		}
		if stale[d.Format(time.DateOnly)] {
			continue
		}
		if at.Before(d) {
			live = add(live, at, d)
		}
		rolled = add(rolled, d, next)
		at = next
	}
	if at.Before(to) {
		live = add(live, at, to)
	}
	return rolled, live, nil
}

// QueueReport returns the queues' figures per bucket of q.
func QueueReport(ctx context.Context, db *sqlx.DB, q ReportQuery) ([]QueueFigures, error) {
	iv, err := q.Bucket.interval()
	if err != nil {
		return nil, err
	}
	var out []QueueFigures
	err = reportTx(ctx, db, func(tx *sqlx.Tx) error {
		rolled, live, err := planReport(ctx, tx, q.From, q.To)
		if err != nil {
			return err
		}
		from := queueSlots
		if q.Bucket == BucketDay || q.Bucket == BucketWeek {
			from = queueDays
		}
		sums, args := sumsQuery(from, queueSlots, rolled, live, 3)
		query := `WITH s AS (` + sums + `)
SELECT date_bin($1::interval, t, '2000-01-03') AS bucket, queue_id,
       sum(offered) AS offered, sum(answered) AS answered, sum(answered_15s) AS answered_15s,
       sum(abandoned) AS abandoned, sum(short_abandoned) AS short_abandoned,
       sum(answered_15s)::float8 / nullif(sum(offered), 0) AS service_level,
       sum(answered_15s)::float8 / nullif(sum(answered) + sum(abandoned) - sum(short_abandoned), 0) AS service_level_aa,
       ` + secs("asa_us") + ` / nullif(sum(asa_n), 0) AS asa, ` + secs("aht_us") + ` / nullif(sum(conv_n), 0) AS aht,
       ` + secs("talk_us") + ` / nullif(sum(conv_n), 0) AS talk, ` + secs("hold_us") + ` / nullif(sum(conv_n), 0) AS hold,
       ` + secs("wrap_us") + ` / nullif(sum(conv_n), 0) AS wrap, sum(transfers) AS transfers,
       sum(callbacks_requested) AS callbacks_requested, sum(callbacks_completed) AS callbacks_completed
FROM s WHERE $2 = '' OR queue_id = $2
GROUP BY 1, 2 ORDER BY 1, 2`
		return tx.SelectContext(ctx, &out, query, append([]any{iv, q.Queue}, args...)...)
	})
	if err != nil {
		return nil, fmt.Errorf("queue report: %w", err)
	}
	for i := range out {
		out[i].Bucket = localBucket(out[i].Bucket)
	}
	return out, nil
}

// AgentReport returns each agent's figures over [q.From, q.To) (the bucket is not used).
func AgentReport(ctx context.Context, db *sqlx.DB, q ReportQuery) ([]AgentFigures, error) {
	var out []AgentFigures
	var times []agentStateTime
	err := reportTx(ctx, db, func(tx *sqlx.Tx) error {
		rolled, live, err := planReport(ctx, tx, q.From, q.To)
		if err != nil {
			return err
		}
		sums, args := sumsQuery(agentDays, agentDays, rolled, live, 2)
		query := `WITH s AS (` + sums + `),
w AS (
    SELECT agent_id, sum(answered) AS answered, ` + secs("aht_us") + ` / nullif(sum(answered), 0) AS aht,
           ` + secs("talk_us") + ` / nullif(sum(answered), 0) AS talk, ` + secs("hold_us") + ` / nullif(sum(answered), 0) AS hold,
           ` + secs("wrap_us") + ` / nullif(sum(answered), 0) AS wrap, sum(transfers) AS transfers, sum(missed) AS missed,
           sum(surveyed) AS surveyed, sum(satisfied) AS satisfied
    FROM s GROUP BY agent_id
)
SELECT a.id AS agent_id, a.display_name, coalesce(w.answered, 0) AS answered, w.aht, w.talk, w.hold, w.wrap,
       coalesce(w.transfers, 0) AS transfers, coalesce(w.missed, 0) AS missed,
       coalesce(w.surveyed, 0) AS surveyed, coalesce(w.satisfied, 0) AS satisfied
FROM hotline.agents a LEFT JOIN w ON w.agent_id = a.id
WHERE a.endpoint IS NOT NULL AND ($1 = 0 OR a.id = $1)
ORDER BY a.display_name`
		if err := tx.SelectContext(ctx, &out, query, append([]any{q.AgentID}, args...)...); err != nil {
			return err
		}
		sums, args = sumsQuery(stateDays, stateDays, rolled, live, 2)
		query = `WITH s AS (` + sums + `)
SELECT agent_id, state, ` + secs("us") + ` AS seconds FROM s WHERE $1 = 0 OR agent_id = $1 GROUP BY 1, 2`
		if err := tx.SelectContext(ctx, &times, query, append([]any{q.AgentID}, args...)...); err != nil {
			return fmt.Errorf("state times: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("agent report: %w", err)
	}
	withStateTimes(out, times)
	return out, nil
}

// IVRFunnel returns the containment funnel of each flow over [q.From, q.To), counting calls
// by when they started.
func IVRFunnel(ctx context.Context, db *sqlx.DB, q ReportQuery) ([]FlowFunnel, error) {
	var out []FlowFunnel
	err := reportTx(ctx, db, func(tx *sqlx.Tx) error {
		rolled, live, err := planReport(ctx, tx, q.From, q.To)
		if err != nil {
			return err
		}
		sums, args := sumsQuery(flowDays, flowDays, rolled, live, 1)
		return tx.SelectContext(ctx, &out, `WITH s AS (`+sums+`)
SELECT flow, sum(entered) AS entered, sum(self_served) AS self_served, sum(asked_agent) AS asked_agent,
       sum(answered) AS answered
FROM s GROUP BY flow ORDER BY entered DESC, flow`, args...)
	})
	if err != nil {
		return nil, fmt.Errorf("IVR funnel: %w", err)
	}
	return out, nil
}

// Satisfaction returns each queue's survey answers over [q.From, q.To).
func Satisfaction(ctx context.Context, db *sqlx.DB, q ReportQuery) ([]QueueSatisfaction, error) {
	var out []QueueSatisfaction
	err := reportTx(ctx, db, func(tx *sqlx.Tx) error {
		rolled, live, err := planReport(ctx, tx, q.From, q.To)
		if err != nil {
			return err
		}
		sums, args := sumsQuery(feedbackDays, feedbackDays, rolled, live, 2)
		return tx.SelectContext(ctx, &out, `WITH s AS (`+sums+`)
SELECT queue_id, sum(surveyed) AS surveyed, sum(satisfied) AS satisfied
FROM s WHERE $1 = '' OR queue_id = $1 GROUP BY queue_id ORDER BY queue_id`, append([]any{q.Queue}, args...)...)
	})
	if err != nil {
		return nil, fmt.Errorf("satisfaction: %w", err)
	}
	return out, nil
}

// RollUp is what a run of the roll-up job did.
type RollUp struct {
	// Days recomputed: the days closed since the last run and the stale ones.
	Days int
	// Upto: the days before it are rolled up (unless stale again since).
	Upto time.Time
	// Busy: another run held the lock, nothing was done.
	Busy bool
}

// RollUpReports brings the reports' roll-ups up to date: the days that closed since the last
// run (a day closes an hour after its end, Beijing time) and the days marked stale by a late
// row are computed from the event rows and replace their roll-ups, in one transaction. The
// first run rolls up every day since the first event row. One run at a time: a run while
// another holds the lock returns Busy.
func RollUpReports(ctx context.Context, db *sqlx.DB) (RollUp, error) {
	var res RollUp
	conn, err := db.Connx(ctx)
	if err != nil {
		return res, fmt.Errorf("report roll-up: %w", err)
	}
	defer conn.Close()
	var locked bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, reportRollupLock).Scan(&locked); err != nil {
		return res, fmt.Errorf("report roll-up: lock: %w", err)
	}
	if !locked {
		res.Busy = true
		return res, nil
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, reportRollupLock)

	tx, err := conn.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	if err != nil {
		return res, fmt.Errorf("report roll-up: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL work_mem = '"+reportWorkMem+"'"); err != nil {
		return res, fmt.Errorf("report roll-up: %w", err)
	}
	var st struct {
		Upto  sql.NullTime `db:"upto"`
		Close time.Time    `db:"close"`
		First sql.NullTime `db:"first"`
	}
	if err := tx.GetContext(ctx, &st, `
		SELECT upto, hotline.report_day(now() - $1::interval) AS close,
		       CASE WHEN upto IS NULL THEN hotline.report_day(least(
		           (SELECT min(started_at) FROM hotline.calls), (SELECT min(entered_at) FROM hotline.queue_entries),
		           (SELECT min(at) FROM hotline.agent_state_log), (SELECT min(requested_at) FROM hotline.callbacks),
		           (SELECT min(answered_at) FROM hotline.survey_answers))) END AS first
		FROM hotline.report_rollup`, fmt.Sprintf("%d seconds", int(rollupGrace.Seconds()))); err != nil {
		return res, fmt.Errorf("report roll-up: state: %w", err)
	}
	closeDay := dateDay(st.Close) // the days before it are closed
	start := closeDay
	switch {
	case st.Upto.Valid:
		start = dateDay(st.Upto.Time)
	case st.First.Valid:
		start = dateDay(st.First.Time)
	}
	if start.After(closeDay) {
		closeDay = start // the clock went back: nothing new closed
	}
	var stale []time.Time
	if err := tx.SelectContext(ctx, &stale, `
		WITH d AS (DELETE FROM hotline.report_stale WHERE day < $1::date RETURNING day)
		SELECT DISTINCT day FROM d WHERE day < $2::date ORDER BY day`,
		closeDay.Format(time.DateOnly), start.Format(time.DateOnly)); err != nil {
		return res, fmt.Errorf("report roll-up: stale days: %w", err)
	}
	var spans []span
	for _, d := range stale {
		d = dateDay(d)
		if n := len(spans); n > 0 && spans[n-1].b.Equal(d) {
			spans[n-1].b = d.AddDate(0, 0, 1)
		} else {
			spans = append(spans, span{d, d.AddDate(0, 0, 1)})
		}
		res.Days++
	}
	if start.Before(closeDay) {
		if n := len(spans); n > 0 && spans[n-1].b.Equal(start) {
			spans[n-1].b = closeDay
		} else {
			spans = append(spans, span{start, closeDay})
		}
		res.Days += int(closeDay.Sub(start).Hours()+1) / 24
	}
	for _, s := range spans {
		for _, r := range rollups {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+r.table+` WHERE `+r.inSpan("", "$1", "$2"), s.a, s.b); err != nil {
				return res, fmt.Errorf("report roll-up: %s: %w", r.table, err)
			}
			from := `SELECT ` + r.key + `, ` + r.cols + ` FROM (` + bindSpan(r.sums, 1) + `) s`
			if r.sums == "" { // the days of the slots
				from = `SELECT hotline.report_day(slot), queue_id, sum(offered), sum(answered), sum(answered_15s),
				        sum(abandoned), sum(short_abandoned), sum(asa_us), sum(asa_n), sum(conv_n), sum(aht_us),
				        sum(talk_us), sum(hold_us), sum(wrap_us), sum(transfers), sum(callbacks_requested),
				        sum(callbacks_completed)
				    FROM hotline.report_queue_slots WHERE ` + queueSlots.inSpan("", "$1", "$2") + ` GROUP BY 1, 2`
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO `+r.table+` (`+r.key+`, `+r.cols+`) `+from, s.a, s.b); err != nil {
				return res, fmt.Errorf("report roll-up: %s: %w", r.table, err)
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE hotline.report_rollup SET upto = $1::date, rolled_at = now()`,
		closeDay.Format(time.DateOnly)); err != nil {
		return res, fmt.Errorf("report roll-up: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("report roll-up: %w", err)
	}
	res.Upto = closeDay
	return res, nil
}

// RollUpReportsIfDue runs RollUpReports when the last run is older than every and the first
// run has been made (by the housekeeping job: a first run over a long history takes a while).
func RollUpReportsIfDue(ctx context.Context, db *sqlx.DB, every time.Duration) (RollUp, error) {
	var due bool
	if err := db.GetContext(ctx, &due, `SELECT upto IS NOT NULL AND (rolled_at IS NULL OR rolled_at < now() - $1::interval)
		FROM hotline.report_rollup`, fmt.Sprintf("%d milliseconds", every.Milliseconds())); err != nil {
		return RollUp{}, fmt.Errorf("report roll-up: %w", err)
	}
	if !due {
		return RollUp{}, nil
	}
	return RollUpReports(ctx, db)
}

// agentStateTime is an agent's seconds in a state over a report's range.
type agentStateTime struct {
	AgentID int64   `db:"agent_id"`
	State   string  `db:"state"`
	Seconds float64 `db:"seconds"`
}

// withStateTimes gives each agent's figures their seconds per state (an empty map for an
// agent with none).
func withStateTimes(out []AgentFigures, times []agentStateTime) {
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
}
