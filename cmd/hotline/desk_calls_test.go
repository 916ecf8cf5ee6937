package main

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestDemoDeskControlsACall runs `hotline demo` and has an agent work a call through the
// agent API alone: the offered call's card shows the IVR journey, the agent answers the
// simulated phone with POST /api/calls/{id}/control, holds, resumes (a second hold of a held
// call is refused with 409), and hangs up into wrap-up.
func TestDemoDeskControlsACall(t *testing.T) {
	root, _ := filepath.Abs("../..")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d := startDemo(t, ctx, alwaysOpen(t, filepath.Join(root, "flows")), 100)
	for !regexp.MustCompile(`agent01\s+\S+`).MatchString(d.out.String()) {
		if ctx.Err() != nil {
			t.Fatalf("no banner:\n%s", d.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	password := regexp.MustCompile(`agent01\s+(\S+)`).FindStringSubmatch(d.out.String())[1]
	jar, _ := cookiejar.New(nil)
	desk := &deskClient{t: t, base: "http://" + d.httpAddr, http: &http.Client{Jar: jar}}
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
	type status struct {
		Status struct {
			State  string `json:"state"`
			CallID string `json:"call_id"`
		} `json:"status"`
	}
	waitState := func(want string) status {
		t.Helper()
		for {
			var st status
			desk.do("GET", "/api/agent/status", nil, &st)
			if st.Status.State == want {
				return st
			}
			if ctx.Err() != nil {
				t.Fatalf("agent state %q, want %q\n%s", st.Status.State, want, tail(d.logs.String(), 30))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitState("available")

	ctl := "http://" + d.controlAddr
	var caller struct {
		ID string `json:"id"`
	}
	control(t, "POST", ctl+"/calls", map[string]string{"caller": "13800000001", "exten": "12345"}, &caller)
	control(t, "POST", ctl+"/calls/"+caller.ID+"/dtmf", map[string]any{"digits": "10", "gap_ms": 300}, nil)
	call := waitState("ringing").Status.CallID
	if call == "" {
		t.Fatal("ringing without a call")
	}

	// The card of the offered call: the number and the way through the IVR.
	var card struct {
		CallerNumber string `json:"caller_number"`
		Journey      struct {
			Steps []struct {
				Summary string `json:"summary"`
				Detail  string `json:"detail"`
			} `json:"steps"`
		} `json:"journey"`
	}
	if code := desk.do("GET", "/api/calls/"+call+"/card", nil, &card); code != 200 || card.CallerNumber != "13800000001" {
		t.Fatalf("card: %d %+v", code, card)
	}
	toAgent := false
	for _, s := range card.Journey.Steps {
		toAgent = toAgent || s.Detail == "按0转人工"
	}
	if !toAgent {
		t.Errorf("the journey does not say the caller pressed 0: %+v", card.Journey.Steps)
	}

	type callState struct {
		CallID string `json:"call_id"`
		Held   bool   `json:"held"`
	}
	cmd := func(action string, want int) callState {
		t.Helper()
		var st callState
		if code := desk.do("POST", "/api/calls/"+call+"/control", map[string]string{"action": action}, &st); code != want {
			t.Fatalf("%s: %d, want %d", action, code, want)
		}
		return st
	}
	cmd("hold", http.StatusConflict) // not answered yet
	cmd("answer", http.StatusOK)
	waitState("talking")
	if st := cmd("hold", http.StatusOK); !st.Held || st.CallID != call {
		t.Errorf("hold: %+v", st)
	}
	cmd("hold", http.StatusConflict)
	if st := cmd("resume", http.StatusOK); st.Held {
		t.Errorf("resume: %+v", st)
	}
	cmd("hangup", http.StatusOK)
	waitState("wrap_up")
	cmd("hold", http.StatusConflict)
	control(t, "POST", ctl+"/calls/"+caller.ID+"/hangup", nil, nil)
}
