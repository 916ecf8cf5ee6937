package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres"
)

// newServices returns the platform fixture with two queues (general, insurance) and the IVR's
// services on its store.
func newServices(t *testing.T) (*fixture, *postgres.IVRServices) {
	t.Helper()
	f := newFixture(t)
	f.exec(t, `INSERT INTO hotline.skills (id, name) VALUES ('general', '综合'), ('insurance', '社保')`)
	f.exec(t, `INSERT INTO hotline.queues (id, name, skill_id) VALUES ('general', '综合咨询', 'general'),
		('insurance', '社保咨询', 'insurance')`)
	return f, postgres.NewIVRServices(f.store)
}

// call inserts a call started an hour before the fixture's clock and returns its id.
func (f *fixture) call(t *testing.T, caller string) string {
	t.Helper()
	id := newUUID()
	f.exec(t, `INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at) VALUES ($1::uuid, 'ast1', $1::text, $2, $3)`,
		id, caller, f.clock.Now().Add(-time.Hour))
	return id
}

func (f *fixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	return int(f.id64(t, query, args...))
}

func TestIVRServicesVerifyPIN(t *testing.T) {
	f, s := newServices(t)
	ctx := context.Background()
	call := f.call(t, "13800138000")
	f.exec(t, `UPDATE platform.citizens SET status = 'cancelled' WHERE id = $1`, f.bare)
	setPIN(t, f, f.withX, realPIN)
	for _, tc := range []struct {
		name    string
		id, pin string
		want    int64 // citizen; 0 when refused
		err     error
	}{
		{"right PIN", realID, realPIN, f.real, nil},
		{"ordinary user, right PIN, lower-case x", xID[:17] + "x", realPIN, 0, hotline.ErrNotRealName},
		{"wrong PIN", realID, "000000", 0, hotline.ErrPINMismatch},
		{"ordinary user without PIN", ordinaryID, realPIN, 0, hotline.ErrPINMismatch},
		{"unknown", unknownID, realPIN, 0, hotline.ErrPINMismatch},
		{"cancelled account, its PIN", bareID, barePIN, 0, hotline.ErrPINMismatch},
		{"invalid number", realID[:17] + wrongCheck(realID), realPIN, 0, hotline.ErrIDNumber},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := s.VerifyPIN(ctx, call, tc.id, tc.pin)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if got := int64(0); c != nil {
				got = c.ID
				if got != tc.want {
					t.Errorf("citizen %d, want %d", got, tc.want)
				}
			} else if tc.want != 0 {
				t.Errorf("no citizen, want %d", tc.want)
			}
			if err != nil {
				for _, secret := range []string{tc.id, tc.pin} {
					if regexp.MustCompile(regexp.QuoteMeta(secret)).MatchString(err.Error()) {
						t.Errorf("error %q shows a secret", err)
					}
				}
			}
		})
	}
	// Every valid number's attempt is recorded against the call; the invalid one is not.
	if got, want := f.count(t, `SELECT count(*) FROM hotline.pin_attempts WHERE call_id = $1`, call), 6; got != want {
		t.Errorf("%d attempts recorded for the call, want %d", got, want)
	}
	for range postgres.PINMaxFailures - 1 {
		s.VerifyPIN(ctx, call, realID, "000000")
	}
	if _, err := s.VerifyPIN(ctx, call, realID, realPIN); !errors.Is(err, hotline.ErrPINLocked) {
		t.Errorf("after %d failures: err = %v, want ErrPINLocked", postgres.PINMaxFailures, err)
	}
}

// setPIN gives a citizen a PIN (hashed at the fixture's cost).
func setPIN(t *testing.T, f *fixture, citizen int64, pin string) {
	t.Helper()
	h, err := pii.HashPIN(pin, 4)
	if err != nil {
		t.Fatal(err)
	}
	f.exec(t, `UPDATE platform.citizens SET pin_hash = $2 WHERE id = $1`, citizen, h)
}

