package agentdesk_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// catalogue adds a department, two service items and a station of each of two districts.
func (d *desk) catalogue() {
	d.exec(`INSERT INTO platform.districts (code, name) VALUES ('440604', '禅城区'), ('440605', '南海区')`)
	d.exec(`INSERT INTO platform.departments (id, name, phone) VALUES (1, '佛山市公安局', '0757-83338110')`)
	d.exec(`INSERT INTO platform.service_items (code, name, department_id, category, materials, fee_fen, time_limit_days, keywords)
		VALUES ('GA-HJ-001', '户籍迁入（投靠亲属）', 1, '户籍办理', '{居民身份证,居民户口簿}', 0, 10, '{落户,迁户口}'),
		       ('GA-SFZ-002', '居民身份证挂失补领', 1, '身份证件', '{居民户口簿,相片回执}', 4000, 15, '{丢失,补办}')`)
	d.exec(`INSERT INTO platform.service_stations (district_code, name, address, hours, phone) VALUES
		('440604', '禅城区行政服务中心', '佛山市禅城区季华五路18号', '周一至周六 9:00-17:30', '0757-83000000'),
		('440605', '南海区行政服务中心', '佛山市南海区桂城南海大道北59号', '周一至周六 9:00-17:30', '0757-86000000')`)
}

func TestKnowledgeAPI(t *testing.T) {
	d := newDesk(t)
	d.catalogue()
	agent := d.login("agent01")
	search := func(query string) (int, map[string]any) {
		t.Helper()
		status, body := agent.do("GET", "/api/knowledge?"+query, "")
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s: %s", query, body)
		}
		return status, v
	}
	first := func(v map[string]any) map[string]any {
		rs, _ := v["results"].([]any)
		if len(rs) == 0 {
			return map[string]any{}
		}
		return rs[0].(map[string]any)
	}

	status, v := search("q=" + url.QueryEscape("户籍"))
	if hit := first(v); status != http.StatusOK || hit["title"] != "户籍迁入（投靠亲属）" || hit["kind"] != "service" ||
		hit["department"] != "佛山市公安局" || hit["fee_fen"] != 0.0 || hit["time_limit_days"] != 10.0 ||
		!strings.Contains(fmt.Sprint(hit["text"]), "所需材料：1. 居民身份证；2. 居民户口簿") {
		t.Errorf("户籍: %d %v", status, v)
	}
	// The other item shares 身份证 (in its materials) and nothing else: left out.
	if status, v := search("q=" + url.QueryEscape("身份证丢了怎么补办") + "&kind=service"); status != http.StatusOK ||
		first(v)["title"] != "居民身份证挂失补领" || len(v["results"].([]any)) != 1 {
		t.Errorf("身份证丢了怎么补办: %d %v", status, v)
	}
	if status, v := search("district=440605"); status != http.StatusOK || first(v)["title"] != "南海区行政服务中心" || len(v["results"].([]any)) != 1 {
		t.Errorf("district 440605: %d %v", status, v)
	}
	if status, v := search("kind=rule&limit=100"); status != http.StatusOK || first(v)["title"] != "账号注册" || len(v["results"].([]any)) < 8 {
		t.Errorf("rules: %d %v", status, v)
	}
	if status, v := search("q=" + url.QueryEscape("注销账号")); status != http.StatusOK || first(v)["title"] != "账号注销" {
		t.Errorf("注销账号: %d %v", status, v)
	}

	for _, query := range []string{
		"",                              // nothing to look for
		"q=" + url.QueryEscape("？"),     // no terms
		"q=x&kind=faq",                  // unknown kind
		"q=x&district=4406",             // not a district code
		"q=x&kind=rule&district=440604", // a district with another kind
		"q=x&limit=0", "q=x&limit=101", "q=x&limit=ten",
		"q=" + strings.Repeat("户", 41), // too long
		"q=%ff%fe",                     // not UTF-8
	} {
		status, body := agent.do("GET", "/api/knowledge?"+query, "")
		if status != http.StatusBadRequest {
			t.Errorf("%q: %d %s, want 400", query, status, body)
		}
		errorOf(t, body)
	}
}

