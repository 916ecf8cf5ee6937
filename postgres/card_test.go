package postgres_test

import (
	"context"
	"testing"

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
