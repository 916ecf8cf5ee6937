package agentdesk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
)

// wsMessage is a message of the events websocket.
type wsMessage struct {
	Type       string          `json:"type"`
	ServerTime time.Time       `json:"server_time"`
	Snapshot   json.RawMessage `json:"snapshot"`
}

// snapshotOf is the snapshot as the desk reads it.
type snapshotOf struct {
	Agent struct {
		ID int64 `json:"id"`
	} `json:"agent"`
	Status struct {
		State  string `json:"state"`
		Reason string `json:"reason"`
		CallID string `json:"call_id"`
	} `json:"status"`
	Offer *struct {
		ID           int64  `json:"id"`
		CallID       string `json:"call_id"`
		QueueID      string `json:"queue_id"`
		QueueName    string `json:"queue_name"`
		CallerNumber string `json:"caller_number"`
	} `json:"offer"`
	Call *struct {
		ID           string     `json:"id"`
		QueueName    string     `json:"queue_name"`
		CallerNumber string     `json:"caller_number"`
		ConnectedAt  *time.Time `json:"connected_at"`
	} `json:"call"`
	WrapUp *struct {
		CallID       string `json:"call_id"`
		QueueID      string `json:"queue_id"`
		Required     bool   `json:"disposition_required"`
		Dispositions []struct {
			Code, Name string
		} `json:"dispositions"`
	} `json:"wrap_up"`
	Queues []struct {
		ID              string     `json:"id"`
		Name            string     `json:"name"`
		Level           int        `json:"level"`
		Waiting         int        `json:"waiting"`
		Offered         int        `json:"offered"`
		OldestEnteredAt *time.Time `json:"oldest_entered_at"`
		AgentsAvailable int        `json:"agents_available"`
	} `json:"queues"`
}

// socket is an events websocket of a client.
type socket struct {
	t    *testing.T
	conn *websocket.Conn
}

// dial opens c's events websocket with origin ("" for none).
func (c *client) dial(origin string) (*websocket.Conn, *http.Response, error) {
	hdr := http.Header{}
	for _, ck := range c.http.Jar.Cookies(mustParse(c.d.t, c.base)) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.base, "http")+"/api/agent/events",
		&websocket.DialOptions{HTTPHeader: hdr})
}

// socket opens c's events websocket and fails the test if it cannot.
func (c *client) socket() *socket {
	c.d.t.Helper()
	conn, _, err := c.dial("")
	if err != nil {
		c.d.t.Fatalf("events websocket: %v", err)
	}
	c.d.t.Cleanup(func() { conn.CloseNow() })
	return &socket{t: c.d.t, conn: conn}
}

// next returns the next message, failing the test after 10 s without one.
func (s *socket) next() wsMessage {
	s.t.Helper()
	m, err := s.read()
	if err != nil {
		s.t.Fatalf("events websocket: %v", err)
	}
	return m
}

func (s *socket) read() (wsMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, b, err := s.conn.Read(ctx)
	if err != nil {
		return wsMessage{}, err
	}
	var m wsMessage
	if err := json.Unmarshal(b, &m); err != nil {
		s.t.Fatalf("message %s: %v", b, err)
	}
	return m, nil
}

// snapshot returns the next message, which must be of type kind with a snapshot.
func (s *socket) snapshot(kind string) snapshotOf {
	s.t.Helper()
	m := s.next()
	if m.Type != kind || m.ServerTime.IsZero() {
		s.t.Fatalf("message %+v, want type %s", m, kind)
	}
	var snap snapshotOf
	if err := json.Unmarshal(m.Snapshot, &snap); err != nil {
		s.t.Fatalf("snapshot %s: %v", m.Snapshot, err)
	}
	return snap
}

// until reads updates until one satisfies ok, and returns it.
func (s *socket) until(what string, ok func(snapshotOf) bool) snapshotOf {
	s.t.Helper()
	for {
		m, err := s.read()
		if err != nil {
			s.t.Fatalf("waiting for %s: %v", what, err)
		}
		var snap snapshotOf
		if err := json.Unmarshal(m.Snapshot, &snap); err != nil {
			s.t.Fatalf("message %+v: %v", m, err)
		}
		if ok(snap) {
			return snap
		}
	}
}

