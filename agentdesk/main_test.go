package agentdesk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// TestMain gives the tests a PostgreSQL server whose template database is migrated; each test
// takes its own copy.
func TestMain(m *testing.M) {
	pgtest.Main(m, postgres.MigrateURL)
}

// fakeStates is the ACD for the API's tests. Each method calls its Func; without one it
// keeps a state per agent the simplest way (login pauses with reason login, logout is
// offline).
type fakeStates struct {
	LoginFunc        func(ctx context.Context, agentID int64, sessionID string) (string, hotline.AgentStatus, error)
	LogoutFunc       func(ctx context.Context, agentID int64, cause string) error
	SetAvailableFunc func(ctx context.Context, agentID int64) (hotline.AgentStatus, error)
	PauseFunc        func(ctx context.Context, agentID int64, reason string) (hotline.AgentStatus, error)
	EndWrapUpFunc    func(ctx context.Context, agentID int64, disposition, notes string) (hotline.AgentStatus, error)
	ExtendWrapUpFunc func(ctx context.Context, agentID int64, d time.Duration) (hotline.AgentStatus, error)
	StatusFunc       func(ctx context.Context, agentID int64) (hotline.AgentStatus, error)

	mu       sync.Mutex
	status   map[int64]hotline.AgentStatus
	sessions map[int64]string
	calls    []string
}

var _ agentdesk.AgentStates = (*fakeStates)(nil)

func newFakeStates() *fakeStates {
	return &fakeStates{status: map[int64]hotline.AgentStatus{}, sessions: map[int64]string{}}
}

func (f *fakeStates) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
}

// funcsOf are the Funcs of a fakeStates, read together under its lock: the hub's reloaders
// call Status while tests change them.
type funcsOf struct {
	Login        func(ctx context.Context, agentID int64, sessionID string) (string, hotline.AgentStatus, error)
	Logout       func(ctx context.Context, agentID int64, cause string) error
	SetAvailable func(ctx context.Context, agentID int64) (hotline.AgentStatus, error)
	Pause        func(ctx context.Context, agentID int64, reason string) (hotline.AgentStatus, error)
	EndWrapUp    func(ctx context.Context, agentID int64, disposition, notes string) (hotline.AgentStatus, error)
	ExtendWrapUp func(ctx context.Context, agentID int64, d time.Duration) (hotline.AgentStatus, error)
	Status       func(ctx context.Context, agentID int64) (hotline.AgentStatus, error)
}

func (f *fakeStates) funcs() funcsOf {
	f.mu.Lock()
	defer f.mu.Unlock()
	return funcsOf{f.LoginFunc, f.LogoutFunc, f.SetAvailableFunc, f.PauseFunc, f.EndWrapUpFunc, f.ExtendWrapUpFunc, f.StatusFunc}
}

// Update changes the Funcs under the lock, for changes while the server runs.
func (f *fakeStates) Update(change func(f *fakeStates)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// Reset forgets the Funcs, the states and the calls.
func (f *fakeStates) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.LoginFunc, f.LogoutFunc, f.SetAvailableFunc, f.PauseFunc = nil, nil, nil, nil
	f.EndWrapUpFunc, f.ExtendWrapUpFunc, f.StatusFunc = nil, nil, nil
	f.status, f.sessions, f.calls = map[int64]hotline.AgentStatus{}, map[int64]string{}, nil
}

// Calls returns the calls made so far and forgets them.
func (f *fakeStates) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.calls
	f.calls = nil
	return c
}

// Set makes the agent's state st, as the ACD would after some event.
func (f *fakeStates) Set(agentID int64, st hotline.AgentStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st.AgentID = agentID
	f.status[agentID] = st
}

func (f *fakeStates) set(agentID int64, state hotline.AgentState, reason string) hotline.AgentStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := hotline.AgentStatus{AgentID: agentID, State: state, Reason: reason, Since: time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)}
	f.status[agentID] = st
	return st
}

