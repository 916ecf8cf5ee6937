package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// deskAgent is an agent logged in to the demo's agent API.
type deskAgent struct {
	*deskClient
	id  int64
	ctx context.Context
	d   *demoRun
}

// loginAgent logs username in with the password the demo's banner shows.
func loginAgent(t *testing.T, ctx context.Context, d *demoRun, username string) *deskAgent {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(username) + `\s+(\S+)`)
	for !re.MatchString(d.out.String()) {
		if ctx.Err() != nil {
			t.Fatalf("no banner:\n%s", d.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	jar, _ := cookiejar.New(nil)
	a := &deskAgent{deskClient: &deskClient{t: t, base: "http://" + d.httpAddr, http: &http.Client{Jar: jar}}, ctx: ctx, d: d}
	var login struct {
		CSRF string `json:"csrf_token"`
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	password := re.FindStringSubmatch(d.out.String())[1]
	if code := a.do("POST", "/api/login", map[string]string{"username": username, "password": password}, &login); code != 200 {
		t.Fatalf("login %s: %d", username, code)
	}
	a.csrf, a.id = login.CSRF, login.User.ID
	return a
}

// waitState waits until the agent's state is want and returns the call they are on.
func (a *deskAgent) waitState(want string) string {
	a.t.Helper()
	for {
		var st struct {
			Status struct {
				State  string `json:"state"`
				CallID string `json:"call_id"`
			} `json:"status"`
		}
		a.do("GET", "/api/agent/status", nil, &st)
		if st.Status.State == want {
			return st.Status.CallID
		}
		if a.ctx.Err() != nil {
			a.t.Fatalf("agent %d is %q, want %q\n%s\n%s", a.id, st.Status.State, want, tail(a.d.logs.String(), 30), dumpACD(a.d.url))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// command posts a call-control command and returns the status and the refusal's reason.
func (a *deskAgent) command(call string, body map[string]any) (int, string) {
	a.t.Helper()
	var out struct {
		Reason string `json:"reason"`
	}
	code := a.do("POST", "/api/calls/"+call+"/control", body, &out)
	return code, out.Reason
}

func (a *deskAgent) state(state string) {
	a.t.Helper()
	body := map[string]string{"state": state}
	if state == "paused" {
		body["reason"] = "break"
	}
	if code := a.do("POST", "/api/agent/state", body, nil); code != 200 {
		a.t.Fatalf("agent %d to %s: %d", a.id, state, code)
	}
}

// TestDemoTransferToAgent runs `hotline demo` and has an agent blind-transfer a caller to a
// named colleague through the agent API: the refusals (yourself, a colleague logged out or
// without the queue's skill) are 409 with their reason; the transfer puts the transferring
// agent in wrap-up and the caller back in the queue reserved for the colleague, whom nobody
// else is offered it before (the transferring agent, free again, does not ring); the
// colleague answers. Then a caller hangs up while reserved for a paused colleague: the call
// leaves the queue as abandoned and the colleague is not rung when they come back.
func TestDemoTransferToAgent(t *testing.T) {
	root, _ := filepath.Abs("../..")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	d := startDemo(t, ctx, alwaysOpen(t, filepath.Join(root, "flows")), 100)
	db := openTestDB(t, d.url)
	first := loginAgent(t, ctx, d, "agent01")
	second := loginAgent(t, ctx, d, "agent02") // paused after login
	third := loginAgent(t, ctx, d, "agent03")
	if _, err := db.ExecContext(ctx, `DELETE FROM hotline.agent_skills WHERE agent_id = $1 AND skill_id = 'general'`, third.id); err != nil {
		t.Fatal(err)
	}
	var loggedOut int64
	if err := db.GetContext(ctx, &loggedOut, `SELECT id FROM hotline.agents WHERE username = 'agent04'`); err != nil {
		t.Fatal(err)
	}
	first.state("available")
	first.waitState("available")

	ctl := "http://" + d.controlAddr
	call := func(number string) (callerID, callID string) {
		t.Helper()
		var caller struct {
			ID string `json:"id"`
		}
		control(t, "POST", ctl+"/calls", map[string]string{"caller": number, "exten": "12345"}, &caller)
		control(t, "POST", ctl+"/calls/"+caller.ID+"/dtmf", map[string]any{"digits": "10", "gap_ms": 300}, nil)
		id := first.waitState("ringing")
		if code, reason := first.command(id, map[string]any{"action": "answer"}); code != 200 {
			t.Fatalf("answer: %d %s", code, reason)
		}
		first.waitState("talking")
		return caller.ID, id
	}
	transfer := func(id string, to int64) (int, string) {
		return first.command(id, map[string]any{"action": "transfer", "transfer": map[string]any{"agent": to}})
	}

	callerA, a := call("13800000001")
	for _, tc := range []struct {
		name   string
		to     int64
		want   int
		reason string
	}{
		{"to yourself", first.id, http.StatusConflict, "yourself"},
		{"to an agent logged out", loggedOut, http.StatusConflict, "logged out"},
		{"to an agent without the queue's skill", third.id, http.StatusConflict, "skill"},
		{"to no agent", 999999, http.StatusBadRequest, "no such agent"},
	} {
		if code, reason := transfer(a, tc.to); code != tc.want || !strings.Contains(reason, tc.reason) {
			t.Errorf("transfer %s: %d %q, want %d with %q", tc.name, code, reason, tc.want, tc.reason)
		}
	}
	if code, reason := first.command(a, map[string]any{"action": "transfer", "transfer": map[string]any{"agent": second.id, "queue": "general"}}); code != http.StatusBadRequest {
		t.Errorf("transfer to an agent and a queue: %d %q, want 400", code, reason)
	}
	first.waitState("talking") // the refusals left the call as it was

	if code, reason := transfer(a, second.id); code != 200 {
		t.Fatalf("transfer to agent02: %d %s", code, reason)
	}
	first.waitState("wrap_up")
	if code := first.do("POST", "/api/agent/wrapup", map[string]string{"disposition": "", "notes": "转给李志明"}, nil); code != 200 {
		t.Fatalf("wrap-up: %d", code)
	}
	first.waitState("available")
	// agent01 is free and has the queue's skill, but the call waits for agent02: let a few
	// assignment rounds (one a second) pass.
	time.Sleep(2500 * time.Millisecond)
	second.state("available")
	if got := second.waitState("ringing"); got != a {
		t.Fatalf("agent02 rings for call %s, want %s", got, a)
	}
	if code, reason := second.command(a, map[string]any{"action": "answer"}); code != 200 {
		t.Fatalf("agent02 answers: %d %s", code, reason)
	}
	second.waitState("talking")
	var rings int
	if err := db.GetContext(ctx, &rings, `SELECT count(*) FROM hotline.agent_state_log WHERE agent_id = $1 AND state = 'ringing'`, first.id); err != nil {
		t.Fatal(err)
	}
	if rings != 1 {
		t.Errorf("agent01 rang %d times, want once: the reserved call was offered to them", rings)
	}
	var entries []struct {
		Target  *int64     `db:"target_agent_id"`
		From    *int64     `db:"transferred_from"`
		Since   *time.Time `db:"waiting_since"`
		Entered time.Time  `db:"entered_at"`
		Outcome string     `db:"outcome"`
	}
	if err := db.SelectContext(ctx, &entries, `SELECT target_agent_id, transferred_from, waiting_since, entered_at, COALESCE(outcome, '') AS outcome
		FROM hotline.queue_entries WHERE call_id = $1 ORDER BY id`, a); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[1].Target == nil || *entries[1].Target != second.id || entries[1].From == nil ||
		entries[1].Since == nil || !entries[1].Since.Equal(entries[0].Entered) || entries[0].Outcome != "answered" || entries[1].Outcome != "answered" {
		t.Errorf("queue entries of the call %+v: want the first answered, then one reserved for agent02 since the first's entry, answered", entries)
	}
	var steps []string
	if err := db.SelectContext(ctx, &steps, `SELECT input FROM hotline.call_steps WHERE call_id = $1 AND flow = 'desk' AND node = 'transfer'`, a); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 || steps[0] != "agent:"+strconv.FormatInt(second.id, 10) {
		t.Errorf("the call's history has transfers %q, want one to agent:%d", steps, second.id)
	}
	control(t, "POST", ctl+"/calls/"+callerA+"/hangup", nil, nil)
	second.waitState("wrap_up")
	if code := second.do("POST", "/api/agent/wrapup", map[string]string{"disposition": "", "notes": "已解答"}, nil); code != 200 {
		t.Fatalf("agent02's wrap-up: %d", code)
	}
	second.waitState("available")
	second.state("paused")
	second.waitState("paused")

	// A caller who hangs up while the call waits for a paused colleague.
	callerB, b := call("13800000002")
	if code, reason := transfer(b, second.id); code != 200 {
		t.Fatalf("transfer the second call: %d %s", code, reason)
	}
	first.waitState("wrap_up")
	for {
		var n int
		if err := db.GetContext(ctx, &n, `SELECT count(*) FROM hotline.queue_entries WHERE call_id = $1 AND target_agent_id IS NOT NULL AND left_at IS NULL`, b); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the second call is not waiting for agent02")
		}
		time.Sleep(50 * time.Millisecond)
	}
	control(t, "POST", ctl+"/calls/"+callerB+"/hangup", nil, nil)
	for {
		var outcome string
		if err := db.GetContext(ctx, &outcome, `SELECT COALESCE(outcome, '') FROM hotline.queue_entries WHERE call_id = $1 AND target_agent_id IS NOT NULL`, b); err != nil {
			t.Fatal(err)
		}
		if outcome == "abandoned" {
			break
		}
		if outcome != "" || ctx.Err() != nil {
			t.Fatalf("the reserved entry of a caller who hung up: %q, want abandoned", outcome)
		}
		time.Sleep(50 * time.Millisecond)
	}
	second.state("available")
	second.waitState("available")
	time.Sleep(1500 * time.Millisecond)
	if err := db.GetContext(ctx, &rings, `SELECT count(*) FROM hotline.agent_state_log WHERE agent_id = $1 AND state = 'ringing'`, second.id); err != nil {
		t.Fatal(err)
	}
	if rings != 1 {
		t.Errorf("agent02 rang %d times, want once: the call of a caller who hung up was offered", rings)
	}
}