// ended reads the last message, which must be of type kind, and the close that follows it.
func (s *socket) ended(kind string, status websocket.StatusCode) {
	s.t.Helper()
	for {
		m, err := s.read()
		if err != nil {
			if kind != "" {
				s.t.Fatalf("closed (%v) before a %s message", err, kind)
			}
			if got := websocket.CloseStatus(err); got != status {
				s.t.Fatalf("closed with %v (%v), want %v", got, err, status)
			}
			return
		}
		if m.Type == "update" || m.Type == "snapshot" {
			continue // sent before the end
		}
		if m.Type != kind {
			s.t.Fatalf("message %+v, want type %s", m, kind)
		}
		kind = ""
	}
}

// notify announces a change of agentID as the ACD does.
func (d *desk) notify(agentID int64) {
	d.exec(`SELECT pg_notify('hotline_agent', $1)`, strconv.FormatInt(agentID, 10))
}

// acdFixture fills the ACD's tables: two queues with their skills; agent01 skilled in both,
// agent02 in general and available; calls waiting on a live instance and on one that died;
// agent01's phone ringing for call1 of social_security. It returns the call ids.
func (d *desk) acdFixture() (call1, call2 string) {
	d.t.Helper()
	d.exec(`INSERT INTO hotline.skills (id, name) VALUES ('social_security', '社会保障'), ('general', '综合咨询')`)
	d.exec(`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('social_security', '社会保障', 'social_security'),
		('general', '综合咨询', 'general')`)
	d.exec(`INSERT INTO hotline.agent_skills (agent_id, skill_id, level) VALUES ($1, 'social_security', 5), ($1, 'general', 3),
		($2, 'general', 4)`, d.ids["agent01"], d.ids["agent02"])
	d.exec(`INSERT INTO hotline.instances (id, heartbeat_at) VALUES ('live', now()), ('dead', now() - interval '1 hour')`)
	d.exec(`INSERT INTO hotline.agent_status (agent_id, state) VALUES ($1, 'available')`, d.ids["agent02"])
	call1, call2 = "8f0c2a36-4d0e-4a55-9a3b-3f1c6c1f2b10", "1c7a0f3e-2b5d-4c8e-9f10-aa22bb33cc44"
	for i, id := range []string{call1, call2, "3a3a3a3a-0000-4000-8000-000000000003", "4b4b4b4b-0000-4000-8000-000000000004"} {
		d.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at)
			VALUES ($1, 'node1', $2, $3, now() - interval '5 minutes')`, id, "chan-"+strconv.Itoa(i), "1380013800"+strconv.Itoa(i))
	}
	d.exec(`INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, instance_id) VALUES
		($1, 'social_security', '2026-03-10 09:00:00+00', 'live'),
		($2, 'social_security', '2026-03-10 09:01:00+00', 'live'),
		('3a3a3a3a-0000-4000-8000-000000000003', 'social_security', '2026-03-10 08:00:00+00', 'dead'),
		('4b4b4b4b-0000-4000-8000-000000000004', 'general', '2026-03-10 09:02:00+00', 'live')`, call1, call2)
	d.exec(`WITH o AS (INSERT INTO hotline.offers (call_id, agent_id, queue_id, entry_id, instance_id)
		SELECT $1, $2, 'social_security', e.id, 'live' FROM hotline.queue_entries e WHERE e.call_id = $1 RETURNING id, entry_id)
		UPDATE hotline.queue_entries SET offer_id = o.id FROM o WHERE queue_entries.id = o.entry_id`, call1, d.ids["agent01"])
	return call1, call2
}

func TestEventsSnapshotThenChanges(t *testing.T) {
	d := newDesk(t, func(o *agentdesk.Options) { o.QueueRefresh = 20 * time.Millisecond })
	call1, _ := d.acdFixture()
	me := d.ids["agent01"]
	c := d.login("agent01")
	d.states.Set(me, hotline.AgentStatus{State: hotline.AgentRinging, CallID: call1, Since: fixedStart})
	ws := c.socket()

	snap := ws.snapshot("snapshot")
	if snap.Agent.ID != me || snap.Status.State != "ringing" || snap.Status.CallID != call1 {
		t.Errorf("agent %d, status %+v", snap.Agent.ID, snap.Status)
	}
	if o := snap.Offer; o == nil || o.CallID != call1 || o.QueueID != "social_security" || o.QueueName != "社会保障" || o.CallerNumber != "13800138000" {
		t.Errorf("offer %+v", snap.Offer)
	}
	if cl := snap.Call; cl == nil || cl.ID != call1 || cl.QueueName != "社会保障" || cl.ConnectedAt != nil {
		t.Errorf("call %+v", snap.Call)
	}
	var got []string
	for _, q := range snap.Queues {
		oldest := "none"
		if q.OldestEnteredAt != nil {
			oldest = q.OldestEnteredAt.UTC().Format(time.TimeOnly)
		}
		got = append(got, fmt.Sprintf("%s %s level %d: %d waiting, %d offered, oldest %s, %d available",
			q.ID, q.Name, q.Level, q.Waiting, q.Offered, oldest, q.AgentsAvailable))
	}
	// The call of the dead instance is not counted.
	want := []string{
		"social_security 社会保障 level 5: 2 waiting, 1 offered, oldest 09:00:00, 0 available",
		"general 综合咨询 level 3: 1 waiting, 0 offered, oldest 09:02:00, 1 available",
	}
	if !equalStrings(got, want) {
		t.Errorf("queues\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	offerID := snap.Offer.ID

	// A reconnect gets the same offer again, once.
	ws2 := c.socket()
	if again := ws2.snapshot("snapshot"); again.Offer == nil || again.Offer.ID != offerID {
		t.Errorf("after reconnecting: offer %+v, want offer %d", again.Offer, offerID)
	}
	ws2.conn.Close(websocket.StatusNormalClosure, "")

	// The agent answers: the ACD's notification brings the change.
	d.exec(`UPDATE hotline.offers SET state = 'accepted', decided_at = '2026-03-10 09:03:00+00' WHERE id = $1`, offerID)
	d.states.Set(me, hotline.AgentStatus{State: hotline.AgentTalking, CallID: call1, Since: fixedStart.Add(3 * time.Minute)})
	d.notify(me)
	snap = ws.until("talking", func(s snapshotOf) bool { return s.Status.State == "talking" })
	if snap.Offer != nil || snap.Call == nil || snap.Call.ConnectedAt == nil || !snap.Call.ConnectedAt.Equal(fixedStart.Add(3*time.Minute)) {
		t.Errorf("talking: offer %+v, call %+v", snap.Offer, snap.Call)
	}

	// A call joining the queue shows within the queue refresh.
	d.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at)
		VALUES ('5c5c5c5c-0000-4000-8000-000000000005', 'node1', 'chan-5', '13900139000', now())`)
	d.exec(`INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, instance_id)
		VALUES ('5c5c5c5c-0000-4000-8000-000000000005', 'general', now(), 'live')`)
	ws.until("a second call in general", func(s snapshotOf) bool { return len(s.Queues) == 2 && s.Queues[1].Waiting == 2 })

	// Wrap-up shows the dispositions of the call's queue.
	d.exec(`INSERT INTO hotline.dispositions (queue_id, code, name, position) VALUES
		('social_security', 'resolved', '已解答', 1), ('social_security', 'transferred', '已转办', 2)`)
	d.exec(`UPDATE hotline.queues SET disposition_required = true WHERE id = 'social_security'`)
	d.states.Set(me, hotline.AgentStatus{State: hotline.AgentWrapUp, CallID: call1, WrapUpUntil: fixedStart.Add(10 * time.Minute)})
	d.notify(me)
	snap = ws.until("wrap-up", func(s snapshotOf) bool { return s.Status.State == "wrap_up" })
	if w := snap.WrapUp; w == nil || w.CallID != call1 || !w.Required || len(w.Dispositions) != 2 || w.Dispositions[0].Code != "resolved" {
		t.Errorf("wrap-up %+v", snap.WrapUp)
	}

	// GET /api/agent/status answers the same snapshot.
	status, body := c.do("GET", "/api/agent/status", "")
	var viaHTTP snapshotOf
	if err := json.Unmarshal(body, &viaHTTP); status != 200 || err != nil {
		t.Fatalf("GET /api/agent/status: %d %s", status, body)
	}
	a, _ := json.Marshal(viaHTTP)
	b, _ := json.Marshal(snap)
	if string(a) != string(b) {
		t.Errorf("GET /api/agent/status\n%s\nthe websocket\n%s", a, b)
	}
	status, body = c.do("GET", "/api/agent/queues", "")
	if status != 200 || !strings.Contains(string(body), `"id":"social_security","name":"社会保障","level":5,"waiting":2`) {
		t.Errorf("GET /api/agent/queues: %d %s", status, body)
	}
}

