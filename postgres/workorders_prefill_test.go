package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// The new-order form is prefilled with the call's IVR journey, in the order the caller went.
func TestPrefillWorkOrderJourney(t *testing.T) {
	db := pgtest.DB(t)
	const id = "00000000-0000-4000-8000-0000000000b1"
	start := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	db.MustExec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at) VALUES ($1, 'ast1', 'c1', '13800138000', $2)`, id, start)
	for seq, d := range map[int]string{2: "电费 2026年11月 应缴 356元2角 逾期", 1: "查询电费账单", 3: "按0转人工", 4: ""} {
		db.MustExec(`INSERT INTO hotline.call_steps (call_id, seq, flow, node, kind, entered_at, detail) VALUES ($1, $2, 'bills', 'n', 'menu', $3, $4)`,
			id, seq, start.Add(time.Duration(seq)*time.Second), d)
	}
	p, err := postgres.PrefillWorkOrder(context.Background(), db, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := "查询电费账单 → 电费 2026年11月 应缴 356元2角 逾期 → 按0转人工"; p.JourneySummary != want {
		t.Errorf("journey %q, want %q", p.JourneySummary, want)
	}
}
