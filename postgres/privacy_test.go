package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// privacyCalls gives the fixture's real-name citizen two calls (one from their registered
// mobile, one from another phone but identified in the IVR) and a stranger one call.
func privacyCalls(t *testing.T, f *fixture) (mine []string, stranger string) {
	t.Helper()
	const call = `INSERT INTO hotline.calls (id, node, channel_id, caller_number, citizen_id, started_at, ended_at, outcome)
		VALUES ($1, 'pbx1', $2, $3, $4, $5, $6, 'self_served')`
	const step = `INSERT INTO hotline.call_steps (call_id, seq, flow, node, kind, entered_at, left_at, exit, input)
		VALUES ($1, $2, 'bills', $3, 'collect', $4, $4, 'ok', $5)`
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i, c := range []struct {
		id, number string
		citizen    any
	}{
		{"11111111-1111-4111-8111-111111111111", "13800138000", nil},
		{"22222222-2222-4222-8222-222222222222", "13312345678", f.real},
		{"33333333-3333-4333-8333-333333333333", "13512340000", nil},
	} {
		at := start.Add(time.Duration(i) * time.Hour)
		f.exec(t, call, c.id, "ch-"+c.id[:4], c.number, c.citizen, at, at.Add(3*time.Minute))
		f.exec(t, step, c.id, 1, "account", at, "******3456")
		f.exec(t, step, c.id, 2, "menu", at, "1")
		if i < 2 {
			mine = append(mine, c.id)
		} else {
			stranger = c.id
		}
	}
	f.exec(t, `INSERT INTO hotline.recordings (call_id, kind, name, node, started_at) VALUES ($1, 'message', 'msg-1', 'pbx1', $2)`, mine[0], start)
	f.exec(t, `INSERT INTO hotline.callbacks (call_id, number, status) VALUES ($1, '13312345678', 'pending')`, mine[1])
	f.exec(t, `INSERT INTO hotline.callbacks (call_id, number, status) VALUES ($1, '13512340000', 'pending')`, stranger)
	f.exec(t, `INSERT INTO hotline.audit_log (action, object_type, object_id, detail) VALUES ('view_citizen', 'citizen', $1, '{"reason": "offered_call"}')`, f.real)
	return mine, stranger
}

func TestPrivacyExportHasEverythingAboutTheCitizen(t *testing.T) {
	f := newFixture(t)
	mine, stranger := privacyCalls(t, f)
	ctx := context.Background()
	exp, err := postgres.ExportPersonalData(ctx, f.db, postgres.PrivacySubject{CitizenID: f.real}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var calls []struct {
		ID     string `json:"id"`
		Number string `json:"caller_number"`
	}
	if err := json.Unmarshal(exp.Sections["calls"], &calls); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0].ID != mine[0] || calls[1].ID != mine[1] {
		t.Errorf("calls = %+v; want both of the citizen's calls (by mobile and by identification)", calls)
	}
	for name, want := range map[string]int{"call_steps": 4, "recordings": 1, "callbacks": 1, "audit_log": 1} {
		var rows []json.RawMessage
		if err := json.Unmarshal(exp.Sections[name], &rows); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rows) != want {
			t.Errorf("%s: %d rows, want %d: %s", name, len(rows), want, exp.Sections[name])
		}
	}
	if strings.Contains(string(mustJSON(t, exp)), stranger) {
		t.Error("the export holds another caller's call")
	}
	var audited int
	if err := f.db.Get(&audited, `SELECT count(*) FROM hotline.audit_log WHERE action = 'privacy_export' AND object_id = $1::text`, f.real); err != nil || audited != 1 {
		t.Errorf("privacy_export audit rows = %d (%v), want 1", audited, err)
	}
}

func TestPrivacyEraseAnonymisesAndKeepsTheRecordOfService(t *testing.T) {
	f := newFixture(t)
	mine, stranger := privacyCalls(t, f)
	ctx := context.Background()
	er, err := postgres.ErasePersonalData(ctx, f.db, postgres.PrivacySubject{CitizenID: f.real}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if er.Calls != 2 || er.Steps != 4 || er.Callbacks != 1 || len(er.Recordings) != 1 || er.Recordings[0].Name != "msg-1" {
		t.Errorf("erasure = %+v; want 2 calls, 4 steps, 1 callback, recording msg-1", er)
	}
	var left int
	f.db.Get(&left, `SELECT count(*) FROM hotline.calls WHERE (caller_number <> '' OR citizen_id IS NOT NULL) AND id = ANY($1::uuid[])`, "{"+strings.Join(mine, ",")+"}")
	if left != 0 {
		t.Errorf("%d of the citizen's calls still name them", left)
	}
	f.db.Get(&left, `SELECT count(*) FROM hotline.call_steps WHERE input IS NOT NULL AND call_id = $1`, stranger)
	if left != 2 {
		t.Errorf("the stranger's steps were touched: %d of 2 inputs left", left)
	}
	var status, number string
	f.db.QueryRow(`SELECT status, number FROM hotline.callbacks WHERE call_id = $1`, mine[1]).Scan(&status, &number)
	if status != "cancelled" || number != "" {
		t.Errorf("the citizen's pending callback: %s %q; want cancelled without its number", status, number)
	}
	// The audit trail stays whole, with the erasure in it.
	rep, err := postgres.VerifyAudit(ctx, f.db, nil)
	if err != nil || rep.Problem != "" {
		t.Errorf("audit chain after erasure: %+v %v", rep, err)
	}
	var detail string
	f.db.Get(&detail, `SELECT detail::text FROM hotline.audit_log WHERE action = 'privacy_erase'`)
	if !strings.Contains(detail, `"calls": 2`) || !strings.Contains(detail, `"*******8000"`) {
		t.Errorf("privacy_erase audit detail = %s", detail)
	}
	// A second export finds nothing left that names them but the audit of who looked.
	exp, err := postgres.ExportPersonalData(ctx, f.db, postgres.PrivacySubject{CitizenID: f.real}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(exp.Sections["calls"]); s != "[]" {
		t.Errorf("calls after erasure = %s", s)
	}
}

func TestPrivacySubjectRequired(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := postgres.ExportPersonalData(ctx, f.db, postgres.PrivacySubject{}, 0); !errors.Is(err, hotline.ErrInvalid) {
		t.Errorf("no subject: %v", err)
	}
	if _, err := postgres.ErasePersonalData(ctx, f.db, postgres.PrivacySubject{CitizenID: 999999}, 0); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("unknown citizen: %v", err)
	}
}

func TestPurgeExpiredCallSteps(t *testing.T) {
	f := newFixture(t)
	privacyCalls(t, f)
	// The calls ended on 1 March 2026; steps are kept 30 days.
	n, err := postgres.PurgeExpired(context.Background(), f.db, postgres.Retention{CallSteps: 30 * 24 * time.Hour},
		time.Date(2026, 3, 31, 10, 30, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	// The first call ended at 10:03 on 1 March, more than 30 days before; the others later.
	if n != 2 {
		t.Errorf("purged %d steps, want the first call's 2", n)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
