package ivr_test

import (
	"context"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// A call is answered and served while the call log's tables are locked (a hung database):
// the start record and the steps wait in the log, not the caller, and are all written once
// the database answers again. The store timeout is an hour, so a call that waited for its
// record would never be answered within the test.
func TestCallIsServedWhileTheCallLogHangs(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()
	calls := postgres.NewCallLog(db, nil, postgres.CallLogOptions{SpoolDir: t.TempDir()})
	defer calls.Close(ctx)
	lock, err := db.BeginTxx(ctx, nil)
	must(t, err)
	defer lock.Rollback()
	_, err = lock.Exec(`LOCK TABLE hotline.calls, hotline.call_steps IN ACCESS EXCLUSIVE MODE`)
	must(t, err)

	cfg := shipped(t)
	rec, svc := newMemRecorder(), &fakeServices{}
	cfg.Sources, cfg.Services = &fakeSources{LookupFunc: billData}, svc
	cfg.Recorder = calls
	cfg.StoreTimeout = time.Hour
	r := startRigWith(t, cfg, rec, svc)
	c, cctx := r.call(t, "13800138000")
	must(t, c.Expect(cctx, "common/welcome", "common/recording_notice", "common/language_choice"))
	must(t, c.Press(cctx, "1", 0))
	must(t, c.Expect(cctx, "main/menu"))
	must(t, c.Hangup())
	must(t, c.WaitEnd(cctx))
	r.h.Engine.Wait()

	must(t, lock.Rollback())
	flush, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	must(t, calls.Flush(flush))
	var n struct {
		Calls int `db:"calls"`
		Ended int `db:"ended"`
		Steps int `db:"steps"`
	}
	must(t, db.Get(&n, `SELECT (SELECT count(*) FROM hotline.calls) AS calls,
		(SELECT count(*) FROM hotline.calls WHERE ended_at IS NOT NULL) AS ended,
		(SELECT count(*) FROM hotline.call_steps) AS steps`))
	if n.Calls != 1 || n.Ended != 1 || n.Steps < 2 {
		t.Errorf("written %+v, want the call ended with its steps", n)
	}
	if st := calls.Stats(); st.Failed != 0 {
		t.Errorf("call log stats = %+v", st)
	}
}
