package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// sessionZone gives db's sessions the time zone zone, as a server configured in another zone
// than UTC would.
func sessionZone(t *testing.T, db *sqlx.DB, zone string) {
	t.Helper()
	var name string
	if err := db.Get(&name, `SELECT current_database()`); err != nil {
		t.Fatal(err)
	}
	db.MustExec(`ALTER DATABASE ` + pq.QuoteIdentifier(name) + ` SET timezone = ` + pq.QuoteLiteral(zone))
	db.SetMaxIdleConns(0) // the sessions opened before take no notice
	db.SetMaxIdleConns(2)
	var got string
	if err := db.Get(&got, `SHOW timezone`); err != nil || got != zone {
		t.Fatalf("session time zone %q, %v; want %q", got, err, zone)
	}
}

// TestReportsFoshanDayEvening: a call that entered a queue at 20:00 UTC on 5 December is a
// call of 6 December in Foshan, in the day buckets of the queue report and the wallboard,
// whether the day is read from the roll-ups or from the rows; an agent's state that spans
// Foshan's midnight (16:00 UTC) splits there. The database session's time zone does not
// matter.
func TestReportsFoshanDayEvening(t *testing.T) {
	for _, zone := range []string{"UTC", "Asia/Shanghai", "America/Los_Angeles"} {
		t.Run(zone, func(t *testing.T) { reportsFoshanDayEvening(t, zone) })
	}
}

func reportsFoshanDayEvening(t *testing.T, zone string) {
	db := pgtest.DB(t)
	sessionZone(t, db, zone)
	ctx := context.Background()
	db.MustExec(`INSERT INTO hotline.skills (id, name) VALUES ('ss', '社保')`)
	db.MustExec(`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('ss', '社保咨询', 'ss')`)
	var agent int64
	if err := db.Get(&agent, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
		VALUES ('a1', 'a1', 'agent', 'x', 'PJSIP/1001') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for i, entered := range []string{"2026-12-05T10:00:00Z", "2026-12-05T20:00:00Z", "2026-12-05T15:59:00Z"} {
		id := "00000000-0000-4000-8000-00000000000" + string(rune('1'+i))
		db.MustExec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, outcome, queue_id)
			VALUES ($1, 'ast1', $2, '13800138000', $3, 'abandoned', 'ss')`, id, id, at(entered))
		db.MustExec(`INSERT INTO hotline.call_steps (call_id, seq, flow, node, kind, entered_at) VALUES ($1, 1, 'main', 'start', 'menu', $2)`,
			id, at(entered))
		db.MustExec(`INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, left_at, outcome)
			VALUES ($1, 'ss', $2, $3, 'abandoned')`, id, at(entered), at(entered).Add(30*time.Second))
	}
	db.MustExec(`INSERT INTO hotline.agent_state_log (agent_id, state, reason, at) VALUES ($1, 'available', '', $2), ($1, 'paused', 'break', $3),
		($1, 'offline', '', $4)`, agent, at("2026-12-05T15:00:00Z"), at("2026-12-05T17:00:00Z"), at("2026-12-06T10:00:00Z"))

	dec := func(d int) time.Time { return time.Date(2026, 12, d, 0, 0, 0, 0, cst) }
	check := func(when string) {
		t.Helper()
		rows, err := postgres.QueueReport(ctx, db, postgres.ReportQuery{From: dec(5), To: dec(7), Bucket: postgres.BucketDay})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int{}
		for _, r := range rows {
			got[r.Bucket.In(cst).Format(time.DateOnly)] += r.Offered
		}
		if got["2026-12-05"] != 2 || got["2026-12-06"] != 1 || len(got) != 2 {
			t.Errorf("%s: offered per Foshan day = %v, want 2026-12-05: 2, 2026-12-06: 1", when, got)
		}
		agents, err := postgres.AgentReport(ctx, db, postgres.ReportQuery{From: dec(6), To: dec(7)})
		if err != nil {
			t.Fatal(err)
		}
		if len(agents) != 1 || agents[0].States["available"] != 3600 || agents[0].States["paused"] != 17*3600 {
			t.Errorf("%s: 6 December's state times = %+v, want available 3600 s (16:00–17:00 UTC), paused 61200 s", when, agents)
		}
		funnel, err := postgres.IVRFunnel(ctx, db, postgres.ReportQuery{From: dec(6), To: dec(7)})
		if err != nil {
			t.Fatal(err)
		}
		if len(funnel) != 1 || funnel[0].Entered != 1 {
			t.Errorf("%s: 6 December's funnel = %+v, want one call", when, funnel)
		}
	}
	check("from the rows")
	if _, err := postgres.RollUpReports(ctx, db); err != nil {
		t.Fatal(err)
	}
	check("from the roll-ups")

	wb, err := postgres.LoadWallboard(ctx, db, at("2026-12-05T21:00:00Z"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !wb.Day.Equal(dec(6)) || len(wb.Queues) != 1 || wb.Queues[0].Offered != 1 {
		t.Errorf("wallboard at 05:00 on 6 December in Foshan: day %v, queues %+v; want 6 December with one call", wb.Day, wb.Queues)
	}
}
