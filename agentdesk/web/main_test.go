package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/agentdesk/web"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// TestMain gives the tests a PostgreSQL server whose template database is migrated; each test
// takes its own copy.
func TestMain(m *testing.M) {
	pgtest.Main(m, postgres.MigrateURL)
}

// fakeStates is the ACD behind the agent API. Each method calls its Func when set; without
// one it keeps a state per agent the simplest way (login pauses with reason login).
type fakeStates struct {
	mu               sync.Mutex
	LogoutFunc       func(agentID int64) error
	EndWrapUpFunc    func(agentID int64, disposition, notes string) (hotline.AgentStatus, error)
	ExtendWrapUpFunc func(agentID int64, d time.Duration) (hotline.AgentStatus, error)
	status           map[int64]hotline.AgentStatus
	calls            []string
}

var _ agentdesk.AgentStates = (*fakeStates)(nil)

func (f *fakeStates) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf(format, args...))
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
	if st.Since.IsZero() {
		st.Since = time.Now()
	}
	f.status[agentID] = st
}

// Update changes the Funcs under the lock, while the server runs.
func (f *fakeStates) Update(change func(f *fakeStates)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func (f *fakeStates) set(agentID int64, state hotline.AgentState, reason string) hotline.AgentStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.status[agentID]
	pending := st.PendingPause
	st = hotline.AgentStatus{AgentID: agentID, State: state, Reason: reason, Since: time.Now()}
	if state == hotline.AgentAvailable && pending != "" {
		st.State, st.Reason = hotline.AgentPaused, pending
	}
	f.status[agentID] = st
	return st
}

func (f *fakeStates) Login(_ context.Context, agentID int64, sessionID string) (string, hotline.AgentStatus, error) {
	f.record("Login(%d)", agentID)
	return "", f.set(agentID, hotline.AgentPaused, hotline.PauseLogin), nil
}

func (f *fakeStates) Logout(_ context.Context, agentID int64, cause string) error {
	f.record("Logout(%d, %s)", agentID, cause)
	f.mu.Lock()
	fn := f.LogoutFunc
	f.mu.Unlock()
	if fn != nil {
		return fn(agentID)
	}
	f.set(agentID, hotline.AgentOffline, "")
	return nil
}

func (f *fakeStates) SetAvailable(_ context.Context, agentID int64) (hotline.AgentStatus, error) {
	f.record("SetAvailable(%d)", agentID)
	f.mu.Lock()
	st := f.status[agentID]
	if st.State == hotline.AgentTalking || st.State == hotline.AgentRinging || st.State == hotline.AgentWrapUp {
		st.PendingPause = "" // available cancels a pending pause
		f.status[agentID] = st
		f.mu.Unlock()
		return st, nil
	}
	f.mu.Unlock()
	return f.set(agentID, hotline.AgentAvailable, ""), nil
}

func (f *fakeStates) Pause(_ context.Context, agentID int64, reason string) (hotline.AgentStatus, error) {
	f.record("Pause(%d, %s)", agentID, reason)
	f.mu.Lock()
	st := f.status[agentID]
	if st.State == hotline.AgentTalking || st.State == hotline.AgentRinging || st.State == hotline.AgentWrapUp {
		st.PendingPause = reason // taken when the call's work ends
		f.status[agentID] = st
		f.mu.Unlock()
		return st, nil
	}
	f.mu.Unlock()
	return f.set(agentID, hotline.AgentPaused, reason), nil
}

func (f *fakeStates) EndWrapUp(_ context.Context, agentID int64, disposition, notes string) (hotline.AgentStatus, error) {
	f.record("EndWrapUp(%d, %s, %s)", agentID, disposition, notes)
	f.mu.Lock()
	fn := f.EndWrapUpFunc
	f.mu.Unlock()
	if fn != nil {
		return fn(agentID, disposition, notes)
	}
	return f.set(agentID, hotline.AgentAvailable, ""), nil
}

