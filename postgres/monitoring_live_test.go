package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// TestLiveMonitoringSessions: the sessions an instance lists as live from the database are
// those not ended on calls in progress of another live instance, ringing until the owner
// records the answer, in the mode last asked for.
func TestLiveMonitoringSessions(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	now := time.Now()
	var sup, agent int64
	must(t, db.Get(&sup, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
		VALUES ('boss', '班长', 'supervisor', 'x', 'PJSIP/1100') RETURNING id`))
	must(t, db.Get(&agent, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
		VALUES ('agent01', '坐席', 'agent', 'x', 'PJSIP/1001') RETURNING id`))
	_, err := db.Exec(`INSERT INTO hotline.instances (id, heartbeat_at) VALUES ('a', $1), ('b', $1), ('dead', $2)`, now, now.Add(-time.Hour))
	must(t, err)
	call := func(id, instance string, ended bool) string {
		t.Helper()
		_, err := db.Exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, instance_id, ended_at)
			VALUES ($1::uuid, 'ast1', $1::text, '13800138000', $2, NULLIF($3, ''), CASE WHEN $4 THEN $2::timestamptz END)`, id, now, instance, ended)
		must(t, err)
		return id
	}
	session := func(callID string) int64 {
		t.Helper()
		id, err := postgres.StartMonitoring(ctx, db, now, sup, agent, callID, "PJSIP/1100", "listen", "")
		must(t, err)
		return id
	}
	live := session(call("00000000-0000-0000-0000-0000000000a1", "a", false))
	session(call("00000000-0000-0000-0000-0000000000a2", "a", true))     // the call has ended
	session(call("00000000-0000-0000-0000-0000000000d1", "dead", false)) // its instance died
	session(call("00000000-0000-0000-0000-0000000000b1", "b", false))    // the asking instance's own
	session(call("00000000-0000-0000-0000-0000000000f1", "", false))     // no instance's
	stopped := session(call("00000000-0000-0000-0000-0000000000a3", "a", false))
	must(t, postgres.EndMonitoring(ctx, db, stopped, time.Time{}, now, nil, "stopped"))

	got, err := postgres.LiveMonitoringSessions(ctx, db, now.Add(-30*time.Second), "b")
	must(t, err)
	if len(got) != 1 || got[0].ID != live || got[0].Mode != "listen" || got[0].State() != "ringing" || got[0].AgentID != agent {
		t.Fatalf("live = %+v, want session %d ringing in listen", got, live)
	}
	must(t, postgres.MonitoringAnswered(ctx, db, live, now.Add(time.Second)))
	must(t, postgres.AuditMonitoringMode(ctx, db, now.Add(2*time.Second), sup, live, "barge", ""))
	got, err = postgres.LiveMonitoringSessions(ctx, db, now.Add(-30*time.Second), "b")
	must(t, err)
	if len(got) != 1 || got[0].Mode != "barge" || got[0].State() != "active" {
		t.Errorf("live = %+v, want session %d active in barge", got, live)
	}
	// The end writes the answer as the engine saw it; a late MonitoringAnswered changes nothing.
	must(t, postgres.EndMonitoring(ctx, db, live, now.Add(time.Second), now.Add(time.Minute), nil, "stopped"))
	must(t, postgres.MonitoringAnswered(ctx, db, live, now.Add(time.Hour)))
	rows, err := postgres.MonitoringSessions(ctx, db, live, 1)
	must(t, err)
	if !rows[0].Ended || rows[0].Seconds != 59 {
		t.Errorf("the ended session %+v, want 59 s listened", rows[0])
	}
	if _, err := postgres.MonitoringSessions(ctx, db, live+100, 1); err == nil {
		t.Errorf("an unknown session: no error")
	} else if !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("an unknown session: %v", err)
	}
}