func TestAgentListsAPI(t *testing.T) {
	d := newDesk(t)
	me, other := d.ids["agent01"], d.ids["agent02"]
	d.exec(`INSERT INTO hotline.skills (id, name) VALUES ('utilities', '公用事业'), ('tax', '税务')`)
	d.exec(`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('utilities', '公用事业', 'utilities'), ('tax', '税务咨询', 'tax')`)
	d.exec(`INSERT INTO hotline.agent_skills (agent_id, skill_id) VALUES ($1, 'utilities'), ($2, 'tax')`, me, other)
	d.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, outcome)
		VALUES ('00000000-0000-4000-8000-000000000001', 'n1', 'c1', '13800138000', now() - interval '10 minutes', 'agent'),
		       ('00000000-0000-4000-8000-000000000002', 'n1', 'c2', '13900139000', now() - interval '5 minutes', 'agent')`)
	d.exec(`INSERT INTO hotline.offers (call_id, agent_id, queue_id, state, offered_at, decided_at, talk_ended_at) VALUES
		('00000000-0000-4000-8000-000000000001', $1, 'utilities', 'accepted', now() - interval '9 minutes', now() - interval '9 minutes', now() - interval '6 minutes'),
		('00000000-0000-4000-8000-000000000002', $2, 'tax', 'accepted', now() - interval '4 minutes', now() - interval '4 minutes', now() - interval '3 minutes')`, me, other)
	var mine, theirs, done int64
	for _, cb := range []struct {
		id            *int64
		queue, status string
	}{{&mine, "utilities", "pending"}, {&theirs, "tax", "pending"}, {&done, "utilities", "done"}} {
		if err := d.db.Get(cb.id, `INSERT INTO hotline.callbacks (number, queue_id, status, next_attempt_at)
			VALUES ('13700137000', $1, $2, now() + interval '1 hour') RETURNING id`, cb.queue, cb.status); err != nil {
			t.Fatal(err)
		}
	}

	agent := d.login("agent01")
	status, body := agent.do("GET", "/api/agent/calls?limit=5", "")
	var calls struct {
		Calls []struct {
			Number      string `json:"number"`
			QueueName   string `json:"queue_name"`
			State       string `json:"state"`
			TalkSeconds int    `json:"talk_seconds"`
		} `json:"calls"`
	}
	json.Unmarshal(body, &calls)
	if status != http.StatusOK || len(calls.Calls) != 1 || calls.Calls[0].Number != "13800138000" ||
		calls.Calls[0].QueueName != "公用事业" || calls.Calls[0].TalkSeconds != 180 {
		t.Errorf("recent calls: %d %s", status, body)
	}
	if status, body := agent.do("GET", "/api/agent/calls?limit=500", ""); status != http.StatusBadRequest {
		t.Errorf("limit 500: %d %s", status, body)
	}

	status, body = agent.do("GET", "/api/agent/callbacks", "")
	if status != http.StatusOK || !strings.Contains(string(body), fmt.Sprintf(`"id":%d,`, mine)) ||
		strings.Contains(string(body), fmt.Sprintf(`"id":%d,`, theirs)) || strings.Contains(string(body), fmt.Sprintf(`"id":%d,`, done)) {
		t.Errorf("callbacks: %d %s", status, body)
	}

	now := func(id int64) (int, []byte) {
		return agent.do("POST", fmt.Sprintf("/api/agent/callbacks/%d/now", id), "")
	}
	if status, body := now(mine); status != http.StatusNoContent {
		t.Errorf("call back %d now: %d %s", mine, status, body)
	}
	var preferred int64
	var due bool
	if err := d.db.QueryRow(`SELECT preferred_agent_id, next_attempt_at <= now() FROM hotline.callbacks WHERE id = $1`, mine).Scan(&preferred, &due); err != nil || preferred != me || !due {
		t.Errorf("after call back now: preferred %d due %v (%v)", preferred, due, err)
	}
	for _, tc := range []struct {
		path   string
		status int
	}{
		{fmt.Sprintf("/api/agent/callbacks/%d/now", theirs), http.StatusNotFound},
		{fmt.Sprintf("/api/agent/callbacks/%d/now", done), http.StatusConflict},
		{"/api/agent/callbacks/987654/now", http.StatusNotFound},
		{"/api/agent/callbacks/x/now", http.StatusBadRequest},
		{"/api/agent/callbacks/0/now", http.StatusBadRequest},
	} {
		if status, body := agent.do("POST", tc.path, ""); status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.path, status, body, tc.status)
		}
	}
	// A user without a phone calls nobody back.
	if status, body := d.login("admin").do("POST", fmt.Sprintf("/api/agent/callbacks/%d/now", mine), ""); status != http.StatusConflict {
		t.Errorf("admin: %d %s, want 409", status, body)
	}
}
