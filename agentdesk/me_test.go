package agentdesk_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestMeNamesTheDepartment: GET /api/me of a department user (部门用户) names their
// department, which the department page shows in its header; an agent's has none.
func TestMeNamesTheDepartment(t *testing.T) {
	d := newDesk(t)
	dept, deptID := d.departmentUser("dept-a")
	type me struct {
		User struct {
			Role       string `json:"role"`
			Department *struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"department"`
		} `json:"user"`
	}
	status, body := dept.do("GET", "/api/me", "")
	var got me
	if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil {
		t.Fatalf("GET /api/me: %d %s", status, body)
	}
	if dep := got.User.Department; got.User.Role != "department" || dep == nil || dep.ID != deptID || dep.Name != "部门dept-a" {
		t.Errorf("a department user's /api/me: %s, want department %d 部门dept-a", body, deptID)
	}

	agent := d.login("agent01")
	status, body = agent.do("GET", "/api/me", "")
	got = me{}
	if err := json.Unmarshal(body, &got); status != http.StatusOK || err != nil || got.User.Department != nil {
		t.Errorf("an agent's /api/me: %d %s, want no department", status, body)
	}
}
