package postgres_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// deskFixture is a database with three desk users and Sessions on a settable clock.
type deskFixture struct {
	db       *sqlx.DB
	url      string
	clock    *testClock
	sessions *postgres.Sessions
	agent    int64 // agent01, password "agent-pw"
	retired  int64 // inactive, password "retired-pw"
}

func newDeskFixture(t *testing.T, o postgres.SessionOptions) *deskFixture {
	t.Helper()
	f := &deskFixture{url: pgtest.URL(t), clock: &testClock{t: time.Date(2026, 3, 10, 9, 0, 0, 0, time.Local)}}
	db, err := sqlx.Open("postgres", f.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f.db = db
	f.agent = insertDeskUser(t, db, "agent01", "陈小燕", "agent", "PJSIP/1001", "agent-pw", true)
	f.retired = insertDeskUser(t, db, "retired", "王退休", "agent", "", "retired-pw", false)
	o.Now = f.clock.Now
	o.PasswordCost = bcrypt.MinCost
	f.sessions, err = postgres.NewSessions(db, o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func insertDeskUser(t *testing.T, db *sqlx.DB, username, name, role, endpoint, password string, active bool) int64 {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	err = db.Get(&id, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint, active)
		VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6) RETURNING id`, username, name, role, string(h), endpoint, active)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func (f *deskFixture) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := f.db.Get(&n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestSessionAuthenticate(t *testing.T) {
	f := newDeskFixture(t, postgres.SessionOptions{})
	ctx := t.Context()
	for _, tc := range []struct {
		name, username, password string
		wantID                   int64
		wantErr                  error
	}{
		{"right password", "agent01", "agent-pw", f.agent, nil},
		{"typed with capitals and spaces", " Agent01 ", "agent-pw", f.agent, nil},
		{"wrong password", "agent01", "agent-PW", 0, hotline.ErrUnauthorized},
		{"empty password", "agent01", "", 0, hotline.ErrUnauthorized},
		{"unknown user", "nobody", "agent-pw", 0, hotline.ErrUnauthorized},
		{"inactive user with the right password", "retired", "retired-pw", 0, hotline.ErrUnauthorized},
		{"password longer than bcrypt takes", "agent01", string(make([]byte, 100)), 0, hotline.ErrUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := f.sessions.Authenticate(ctx, tc.username, tc.password, "10.0.0.7")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Authenticate: %v, want %v", err, tc.wantErr)
			}
			if got, want := a.ID, tc.wantID; got != want {
				t.Errorf("agent id = %d, want %d", got, want)
			}
			if tc.wantErr == nil && (a.Username != "agent01" || a.Role != hotline.RoleAgent || a.Endpoint != "PJSIP/1001") {
				t.Errorf("agent = %+v", a)
			}
		})
	}
	// Every outcome is audited with the address; no password reaches the log.
	if got, want := f.count(t, `SELECT count(*) FROM hotline.audit_log WHERE action = 'login' AND actor_id = $1
		AND object_id = 'agent01' AND ip = '10.0.0.7'`, f.agent), 2; got != want {
		t.Errorf("%d successful logins audited, want %d", got, want)
	}
	if got, want := f.count(t, `SELECT count(*) FROM hotline.audit_log WHERE action = 'login_failed' AND actor_id IS NULL`), 5; got != want {
		t.Errorf("%d failed logins audited, want %d", got, want)
	}
	if got := f.count(t, `SELECT count(*) FROM hotline.audit_log WHERE detail::text LIKE '%pw%'`); got != 0 {
		t.Errorf("%d audit rows mention a password", got)
	}
}

func TestSessionUserByUsername(t *testing.T) {
	f := newDeskFixture(t, postgres.SessionOptions{})
	a, err := f.sessions.UserByUsername(t.Context(), "AGENT01")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.ID, f.agent; got != want {
		t.Errorf("id = %d, want %d", got, want)
	}
	if _, err := f.sessions.UserByUsername(t.Context(), "nobody"); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("unknown user: %v, want ErrNotFound", err)
	}
}

func TestSessionThrottleByUsername(t *testing.T) {
	f := newDeskFixture(t, postgres.SessionOptions{})
	ctx := t.Context()
	login := func(pw, ip string) error {
		_, err := f.sessions.Authenticate(ctx, "agent01", pw, ip)
		return err
	}
	// A success resets the count: 9 failures, a success, 9 more are not enough.
	for i := 0; i < 9; i++ {
		f.clock.Advance(time.Second)
		if err := login("wrong", "10.0.0.1"); !errors.Is(err, hotline.ErrUnauthorized) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if err := login("agent-pw", "10.0.0.1"); err != nil {
		t.Fatalf("login after 9 failures: %v", err)
	}
	for i := 0; i < 9; i++ {
		f.clock.Advance(time.Second)
		if err := login("wrong", "10.0.0.2"); !errors.Is(err, hotline.ErrUnauthorized) {
			t.Fatalf("failure %d after a success: %v", i+1, err)
		}
	}
	// The 10th failure since the success locks the username, from any address, right
	// password or not.
	f.clock.Advance(time.Minute)
	if err := login("wrong", "10.0.0.3"); !errors.Is(err, hotline.ErrUnauthorized) {
		t.Fatalf("10th failure: %v", err)
	}
	before := f.count(t, `SELECT count(*) FROM hotline.audit_log`)
	err := login("agent-pw", "10.0.0.4")
	var te *postgres.ThrottledError
	if !errors.As(err, &te) || !errors.Is(err, postgres.ErrLoginThrottled) {
		t.Fatalf("login after 10 failures: %v, want a ThrottledError", err)
	}
	if got, want := te.By, "username"; got != want {
		t.Errorf("throttled by %q, want %q", got, want)
	}
	// The first of the 10 failures since the success was 1 min 8 s ago; it ages out of the
	// 15-minute window first.
	if got, want := te.RetryAfter, 15*time.Minute-time.Minute-8*time.Second; got != want {
		t.Errorf("retry after %v, want %v", got, want)
	}
	if got := f.count(t, `SELECT count(*) FROM hotline.audit_log`); got != before {
		t.Errorf("a throttled login wrote %d audit rows", got-before)
	}
	// Another user is not affected.
	if _, err := f.sessions.Authenticate(ctx, "retired", "x", "10.0.0.4"); !errors.Is(err, hotline.ErrUnauthorized) {
		t.Errorf("another username: %v, want ErrUnauthorized", err)
	}
	f.clock.Advance(te.RetryAfter - time.Second)
	if err := login("agent-pw", "10.0.0.4"); !errors.Is(err, postgres.ErrLoginThrottled) {
		t.Fatalf("a second before the retry time: %v", err)
	}
	f.clock.Advance(time.Second)
	if err := login("agent-pw", "10.0.0.4"); err != nil {
		t.Fatalf("at the retry time: %v", err)
	}
}

func TestSessionThrottleByIP(t *testing.T) {
	f := newDeskFixture(t, postgres.SessionOptions{MaxFailuresPerIP: 3})
	ctx := t.Context()
	for _, u := range []string{"a1", "b2", "c3"} {
		f.clock.Advance(time.Second)
		if _, err := f.sessions.Authenticate(ctx, u, "guess", "192.0.2.9"); !errors.Is(err, hotline.ErrUnauthorized) {
			t.Fatalf("%s: %v", u, err)
		}
	}
	_, err := f.sessions.Authenticate(ctx, "agent01", "agent-pw", "192.0.2.9")
	var te *postgres.ThrottledError
	if !errors.As(err, &te) || te.By != "ip" {
		t.Fatalf("from the guessing address: %v, want throttled by ip", err)
	}
	if got, want := te.RetryAfter, 15*time.Minute-2*time.Second; got != want {
		t.Errorf("retry after %v, want %v", got, want)
	}
	if _, err := f.sessions.Authenticate(ctx, "agent01", "agent-pw", "192.0.2.10"); err != nil {
		t.Errorf("from another address: %v", err)
	}
	// A client without a known address is throttled by username only.
	if _, err := f.sessions.Authenticate(ctx, "agent01", "agent-pw", ""); err != nil {
		t.Errorf("without an address: %v", err)
	}
}

func TestSessionLifecycle(t *testing.T) {
	f := newDeskFixture(t, postgres.SessionOptions{})
	ctx := t.Context()
	token, s, err := f.sessions.CreateSession(ctx, f.agent, "Mozilla/5.0", "10.0.0.7")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256([]byte(token))
	if got, want := s.ID, hex.EncodeToString(h[:]); got != want {
		t.Errorf("session id = %s, want the hex of the token's SHA-256", got)
	}
	if s.Agent.ID != f.agent || s.Agent.Username != "agent01" || s.IP != "10.0.0.7" || s.UserAgent != "Mozilla/5.0" {
		t.Errorf("session = %+v", s)
	}
	if len(s.CSRFToken) < 40 || s.CSRFToken == token {
		t.Errorf("CSRF token %q: want a separate random token", s.CSRFToken)
	}
	if got, want := s.ExpiresAt, f.clock.Now().Add(12*time.Hour); !got.Equal(want) {
		t.Errorf("expires at %v, want %v", got, want)
	}
	// Only the hash is stored.
	if got := f.count(t, `SELECT count(*) FROM hotline.sessions WHERE token_hash = $1`, h[:]); got != 1 {
		t.Errorf("%d sessions stored by the token's hash, want 1", got)
	}
	if got := f.count(t, `SELECT count(*) FROM hotline.sessions s
		WHERE strpos(s::text, $1) > 0 OR strpos(encode(s.token_hash, 'escape'), $1) > 0`, token); got != 0 {
		t.Errorf("the token itself is stored in %d rows", got)
	}

	// Each use restarts the idle timeout…
	for i := 0; i < 3; i++ {
		f.clock.Advance(29 * time.Minute)
		got, err := f.sessions.Session(ctx, token)
		if err != nil {
			t.Fatalf("use %d after 29 min: %v", i+1, err)
		}
		if got.ID != s.ID || got.CSRFToken != s.CSRFToken || !got.LastSeenAt.Equal(f.clock.Now()) {
			t.Errorf("use %d: session = %+v", i+1, got)
		}
	}
	// …and 30 minutes without one end the session, which is then deleted.
	f.clock.Advance(30 * time.Minute)
	if _, err := f.sessions.Session(ctx, token); !errors.Is(err, hotline.ErrUnauthorized) {
		t.Fatalf("after 30 idle minutes: %v, want ErrUnauthorized", err)
	}
	if got := f.count(t, `SELECT count(*) FROM hotline.sessions`); got != 0 {
		t.Errorf("%d sessions left after the idle timeout", got)
	}
	for _, bad := range []string{"", "short", token + "x", token[:len(token)-1] + "A"} {
		if _, err := f.sessions.Session(ctx, bad); !errors.Is(err, hotline.ErrUnauthorized) {
			t.Errorf("token %q: %v, want ErrUnauthorized", bad, err)
		}
	}
}

func TestSessionAbsoluteTimeout(t *testing.T) {
	f := newDeskFixture(t, postgres.SessionOptions{})
	ctx := t.Context()
	token, _, err := f.sessions.CreateSession(ctx, f.agent, "", "")
	if err != nil {
		t.Fatal(err)
	}
	for elapsed := 20 * time.Minute; elapsed < 12*time.Hour; elapsed += 20 * time.Minute {
		f.clock.Advance(20 * time.Minute)
		if _, err := f.sessions.Session(ctx, token); err != nil {
			t.Fatalf("after %v: %v", elapsed, err)
		}
	}
	f.clock.Advance(20 * time.Minute)
	if _, err := f.sessions.Session(ctx, token); !errors.Is(err, hotline.ErrUnauthorized) {
		t.Fatalf("after 12 h: %v, want ErrUnauthorized", err)
	}
}

func TestSessionOfInactiveUser(t *testing.T) {
	f := newDeskFixture(t, postgres.SessionOptions{})
	ctx := t.Context()
	token, _, err := f.sessions.CreateSession(ctx, f.agent, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Exec(`UPDATE hotline.agents SET active = false WHERE id = $1`, f.agent); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sessions.Session(ctx, token); !errors.Is(err, hotline.ErrUnauthorized) {
		t.Fatalf("session of a deactivated user: %v, want ErrUnauthorized", err)
	}
	if _, _, err := f.sessions.CreateSession(ctx, 999999, "", ""); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("session of an unknown user: %v, want ErrNotFound", err)
	}
}

func TestSessionDelete(t *testing.T) {
	f := newDeskFixture(t, postgres.SessionOptions{})
	ctx := t.Context()
	notes := listen(t, f.url, "hotline_agent")

	tokens := make([]string, 3)
	ids := make([]string, 3)
	for i := range tokens {
		f.clock.Advance(time.Second)
		tok, s, err := f.sessions.CreateSession(ctx, f.agent, "", "")
		if err != nil {
			t.Fatal(err)
		}
		tokens[i], ids[i] = tok, s.ID
	}
	agent02 := insertDeskUser(t, f.db, "agent02", "李志明", "agent", "PJSIP/1002", "pw2", true)
	other, _, err := f.sessions.CreateSession(ctx, agent02, "", "")
	if err != nil {
		t.Fatal(err)
	}

	if err := f.sessions.DeleteSession(ctx, ids[0], "10.0.0.7"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sessions.Session(ctx, tokens[0]); !errors.Is(err, hotline.ErrUnauthorized) {
		t.Errorf("deleted session: %v, want ErrUnauthorized", err)
	}
	wantNotify(t, notes, f.agent)
	if got := f.count(t, `SELECT count(*) FROM hotline.audit_log WHERE action = 'logout' AND actor_id = $1`, f.agent); got != 1 {
		t.Errorf("%d logouts audited, want 1", got)
	}
	if err := f.sessions.DeleteSession(ctx, ids[0], ""); err != nil {
		t.Errorf("deleting a deleted session: %v", err)
	}
	if err := f.sessions.DeleteSession(ctx, "not hex", ""); !errors.Is(err, hotline.ErrInvalid) {
		t.Errorf("malformed id: %v, want ErrInvalid", err)
	}

	live, err := f.sessions.SessionsOf(ctx, f.agent)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 2 || live[0].ID != ids[1] || live[1].ID != ids[2] || live[0].Agent.ID != f.agent {
		t.Errorf("live sessions = %+v, want %v oldest first", live, ids[1:])
	}

	// A new login keeps its own session and ends the others.
	gone, err := f.sessions.DeleteSessionsOf(ctx, f.agent, ids[2])
	if err != nil {
		t.Fatal(err)
	}
	if len(gone) != 1 || gone[0] != ids[1] {
		t.Errorf("deleted %v, want [%s]", gone, ids[1])
	}
	wantNotify(t, notes, f.agent)
	if _, err := f.sessions.Session(ctx, tokens[1]); !errors.Is(err, hotline.ErrUnauthorized) {
		t.Errorf("session deleted with its user's: %v", err)
	}
	for _, tok := range []string{tokens[2], other} {
		if _, err := f.sessions.Session(ctx, tok); err != nil {
			t.Errorf("a session kept: %v", err)
		}
	}
	if gone, err := f.sessions.DeleteSessionsOf(ctx, f.agent, ""); err != nil || len(gone) != 1 || gone[0] != ids[2] {
		t.Errorf("deleting all: %v, %v; want [%s]", gone, err, ids[2])
	}
	if gone, err := f.sessions.DeleteSessionsOf(ctx, f.agent, ""); err != nil || len(gone) != 0 {
		t.Errorf("deleting none: %v, %v", gone, err)
	}
	if _, err := f.sessions.DeleteSessionsOf(ctx, f.agent, "xyz"); !errors.Is(err, hotline.ErrInvalid) {
		t.Errorf("malformed id to keep: %v, want ErrInvalid", err)
	}
}

func TestSessionUserByIDAndAudit(t *testing.T) {
	f := newDeskFixture(t, postgres.SessionOptions{})
	ctx := t.Context()
	a, err := f.sessions.UserByID(ctx, f.retired)
	if err != nil {
		t.Fatal(err)
	}
	if a.Username != "retired" || a.Active || a.Endpoint != "" {
		t.Errorf("user = %+v", a)
	}
	if _, err := f.sessions.UserByID(ctx, 424242); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("unknown id: %v, want ErrNotFound", err)
	}
	if err := f.sessions.Audit(ctx, f.agent, "forced_logout", "retired", "not an address"); err != nil {
		t.Fatal(err)
	}
	if got := f.count(t, `SELECT count(*) FROM hotline.audit_log WHERE actor_id = $1 AND action = 'forced_logout'
		AND object_type = 'desk_user' AND object_id = 'retired' AND ip IS NULL`, f.agent); got != 1 {
		t.Errorf("%d audit rows, want 1", got)
	}
}

func TestSessionTouchAndPurge(t *testing.T) {
	f := newDeskFixture(t, postgres.SessionOptions{})
	ctx := t.Context()
	var ids []string
	for i := 0; i < 3; i++ {
		_, s, err := f.sessions.CreateSession(ctx, f.agent, "", "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	f.clock.Advance(20 * time.Minute)
	alive, err := f.sessions.TouchSessions(ctx, ids[:2])
	if err != nil {
		t.Fatal(err)
	}
	if len(alive) != 2 {
		t.Fatalf("alive = %v, want the two touched", alive)
	}
	// 20 more minutes: the third session has been idle for 40, the others for 20.
	f.clock.Advance(20 * time.Minute)
	alive, err = f.sessions.TouchSessions(ctx, append(ids, "zz", ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(alive) != 2 || alive[0] == ids[2] || alive[1] == ids[2] {
		t.Errorf("alive = %v, want the first two of %v", alive, ids)
	}
	// The idle session's user still has two: nobody to log out of the ACD.
	left, err := f.sessions.PurgeSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("users left without a session: %v, want none", left)
	}
	if got := f.count(t, `SELECT count(*) FROM hotline.sessions`); got != 2 {
		t.Errorf("%d sessions after the purge, want 2", got)
	}
	f.clock.Advance(12 * time.Hour)
	left, err = f.sessions.PurgeSessions(ctx)
	if err != nil || len(left) != 1 || left[0] != f.agent {
		t.Errorf("after 12 h: users left without a session %v, %v; want [%d]", left, err, f.agent)
	}
	if got := f.count(t, `SELECT count(*) FROM hotline.sessions`); got != 0 {
		t.Errorf("%d sessions after 12 h, want 0", got)
	}
}

// listen returns the notifications of channel on the database at url.
func listen(t *testing.T, url, channel string) <-chan *pq.Notification {
	t.Helper()
	l := pq.NewListener(url, 10*time.Millisecond, time.Second, nil)
	t.Cleanup(func() { l.Close() })
	if err := l.Listen(channel); err != nil {
		t.Fatal(err)
	}
	return l.Notify
}

func wantNotify(t *testing.T, notes <-chan *pq.Notification, agentID int64) {
	t.Helper()
	select {
	case n := <-notes:
		if n == nil || n.Extra != strconv.FormatInt(agentID, 10) {
			t.Errorf("notification %+v, want payload %d", n, agentID)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("no notification for agent %d", agentID)
	}
}

// TestLiveSessions checks that LiveSessions tells the live sessions as TouchSessions does but
// does not mark them seen: checking keeps no session alive.
func TestLiveSessions(t *testing.T) {
	f := newDeskFixture(t, postgres.SessionOptions{IdleTimeout: 30 * time.Minute})
	ctx := t.Context()
	var ids []string
	for range 3 {
		_, s, err := f.sessions.CreateSession(ctx, f.agent, "", "")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	f.clock.Advance(20 * time.Minute)
	if _, err := f.sessions.TouchSessions(ctx, ids[:1]); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(9 * time.Minute)
	alive, err := f.sessions.LiveSessions(ctx, append(ids, "zz", ""))
	if err != nil {
		t.Fatal(err)
	}
	if len(alive) != 3 {
		t.Fatalf("alive after 29 minutes = %v, want all of %v", alive, ids)
	}
	// 2 more minutes: idle for 31 minutes but for the one touched 11 minutes ago; the check
	// before kept none alive.
	f.clock.Advance(2 * time.Minute)
	alive, err = f.sessions.LiveSessions(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(alive) != 1 || alive[0] != ids[0] {
		t.Errorf("alive after 31 minutes = %v, want only %s", alive, ids[0])
	}
	if _, err := f.db.Exec(`UPDATE hotline.agents SET active = false WHERE id = $1`, f.agent); err != nil {
		t.Fatal(err)
	}
	if alive, err := f.sessions.LiveSessions(ctx, ids); err != nil || len(alive) != 0 {
		t.Errorf("sessions of a disabled user: %v, %v; want none", alive, err)
	}
}
