package agentdesk_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/coder/websocket"

	"github.com/foshan-hotline/hotline/postgres"
)

// TestWithTheACD runs the API on the real ACD rather than the fake: its states, its
// notifications reaching the websocket, its takeover and its refusals.
func TestWithTheACD(t *testing.T) {
	d := newDesk(t)
	acd := postgres.NewACD(postgres.New(d.db, nil, nil), "instance-a")
	// Another instance, on the ACD, takes the place of the desk's.
	d.srv = d.newServer(acd)
	d.web = httptest.NewServer(d.srv.Handler())
	t.Cleanup(d.web.Close)

	c := d.login("agent01")
	ws := c.socket()
	if snap := ws.snapshot("snapshot"); snap.Status.State != "paused" || snap.Status.Reason != "login" {
		t.Errorf("after login: %+v, want paused with reason login", snap.Status)
	}
	if status, body := c.do("POST", "/api/agent/state", `{"state":"available"}`); status != http.StatusOK {
		t.Fatalf("available: %d %s", status, body)
	}
	ws.until("available", func(s snapshotOf) bool { return s.Status.State == "available" })
	status, body := c.do("POST", "/api/agent/state", `{"state":"paused","reason":"nap"}`)
	if code, _ := errorOf(t, body); status != http.StatusBadRequest || code != "invalid" {
		t.Errorf("an unknown pause reason: %d %s, want 400", status, body)
	}
	status, body = c.do("POST", "/api/agent/wrapup", `{}`)
	if code, _ := errorOf(t, body); status != http.StatusConflict || code != "conflict" {
		t.Errorf("ending a wrap-up when available: %d %s, want 409", status, body)
	}
	if status, body := c.do("POST", "/api/agent/state", `{"state":"paused","reason":"meal"}`); status != http.StatusOK {
		t.Fatalf("pause: %d %s", status, body)
	}
	ws.until("paused for a meal", func(s snapshotOf) bool { return s.Status.Reason == "meal" })

	// A second login takes the agent over, state and all.
	second := d.login("agent01")
	ws.ended("session_replaced", websocket.StatusNormalClosure)
	ws2 := second.socket()
	if snap := ws2.snapshot("snapshot"); snap.Status.State != "paused" || snap.Status.Reason != "meal" {
		t.Errorf("after the takeover: %+v, want still paused for a meal", snap.Status)
	}
	if status, body := second.do("POST", "/api/logout", ""); status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", status, body)
	}
	ws2.ended("logged_out", websocket.StatusNormalClosure)
	st, err := acd.Status(t.Context(), d.ids["agent01"])
	if err != nil || st.State != "offline" {
		t.Errorf("the ACD after logout: %+v %v, want offline", st, err)
	}
}