// TestIVRServicesVerifyPINTellsNothing: until an ID number and its PIN are verified, a caller
// cannot tell an unknown number from an ordinary or a real-name user's (issue 8): the same
// error, one comparison of the same cost, one attempt counted, and the same lock.
func TestIVRServicesVerifyPINTellsNothing(t *testing.T) {
	f, s := newServices(t)
	ctx := context.Background()
	call := f.call(t, "13800138000")
	noPIN := f.citizen(t, "周洁", "13500135000", idNumber("44060119920202123"), hotline.LevelRealName, "440604", "")
	suspended := f.citizen(t, "吴刚", "13400134000", idNumber("44060119930303456"), hotline.LevelRealName, "440604", realPIN)
	f.exec(t, `UPDATE platform.citizens SET status = 'suspended' WHERE id = $1`, suspended)
	setPIN(t, f, f.incons, barePIN) // an ordinary user with a PIN
	var hashes []string
	postgres.SetPINChecker(f.store, func(hash, pin string) bool {
		hashes = append(hashes, hash)
		return pii.CheckPIN(hash, pin)
	})

	for _, tc := range []struct {
		name    string
		id      string
		citizen int64 // 0 for none
	}{
		{"unknown", unknownID, 0},
		{"ordinary without PIN", ordinaryID, f.ordinary},
		{"ordinary with PIN", inconsID, f.incons},
		{"real-name", realID, f.real},
		{"real-name without PIN", idNumber("44060119920202123"), noPIN},
		{"suspended", idNumber("44060119930303456"), suspended},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hashes = nil
			c, err := s.VerifyPIN(ctx, call, tc.id, "000000")
			var perr *postgres.PINError
			if c != nil || !errors.As(err, &perr) || !errors.Is(err, hotline.ErrPINMismatch) ||
				errors.Is(err, hotline.ErrNotFound) || errors.Is(err, hotline.ErrNotRealName) || errors.Is(err, hotline.ErrNoPIN) {
				t.Fatalf("wrong PIN: %v, %v; want a mismatch and nothing else", c, err)
			}
			if got, want := err.Error(), "wrong phone-service PIN (4 tries left)"; got != want {
				t.Errorf("error %q, want %q", got, want)
			}
			if len(hashes) != 1 {
				t.Fatalf("%d PIN comparisons, want 1", len(hashes))
			}
			if cost, err := bcrypt.Cost([]byte(hashes[0])); err != nil || cost != 4 {
				t.Errorf("compared with a hash of cost %d (%v), want the platform's 4", cost, err)
			}
			var rec struct {
				N       int    `db:"n"`
				Citizen *int64 `db:"citizen"`
			}
			must(t, f.db.Get(&rec, `SELECT count(*) AS n, max(citizen_id) AS citizen FROM hotline.pin_attempts
				WHERE id_number_hmac = $1 AND call_id = $2 AND NOT ok`, f.pii.LookupHash(tc.id), call))
			if rec.N != 1 || fmt.Sprint(deref(rec.Citizen)) != fmt.Sprint(deref(ptrOrNil(tc.citizen))) {
				t.Errorf("recorded %d failures against citizen %v, want 1 against %v", rec.N, deref(rec.Citizen), tc.citizen)
			}
		})
	}

	// The ordinary user learns they are not real-name only with the right PIN.
	if _, err := s.VerifyPIN(ctx, call, inconsID, barePIN); !errors.Is(err, hotline.ErrNotRealName) {
		t.Errorf("ordinary user, right PIN: err = %v, want ErrNotRealName", err)
	}

	// An unknown number locks like a registered one, and stays locked for the right PIN too.
	for _, id := range []string{unknownID, realID} {
		for range postgres.PINMaxFailures - 2 {
			s.VerifyPIN(ctx, call, id, "000000")
		}
		_, err := s.VerifyPIN(ctx, call, id, "000000")
		var perr *postgres.PINError
		if !errors.As(err, &perr) || !errors.Is(err, hotline.ErrPINLocked) || !perr.LockedUntil.Equal(f.clock.Now().Add(30*time.Minute)) {
			t.Errorf("fifth wrong PIN: err = %v, want a lock of 30 minutes", err)
		}
	}
	_, errUnknown := s.VerifyPIN(ctx, call, unknownID, realPIN)
	_, errReal := s.VerifyPIN(ctx, call, realID, realPIN)
	if !errors.Is(errUnknown, hotline.ErrPINLocked) || errUnknown.Error() != errReal.Error() {
		t.Errorf("locked: unknown number %v, real-name user's %v; want the same lock", errUnknown, errReal)
	}
}

