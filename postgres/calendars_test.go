package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

func TestCalendarsSeedSaveFollow(t *testing.T) {
	url := pgtest.URL(t)
	db2, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	ctx := context.Background()
	spec := flow.CalendarSpec{Timezone: "Asia/Shanghai", Weekly: map[string][]string{"mon": {"08:30-18:00"}, "tue": {"08:30-18:00"}}}
	seed, err := flow.NewCalendar(spec)
	if err != nil {
		t.Fatal(err)
	}
	a, err := postgres.LoadCalendars(ctx, db2, map[string]*flow.Calendar{"hotline": seed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Another instance, started later: the table is seeded already, the file is not read.
	b, err := postgres.LoadCalendars(ctx, db2, map[string]*flow.Calendar{"other": seed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Live()["other"]; ok || b.Live()["hotline"] == nil {
		t.Fatalf("second load: %v; want the database's calendars only", b.Live())
	}
	followCtx, stop := context.WithCancel(ctx)
	defer stop()
	go b.Follow(followCtx, url)
	time.Sleep(200 * time.Millisecond) // the listener is up

	heldA, heldB := a.Live()["hotline"], b.Live()["hotline"]
	monday := time.Date(2026, 12, 7, 10, 0, 0, 0, cst)
	if !heldA.Open(monday) {
		t.Fatal("an ordinary Monday is closed")
	}
	agent := int64(0)
	db2.Get(&agent, `INSERT INTO hotline.agents (username, display_name, role, password_hash) VALUES ('boss', '班长', 'supervisor', 'x') RETURNING id`)
	next := spec
	next.Holidays = []string{"2026-12-07 临时假日"}
	row, err := a.Save(ctx, "hotline", next, 1, agent)
	if err != nil {
		t.Fatal(err)
	}
	if row.Version != 2 || row.UpdatedBy != "班长" || row.Spec.Holidays[0] != "2026-12-07 临时假日" {
		t.Errorf("saved = %+v", row)
	}
	if heldA.Open(monday) || heldA.WorkingDay(monday) {
		t.Error("this instance's calendar did not take the holiday at once")
	}
	deadline := time.Now().Add(10 * time.Second)
	for heldB.Open(monday) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if heldB.Open(monday) {
		t.Error("the other instance's calendar did not follow")
	}
	var audited int
	db2.Get(&audited, `SELECT count(*) FROM hotline.audit_log WHERE action = 'calendar_change' AND object_id = 'hotline'
		AND detail->'to'->'holidays'->>0 = '2026-12-07 临时假日' AND detail->'from'->'holidays' = 'null'`)
	if audited != 1 {
		t.Errorf("%d audit rows with the change", audited)
	}

	if _, err := a.Save(ctx, "hotline", spec, 1, agent); !errors.Is(err, hotline.ErrConflict) {
		t.Errorf("a stale save: %v", err)
	}
	bad := spec
	bad.Weekly = map[string][]string{"mon": {"18:00-08:30"}}
	if _, err := a.Save(ctx, "hotline", bad, 2, agent); !errors.Is(err, hotline.ErrInvalid) {
		t.Errorf("hours backwards: %v", err)
	}
	if _, err := a.Save(ctx, "nope", spec, 1, agent); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("unknown calendar: %v", err)
	}
}