func (f *fakeStates) ExtendWrapUp(_ context.Context, agentID int64, d time.Duration) (hotline.AgentStatus, error) {
	f.record("ExtendWrapUp(%d, %v)", agentID, d)
	f.mu.Lock()
	fn := f.ExtendWrapUpFunc
	f.mu.Unlock()
	if fn != nil {
		return fn(agentID, d)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.status[agentID]
	st.WrapUpUntil = st.WrapUpUntil.Add(d)
	f.status[agentID] = st
	return st, nil
}

func (f *fakeStates) Status(_ context.Context, agentID int64) (hotline.AgentStatus, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, ok := f.status[agentID]
	if !ok {
		return hotline.AgentStatus{AgentID: agentID, State: hotline.AgentOffline}, nil
	}
	return st, nil
}

// fakeCalls answers the call endpoints the agent API does not have yet in this tree (call
// control and the caller's card), in the API's shapes: a refusal is {"error", "reason"}.
type fakeCalls struct {
	mu          sync.Mutex
	ControlFunc func(callID string, cmd hotline.CallCommand) (int, any)
	CardFunc    func(callID string) (int, any)
	// SearchFunc answers GET /api/citizens/search; AttachFunc POST /api/calls/{id}/citizen.
	SearchFunc func(query url.Values) (int, any)
	AttachFunc func(callID string, citizenID int64) (int, any)
	commands   []string
}

// Commands returns the commands received so far and forgets them.
func (f *fakeCalls) Commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.commands
	f.commands = nil
	return c
}

func (f *fakeCalls) Update(change func(f *fakeCalls)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

func (f *fakeCalls) control(w http.ResponseWriter, r *http.Request) {
	var cmd hotline.CallCommand
	if r.Header.Get("X-CSRF-Token") == "" {
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "forbidden", "reason": "missing or wrong X-CSRF-Token header"})
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&cmd); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid", "reason": err.Error()})
		return
	}
	id := r.PathValue("id")
	f.mu.Lock()
	f.commands = append(f.commands, cmd.Action+" "+id+describeTarget(cmd))
	fn := f.ControlFunc
	f.mu.Unlock()
	if fn == nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "conflict", "reason": "not possible now"})
		return
	}
	status, body := fn(id, cmd)
	writeJSON(w, status, body)
}

func describeTarget(cmd hotline.CallCommand) string {
	t := cmd.Transfer
	for _, s := range []string{t.Queue, t.Number, t.Flow, t.Endpoint, cmd.Digits} {
		if s != "" {
			return " " + s
		}
	}
	return ""
}

func (f *fakeCalls) card(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fn := f.CardFunc
	f.mu.Unlock()
	if fn == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "reason": "no such endpoint"})
		return
	}
	status, body := fn(r.PathValue("id"))
	writeJSON(w, status, body)
}

func (f *fakeCalls) search(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	fn := f.SearchFunc
	f.commands = append(f.commands, "search "+r.URL.Query().Encode())
	f.mu.Unlock()
	if fn == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "reason": "no such endpoint"})
		return
	}
	status, body := fn(r.URL.Query())
	writeJSON(w, status, body)
}

func (f *fakeCalls) attach(w http.ResponseWriter, r *http.Request) {
	var body struct {
		CitizenID int64 `json:"citizen_id"`
	}
	if r.Header.Get("X-CSRF-Token") == "" || json.NewDecoder(r.Body).Decode(&body) != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid", "reason": "bad attach"})
		return
	}
	f.mu.Lock()
	fn := f.AttachFunc
	f.commands = append(f.commands, fmt.Sprintf("attach %s %d", r.PathValue("id"), body.CitizenID))
	f.mu.Unlock()
	if fn == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "not_found", "reason": "no such endpoint"})
		return
	}
	status, resp := fn(r.PathValue("id"), body.CitizenID)
	writeJSON(w, status, resp)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// env is the agent API on a fresh database with its desk users, the desk's pages, and the