func ptrOrNil(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func TestIVRServicesRequestCallback(t *testing.T) {
	f, s := newServices(t)
	ctx := context.Background()
	call := f.call(t, "13800138000")
	for _, tc := range []struct {
		name, call, number, queue string
		err                       error
	}{
		{"to a queue", call, "13800138000", "general", nil},
		{"any agent", call, "075583000001", "", nil},
		{"unknown queue", call, "13800138000", "nowhere", hotline.ErrNotFound},
		{"unknown call", newUUID(), "13800138000", "general", hotline.ErrNotFound},
		{"too short", call, "12", "general", postgres.ErrBadInput},
		{"not digits", call, "138-0013-8000", "general", postgres.ErrBadInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.RequestCallback(ctx, tc.call, tc.number, tc.queue)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
		})
	}
	var rows []struct {
		Number string  `db:"number"`
		Queue  *string `db:"queue_id"`
		Status string  `db:"status"`
		At     time.Time
	}
	if err := f.db.Select(&rows, `SELECT number, queue_id, status, requested_at AS at FROM hotline.callbacks
		WHERE call_id = $1 ORDER BY id`, call); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Number != "13800138000" || str(rows[0].Queue) != "general" ||
		rows[1].Queue != nil || rows[0].Status != "pending" || !rows[0].At.Equal(f.clock.Now()) {
		t.Errorf("callbacks = %+v", rows)
	}
}

