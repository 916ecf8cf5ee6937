package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// The supervisors' wallboard: each queue's calls now and today, every agent's state, and the
// day's calls per 15 minutes. The day is Asia/Shanghai's. Today's figures use the same
// definitions as the queue report (by when the call entered the queue; a call still waiting is
// not counted yet), so the board and the report agree.

// ServiceLevelTarget is the answer time of the service level: the 12345 standard.
const ServiceLevelTarget = 15 * time.Second

// StuckMissedAfter is how long an agent may stay in 未接 before the board flags them.
const StuckMissedAfter = 10 * time.Second

// WallboardQueue is one queue on the board.
type WallboardQueue struct {
	ID   string `db:"queue_id" json:"id"`
	Name string `db:"name" json:"name"`
	// Waiting are the calls waiting now on live instances; OldestSince is when the oldest of
	// them entered the queue (nil when none waits).
	Waiting     int        `db:"waiting" json:"waiting"`
	OldestSince *time.Time `db:"oldest_since" json:"oldest_since"`
	// Today's calls that entered the queue and left it: offered, answered, answered within
	// ServiceLevelTarget, abandoned by the caller.
	Offered    int `db:"offered" json:"offered"`
	Answered   int `db:"answered" json:"answered"`
	Answered15 int `db:"answered_15s" json:"answered_15s"`
	Abandoned  int `db:"abandoned" json:"abandoned"`
	// ServiceLevel is Answered15 / Offered (nil without calls); ASA the average seconds from
	// entering the queue to an agent's answer of the answered calls (nil without any).
	ServiceLevel *float64 `db:"service_level" json:"service_level"`
	ASA          *float64 `db:"asa" json:"asa_seconds"`
	// Agents are the agents whose skills serve the queue: logged in, and available now.
	AgentsLoggedIn  int `db:"logged_in" json:"agents_logged_in"`
	AgentsAvailable int `db:"available" json:"agents_available"`
}

// WallboardAgent is one agent on the board.
type WallboardAgent struct {
	ID          int64     `db:"id" json:"id"`
	Username    string    `db:"username" json:"username"`
	DisplayName string    `db:"display_name" json:"display_name"`
	State       string    `db:"state" json:"state"`
	Reason      string    `db:"reason" json:"reason,omitempty"`
	Since       time.Time `db:"since" json:"since"`
	// CallSince is when the agent answered the call they are on (nil when on none); Queue the
	// queue of the call they ring for, talk on or wrap up.
	CallSince   *time.Time `db:"call_since" json:"call_since"`
	Queue       string     `db:"queue_id" json:"queue,omitempty"`
	WrapUpUntil *time.Time `db:"wrap_up_until" json:"wrap_up_until,omitempty"`
	// Stuck: in 未接 for StuckMissedAfter or more, or in wrap-up past its time.
	Stuck bool `db:"stuck" json:"stuck"`
}

// WallboardBucket is a quarter hour of the day: calls that entered a queue in it and left.
type WallboardBucket struct {
	Start     time.Time `db:"bucket" json:"start"`
	Offered   int       `db:"offered" json:"offered"`
	Answered  int       `db:"answered" json:"answered"`
	Abandoned int       `db:"abandoned" json:"abandoned"`
}

// Wallboard is the board at At.
type Wallboard struct {
	At       time.Time         `json:"at"`
	Day      time.Time         `json:"day"`
	Queues   []WallboardQueue  `json:"queues"`
	Agents   []WallboardAgent  `json:"agents"`
	Intraday []WallboardBucket `json:"intraday"`
}

// wallboardQueuesQuery: $1 the day's start, $2 now, $3 the oldest live heartbeat.
const wallboardQueuesQuery = `
WITH waiting AS (
    SELECT e.queue_id, count(*) AS waiting, min(e.entered_at) AS oldest_since
    FROM hotline.queue_entries e JOIN hotline.instances i ON i.id = e.instance_id AND i.heartbeat_at > $3
    WHERE e.left_at IS NULL
    GROUP BY e.queue_id
),
today AS (
    SELECT e.queue_id, count(*) AS offered,
           count(*) FILTER (WHERE e.outcome = 'answered') AS answered,
           count(*) FILTER (WHERE e.outcome = 'answered' AND a.decided_at - e.entered_at <= interval '15 seconds') AS answered_15s,
           count(*) FILTER (WHERE e.outcome = 'abandoned') AS abandoned,
           avg(extract(epoch FROM a.decided_at - e.entered_at)) FILTER (WHERE e.outcome = 'answered' AND a.decided_at IS NOT NULL) AS asa
    FROM hotline.queue_entries e
    LEFT JOIN LATERAL (SELECT min(o.decided_at) AS decided_at FROM hotline.offers o
                       WHERE o.entry_id = e.id AND o.state = 'accepted') a ON true
    WHERE e.entered_at >= $1 AND e.entered_at < $2 AND e.left_at IS NOT NULL
    GROUP BY e.queue_id
),
staff AS (
    SELECT q.id AS queue_id,
           count(*) FILTER (WHERE st.state <> 'offline') AS logged_in,
           count(*) FILTER (WHERE st.state = 'available') AS available
    FROM hotline.queues q
    JOIN hotline.agent_skills s ON s.skill_id = q.skill_id
    JOIN hotline.agents ag ON ag.id = s.agent_id AND ag.active
    JOIN hotline.agent_status st ON st.agent_id = s.agent_id
    GROUP BY q.id
)
SELECT q.id AS queue_id, q.name,
       coalesce(w.waiting, 0) AS waiting, w.oldest_since,
       coalesce(t.offered, 0) AS offered, coalesce(t.answered, 0) AS answered,
       coalesce(t.answered_15s, 0) AS answered_15s, coalesce(t.abandoned, 0) AS abandoned,
       t.answered_15s::float8 / nullif(t.offered, 0) AS service_level, t.asa::float8 AS asa,
       coalesce(s.logged_in, 0) AS logged_in, coalesce(s.available, 0) AS available
FROM hotline.queues q
LEFT JOIN waiting w ON w.queue_id = q.id
LEFT JOIN today t ON t.queue_id = q.id
LEFT JOIN staff s ON s.queue_id = q.id
ORDER BY q.id`