// fake call endpoints, served together over HTTP as hotline serve mounts them.
type env struct {
	t      *testing.T
	db     *sqlx.DB
	states *fakeStates
	calls  *fakeCalls
	url    string
	ids    map[string]int64
	conns  *trackingListener
}

// trackingListener keeps the connections it accepted, so that a test can cut them all as a
// network drop would, websockets included.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

// drop closes every connection accepted so far.
func (l *trackingListener) drop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

// deskUsers are the desk users: username, display name, phone. Each one's password is the
// username followed by "-pw".
var deskUsers = []struct{ username, name, endpoint string }{
	{"agent01", "李晓敏", "PJSIP/1001"},
	{"agent02", "陈志华", "PJSIP/1002"},
}

// newEnv starts the environment; opts change the agent API's options.
func newEnv(t *testing.T, opts ...func(*agentdesk.Options)) *env {
	t.Helper()
	dbURL := pgtest.URL(t)
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, db: db, states: &fakeStates{status: map[int64]hotline.AgentStatus{}}, calls: &fakeCalls{}, ids: map[string]int64{}}
	for _, u := range deskUsers {
		hash, err := bcrypt.GenerateFromPassword([]byte(u.username+"-pw"), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		var id int64
		err = db.Get(&id, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
			VALUES ($1, $2, 'agent', $3, $4) RETURNING id`, u.username, u.name, string(hash), u.endpoint)
		if err != nil {
			t.Fatal(err)
		}
		e.ids[u.username] = id
	}
	o := agentdesk.Options{DB: db, DatabaseURL: dbURL, States: e.states,
		Log:           slog.New(slog.DiscardHandler),
		Sessions:      postgres.SessionOptions{PasswordCost: bcrypt.MinCost},
		QueueRefresh:  200 * time.Millisecond,
		InstanceLease: 24 * time.Hour, // the fixture's instance heartbeats once
	}
	for _, opt := range opts {
		opt(&o)
	}
	api, err := agentdesk.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- api.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	mux := http.NewServeMux()
	mux.Handle("/api/", api.Handler())
	mux.HandleFunc("POST /api/calls/{id}/control", e.calls.control)
	mux.HandleFunc("GET /api/calls/{id}/card", e.calls.card)
	mux.HandleFunc("GET /api/citizens/search", e.calls.search)
	mux.HandleFunc("POST /api/calls/{id}/citizen", e.calls.attach)
	mux.Handle(web.Prefix, web.New(web.Options{Now: o.Now}))
	srv := httptest.NewUnstartedServer(mux)
	e.conns = &trackingListener{Listener: srv.Listener}
	srv.Listener = e.conns
	srv.Start()
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// exec runs a statement on the database.
func (e *env) exec(query string, args ...any) {
	e.t.Helper()
	if _, err := e.db.Exec(query, args...); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
}

// notify announces a change of the agent as the ACD does.
func (e *env) notify(agentID int64) {
	e.exec(`SELECT pg_notify('hotline_agent', $1)`, strconv.FormatInt(agentID, 10))
}

// The call the tests offer, from a seeded citizen's mobile.
const (
	callID       = "8f0c2a36-4d0e-4a55-9a3b-3f1c6c1f2b10"
	callerNumber = "13800138000"
)

// queues fills the ACD's tables: three queues agent01 serves, calls waiting in two of them,
// and the dispositions of 公用事业 (required).
func (e *env) queues() {
	e.t.Helper()
	e.exec(`INSERT INTO hotline.skills (id, name) VALUES ('utilities', '公用事业'), ('social_security', '社会保障'), ('general', '综合咨询')`)
	e.exec(`INSERT INTO hotline.queues (id, name, skill_id, disposition_required) VALUES
		('utilities', '公用事业', 'utilities', true), ('social_security', '社会保障', 'social_security', false),
		('general', '综合咨询', 'general', false)`)
	e.exec(`INSERT INTO hotline.agent_skills (agent_id, skill_id, level) VALUES ($1, 'utilities', 5), ($1, 'social_security', 4),
		($1, 'general', 3), ($2, 'general', 4)`, e.ids["agent01"], e.ids["agent02"])
	e.exec(`INSERT INTO hotline.dispositions (queue_id, code, name, position) VALUES
		('utilities', 'answered', '已解答', 1), ('utilities', 'work_order', '已建工单', 2),
		('utilities', 'transferred', '已转办', 3), ('utilities', 'invalid', '无效来电', 4)`)
	e.exec(`INSERT INTO hotline.instances (id, heartbeat_at) VALUES ('live', now())`)
	e.exec(`INSERT INTO hotline.agent_status (agent_id, state) VALUES ($1, 'available')`, e.ids["agent02"])
	for i, q := range []string{"social_security", "social_security", "general"} {
		id := fmt.Sprintf("5c5c5c5c-0000-4000-8000-00000000000%d", i)
		e.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at)
			VALUES ($1, 'node1', $2, $3, now() - interval '4 minutes')`, id, "wait-"+strconv.Itoa(i), "1390013900"+strconv.Itoa(i))
		e.exec(`INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, instance_id)
			VALUES ($1, $2, now() - make_interval(secs => $3), 'live')`, id, q, 95-30*i)
	}
}