func (f *fakeStates) Login(ctx context.Context, agentID int64, sessionID string) (string, hotline.AgentStatus, error) {
	f.record("Login(%d, %s)", agentID, sessionID)
	if fn := f.funcs().Login; fn != nil {
		return fn(ctx, agentID, sessionID)
	}
	f.mu.Lock()
	prev := f.sessions[agentID]
	f.sessions[agentID] = sessionID
	f.mu.Unlock()
	return prev, f.set(agentID, hotline.AgentPaused, "login"), nil
}

func (f *fakeStates) Logout(ctx context.Context, agentID int64, cause string) error {
	f.record("Logout(%d, %s)", agentID, cause)
	if fn := f.funcs().Logout; fn != nil {
		return fn(ctx, agentID, cause)
	}
	f.set(agentID, hotline.AgentOffline, "")
	return nil
}

func (f *fakeStates) SetAvailable(ctx context.Context, agentID int64) (hotline.AgentStatus, error) {
	f.record("SetAvailable(%d)", agentID)
	if fn := f.funcs().SetAvailable; fn != nil {
		return fn(ctx, agentID)
	}
	return f.set(agentID, hotline.AgentAvailable, ""), nil
}

func (f *fakeStates) Pause(ctx context.Context, agentID int64, reason string) (hotline.AgentStatus, error) {
	f.record("Pause(%d, %s)", agentID, reason)
	if fn := f.funcs().Pause; fn != nil {
		return fn(ctx, agentID, reason)
	}
	return f.set(agentID, hotline.AgentPaused, reason), nil
}

func (f *fakeStates) EndWrapUp(ctx context.Context, agentID int64, disposition, notes string) (hotline.AgentStatus, error) {
	f.record("EndWrapUp(%d, %s, %s)", agentID, disposition, notes)
	if fn := f.funcs().EndWrapUp; fn != nil {
		return fn(ctx, agentID, disposition, notes)
	}
	return f.set(agentID, hotline.AgentAvailable, ""), nil
}