// wallboardAgentsQuery: every active desk user who takes calls; $1 now.
const wallboardAgentsQuery = `
SELECT a.id, a.username, a.display_name,
       coalesce(st.state, 'offline') AS state, coalesce(st.reason, '') AS reason,
       coalesce(st.since, a.created_at) AS since,
       CASE WHEN st.state = 'talking' THEN o.decided_at END AS call_since,
       CASE WHEN st.state IN ('ringing', 'talking', 'wrap_up') THEN coalesce(o.queue_id, '') ELSE '' END AS queue_id,
       CASE WHEN st.state = 'wrap_up' THEN st.wrap_up_until END AS wrap_up_until,
       coalesce((st.state = 'missed' AND st.since <= $1::timestamptz - $2::interval)
             OR (st.state = 'wrap_up' AND st.wrap_up_until < $1), false) AS stuck
FROM hotline.agents a
LEFT JOIN hotline.agent_status st ON st.agent_id = a.id
LEFT JOIN hotline.offers o ON o.id = st.offer_id
WHERE a.active AND a.endpoint IS NOT NULL AND a.endpoint <> ''
ORDER BY a.display_name, a.id`

// wallboardIntradayQuery: every quarter hour from $1 to $2 with the calls that entered a
// queue in it and left it.
const wallboardIntradayQuery = `
WITH b AS (
    SELECT generate_series($1::timestamptz, $2::timestamptz - interval '1 microsecond', interval '15 minutes') AS bucket
),
e AS (
    SELECT date_bin(interval '15 minutes', entered_at, $1::timestamptz) AS bucket, outcome
    FROM hotline.queue_entries
    WHERE entered_at >= $1 AND entered_at < $2 AND left_at IS NOT NULL
)
SELECT b.bucket, count(e.bucket) AS offered,
       count(*) FILTER (WHERE e.outcome = 'answered') AS answered,
       count(*) FILTER (WHERE e.outcome = 'abandoned') AS abandoned
FROM b LEFT JOIN e ON e.bucket = b.bucket
GROUP BY b.bucket ORDER BY b.bucket`

// sqlReadOnlySnapshot reads the board's three parts as of one moment.
var sqlReadOnlySnapshot = sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}

// DayStart returns the start of t's day in Asia/Shanghai.
func DayStart(t time.Time) time.Time {
	d := t.In(chinaTime)
	return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, chinaTime)
}

// LoadWallboard reads the board at now; calls of an instance whose heartbeat is older than
// lease are not counted as waiting.
func LoadWallboard(ctx context.Context, db *sqlx.DB, now time.Time, lease time.Duration) (Wallboard, error) {
	day := DayStart(now)
	wb := Wallboard{At: now, Day: day, Queues: []WallboardQueue{}, Agents: []WallboardAgent{}, Intraday: []WallboardBucket{}}
	tx, err := db.BeginTxx(ctx, &sqlReadOnlySnapshot)
	if err != nil {
		return wb, fmt.Errorf("wallboard: begin: %w", err)
	}
	defer tx.Rollback()
	if err := tx.SelectContext(ctx, &wb.Queues, wallboardQueuesQuery, day, now, now.Add(-lease)); err != nil {
		return wb, fmt.Errorf("wallboard queues: %w", err)
	}
	if err := tx.SelectContext(ctx, &wb.Agents, wallboardAgentsQuery, now, fmt.Sprintf("%d milliseconds", StuckMissedAfter.Milliseconds())); err != nil {
		return wb, fmt.Errorf("wallboard agents: %w", err)
	}
	// The chart covers the day up to the current quarter hour.
	end := day.Add(now.Sub(day).Truncate(15*time.Minute) + 15*time.Minute)
	if err := tx.SelectContext(ctx, &wb.Intraday, wallboardIntradayQuery, day, end); err != nil {
		return wb, fmt.Errorf("wallboard intraday: %w", err)
	}
	for i := range wb.Intraday {
		wb.Intraday[i].Start = wb.Intraday[i].Start.In(chinaTime)
	}
	for i := range wb.Queues {
		if t := wb.Queues[i].OldestSince; t != nil && t.After(now) {
			wb.Queues[i].OldestSince = &now
		}
	}
	return wb, nil
}