// offer rings agent01's phone for callID from callerNumber through 公用事业, and returns the
// offer's id.
func (e *env) offer() int64 {
	e.t.Helper()
	return e.offerCall(callID, callerNumber)
}

// offerCall rings agent01's phone for call id from number through 公用事业.
func (e *env) offerCall(id, number string) int64 {
	e.t.Helper()
	me := e.ids["agent01"]
	callID := id
	e.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at)
		VALUES ($1, 'node1', $2, $3, now() - interval '2 minutes')`, callID, "chan-"+callID, number)
	e.exec(`INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, instance_id)
		VALUES ($1, 'utilities', now() - interval '40 seconds', 'live')`, callID)
	var offerID int64
	if err := e.db.Get(&offerID, `WITH o AS (INSERT INTO hotline.offers (call_id, agent_id, queue_id, entry_id, instance_id)
		SELECT $1, $2, 'utilities', e.id, 'live' FROM hotline.queue_entries e WHERE e.call_id = $1 RETURNING id, entry_id)
		UPDATE hotline.queue_entries SET offer_id = o.id FROM o WHERE queue_entries.id = o.entry_id RETURNING o.id`, callID, me); err != nil {
		e.t.Fatal(err)
	}
	e.states.Set(me, hotline.AgentStatus{State: hotline.AgentRinging, CallID: callID, OfferID: offerID})
	e.notify(me)
	return offerID
}

// answer connects the offered call: the offer is accepted and agent01 talks.
func (e *env) answer(offerID int64) {
	e.t.Helper()
	me := e.ids["agent01"]
	e.exec(`UPDATE hotline.offers SET state = 'accepted', decided_at = now() WHERE id = $1`, offerID)
	e.exec(`UPDATE hotline.queue_entries SET left_at = now() WHERE call_id = $1`, callID)
	e.states.Set(me, hotline.AgentStatus{State: hotline.AgentTalking, CallID: callID, OfferID: offerID})
	e.notify(me)
}

// hangUp ends the call: agent01 wraps up for d.
func (e *env) hangUp(d time.Duration) {
	e.t.Helper()
	me := e.ids["agent01"]
	st, _ := e.states.Status(context.Background(), me)
	e.states.Set(me, hotline.AgentStatus{State: hotline.AgentWrapUp, CallID: callID, WrapUpUntil: time.Now().Add(d), PendingPause: st.PendingPause})
	e.notify(me)
}
