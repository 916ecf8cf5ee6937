package seed_test

import (
	"context"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/postgres/pgtest"
	"github.com/foshan-hotline/hotline/postgres/seed"
)

func TestHistory(t *testing.T) {
	db := pgtest.DB(t)
	db.MustExec(`INSERT INTO hotline.skills (id, name) VALUES ('ss', '社保'), ('hf', '公积金')`)
	db.MustExec(`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('ss', '社保', 'ss'), ('hf', '公积金', 'hf')`)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	if err := seed.History(context.Background(), db, seed.HistoryOptions{Days: 3, CallsPerDay: 200, Agents: 7, Now: now, Seed: 0.25}); err != nil {
		t.Fatal(err)
	}
	count := func(q string) int {
		t.Helper()
		var n int
		if err := db.Get(&n, q); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT count(*) FROM hotline.calls`); n != 600 {
		t.Errorf("%d calls, want 600", n)
	}
	if n := count(`SELECT count(*) FROM hotline.agents WHERE endpoint IS NOT NULL`); n != 7 {
		t.Errorf("%d agents, want 7", n)
	}
	// Every call within the three days before now, between 08:00 and 20:00.
	if n := count(`SELECT count(*) FROM hotline.calls WHERE started_at < '2026-11-28 08:00+08' OR started_at >= '2026-12-01'
		OR extract(hour FROM started_at AT TIME ZONE 'Asia/Shanghai') NOT BETWEEN 8 AND 19`); n != 0 {
		t.Errorf("%d calls outside the days' opening hours", n)
	}
	entries := count(`SELECT count(*) FROM hotline.queue_entries`)
	if entries < 300 || entries > 420 {
		t.Errorf("%d of 600 calls asked for an agent, want about 60%%", entries)
	}
	answered := count(`SELECT count(*) FROM hotline.queue_entries WHERE outcome = 'answered'`)
	if a := count(`SELECT count(*) FROM hotline.offers WHERE state = 'accepted'`); a != answered {
		t.Errorf("%d accepted offers for %d answered entries", a, answered)
	}
	if n := count(`SELECT count(*) FROM hotline.agent_state_log`); n != 3*answered {
		t.Errorf("%d state changes, want 3 for each of %d conversations", n, answered)
	}
	if n := count(`SELECT count(*) FROM hotline.calls c JOIN hotline.queue_entries e ON e.call_id = c.id
		WHERE (e.outcome = 'answered') <> (c.outcome = 'agent')`); n != 0 {
		t.Errorf("%d calls whose outcome does not match their queue entry", n)
	}
}
