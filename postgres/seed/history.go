package seed

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// HistoryOptions size a generated call history.
type HistoryOptions struct {
	// Days of history ending the day before Now.
	Days int
	// CallsPerDay arriving between 08:00 and 20:00 (Asia/Shanghai).
	CallsPerDay int
	// Agents answering them: the seeded staff, and more generated agents (without a login)
	// when there are fewer.
	Agents int
	Now    time.Time
	// Seed makes the history repeatable.
	Seed float64
}

// History generates a call history on a seeded database, for the reports and their
// benchmark: calls with their IVR steps; 60% ask for an agent and wait in one of the queues,
// 85% of those are answered after 2 to 60 s (a talk of 1 to 7 minutes, a hold in one call of
// ten, a wrap-up of 10 to 60 s, an offer that rang out before one call in twenty), 12%
// abandon and the rest overflow; a third of the answered calls leave a survey answer; the
// agents' state log follows their conversations. It runs in one transaction.
func History(ctx context.Context, db *sqlx.DB, o HistoryOptions) error {
	if o.Days <= 0 || o.CallsPerDay <= 0 {
		return fmt.Errorf("history: days and calls per day must be positive")
	}
	if o.Now.IsZero() {
		o.Now = DefaultNow
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer tx.Rollback()
	end := time.Date(o.Now.Year(), o.Now.Month(), o.Now.Day(), 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	start := end.AddDate(0, 0, -o.Days)
	steps := []struct{ what, query string }{
		{"seed", `SELECT setseed($1)`},
		{"agents", `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
			SELECT 'hist' || lpad(i::text, 4, '0'), '坐席' || lpad(i::text, 4, '0'), 'agent', '!', 'PJSIP/' || (7000 + i)
			FROM generate_series(1, greatest(0, $1 - (SELECT count(*) FROM hotline.agents WHERE endpoint IS NOT NULL))) i`},
		{"calls", `CREATE TEMP TABLE hist ON COMMIT DROP AS
			SELECT gen_random_uuid() AS id, t AS started_at,
			       (SELECT array_agg(id ORDER BY id) FROM hotline.queues) AS queues,
			       random() AS r_queue, random() AS r_ask, random() AS r_outcome, random() AS r_wait, random() AS r_talk,
			       random() AS r_wrap, random() AS r_agent, random() AS r_hold, random() AS r_miss, random() AS r_survey,
			       random() AS r_score, random() AS r_flow
			FROM generate_series(0, $3 - 1) d,
			     LATERAL (SELECT $1::timestamptz + d * interval '1 day' + interval '8 hours' + random() * interval '12 hours' AS t
			              FROM generate_series(1, $2)) c`},
		{"classify", `CREATE TEMP TABLE histq ON COMMIT DROP AS
			SELECT h.*, h.queues[1 + floor(h.r_queue * cardinality(h.queues))::int] AS queue_id,
			       h.started_at + interval '40 seconds' AS entered_at,
			       CASE WHEN h.r_outcome < 0.85 THEN 'answered' WHEN h.r_outcome < 0.97 THEN 'abandoned' ELSE 'overflow' END AS outcome,
			       (2 + h.r_wait * 58) * interval '1 second' AS wait,
			       (60 + h.r_talk * 360) * interval '1 second' AS talk,
			       (10 + h.r_wrap * 50) * interval '1 second' AS wrap,
			       (SELECT array_agg(id ORDER BY id) FROM hotline.agents WHERE endpoint IS NOT NULL) AS agents
			FROM hist h WHERE h.r_ask < 0.6`},
		{"call rows", `INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, answered_at, ended_at, outcome, queue_id, agent_id)
			SELECT h.id, 'ast1', h.id::text, '138' || lpad((floor(h.r_score * 1e8))::text, 8, '0'), h.started_at, h.started_at,
			       h.started_at + CASE WHEN q.id IS NULL THEN interval '90 seconds' ELSE interval '40 seconds' + q.wait + q.talk END,
			       CASE WHEN q.id IS NULL THEN 'self_served' WHEN q.outcome = 'answered' THEN 'agent' WHEN q.outcome = 'abandoned' THEN 'abandoned' ELSE 'overflow' END,
			       q.queue_id,
			       CASE WHEN q.outcome = 'answered' THEN q.agents[1 + floor(q.r_agent * cardinality(q.agents))::int] END
			FROM hist h LEFT JOIN histq q ON q.id = h.id`},
		{"steps", `INSERT INTO hotline.call_steps (call_id, seq, flow, node, kind, entered_at, left_at, exit)
			SELECT h.id, 1, 'main', 'menu', 'menu', h.started_at, h.started_at + interval '10 seconds', 'choice' FROM hist h
			UNION ALL
			SELECT h.id, 2, (ARRAY['bills', 'progress', 'insurance', 'consultation'])[1 + floor(h.r_flow * 4)::int], 'lookup', 'lookup',
			       h.started_at + interval '10 seconds', h.started_at + interval '30 seconds', 'ok' FROM hist h`},
		{"queue entries", `INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, left_at, outcome)
			SELECT id, queue_id, entered_at, entered_at + wait, outcome FROM histq`},
		{"missed offers", `INSERT INTO hotline.offers (call_id, entry_id, agent_id, queue_id, state, offered_at, decided_at)
			SELECT q.id, e.id, q.agents[1 + floor(q.r_miss * cardinality(q.agents))::int], q.queue_id, 'timeout',
			       q.entered_at, q.entered_at + interval '15 seconds'
			FROM histq q JOIN hotline.queue_entries e ON e.call_id = q.id WHERE q.r_miss < 0.05`},
		{"answered offers", `INSERT INTO hotline.offers (call_id, entry_id, agent_id, queue_id, state, offered_at, decided_at, talk_ended_at, wrapped_up_at)
			SELECT q.id, e.id, c.agent_id, q.queue_id, 'accepted', q.entered_at + q.wait - interval '2 seconds',
			       q.entered_at + q.wait, q.entered_at + q.wait + q.talk, q.entered_at + q.wait + q.talk + q.wrap
			FROM histq q JOIN hotline.queue_entries e ON e.call_id = q.id JOIN hotline.calls c ON c.id = q.id
			WHERE q.outcome = 'answered'`},
		{"holds", `INSERT INTO hotline.call_steps (call_id, seq, flow, node, kind, entered_at)
			SELECT q.id, 3, 'desk', 'hold', 'control', q.entered_at + q.wait + q.talk / 3 FROM histq q
			WHERE q.outcome = 'answered' AND q.r_hold < 0.1
			UNION ALL
			SELECT q.id, 4, 'desk', 'resume', 'control', q.entered_at + q.wait + q.talk / 2 FROM histq q
			WHERE q.outcome = 'answered' AND q.r_hold < 0.1`},
		{"surveys", `INSERT INTO hotline.survey_answers (call_id, score, agent_id, answered_at)
			SELECT c.id, CASE WHEN q.r_score < 0.05 THEN 1 WHEN q.r_score < 0.1 THEN 2 WHEN q.r_score < 0.2 THEN 3
			                  WHEN q.r_score < 0.5 THEN 4 ELSE 5 END, c.agent_id, c.ended_at
			FROM histq q JOIN hotline.calls c ON c.id = q.id WHERE q.outcome = 'answered' AND q.r_survey < 0.33`},
		{"state log", `INSERT INTO hotline.agent_state_log (agent_id, state, previous, cause, at, call_id)
			SELECT o.agent_id, s.state, s.previous, 'history', s.at, o.call_id
			FROM hotline.offers o JOIN histq q ON q.id = o.call_id,
			     LATERAL (VALUES ('talking', 'available', o.decided_at), ('wrap_up', 'talking', o.talk_ended_at),
			                     ('available', 'wrap_up', o.wrapped_up_at)) s(state, previous, at)
			WHERE o.state = 'accepted'`},
		{"analyse", `ANALYZE hotline.calls, hotline.call_steps, hotline.queue_entries, hotline.offers, hotline.survey_answers, hotline.agent_state_log`},
	}
	for _, s := range steps {
		var args []any
		switch s.what {
		case "seed":
			args = []any{o.Seed}
		case "agents":
			args = []any{o.Agents}
		case "calls":
			args = []any{start, o.CallsPerDay, o.Days}
		}
		if _, err := tx.ExecContext(ctx, s.query, args...); err != nil {
			return fmt.Errorf("history: %s: %w", s.what, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	return nil
}
