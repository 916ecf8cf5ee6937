package agentdesk_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

type auditPage struct {
	Total int `json:"total"`
	Rows  []struct {
		Seq      int64  `json:"seq"`
		Actor    string `json:"actor"`
		Action   string `json:"action"`
		ObjectID string `json:"object_id"`
		IP       string `json:"ip"`
	} `json:"rows"`
}

func (d *desk) auditPage(c *client, query string) auditPage {
	d.t.Helper()
	status, body := c.do("GET", "/api/audit"+query, "")
	if status != http.StatusOK {
		d.t.Fatalf("GET /api/audit%s: %d %s", query, status, body)
	}
	var p auditPage
	if err := json.Unmarshal(body, &p); err != nil {
		d.t.Fatal(err)
	}
	return p
}

// Supervisors see what desk users did with data; admins the whole trail with addresses.
func TestAuditLogViews(t *testing.T) {
	d := newDesk(t)
	sup := d.login("supervisor") // a login row, with an address
	admin := d.login("admin")
	d.exec(`INSERT INTO hotline.audit_log (actor_id, action, object_type, object_id, detail)
		VALUES ($1, 'view_citizen', 'citizen', '42', '{"reason": "offered_call"}')`, d.ids["agent01"])
	d.exec(`INSERT INTO hotline.audit_log (actor_id, action, object_type, object_id)
		VALUES ($1, 'view_citizen', 'citizen', '43')`, d.ids["admin"])
	d.exec(`INSERT INTO hotline.audit_log (action, object_type, object_id) VALUES ('privacy_erase', 'citizen', '44')`)

	p := d.auditPage(sup, "")
	if p.Total != 1 || len(p.Rows) != 1 || p.Rows[0].ObjectID != "42" || p.Rows[0].Actor != "用户agent01" || p.Rows[0].IP != "" {
		t.Errorf("supervisor's view = %+v; want only agent01's view of citizen 42, no address", p)
	}
	all := d.auditPage(admin, "")
	actions := map[string]int{}
	withIP := 0
	for _, r := range all.Rows {
		actions[r.Action]++
		if r.IP != "" {
			withIP++
		}
	}
	if actions["login"] != 2 || actions["view_citizen"] != 2 || actions["privacy_erase"] != 1 || withIP < 2 {
		t.Errorf("admin's view: actions %v, %d rows with an address; want the full trail", actions, withIP)
	}
	if p := d.auditPage(admin, "?action=view_citizen&object_id=43"); p.Total != 1 || p.Rows[0].ObjectID != "43" {
		t.Errorf("filtered = %+v", p)
	}
	if p := d.auditPage(admin, "?limit=2"); len(p.Rows) != 2 || p.Rows[0].Seq < p.Rows[1].Seq {
		t.Errorf("limit 2, newest first = %+v", p.Rows)
	}
	for _, q := range []string{"?limit=x", "?limit=501", "?from=yesterday", "?actor_id=-1"} {
		status, body := admin.do("GET", "/api/audit"+q, "")
		if code, reason := errorOf(t, body); status != http.StatusBadRequest || code != "invalid" || reason == "" {
			t.Errorf("GET /api/audit%s: %d %s", q, status, body)
		}
	}

	status, body := admin.do("GET", "/api/audit/verify", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"ok":true`) {
		t.Errorf("verify: %d %s", status, body)
	}
	if status, _ := sup.do("GET", "/api/audit/verify", ""); status != http.StatusForbidden {
		t.Errorf("a supervisor verifying: %d, want 403", status)
	}
}
