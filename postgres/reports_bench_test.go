package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
	"github.com/foshan-hotline/hotline/postgres/seed"
)

// BenchmarkReportsYear times the supervisors' reports over a year of history for 300 agents:
// 2,000 calls a day (730,000 calls, 440,000 queue entries, 1.5 million IVR steps, 1.1 million
// state changes), generated with seed.History. Run it with
// go test ./postgres -run '^$' -bench ReportsYear -benchtime 3x (the history takes a minute).
func BenchmarkReportsYear(b *testing.B) {
	db := pgtest.DB(b)
	ctx := context.Background()
	db.MustExec(`INSERT INTO hotline.skills (id, name) VALUES ('ss', '社保'), ('hf', '公积金'), ('ut', '水电气'), ('gen', '综合')`)
	db.MustExec(`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('ss', '社保', 'ss'), ('hf', '公积金', 'hf'),
		('ut', '水电气', 'ut'), ('gen', '综合', 'gen')`)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, cst)
	start := time.Now()
	if err := seed.History(ctx, db, seed.HistoryOptions{Days: 365, CallsPerDay: 2000, Agents: 300, Now: now, Seed: 0.5}); err != nil {
		b.Fatal(err)
	}
	var calls int
	db.Get(&calls, `SELECT count(*) FROM hotline.calls`)
	b.Logf("history: %d calls in %v", calls, time.Since(start).Round(time.Second))
	year := postgres.ReportQuery{From: now.AddDate(-1, 0, 0), To: now, Bucket: postgres.BucketDay}
	month := postgres.ReportQuery{From: now.AddDate(0, -1, 0), To: now, Bucket: postgres.Bucket15Min}
	for _, r := range []struct {
		name string
		run  func() error
	}{
		{"queues-year-by-day", func() error { _, err := postgres.QueueReport(ctx, db, year); return err }},
		{"queues-year-by-week", func() error {
			q := year
			q.Bucket = postgres.BucketWeek
			_, err := postgres.QueueReport(ctx, db, q)
			return err
		}},
		{"queues-month-by-15min", func() error { _, err := postgres.QueueReport(ctx, db, month); return err }},
		{"agents-year", func() error { _, err := postgres.AgentReport(ctx, db, year); return err }},
		{"ivr-funnel-year", func() error { _, err := postgres.IVRFunnel(ctx, db, year); return err }},
		{"satisfaction-year", func() error { _, err := postgres.Satisfaction(ctx, db, year); return err }},
	} {
		b.Run(r.name, func(b *testing.B) {
			for b.Loop() {
				if err := r.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