func TestEventsNotificationOfOthersAndGarbage(t *testing.T) {
	d := newDesk(t)
	me := d.ids["agent01"]
	ws := d.login("agent01").socket()
	ws.snapshot("snapshot")
	d.exec(`SELECT pg_notify('hotline_agent', 'not an id')`)
	d.notify(d.ids["agent02"])
	d.states.Set(me, hotline.AgentStatus{State: hotline.AgentAvailable, Since: fixedStart})
	d.notify(me)
	// The next message is the agent's own change: nothing was sent for the others.
	if snap := ws.snapshot("update"); snap.Status.State != "available" {
		t.Errorf("update %+v", snap.Status)
	}
	if !strings.Contains(d.logs.String(), "notification without an agent id") {
		t.Errorf("a malformed notification was not logged")
	}
}

func TestEventsStateCommandUpdatesAtOnce(t *testing.T) {
	d := newDesk(t)
	c := d.login("agent01")
	ws := c.socket()
	if snap := ws.snapshot("snapshot"); snap.Status.State != "paused" || snap.Status.Reason != "login" {
		t.Errorf("first snapshot %+v", snap.Status)
	}
	// The fake ACD sends no notification: the update comes from the command itself.
	if status, body := c.do("POST", "/api/agent/state", `{"state":"available"}`); status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	if snap := ws.snapshot("update"); snap.Status.State != "available" {
		t.Errorf("update %+v", snap.Status)
	}
}

