package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
	"github.com/lib/pq"
)

// A restarted controller takes over a channel whose call the dead process left open: the new
// call is recorded with its steps, and the old row is closed as node_lost and counted.
func TestCallLogRecordsACallOnATakenOverChannel(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()
	l, out := newCallLog(t, db, manual)
	old := startCall(t, l, "chan-1")
	must(t, l.Step(ctx, entry(old, 1, "welcome")))
	must(t, l.Flush(ctx))

	adopted := newUUID()
	must(t, l.StartCall(ctx, hotline.CallRecord{ID: adopted, Node: "ast1", ChannelID: "chan-1",
		CallerNumber: "13800138000", StartedAt: t0.Add(time.Minute), Instance: "a"}))
	must(t, l.Step(ctx, entry(adopted, 1, "sorry")))
	must(t, l.EndCall(ctx, hotline.CallEnd{CallID: adopted, EndedAt: t0.Add(2 * time.Minute), Outcome: hotline.OutcomeHangup}))
	must(t, l.Flush(ctx))

	var rows []struct {
		ID      string     `db:"id"`
		Outcome *string    `db:"outcome"`
		Ended   *time.Time `db:"ended_at"`
	}
	must(t, db.Select(&rows, `SELECT id, outcome, ended_at FROM hotline.calls WHERE channel_id = 'chan-1' ORDER BY started_at`))
	if len(rows) != 2 || rows[0].ID != old || str(rows[0].Outcome) != hotline.OutcomeNodeLost || rows[0].Ended == nil ||
		rows[1].ID != adopted || str(rows[1].Outcome) != hotline.OutcomeHangup {
		t.Errorf("calls on chan-1 = %+v, want the old one node_lost, the new one hung up", rows)
	}
	if got := steps(t, db, adopted); len(got) != 1 {
		t.Errorf("steps of the new call = %+v", got)
	}
	if st := l.Stats(); st.Orphans != 1 || st.Failed != 0 {
		t.Errorf("stats = %+v, want 1 orphan closed, none failed\n%s", st, out)
	}
}

// AwaitStart returns once the start is written, so a service writing a row that refers to the
// call finds it.
func TestCallLogAwaitStart(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()
	l, _ := newCallLog(t, db, manual) // written only on a flush or a full batch
	id := newUUID()
	must(t, l.StartCall(ctx, hotline.CallRecord{ID: id, Node: "ast1", ChannelID: "chan-1", CallerNumber: "1", StartedAt: t0}))
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := l.AwaitStart(short, id); err == nil {
		t.Fatal("AwaitStart returned before the start was written")
	}
	go l.Flush(ctx)
	must(t, l.AwaitStart(ctx, id))
	var n int
	must(t, db.Get(&n, `SELECT count(*) FROM hotline.calls WHERE id = $1`, id))
	if n != 1 {
		t.Errorf("%d rows after AwaitStart", n)
	}
	must(t, l.AwaitStart(ctx, newUUID())) // not waiting for a start
}

// The open call rows of an instance whose heartbeat stopped are closed by the one that looks,
// even when the dead instance held nothing else.
func TestReleaseDeadClosesItsCalls(t *testing.T) {
	ctx := context.Background()
	f := newACDFixture(t)
	b := postgres.NewACD(f.store, "b")
	must(t, b.Start(ctx))
	now := f.clock.Now()
	f.exec(t, `INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, instance_id, ended_at, outcome)
		VALUES ('00000000-0000-4000-8000-000000000001', 'ast1', 'c1', '1', $1, 'b', NULL, NULL),
		       ('00000000-0000-4000-8000-000000000002', 'ast1', 'c2', '1', $1, 'a', NULL, NULL),
		       ('00000000-0000-4000-8000-000000000003', 'ast1', 'c3', '1', $1, 'b', $1, 'hangup')`, now)
	f.clock.Advance(31 * time.Second)
	must(t, f.acd.Heartbeat(ctx))
	_, err := f.acd.ReleaseDead(ctx, 30*time.Second)
	must(t, err)
	var got []string
	must(t, f.db.Select(&got, `SELECT channel_id || ':' || COALESCE(outcome, 'open') FROM hotline.calls ORDER BY channel_id`))
	if want := []string{"c1:node_lost", "c2:open", "c3:hangup"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("calls = %v, want %v", got, want)
	}
}

// Closing the calls left open on the channels of new calls looks each channel up in the index
// of open channels rather than reading every open call: it runs for every batch of call
// starts, while thousands of calls are in progress.
func TestCallCloseLooksChannelsUp(t *testing.T) {
	db := pgtest.DB(t)
	// The statistics were taken at a quiet hour, the calls in progress came after: the
	// planner believes almost none are open.
	db.MustExec(`ALTER TABLE hotline.calls SET (autovacuum_enabled = off)`)
	db.MustExec(`
		INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, ended_at, outcome)
		SELECT gen_random_uuid(), 'ast1', 'old-' || i, '13800138000', now(), now(), 'hangup'
		FROM generate_series(1, 20000) AS i`)
	db.MustExec(`ANALYZE hotline.calls`)
	db.MustExec(`
		INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at)
		SELECT gen_random_uuid(), 'ast1', 'chan-' || i, '13800138000', now() FROM generate_series(1, 3000) AS i`)
	var plan string
	must(t, db.Get(&plan, `EXPLAIN (FORMAT JSON) `+postgres.CallCloseQuery,
		pq.Array([]string{newUUID(), newUUID()}), pq.Array([]string{"ast1", "ast1"}),
		pq.Array([]string{"chan-7", "chan-new"}), pq.Array([]string{"2026-12-01T08:00:00Z", "2026-12-01T08:00:00Z"})))
	var scans []map[string]any
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		if n["Index Name"] == "calls_open_channel" {
			scans = append(scans, n)
		}
		plans, _ := n["Plans"].([]any)
		for _, c := range plans {
			walk(c.(map[string]any))
		}
	}
	var top []struct{ Plan map[string]any }
	must(t, json.Unmarshal([]byte(plan), &top))
	walk(top[0].Plan)
	if len(scans) != 1 || scans[0]["Index Cond"] == nil {
		t.Errorf("the open call on each channel is not looked up by its channel:\n%s", plan)
	}
}
