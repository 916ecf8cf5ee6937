package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// deskClient is an agent's browser talking to the agent API.
type deskClient struct {
	t    *testing.T
	base string
	http *http.Client
	csrf string
}

func (d *deskClient) do(method, path string, body, out any) int {
	d.t.Helper()
	var buf bytes.Buffer
	if body != nil {
		if err := json.NewEncoder(&buf).Encode(body); err != nil {
			d.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, d.base+path, &buf)
	if err != nil {
		d.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if d.csrf != "" {
		req.Header.Set("X-CSRF-Token", d.csrf)
	}
	resp, err := d.http.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// control calls the simulator's control API as the test's telephone network.
func control(t *testing.T, method, url string, body, out any) {
	t.Helper()
	var buf bytes.Buffer
	if body != nil {
		json.NewEncoder(&buf).Encode(body)
	}
	req, _ := http.NewRequest(method, url, &buf)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("%s %s: %s", method, url, resp.Status)
	}
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
}

// TestDemoAgentAnswersACall runs `hotline demo` and has the contact centre work end to end:
// an agent logs in through the agent API and goes available; a citizen calls and presses 0;
// the ACD offers the call to the agent, whose simulated phone rings and is answered; the two
// are bridged; the agent hangs up, goes to wrap-up, submits it and is available again, and
// the records say who talked to whom.
func TestDemoAgentAnswersACall(t *testing.T) {
	root, _ := filepath.Abs("../..")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d := startDemo(t, ctx, alwaysOpen(t, filepath.Join(root, "flows")), 100)
	url, httpAddr, controlAddr, out, logs := d.url, d.httpAddr, d.controlAddr, &d.out, &d.logs
	for !regexp.MustCompile(`agent01\s+\S+`).MatchString(out.String()) {
		if ctx.Err() != nil {
			t.Fatalf("no banner:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	password := regexp.MustCompile(`agent01\s+(\S+)`).FindStringSubmatch(out.String())[1]

	// The desk's page is served beside its API.
	resp, err := http.Get("http://" + httpAddr + "/desk/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "坐席工作台") {
		t.Errorf("GET /desk/login: %s, page without its title", resp.Status)
	}

	jar, _ := cookiejar.New(nil)
	desk := &deskClient{t: t, base: "http://" + httpAddr, http: &http.Client{Jar: jar}}
	var login struct {
		CSRF string `json:"csrf_token"`
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	if code := desk.do("POST", "/api/login", map[string]string{"username": "agent01", "password": password}, &login); code != 200 {
		t.Fatalf("login: %d", code)
	}
	desk.csrf = login.CSRF
	if code := desk.do("POST", "/api/agent/state", map[string]string{"state": "available"}, nil); code != 200 {
		t.Fatalf("go available: %d", code)
	}
	state := func() string {
		var st struct {
			Status struct {
				State string `json:"state"`
			} `json:"status"`
		}
		desk.do("GET", "/api/agent/status", nil, &st)
		return st.Status.State
	}
	waitState := func(want string) {
		t.Helper()
		for got := state(); got != want; got = state() {
			if ctx.Err() != nil {
				t.Fatalf("agent state %q, want %q\n%s\n%s", got, want, tail(logs.String(), 30), dumpACD(url))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitState("available")

	// A citizen calls: Mandarin, then 0 for an agent, typed ahead of the prompts.
	ctl := "http://" + controlAddr
	var caller struct {
		ID string `json:"id"`
	}
	control(t, "POST", ctl+"/calls", map[string]string{"caller": "13800000001", "exten": "12345"}, &caller)
	control(t, "POST", ctl+"/calls/"+caller.ID+"/dtmf", map[string]any{"digits": "10", "gap_ms": 300}, nil)
	waitState("ringing")

	// The agent's desk phone rings; the agent answers it.
	phone := func() string {
		var calls []struct {
			ID, Kind, Endpoint string
		}
		control(t, "GET", ctl+"/calls", nil, &calls)
		for _, c := range calls {
			if c.Kind == "agent" && c.Endpoint == "PJSIP/1001" {
				return c.ID
			}
		}
		return ""
	}
	agentCall := phone()
	if agentCall == "" {
		t.Fatal("the agent's phone is not ringing")
	}
	control(t, "POST", ctl+"/calls/"+agentCall+"/answer", nil, nil)
	waitState("talking")

	// The agent hangs up first: wrap-up, and the caller goes on to the survey.
	control(t, "POST", ctl+"/calls/"+agentCall+"/hangup", nil, nil)
	waitState("wrap_up")
	control(t, "POST", ctl+"/calls/"+caller.ID+"/hangup", nil, nil)
	if code := desk.do("POST", "/api/agent/wrapup", map[string]string{"disposition": "", "notes": "已解答"}, nil); code != 200 {
		t.Fatalf("submit wrap-up: %d", code)
	}
	waitState("available")

	db := openTestDB(t, url)
	var rec struct {
		Outcome string `db:"outcome"`
		AgentID int64  `db:"agent_id"`
	}
	for {
		err := db.GetContext(ctx, &rec, `SELECT COALESCE(outcome, '') AS outcome, COALESCE(agent_id, 0) AS agent_id
			FROM hotline.calls WHERE caller_number = '13800000001'`)
		if err == nil && rec.Outcome != "" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("call record: %v %+v", err, rec)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rec.Outcome != "agent" || rec.AgentID != login.User.ID {
		t.Errorf("call recorded as %+v, want outcome agent with agent %d", rec, login.User.ID)
	}
	var states []string
	if err := db.SelectContext(ctx, &states, `SELECT state FROM hotline.agent_state_log WHERE agent_id = $1 ORDER BY id`, login.User.ID); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(states), "[paused available ringing talking wrap_up available]"; got != want && got != "[offline available ringing talking wrap_up available]" {
		t.Errorf("agent state log %s, want %s", got, want)
	}
}

// dumpACD describes the ACD's tables, for a failing test.
func dumpACD(url string) string {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	var b strings.Builder
	for _, q := range []string{
		`SELECT id, instance_id, ended_at IS NOT NULL AS ended FROM hotline.calls`,
		`SELECT call_id, seq, flow, node, COALESCE(exit, '') FROM hotline.call_steps ORDER BY call_id, seq`,
		`SELECT id, queue_id, COALESCE(instance_id, ''), left_at IS NOT NULL, COALESCE(offer_id, 0) FROM hotline.queue_entries`,
		`SELECT id, heartbeat_at FROM hotline.instances`,
		`SELECT agent_id, state, COALESCE(instance_id, '') FROM hotline.agent_status`,
		`SELECT id, agent_id, state, cause FROM hotline.offers`,
	} {
		rows, err := db.Query(q)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", q, err)
			continue
		}
		cols, _ := rows.Columns()
		fmt.Fprintf(&b, "%s\n", q)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			fmt.Fprintf(&b, "  %v\n", vals)
		}
		rows.Close()
	}
	return b.String()
}

// alwaysOpen copies the flows with a calendar open around the clock, so that agents answer
// whatever the time the test runs.
func alwaysOpen(t *testing.T, flows string) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(flows)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(flows, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "calendars.yaml" {
			day := `["00:00-24:00"]`
			data = []byte("calendars:\n  hotline:\n    timezone: Asia/Shanghai\n    weekly: {mon: " + day + ", tue: " + day +
				", wed: " + day + ", thu: " + day + ", fri: " + day + ", sat: " + day + ", sun: " + day + "}\n")
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