func TestEventsOrigin(t *testing.T) {
	d := newDesk(t, func(o *agentdesk.Options) { o.AllowedOrigins = []string{"https://desk.example.org"} })
	c := d.login("agent01")
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{d.web.URL, true},
		{"https://desk.example.org", true},
		{"HTTPS://DESK.EXAMPLE.ORG", true},
		{"https://evil.example", false},
		{"https://desk.example.org.evil.example", false},
		{"http://desk.example.org", false}, // another scheme is another origin
		{"null", false},
	} {
		conn, resp, err := c.dial(tc.origin)
		if tc.ok {
			if err != nil {
				t.Errorf("origin %q: %v, want the websocket", tc.origin, err)
				continue
			}
			conn.CloseNow()
			continue
		}
		if err == nil {
			conn.CloseNow()
			t.Errorf("origin %q: websocket opened, want 403", tc.origin)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: %v %v, want 403", tc.origin, resp, err)
		}
	}
	// Without a session: 401 before anything else.
	if _, resp, err := d.client().dial(""); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without a session: %v %v, want 401", resp, err)
	}
	if _, err := agentdesk.New(agentdesk.Options{DB: d.db, States: d.states, AllowedOrigins: []string{"desk.example.org"}}); err == nil {
		t.Errorf("an allowed origin without a scheme was accepted")
	}
}

func TestEventsTakeoverAcrossInstances(t *testing.T) {
	d := newDesk(t)
	// A second instance on the same database, with its own ACD connection.
	other := d.newServer(d.states)
	web := httptest.NewServer(other.Handler())
	defer web.Close()

	first := d.login("agent01")
	ws := first.socket()
	ws.snapshot("snapshot")

	second := &client{d: d, base: web.URL, http: d.client().http}
	status, body := second.do("POST", "/api/login", `{"username":"agent01","password":"agent01-pw"}`)
	if status != 200 {
		t.Fatalf("second login on the other instance: %d %s", status, body)
	}
	ws.ended("session_replaced", websocket.StatusNormalClosure)
	if status, _ := first.do("GET", "/api/me", ""); status != http.StatusUnauthorized {
		t.Errorf("the replaced session answers %d, want 401", status)
	}
}

func TestEventsTakeoverOnOneInstance(t *testing.T) {
	d := newDesk(t)
	ws := d.login("agent01").socket()
	ws.snapshot("snapshot")
	d.login("agent01")
	ws.ended("session_replaced", websocket.StatusNormalClosure)
}

func TestEventsLogout(t *testing.T) {
	d := newDesk(t)
	c := d.login("agent01")
	ws, ws2 := c.socket(), c.socket()
	ws.snapshot("snapshot")
	ws2.snapshot("snapshot")
	if status, body := c.do("POST", "/api/logout", ""); status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", status, body)
	}
	for _, s := range []*socket{ws, ws2} {
		s.ended("logged_out", websocket.StatusNormalClosure)
	}
}