func TestIVRServicesSaveMessage(t *testing.T) {
	f, s := newServices(t)
	ctx := context.Background()
	known, unknown := f.call(t, "13800138000"), f.call(t, "075583001234")
	number, err := s.SaveMessageNumber(ctx, hotline.Message{CallID: known, CallerNumber: "13800138000", CitizenID: f.real,
		Category: "message", RecordingName: "msg-" + known, Duration: 42300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	must(t, s.SaveMessage(ctx, hotline.Message{CallID: unknown, CallerNumber: "075583001234",
		RecordingName: "msg-" + unknown, Duration: time.Second}))

	type order struct {
		ID       int64  `db:"id"`
		Number   string `db:"number"`
		Call     string `db:"call_id"`
		Citizen  *int64 `db:"citizen_id"`
		Caller   string `db:"caller_number"`
		Category string `db:"category"`
		Title    string `db:"title"`
		Status   string `db:"status"`
	}
	var orders []order
	must(t, f.db.Select(&orders, `SELECT id, number, call_id, citizen_id, caller_number, category, title, status
		FROM hotline.work_orders ORDER BY id`))
	if len(orders) != 2 {
		t.Fatalf("%d work orders, want 2", len(orders))
	}
	o := orders[0]
	if o.Number != number || !regexp.MustCompile(`^FS20260310-\d{4}$`).MatchString(o.Number) || orders[1].Number == o.Number {
		t.Errorf("numbers %q, %q (returned %q)", o.Number, orders[1].Number, number)
	}
	if o.Call != known || o.Citizen == nil || *o.Citizen != f.real || o.Caller != "13800138000" || o.Category != "help" ||
		o.Title != "语音留言" || o.Status != "accepted" {
		t.Errorf("work order = %+v", o)
	}
	if o := orders[1]; o.Citizen != nil || o.Title != "语音留言" || o.Category != "help" {
		t.Errorf("unknown caller's work order = %+v", o)
	}

	var rec struct {
		Kind     string `db:"kind"`
		Duration int    `db:"duration_ms"`
		Order    int64  `db:"work_order_id"`
		Call     string `db:"call_id"`
	}
	must(t, f.db.Get(&rec, `SELECT kind, duration_ms, work_order_id, call_id FROM hotline.recordings WHERE name = $1`, "msg-"+known))
	if rec.Kind != "message" || rec.Duration != 42300 || rec.Order != o.ID || rec.Call != known {
		t.Errorf("recording = %+v", rec)
	}
	if got, want := f.count(t, `SELECT count(*) FROM hotline.work_order_events WHERE work_order_id = $1
		AND action = 'create' AND to_status = 'accepted'`, o.ID), 1; got != want {
		t.Errorf("%d created events, want %d", got, want)
	}

	// All or nothing: a recording name already taken leaves no work order behind.
	for _, tc := range []struct {
		name string
		m    hotline.Message
		err  error
	}{
		{"recording taken", hotline.Message{CallID: known, CallerNumber: "13800138000", RecordingName: "msg-" + known}, nil},
		{"unknown call", hotline.Message{CallID: newUUID(), CallerNumber: "13800138000", RecordingName: "x"}, hotline.ErrNotFound},
		{"no recording", hotline.Message{CallID: known, CallerNumber: "13800138000"}, postgres.ErrBadInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.SaveMessage(ctx, tc.m)
			if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
			if got, want := f.count(t, `SELECT count(*) FROM hotline.work_orders`), 2; got != want {
				t.Errorf("%d work orders after a failure, want %d", got, want)
			}
		})
	}
}

func TestIVRServicesSaveSurvey(t *testing.T) {
	f, s := newServices(t)
	ctx := context.Background()
	happy, unhappy := f.call(t, "13800138000"), f.call(t, "13900139000")
	f.exec(t, `INSERT INTO hotline.agents (id, username, display_name, role, password_hash) VALUES (7, 'zhang', '张', 'agent', 'x')`)
	f.exec(t, `UPDATE hotline.calls SET agent_id = 7 WHERE id = $1`, unhappy)

	must(t, s.SaveSurvey(ctx, happy, 1, false))
	must(t, s.SaveSurvey(ctx, unhappy, 5, true))
	must(t, s.SaveSurvey(ctx, unhappy, 4, false)) // answered again: the level changes, the flag stays
	for _, tc := range []struct {
		name     string
		call     string
		score    int
		agent    *int64
		followUp bool
	}{
		{"satisfied", happy, 1, nil, false},
		{"dissatisfied", unhappy, 4, ptr(int64(7)), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got struct {
				Score    int    `db:"score"`
				Agent    *int64 `db:"agent_id"`
				FollowUp bool   `db:"follow_up"`
			}
			must(t, f.db.Get(&got, `SELECT a.score, a.agent_id, c.follow_up FROM hotline.survey_answers a
				JOIN hotline.calls c ON c.id = a.call_id WHERE a.call_id = $1`, tc.call))
			if got.Score != tc.score || got.FollowUp != tc.followUp || fmt.Sprint(deref(got.Agent)) != fmt.Sprint(deref(tc.agent)) {
				t.Errorf("got score %d agent %v follow-up %v, want %+v", got.Score, deref(got.Agent), got.FollowUp, tc)
			}
		})
	}
	for _, tc := range []struct {
		name  string
		call  string
		level int
		err   error
	}{
		{"level 0", happy, 0, postgres.ErrBadInput},
		{"level 6", happy, 6, postgres.ErrBadInput},
		{"unknown call", newUUID(), 3, hotline.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.SaveSurvey(ctx, tc.call, tc.level, true); !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
		})
	}
	if got, want := f.count(t, `SELECT count(*) FROM hotline.calls WHERE follow_up`), 1; got != want {
		t.Errorf("%d calls flagged, want %d", got, want)
	}
}

func ptr[T any](v T) *T { return &v }

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
