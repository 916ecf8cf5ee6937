package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/foshan-hotline/hotline/postgres"

	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

func TestCallLogWritesAStepsDetail(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()
	l, _ := newCallLog(t, db, manual)
	call := startCall(t, l, "chan-detail")
	must(t, l.Step(ctx, entry(call, 1, "bill")))
	must(t, l.Flush(ctx))
	ex := exit(call, 1, "bill", "ok", "")
	ex.Detail = "电费 2026年11月 应缴 356元2角 逾期"
	must(t, l.Step(ctx, ex))
	// A later record without a detail keeps the one written.
	must(t, l.Step(ctx, exit(call, 1, "bill", "ok", "")))
	must(t, l.Flush(ctx))
	var detail *string
	if err := db.Get(&detail, `SELECT detail FROM hotline.call_steps WHERE call_id = $1 AND seq = 1`, call); err != nil {
		t.Fatal(err)
	}
	if str(detail) != "电费 2026年11月 应缴 356元2角 逾期" {
		t.Errorf("detail = %q", str(detail))
	}
}

// TestCardNamesATransfersTarget: the next agent reads where a colleague sent the caller in
// words — the colleague's name, the queue's name — never an internal id.
func TestCardNamesATransfersTarget(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.exec(t, `INSERT INTO hotline.skills (id, name) VALUES ('insurance', '社保')`)
	f.exec(t, `INSERT INTO hotline.queues (id, name, skill_id) VALUES ('insurance', '社会保障', 'insurance')`)
	li := f.id64(t, `INSERT INTO hotline.agents (username, display_name, role, password_hash) VALUES ('li', '李晓敏', 'agent', 'x') RETURNING id`)
	l, _ := newCallLog(t, f.db, manual)
	call := startCall(t, l, "chan-card-transfer")
	step := func(seq int, node, input string) {
		s := exit(call, seq, node, "agent:1", input)
		s.Flow, s.Kind = "desk", "control"
		must(t, l.Step(ctx, s))
	}
	step(1, "transfer", fmt.Sprintf("agent:%d", li))
	step(2, "transfer", "insurance")
	step(3, "transfer", "survey")
	must(t, l.Flush(ctx))

	card, err := postgres.LoadCard(ctx, f.db, t0, call, li, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range card.Journey.Steps {
		got = append(got, s.Input+"|"+s.Detail)
	}
	want := []string{"|转至坐席 李晓敏", "|转至队列 社会保障", "survey|"}
	if !slices.Equal(got, want) {
		t.Errorf("steps (input|detail) = %q, want %q", got, want)
	}
}
