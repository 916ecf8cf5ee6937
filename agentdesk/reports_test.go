package agentdesk_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestReportsAPI(t *testing.T) {
	d := newDesk(t)
	sup := d.login("supervisor")
	d.exec(`INSERT INTO hotline.skills (id, name) VALUES ('ss', '社保')`)
	d.exec(`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('ss', '社保咨询', 'ss')`)
	d.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, outcome, queue_id)
		VALUES ('00000000-0000-4000-8000-000000000001', 'ast1', 'c1', '13800138000', '2026-12-01 09:59:00+08', 'agent', 'ss')`)
	d.exec(`INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, left_at, outcome)
		VALUES ('00000000-0000-4000-8000-000000000001', 'ss', '2026-12-01 10:00:00+08', '2026-12-01 10:00:12+08', 'answered')`)
	d.exec(`INSERT INTO hotline.offers (call_id, entry_id, agent_id, queue_id, state, offered_at, decided_at, talk_ended_at, wrapped_up_at)
		SELECT call_id, id, $1, 'ss', 'accepted', '2026-12-01 10:00:02+08', '2026-12-01 10:00:12+08',
		       '2026-12-01 10:03:12+08', '2026-12-01 10:03:42+08' FROM hotline.queue_entries`, d.ids["agent01"])

	status, body := sup.do("GET", "/api/reports/queues?from=2026-12-01&to=2026-12-01&bucket=hour", "")
	if status != http.StatusOK {
		t.Fatalf("queue report: %d %s", status, body)
	}
	var q struct {
		Rows []map[string]any `json:"rows"`
	}
	json.Unmarshal(body, &q)
	if len(q.Rows) != 1 || q.Rows[0]["offered"] != 1.0 || q.Rows[0]["service_level"] != 1.0 ||
		q.Rows[0]["aht_seconds"] != 210.0 || q.Rows[0]["bucket"] != "2026-12-01T10:00:00+08:00" {
		t.Errorf("queue report = %s", body)
	}

	resp := sup.response("GET", "/api/reports/queues?from=2026-12-01&to=2026-12-01&bucket=hour&format=csv", "")
	defer resp.Body.Close()
	var csv strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		csv.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") ||
		!strings.HasPrefix(csv.String(), "\ufeff时段,队列,呼入量") || !strings.Contains(csv.String(), "2026-12-01 10:00,ss,1,1,1,0,0,1.0000") {
		t.Errorf("CSV: %s\n%s", ct, csv.String())
	}

	status, body = sup.do("GET", "/api/reports/agents?from=2026-12-01&to=2026-12-01", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"answered":1`) {
		t.Errorf("agent report: %d %s", status, body)
	}
	for _, path := range []string{"/api/reports/ivr", "/api/reports/satisfaction"} {
		if status, body := sup.do("GET", path+"?from=2026-12-01&to=2026-12-07", ""); status != http.StatusOK || !strings.Contains(string(body), `"rows":[`) {
			t.Errorf("%s: %d %s", path, status, body)
		}
	}
	for _, query := range []string{
		"", "?from=2026-12-01", "?from=2026-12-02&to=2026-12-01", "?from=2025-01-01&to=2026-12-01",
		"?from=2026-12-01&to=2026-12-01&bucket=month", "?from=2026-10-01&to=2026-12-01&bucket=15m",
		"?from=2026-12-01&to=2026-12-01&format=xml", "?from=2026/12/01&to=2026-12-01",
	} {
		status, body := sup.do("GET", "/api/reports/queues"+query, "")
		if code, reason := errorOf(t, body); status != http.StatusBadRequest || code != "invalid" || reason == "" {
			t.Errorf("queues%s: %d %s", query, status, body)
		}
	}
	if status, _ := d.login("agent02").do("GET", "/api/reports/queues?from=2026-12-01&to=2026-12-01", ""); status != http.StatusForbidden {
		t.Errorf("an agent's report: %d, want 403", status)
	}
}