func (f *fakeStates) ExtendWrapUp(ctx context.Context, agentID int64, d time.Duration) (hotline.AgentStatus, error) {
	f.record("ExtendWrapUp(%d, %v)", agentID, d)
	if fn := f.funcs().ExtendWrapUp; fn != nil {
		return fn(ctx, agentID, d)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.status[agentID]
	st.WrapUpUntil = st.WrapUpUntil.Add(d)
	f.status[agentID] = st
	return st, nil
}

func (f *fakeStates) Status(ctx context.Context, agentID int64) (hotline.AgentStatus, error) {
	if fn := f.funcs().Status; fn != nil {
		return fn(ctx, agentID)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.status[agentID]
	if !ok {
		return hotline.AgentStatus{AgentID: agentID, State: hotline.AgentOffline}, nil
	}
	return st, nil
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// desk is an agent API on a fresh database with four desk users, served over HTTP, with Run
// going.
type desk struct {
	t      *testing.T
	db     *sqlx.DB
	url    string
	states *fakeStates
	srv    *agentdesk.Server
	web    *httptest.Server
	ids    map[string]int64 // username → id
	logs   *lockedWriter
}

// deskUsers are the test's desk users: username, role, phone. Each one's password is the
// username followed by "-pw".
var deskUsers = []struct {
	username string
	role     hotline.Role
	endpoint string
}{
	{"agent01", hotline.RoleAgent, "PJSIP/1001"},
	{"agent02", hotline.RoleAgent, "PJSIP/1002"},
	{"supervisor", hotline.RoleSupervisor, "PJSIP/1100"},
	{"admin", hotline.RoleAdmin, ""},
}

// deskOption changes the options of a test's Server.
type deskOption func(*agentdesk.Options)

func newDesk(t *testing.T, opts ...deskOption) *desk {
	t.Helper()
	d := &desk{t: t, url: pgtest.URL(t), states: newFakeStates(), ids: map[string]int64{}, logs: &lockedWriter{}}
	db, err := sqlx.Open("postgres", d.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d.db = db
	for _, u := range deskUsers {
		h, err := bcrypt.GenerateFromPassword([]byte(u.username+"-pw"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		err = db.Get(&id, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
			VALUES ($1, $2, $3, $4, NULLIF($5, '')) RETURNING id`, u.username, "用户"+u.username, u.role, string(h), u.endpoint)
		if err != nil {
			t.Fatal(err)
		}
		d.ids[u.username] = id
	}
	d.srv = d.newServer(d.states, opts...)
	d.web = httptest.NewServer(d.srv.Handler())
	t.Cleanup(d.web.Close)
	return d
}

// newServer returns another Server (another instance) on d's database, running until the
// test ends.
func (d *desk) newServer(states agentdesk.AgentStates, opts ...deskOption) *agentdesk.Server {
	d.t.Helper()
	srv, stop := d.startServer(states, opts...)
	d.t.Cleanup(stop)
	return srv
}

// startServer returns another Server on d's database with Run going, and the function that
// stops Run and waits for it.
func (d *desk) startServer(states agentdesk.AgentStates, opts ...deskOption) (*agentdesk.Server, func()) {
	t := d.t
	t.Helper()
	o := agentdesk.Options{DB: d.db, DatabaseURL: d.url, States: states,
		Log:      slog.New(slog.NewTextHandler(d.logs, nil)),
		Sessions: postgres.SessionOptions{PasswordCost: bcrypt.MinCost}}
	for _, opt := range opts {
		opt(&o)
	}
	srv, err := agentdesk.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	return srv, func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
}

// lockedWriter keeps the logs of several goroutines.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// String returns what was logged so far.
func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// client is a browser: a cookie jar and the CSRF token of its session.
type client struct {
	d      *desk
	base   string
	http   *http.Client
	csrf   string
	origin string // sent as Origin when set
}

func (d *desk) client() *client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		d.t.Fatal(err)
	}
	return &client{d: d, base: d.web.URL, http: &http.Client{Jar: jar}}
}

// login logs username in with a new browser and fails the test if that does not work.
func (d *desk) login(username string) *client {
	d.t.Helper()
	c := d.client()
	status, body := c.do("POST", "/api/login", `{"username":"`+username+`","password":"`+username+`-pw"}`)
	if status != http.StatusOK {
		d.t.Fatalf("login %s: %d %s", username, status, body)
	}
	var me struct {
		CSRFToken string `json:"csrf_token"`
	}
	if err := json.Unmarshal(body, &me); err != nil || me.CSRFToken == "" {
		d.t.Fatalf("login %s: %s (%v)", username, body, err)
	}
	c.csrf = me.CSRFToken
	return c
}

// do sends a request with the session cookie, the CSRF token (if the session has one) and
// a JSON body (if not empty), and returns the status and body.
func (c *client) do(method, path, body string, headers ...string) (int, []byte) {
	resp := c.response(method, path, body, headers...)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.d.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// response is do returning the whole response; headers are name, value pairs, a value ""
// removing the header.
func (c *client) response(method, path, body string, headers ...string) *http.Response {
	c.d.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.d.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	if c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.d.t.Fatal(err)
	}
	return resp
}

// errorOf decodes an error body and checks its shape.
func errorOf(t *testing.T, body []byte) (code, reason string) {
	t.Helper()
	var e struct {
		Error  string `json:"error"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("error body %q: want {\"error\": …, \"reason\": …}", body)
	}
	return e.Error, e.Reason
}

// exec runs a statement on the desk's database.
func (d *desk) exec(query string, args ...any) {
	d.t.Helper()
	if _, err := d.db.Exec(query, args...); err != nil {
		d.t.Fatalf("%s: %v", query, err)
	}
}
