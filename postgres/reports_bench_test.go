package postgres_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/postgres"
)

// BenchmarkReportsYear times the supervisors' reports over a year of history for 300 agents —
// 2,000 calls a day (730,000 calls, 440,000 queue entries, 1.5 million IVR steps, 1.1 million
// state changes) — read from the roll-ups with the last two days computed from the rows, and
// for comparison the queues' report computed from the rows alone. It reads a database with
// that history (and brings its roll-ups up to date first):
//
//	hotline seed --citizens 1000 --history-days 365   # with HOTLINE_DATABASE_URL set
//	HOTLINE_BENCH_DATABASE_URL=postgres://... go test -run '^$' -bench ReportsYear -benchtime 1x -count 3 ./postgres
func BenchmarkReportsYear(b *testing.B) {
	url := os.Getenv(benchURLEnv)
	if url == "" {
		b.Fatalf("%s is not set: this benchmark needs a database with a year of call history: "+
			"hotline seed --history-days 365 with HOTLINE_DATABASE_URL set, then %s=<that URL>", benchURLEnv, benchURLEnv)
	}
	ctx := context.Background()
	db, err := postgres.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var end time.Time
	var calls int
	if err := db.QueryRow(`SELECT max(started_at), count(*) FROM hotline.calls`).Scan(&end, &calls); err != nil || calls == 0 {
		b.Fatalf("no call history in %s (%v)", benchURLEnv, err)
	}
	now := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, cst).AddDate(0, 0, 1)
	b.Logf("%d calls, the last on %s", calls, end.In(cst).Format(time.DateOnly))
	// The roll-ups: the first run builds them for the whole history, later runs find little to do.
	start := time.Now()
	r, err := postgres.RollUpReports(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("roll-up: %d days in %v (up to %s)", r.Days, time.Since(start).Round(time.Millisecond), r.Upto.Format(time.DateOnly))
	// The last two days of the history are computed from the rows, as today (and yesterday
	// until 01:00) are in service: marked stale, as a late row would.
	db.MustExec(`INSERT INTO hotline.report_stale (day) VALUES ($1::date), ($2::date)`,
		now.AddDate(0, 0, -1).Format(time.DateOnly), now.AddDate(0, 0, -2).Format(time.DateOnly))
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
		{"work-orders-year", func() error { _, err := postgres.WorkOrderTimeliness(ctx, db, year); return err }},
		{"queues-year-by-day-from-rows", func() error { _, err := postgres.QueueReportDirect(ctx, db, year); return err }},
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