func TestForcedLogout(t *testing.T) {
	d := newDesk(t)
	agent := d.login("agent01")
	ws := agent.socket()
	ws.snapshot("snapshot")
	sup := d.login("supervisor")
	id := strconv.FormatInt(d.ids["agent01"], 10)

	if status, body := agent.do("POST", "/api/agents/"+strconv.FormatInt(d.ids["agent02"], 10)+"/logout", ""); status != http.StatusForbidden {
		t.Errorf("an agent logging another out: %d %s, want 403", status, body)
	}
	status, body := sup.do("POST", "/api/agents/"+strconv.FormatInt(d.ids["admin"], 10)+"/logout", "")
	if code, reason := errorOf(t, body); status != http.StatusForbidden || !strings.Contains(reason, "admin") {
		t.Errorf("a supervisor logging an admin out: %d %s %s, want 403", status, code, reason)
	}
	if status, body := sup.do("POST", "/api/agents/999999/logout", ""); status != http.StatusNotFound {
		t.Errorf("logging out an unknown user: %d %s, want 404", status, body)
	}
	if status, body := sup.do("POST", "/api/agents/x/logout", ""); status != http.StatusBadRequest {
		t.Errorf("logging out user x: %d %s, want 400", status, body)
	}
	d.states.Calls()
	if status, body := sup.do("POST", "/api/agents/"+id+"/logout", ""); status != http.StatusNoContent {
		t.Fatalf("forced logout: %d %s", status, body)
	}
	ws.ended("logged_out", websocket.StatusNormalClosure)
	if status, _ := agent.do("GET", "/api/me", ""); status != http.StatusUnauthorized {
		t.Errorf("the agent's session after a forced logout: %d, want 401", status)
	}
	if got, want := d.states.Calls(), []string{"Logout(" + id + ", logged out by supervisor)"}; !equalStrings(got, want) {
		t.Errorf("ACD calls %v, want %v", got, want)
	}
	var n int
	if err := d.db.Get(&n, `SELECT count(*) FROM hotline.audit_log WHERE action = 'forced_logout' AND actor_id = $1
		AND object_id = 'agent01'`, d.ids["supervisor"]); err != nil || n != 1 {
		t.Errorf("%d forced logouts audited (%v), want 1", n, err)
	}
	if status, _ := sup.do("GET", "/api/me", ""); status != http.StatusOK {
		t.Errorf("the supervisor's own session: %d", status)
	}
}

func TestStatusOfAnAgent(t *testing.T) {
	d := newDesk(t)
	agent, sup := d.login("agent01"), d.login("supervisor")
	self := "/api/agents/" + strconv.FormatInt(d.ids["agent01"], 10) + "/status"
	other := "/api/agents/" + strconv.FormatInt(d.ids["agent02"], 10) + "/status"
	for _, tc := range []struct {
		who    *client
		path   string
		status int
	}{
		{agent, self, 200},
		{agent, other, 403},
		{agent, "/api/agents/999999/status", 403}, // whether it exists is not told
		{sup, other, 200},
		{sup, "/api/agents/999999/status", 404},
		{sup, "/api/agents/0/status", 400},
		{sup, "/api/agents/two/status", 400},
	} {
		if status, body := tc.who.do("GET", tc.path, ""); status != tc.status {
			t.Errorf("GET %s: %d %s, want %d", tc.path, status, body, tc.status)
		}
	}
	_, body := sup.do("GET", other, "")
	if !strings.Contains(string(body), `"username":"agent02"`) {
		t.Errorf("status of agent02: %s", body)
	}
}

func TestEventsResyncAfterListenerReconnects(t *testing.T) {
	d := newDesk(t)
	me := d.ids["agent01"]
	ws := d.login("agent01").socket()
	ws.snapshot("snapshot")
	// A change whose notification is lost with the listener's connection.
	d.states.Set(me, hotline.AgentStatus{State: hotline.AgentAvailable, Since: fixedStart})
	var killed int
	if err := d.db.Get(&killed, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%'`); err != nil || killed != 1 {
		t.Fatalf("terminated %d listeners (%v), want 1", killed, err)
	}
	if snap := ws.snapshot("update"); snap.Status.State != "available" {
		t.Errorf("after the listener reconnected: %+v", snap.Status)
	}
	// And it listens again.
	d.states.Set(me, hotline.AgentStatus{State: hotline.AgentPaused, Reason: "meal", Since: fixedStart})
	d.notify(me)
	if snap := ws.until("paused", func(s snapshotOf) bool { return s.Status.State == "paused" }); snap.Status.Reason != "meal" {
		t.Errorf("after the reconnect: %+v", snap.Status)
	}
}

