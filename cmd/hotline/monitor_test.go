package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"
)

// TestDemoSupervisorMonitorsACall runs `hotline demo`: agent01 talks with a caller, the
// supervisor listens on their own simulated phone (PJSIP/1100, answered once), whispers,
// barges, stops; the session's row says the modes in order and why it ended, and the call
// goes on.
func TestDemoSupervisorMonitorsACall(t *testing.T) {
	root, _ := filepath.Abs("../..")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d := startDemo(t, ctx, alwaysOpen(t, filepath.Join(root, "flows")), 100)
	banner := regexp.MustCompile(`supervisor\s+(\S+)`)
	for !regexp.MustCompile(`agent01\s+\S+`).MatchString(d.out.String()) || !banner.MatchString(d.out.String()) {
		if ctx.Err() != nil {
			t.Fatalf("no banner:\n%s", d.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	login := func(user string) (*deskClient, int64) {
		t.Helper()
		password := regexp.MustCompile(user + `\s+(\S+)`).FindStringSubmatch(d.out.String())[1]
		jar, _ := cookiejar.New(nil)
		c := &deskClient{t: t, base: "http://" + d.httpAddr, http: &http.Client{Jar: jar}}
		var me struct {
			CSRF string `json:"csrf_token"`
			User struct {
				ID int64 `json:"id"`
			} `json:"user"`
		}
		if code := c.do("POST", "/api/login", map[string]string{"username": user, "password": password}, &me); code != 200 {
			t.Fatalf("login %s: %d", user, code)
		}
		c.csrf = me.CSRF
		return c, me.User.ID
	}
	agent, agentID := login("agent01")
	sup, _ := login("supervisor")
	if code := agent.do("POST", "/api/agent/state", map[string]string{"state": "available"}, nil); code != 200 {
		t.Fatalf("go available: %d", code)
	}
	waitState := func(want string) string {
		t.Helper()
		for {
			var st struct {
				Status struct {
					State  string `json:"state"`
					CallID string `json:"call_id"`
				} `json:"status"`
			}
			agent.do("GET", "/api/agent/status", nil, &st)
			if st.Status.State == want {
				return st.Status.CallID
			}
			if ctx.Err() != nil {
				t.Fatalf("agent state %q, want %q\n%s", st.Status.State, want, tail(d.logs.String(), 30))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitState("available")
	start := map[string]any{"agent_id": agentID, "mode": "listen"}
	if code := sup.do("POST", "/api/monitoring", start, nil); code != http.StatusConflict {
		t.Errorf("monitoring an agent who is not talking: %d, want 409", code)
	}

	ctl := "http://" + d.controlAddr
	var caller struct {
		ID string `json:"id"`
	}
	control(t, "POST", ctl+"/calls", map[string]string{"caller": "13800000002", "exten": "12345"}, &caller)
	control(t, "POST", ctl+"/calls/"+caller.ID+"/dtmf", map[string]any{"digits": "10", "gap_ms": 300}, nil)
	call := waitState("ringing")
	if code := agent.do("POST", "/api/calls/"+call+"/control", map[string]string{"action": "answer"}, nil); code != 200 {
		t.Fatalf("answer: %d", code)
	}
	waitState("talking")

	var live struct {
		ID    string `json:"id"`
		Mode  string `json:"mode"`
		State string `json:"state"`
	}
	if code := sup.do("POST", "/api/monitoring", start, &live); code != http.StatusCreated || live.State != "ringing" {
		t.Fatalf("start monitoring: %d %+v", code, live)
	}
	// The supervisor's phone rings; they answer it.
	supPhone := ""
	for supPhone == "" {
		var calls []struct {
			ID       string `json:"id"`
			Endpoint string `json:"endpoint"`
			State    string `json:"state"`
		}
		control(t, "GET", ctl+"/calls", nil, &calls)
		for _, c := range calls {
			if c.Endpoint == "PJSIP/1100" && c.State == "ringing" {
				supPhone = c.ID
			}
		}
		if ctx.Err() != nil {
			t.Fatal("the supervisor's phone never rang")
		}
		time.Sleep(20 * time.Millisecond)
	}
	control(t, "POST", ctl+"/calls/"+supPhone+"/answer", nil, nil)
	for live.State != "active" {
		var list struct {
			Live []struct {
				ID    string `json:"id"`
				State string `json:"state"`
			} `json:"live"`
		}
		sup.do("GET", "/api/monitoring", nil, &list)
		for _, l := range list.Live {
			if l.ID == live.ID {
				live.State = l.State
			}
		}
		if ctx.Err() != nil {
			t.Fatal("the session never became active")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, mode := range []string{"whisper", "barge"} {
		if code := sup.do("POST", "/api/monitoring/"+live.ID+"/mode", map[string]string{"mode": mode}, &live); code != 200 || live.Mode != mode {
			t.Fatalf("mode %s: %d %+v", mode, code, live)
		}
	}
	if code := sup.do("POST", "/api/monitoring/"+live.ID+"/stop", nil, nil); code != 200 {
		t.Fatalf("stop: %d", code)
	}
	for {
		var list struct {
			Recent []struct {
				ID     int64  `json:"id"`
				Ended  bool   `json:"ended"`
				Reason string `json:"end_reason"`
				Modes  []struct {
					Mode string `json:"mode"`
				} `json:"modes"`
			} `json:"recent"`
		}
		sup.do("GET", "/api/monitoring", nil, &list)
		if len(list.Recent) > 0 && list.Recent[0].Ended {
			r := list.Recent[0]
			var modes []string
			for _, m := range r.Modes {
				modes = append(modes, m.Mode)
			}
			if want := []string{"listen", "whisper", "barge"}; !slices.Equal(modes, want) || r.Reason != "stopped" {
				t.Errorf("session %+v: modes %v, want %v, stopped", r, modes, want)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the session's end was never recorded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The caller still talks with the agent.
	waitState("talking")
	control(t, "POST", ctl+"/calls/"+caller.ID+"/hangup", nil, nil)
}
