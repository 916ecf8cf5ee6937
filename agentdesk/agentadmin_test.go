package agentdesk_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

func init() {
	validBodies["POST /api/admin/agents"] = `{"username":"agent09","display_name":"新坐席","role":"agent","endpoint":"PJSIP/1009","password":"agent09-password"}`
	validBodies["POST /api/admin/agents/{id}/state"] = `{"state":"paused","pause_reason":"break","reason":"现场辅导"}`
	validBodies["POST /api/admin/agents/{id}/skills"] = `{"skills":[]}`
	validBodies["POST /api/admin/agents/{id}/password"] = `{"password":"a-new-password"}`
}

func TestAgentManagementAPI(t *testing.T) {
	d, acd := wallboardDesk(t)
	sup := d.login("supervisor")
	admin := d.login("admin")
	a1, a2 := d.ids["agent01"], d.ids["agent02"]
	path := func(id int64, what string) string { return fmt.Sprintf("/api/admin/agents/%d/%s", id, what) }
	audits := func(action string, id int64) int {
		var n int
		if err := d.db.Get(&n, `SELECT count(*) FROM hotline.audit_log WHERE action = $1 AND object_id = $2::text`, action, id); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// The list: every user with skills and state, never a password hash.
	status, body := sup.do("GET", "/api/admin/agents", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"skill":"general","level":3`) || !strings.Contains(string(body), `{"code":"meeting","name":"会议"}`) {
		t.Fatalf("GET /api/admin/agents: %d %s", status, body)
	}
	if strings.Contains(string(body), "$2a$") || strings.Contains(string(body), "password") {
		t.Errorf("the list shows passwords: %s", body)
	}
	if status, _ := d.login("agent02").do("GET", "/api/admin/agents", ""); status != http.StatusForbidden {
		t.Errorf("an agent lists agents: %d, want 403", status)
	}

	// Forcing a pause: the agent, logged in on the desk, is paused, audited with the reason.
	agent := d.login("agent01")
	ws := agent.socket()
	ws.snapshot("snapshot")
	if status, body := agent.do("POST", "/api/agent/state", `{"state":"available"}`); status != http.StatusOK {
		t.Fatalf("available: %d %s", status, body)
	}
	for _, bad := range []string{
		`{"state":"paused","pause_reason":"break","reason":" "}`,
		`{"state":"paused","reason":"辅导"}`,
		`{"state":"paused","pause_reason":"nap","reason":"辅导"}`,
		`{"state":"available","reason":"辅导"}`,
	} {
		status, body := sup.do("POST", path(a1, "state"), bad)
		if code, reason := errorOf(t, body); status != http.StatusBadRequest || code != "invalid" || reason == "" {
			t.Errorf("%s: %d %s, want 400 with a reason", bad, status, body)
		}
	}
	if status, body := sup.do("POST", path(a1, "state"), `{"state":"paused","pause_reason":"meeting","reason":"班前会"}`); status != http.StatusOK {
		t.Fatalf("forced pause: %d %s", status, body)
	}
	ws.until("paused for a meeting", func(s snapshotOf) bool { return s.Status.State == "paused" && s.Status.Reason == "meeting" })
	var detail string
	if err := d.db.Get(&detail, `SELECT (f.detail->>'reason') || ' / ' || (w.detail->>'reason')
		FROM hotline.audit_log f JOIN hotline.audit_log w ON w.object_id = f.object_id AND w.action = 'agent_state_forced_reason'
		WHERE f.action = 'agent_state_forced' AND f.object_id = $1::text AND f.actor_id = $2 AND w.actor_id = $2`, a1, d.ids["supervisor"]); err != nil {
		t.Fatalf("no audit rows of the forced pause: %v", err)
	}
	if detail != "meeting / 班前会" {
		t.Errorf("audit reasons %q", detail)
	}
	// A supervisor cannot manage an admin.
	if status, body := sup.do("POST", path(d.ids["admin"], "skills"), `{"skills":[]}`); status != http.StatusForbidden {
		t.Errorf("a supervisor edits an admin: %d %s, want 403", status, body)
	}

	// Forcing a logout: out of the ACD, the desk told logged_out.
	if status, body := sup.do("POST", path(a1, "state"), `{"state":"offline","reason":"离岗未签出"}`); status != http.StatusOK {
		t.Fatalf("forced logout: %d %s", status, body)
	}
	ws.ended("logged_out", websocket.StatusNormalClosure)
	if st, err := acd.Status(t.Context(), a1); err != nil || st.State != "offline" {
		t.Errorf("after a forced logout: %+v %v", st, err)
	}
	if status, _ := agent.do("GET", "/api/me", ""); status != http.StatusUnauthorized {
		t.Errorf("the agent's session survived a forced logout: %d", status)
	}
	if status, body := sup.do("POST", path(a1, "state"), `{"state":"offline","reason":"again"}`); status != http.StatusConflict {
		t.Errorf("logging out an agent who is out: %d %s, want 409", status, body)
	}

	// Skills: levels 1 to 5, audited.
	if status, body := sup.do("POST", path(a2, "skills"), `{"skills":[{"skill":"general","level":6}]}`); status != http.StatusBadRequest {
		t.Errorf("level 6: %d %s, want 400", status, body)
	}
	if status, body := sup.do("POST", path(a2, "skills"), `{"skills":[{"skill":"general","level":5},{"skill":"insurance","level":2}]}`); status != http.StatusNoContent {
		t.Fatalf("skills: %d %s", status, body)
	}
	if audits("agent_skills_changed", a2) != 1 {
		t.Error("the skills change is not audited")
	}
	if status, body := sup.do("POST", "/api/admin/agents/99999/skills", `{"skills":[]}`); status != http.StatusNotFound {
		t.Errorf("skills of nobody: %d %s, want 404", status, body)
	}

	// Admins create users, who can log in.
	if status, body := sup.do("POST", "/api/admin/agents", validBodies["POST /api/admin/agents"]); status != http.StatusForbidden {
		t.Errorf("a supervisor creates a user: %d %s, want 403", status, body)
	}
	status, body = admin.do("POST", "/api/admin/agents", `{"username":"agent09","display_name":"新坐席","role":"agent","endpoint":"PJSIP/1009","password":"agent09-pw","skills":[{"skill":"general","level":2}]}`)
	var created struct{ ID int64 }
	if status != http.StatusCreated || json.Unmarshal(body, &created) != nil || created.ID == 0 {
		t.Fatalf("create: %d %s", status, body)
	}
	if status, body := admin.do("POST", "/api/admin/agents", `{"username":"agent09","display_name":"重复","role":"agent","password":"agent09-pw"}`); status != http.StatusConflict {
		t.Errorf("a taken username: %d %s, want 409", status, body)
	}
	if status, body := admin.do("POST", "/api/admin/agents", `{"username":"agent10","display_name":"短","role":"agent","password":"short"}`); status != http.StatusBadRequest {
		t.Errorf("a short password: %d %s, want 400", status, body)
	}
	d.ids["agent09"] = created.ID
	newcomer := d.login("agent09")

	// A password reset ends the user's sessions; the new password works.
	if status, body := admin.do("POST", path(created.ID, "password"), `{"password":"brand-new-pw"}`); status != http.StatusNoContent {
		t.Fatalf("reset: %d %s", status, body)
	}
	if status, _ := newcomer.do("GET", "/api/me", ""); status != http.StatusUnauthorized {
		t.Errorf("a session survived the password reset: %d", status)
	}
	c := d.client()
	if status, body := c.do("POST", "/api/login", `{"username":"agent09","password":"brand-new-pw"}`); status != http.StatusOK {
		t.Errorf("login with the new password: %d %s", status, body)
	}
	if audits("agent_password_reset", created.ID) != 1 || audits("agent_created", created.ID) != 1 {
		t.Error("creation or reset not audited")
	}

	// Deactivation logs the user out and keeps them out.
	if status, body := admin.do("POST", path(created.ID, "deactivate"), ""); status != http.StatusNoContent {
		t.Fatalf("deactivate: %d %s", status, body)
	}
	if status, _ := c.do("GET", "/api/me", ""); status != http.StatusUnauthorized {
		t.Errorf("a deactivated user's session lives: %d", status)
	}
	if status, _ := d.client().do("POST", "/api/login", `{"username":"agent09","password":"brand-new-pw"}`); status != http.StatusUnauthorized {
		t.Errorf("a deactivated user logs in: %d", status)
	}
	if status, body := admin.do("POST", path(created.ID, "deactivate"), ""); status != http.StatusConflict {
		t.Errorf("deactivating twice: %d %s, want 409", status, body)
	}
	if status, body := admin.do("POST", path(d.ids["admin"], "deactivate"), ""); status != http.StatusConflict {
		t.Errorf("deactivating oneself: %d %s, want 409", status, body)
	}
}