func TestEventsKeepTheSessionAliveUntilItExpires(t *testing.T) {
	clk := &clock{t: fixedStart}
	d := newDesk(t, func(o *agentdesk.Options) { o.Now = clk.Now })
	ctx := t.Context()
	c := d.login("agent01")
	ws := c.socket()
	ws.snapshot("snapshot")
	// 40 minutes without a request, the websocket open: the session lives.
	for range 2 {
		clk.Advance(20 * time.Minute)
		if err := agentdesk.TouchSessions(ctx, d.srv); err != nil {
			t.Fatal(err)
		}
	}
	if status, _ := c.do("GET", "/api/me", ""); status != http.StatusOK {
		t.Fatalf("after 40 minutes with the websocket open: %d, want 200", status)
	}
	d.states.Calls()
	// 12 hours after login it ends all the same, and the agent leaves the ACD.
	clk.Advance(12 * time.Hour)
	if err := agentdesk.TouchSessions(ctx, d.srv); err != nil {
		t.Fatal(err)
	}
	ws.ended("session_expired", websocket.StatusNormalClosure)
	if got, want := d.states.Calls(), []string{fmt.Sprintf("Logout(%d, session_expired)", d.ids["agent01"])}; !equalStrings(got, want) {
		t.Errorf("ACD calls %v, want %v", got, want)
	}
}

func TestExpiredSessionsArePurged(t *testing.T) {
	clk := &clock{t: fixedStart}
	d := newDesk(t, func(o *agentdesk.Options) { o.Now = clk.Now })
	d.login("agent01")
	d.login("admin")
	d.states.Calls()
	clk.Advance(31 * time.Minute)
	if err := agentdesk.PurgeSessions(t.Context(), d.srv); err != nil {
		t.Fatal(err)
	}
	// The agent leaves the ACD; the admin, who takes no calls, has nothing to leave.
	if got, want := d.states.Calls(), []string{fmt.Sprintf("Logout(%d, session_expired)", d.ids["agent01"])}; !equalStrings(got, want) {
		t.Errorf("ACD calls %v, want %v", got, want)
	}
	var n int
	if err := d.db.Get(&n, `SELECT count(*) FROM hotline.sessions`); err != nil || n != 0 {
		t.Errorf("%d sessions left (%v)", n, err)
	}
}

func TestEventsEndWhenTheServerStops(t *testing.T) {
	d := newDesk(t)
	srv, stop := d.startServer(d.states)
	defer stop()
	web := httptest.NewServer(srv.Handler())
	defer web.Close()
	c := &client{d: d, base: web.URL, http: d.client().http}
	if status, body := c.do("POST", "/api/login", `{"username":"agent01","password":"agent01-pw"}`); status != 200 {
		t.Fatalf("login: %d %s", status, body)
	}
	ws := c.socket()
	ws.snapshot("snapshot")
	stop()
	ws.ended("", websocket.StatusServiceRestart)
	// A websocket opened after Run ended is closed at once: reconnect elsewhere.
	conn, _, err := c.dial("")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	_, _, err = conn.Read(t.Context())
	if got := websocket.CloseStatus(err); got != websocket.StatusServiceRestart {
		t.Errorf("after Run ended: %v, want close status 1012", err)
	}
}

func TestEventsSnapshotRetriedAfterAnError(t *testing.T) {
	d := newDesk(t)
	c := d.login("agent01")
	failures := 1
	d.states.Update(func(f *fakeStates) {
		f.StatusFunc = func(context.Context, int64) (hotline.AgentStatus, error) {
			d.states.mu.Lock()
			defer d.states.mu.Unlock()
			if failures > 0 {
				failures--
				return hotline.AgentStatus{}, fmt.Errorf("connection reset by peer")
			}
			return hotline.AgentStatus{State: hotline.AgentAvailable, Since: fixedStart}, nil
		}
	})
	ws := c.socket()
	if snap := ws.snapshot("snapshot"); snap.Status.State != "available" {
		t.Errorf("snapshot after a failed read: %+v", snap.Status)
	}
	if !strings.Contains(d.logs.String(), "connection reset by peer") {
		t.Errorf("the failed read was not logged")
	}
}
