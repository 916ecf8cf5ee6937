package agentdesk_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/foshan-hotline/hotline/agentdesk"
)

// idWithCheck completes 17 digits of a resident ID number with its check character.
func idWithCheck(first17 string) string {
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(first17[i]-'0') * w
	}
	return first17 + string("10X98765432"[sum%11])
}

// testIDNumber is the ID number of the card fixture's citizen.
var testIDNumber = idWithCheck("44060419800101123")

// cardFixture is acdFixture (call1 rings agent01, from 13800138000) with the caller
// registered as a real-name citizen: an electricity account with an overdue bill, an
// application in progress, social insurance, a work order, an earlier call, and call1's IVR
// path (a bill lookup, a verification as verified says). It returns call1 and the citizen.
func (d *desk) cardFixture(verified bool) (call string, citizen int64) {
	d.t.Helper()
	call, _ = d.acdFixture()
	d.exec(`INSERT INTO platform.districts (code, name) VALUES ('440604', '禅城区') ON CONFLICT DO NOTHING`)
	d.exec(`INSERT INTO platform.departments (id, name, phone) VALUES (1, '佛山市供电局', '0757-95598'), (2, '佛山市公安局', '0757-83338110')`)
	d.exec(`INSERT INTO platform.service_items (id, code, name, department_id, category, materials, fee_fen, time_limit_days)
		VALUES (1, 'hukou', '户籍迁入', 2, '户籍', '{身份证}', 0, 10)`)
	hash := testPII.LookupHash(testIDNumber)
	if err := d.db.Get(&citizen, `INSERT INTO platform.citizens (name, mobile, id_number_enc, id_number_hmac, id_number_mask,
		level, district_code, registered_at, verified_at)
		VALUES ('张三', '13800138000', '\x00', $1, $2, 'real_name', '440604', '2020-01-01', '2020-01-02') RETURNING id`,
		hash, testIDNumber[:6]+"********"+testIDNumber[14:]); err != nil {
		d.t.Fatal(err)
	}
	d.exec(`INSERT INTO platform.utility_accounts (id, citizen_id, kind, provider, account_number, address, opened_on)
		VALUES (11, $1, 'electricity', '佛山供电', '0100200345', '禅城区季华路1号', '2019-01-01')`, citizen)
	d.exec(`INSERT INTO platform.bills (account_id, period, amount_fen, due_date) VALUES
		(11, '2026-10-01', 30000, '2026-10-25'), (11, '2026-11-01', 35620, '2026-11-25')`)
	d.exec(`INSERT INTO platform.applications (case_number, item_id, citizen_id, department_id, status, submitted_at, updated_at)
		VALUES ('2026110100001', 1, $1, 2, 'reviewing', now() - interval '3 days', now() - interval '1 day'),
		       ('2025010100001', 1, $1, 2, 'completed', now() - interval '300 days', now() - interval '290 days')`, citizen)
	d.exec(`INSERT INTO platform.social_insurance_accounts (citizen_id, account_number, status, balance_fen,
		monthly_contribution_fen, months_paid, last_paid_period, updated_at)
		VALUES ($1, '9000001', 'active', 1234500, 80000, 120, '2026-11-01', now())`, citizen)
	d.exec(`INSERT INTO hotline.work_orders (number, citizen_id, category, title, due_at)
		VALUES ('GD202611010001', $1, 'complaint', '电费争议', now() + interval '3 days')`, citizen)
	d.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, outcome, citizen_id)
		VALUES ('5c5c5c5c-0000-4000-8000-000000000005', 'node1', 'chan-old', '13800138000', now() - interval '10 days', 'self_served', $1)`, citizen)
	d.exec(`UPDATE hotline.queue_entries SET entered_at = now() - interval '3 minutes' WHERE call_id = $1`, call)
	verifyInput := "failed"
	if verified {
		verifyInput = "verified"
	}
	d.exec(`INSERT INTO hotline.call_steps (call_id, seq, flow, node, kind, entered_at, left_at, exit, input, detail) VALUES
		($1, 1, 'main', 'main_menu', 'menu', now() - interval '4 minutes', now() - interval '230 seconds', '1', '1', '按1 账单查询'),
		($1, 2, 'bills', 'get_bill', 'lookup', now() - interval '230 seconds', now() - interval '229 seconds', 'found', NULL,
		 '电费 2026年11月 应缴 356元2角 逾期'),
		($1, 3, 'bills', 'check', 'branch', now() - interval '229 seconds', now() - interval '229 seconds', 'next', NULL, NULL),
		($1, 4, 'insurance', 'verify', 'verify', now() - interval '220 seconds', now() - interval '200 seconds', 'ok', $2, NULL)`,
		call, verifyInput)
	return call, citizen
}

// auditRows counts the audit rows of action on citizen with the reason.
func (d *desk) auditRows(actor int64, action string, citizen int64, reason string) int {
	d.t.Helper()
	var n int
	if err := d.db.Get(&n, `SELECT count(*) FROM hotline.audit_log WHERE actor_id = $1 AND action = $2
		AND object_type = 'citizen' AND object_id = $3::text AND detail->>'reason' = $4`, actor, action, citizen, reason); err != nil {
		d.t.Fatal(err)
	}
	return n
}

type cardBody struct {
	CallerNumber string `json:"caller_number"`
	Citizen      *struct {
		ID           int64  `json:"id"`
		Name         string `json:"name"`
		IDNumberMask string `json:"id_number_mask"`
		Level        string `json:"level"`
		DistrictName string `json:"district_name"`
		Mobile       string `json:"mobile"`
	} `json:"citizen"`
	Journey struct {
		Steps []struct {
			Flow, Node, Kind, Summary, Detail, Input, Exit string
			ExitLabel                                      string `json:"exit_label"`
		} `json:"steps"`
		Verified     *bool `json:"verified"`
		IVRSeconds   int   `json:"ivr_seconds"`
		QueueSeconds int   `json:"queue_seconds"`
	} `json:"journey"`
	Accounts []struct {
		Kind          string `json:"kind"`
		AccountNumber string `json:"account_number"`
		LatestBill    *struct {
			AmountFen int64 `json:"amount_fen"`
			Overdue   bool  `json:"overdue"`
		} `json:"latest_bill"`
	} `json:"accounts"`
	Applications []struct {
		CaseNumber     string `json:"case_number"`
		ItemName       string `json:"item_name"`
		DepartmentName string `json:"department_name"`
		Status         string `json:"status"`
	} `json:"applications"`
	Insurance *struct {
		SocialInsurance *struct {
			BalanceFen int64 `json:"balance_fen"`
		} `json:"social_insurance"`
	} `json:"insurance"`
	HiddenReason string `json:"insurance_hidden_reason"`
	History      struct {
		Calls      []json.RawMessage `json:"calls"`
		WorkOrders []struct {
			Number string `json:"number"`
		} `json:"work_orders"`
	} `json:"history"`
}

func withFlows(o *agentdesk.Options) {
	o.CallFlows = []agentdesk.CallFlow{
		{ID: "main", Name: "热线入口", Nodes: map[string]string{"main_menu": "主菜单"}},
		{ID: "bills", Name: "账单查询", Transfer: true},
		{ID: "insurance", Name: "社保公积金", Transfer: true},
	}
}

func TestCardOfAnOfferedCall(t *testing.T) {
	d := newDesk(t, withFlows)
	call, citizen := d.cardFixture(true)
	c := d.login("agent01")
	status, body := c.do("GET", "/api/calls/"+call+"/card", "")
	if status != http.StatusOK {
		t.Fatalf("card: %d %s", status, body)
	}
	var card cardBody
	if err := json.Unmarshal(body, &card); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(body), testIDNumber) || strings.Contains(string(body), "0100200345") {
		t.Errorf("the card shows a full ID or account number: %s", body)
	}
	if card.CallerNumber != "13800138000" || card.Citizen == nil || card.Citizen.ID != citizen || card.Citizen.Name != "张三" ||
		card.Citizen.IDNumberMask != "440604********"+testIDNumber[14:] || card.Citizen.DistrictName != "禅城区" || card.Citizen.Mobile != "" {
		t.Errorf("caller %q citizen %+v", card.CallerNumber, card.Citizen)
	}
	j := card.Journey
	if len(j.Steps) != 3 {
		t.Fatalf("journey steps %+v, want the menu, the lookup and the verification (not the branch)", j.Steps)
	}
	if s := j.Steps[0]; s.Summary != "热线入口 · 主菜单" || s.ExitLabel != "按1" || s.Detail != "按1 账单查询" {
		t.Errorf("menu step %+v", s)
	}
	if s := j.Steps[1]; s.Summary != "账单查询 · 查询" || s.Detail != "电费 2026年11月 应缴 356元2角 逾期" || s.ExitLabel != "已查到" {
		t.Errorf("lookup step %+v", s)
	}
	if j.Verified == nil || !*j.Verified || j.IVRSeconds <= 0 {
		t.Errorf("verified %v, ivr %d s", j.Verified, j.IVRSeconds)
	}
	if len(card.Accounts) != 1 || card.Accounts[0].AccountNumber != "******0345" || card.Accounts[0].LatestBill == nil ||
		card.Accounts[0].LatestBill.AmountFen != 35620 || !card.Accounts[0].LatestBill.Overdue {
		t.Errorf("accounts %+v", card.Accounts)
	}
	if len(card.Applications) != 1 || card.Applications[0].ItemName != "户籍迁入" || card.Applications[0].DepartmentName != "佛山市公安局" {
		t.Errorf("applications in progress %+v", card.Applications)
	}
	if card.Insurance == nil || card.Insurance.SocialInsurance == nil || card.Insurance.SocialInsurance.BalanceFen != 1234500 || card.HiddenReason != "" {
		t.Errorf("insurance %+v hidden %q, want shown: real-name and verified this call", card.Insurance, card.HiddenReason)
	}
	if len(card.History.Calls) != 1 || len(card.History.WorkOrders) != 1 || card.History.WorkOrders[0].Number != "GD202611010001" {
		t.Errorf("history %+v", card.History)
	}
	if n := d.auditRows(d.ids["agent01"], "view_citizen", citizen, "offered_call"); n != 1 {
		t.Errorf("%d audit rows of the view, want 1", n)
	}
}

func TestCardHidesInsuranceWithoutVerification(t *testing.T) {
	d := newDesk(t, withFlows)
	call, _ := d.cardFixture(false)
	status, body := d.login("agent01").do("GET", "/api/calls/"+call+"/card", "")
	if status != http.StatusOK {
		t.Fatalf("card: %d %s", status, body)
	}
	var card cardBody
	json.Unmarshal(body, &card)
	if card.Insurance != nil || !strings.Contains(card.HiddenReason, "未通过") {
		t.Errorf("insurance %+v, hidden %q", card.Insurance, card.HiddenReason)
	}
	if card.Journey.Verified == nil || *card.Journey.Verified {
		t.Errorf("verified %v, want false", card.Journey.Verified)
	}
}

func TestCardOfAnUnknownCaller(t *testing.T) {
	d := newDesk(t)
	call, _ := d.acdFixture()
	d.exec(`UPDATE hotline.calls SET caller_number = '075712345' WHERE id = $1`, call)
	status, body := d.login("agent01").do("GET", "/api/calls/"+call+"/card", "")
	var card cardBody
	json.Unmarshal(body, &card)
	if status != http.StatusOK || card.Citizen != nil || card.HiddenReason == "" || card.Accounts == nil {
		t.Errorf("card of an unregistered number: %d %s", status, body)
	}
	var n int
	d.db.Get(&n, `SELECT count(*) FROM hotline.audit_log WHERE action = 'view_citizen'`)
	if n != 0 {
		t.Errorf("%d audit rows for a card without a citizen", n)
	}
}

func TestCardObjectChecks(t *testing.T) {
	d := newDesk(t)
	call, citizen := d.cardFixture(true)
	// agent02 is not on the call.
	status, body := d.login("agent02").do("GET", "/api/calls/"+call+"/card", "")
	if code, _ := errorOf(t, body); status != http.StatusForbidden || code != "forbidden" {
		t.Errorf("another agent's call: %d %s", status, body)
	}
	if n := d.auditRows(d.ids["agent02"], "view_citizen", citizen, "offered_call"); n != 0 {
		t.Errorf("a refused read wrote %d audit rows", n)
	}
	// Unknown and malformed call ids.
	for _, id := range []string{"00000000-0000-4000-8000-000000000000", "not-a-call"} {
		if status, body := d.login("agent01").do("GET", "/api/calls/"+id+"/card", ""); status != http.StatusNotFound {
			t.Errorf("call %s: %d %s", id, status, body)
		}
	}
	// A supervisor reads any call's card, audited.
	if status, body := d.login("supervisor").do("GET", "/api/calls/"+call+"/card", ""); status != http.StatusOK {
		t.Errorf("supervisor: %d %s", status, body)
	}
	if n := d.auditRows(d.ids["supervisor"], "view_citizen", citizen, "offered_call"); n != 1 {
		t.Errorf("supervisor's read: %d audit rows", n)
	}
	// Talking on the call, then wrapping it up: still the agent's.
	d.exec(`UPDATE hotline.offers SET state = 'accepted', decided_at = now() WHERE call_id = $1`, call)
	d.exec(`INSERT INTO hotline.agent_status (agent_id, state, call_id) VALUES ($1, 'talking', $2)`, d.ids["agent01"], call)
	a1 := d.login("agent01")
	if status, body := a1.do("GET", "/api/calls/"+call+"/card", ""); status != http.StatusOK {
		t.Errorf("talking: %d %s", status, body)
	}
	d.exec(`UPDATE hotline.agent_status SET state = 'wrap_up', call_id = NULL WHERE agent_id = $1`, d.ids["agent01"])
	if status, body := a1.do("GET", "/api/calls/"+call+"/card", ""); status != http.StatusOK {
		t.Errorf("wrap-up: %d %s", status, body)
	}
	d.exec(`UPDATE hotline.agent_status SET state = 'available' WHERE agent_id = $1`, d.ids["agent01"])
	if status, body := a1.do("GET", "/api/calls/"+call+"/card", ""); status != http.StatusForbidden {
		t.Errorf("after the call: %d %s", status, body)
	}
}

func TestTransferTargets(t *testing.T) {
	d := newDesk(t, withFlows)
	d.cardFixture(true)
	status, body := d.login("agent01").do("GET", "/api/transfer-targets", "")
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	var v struct {
		Queues []struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Waiting int    `json:"waiting"`
		} `json:"queues"`
		Agents []struct {
			ID       int64  `json:"id"`
			State    string `json:"state"`
			Endpoint string `json:"endpoint"`
		} `json:"agents"`
		Numbers []struct{ Name, Number string } `json:"numbers"`
		Flows   []struct{ ID, Name string }     `json:"flows"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Queues) != 2 || v.Queues[1].ID != "social_security" || v.Queues[1].Waiting != 3 {
		t.Errorf("queues %+v", v.Queues)
	}
	// agent02 (available) first, then the supervisor; not agent01 nor the phoneless admin.
	if len(v.Agents) != 2 || v.Agents[0].ID != d.ids["agent02"] || v.Agents[0].State != "available" ||
		v.Agents[0].Endpoint != "PJSIP/1002" || v.Agents[1].ID != d.ids["supervisor"] {
		t.Errorf("agents %+v", v.Agents)
	}
	if len(v.Numbers) != 2 || v.Numbers[0].Name != "佛山市供电局" || v.Numbers[0].Number != "0757-95598" {
		t.Errorf("numbers %+v", v.Numbers)
	}
	if len(v.Flows) != 2 || v.Flows[0].ID != "bills" || v.Flows[1].Name != "社保公积金" {
		t.Errorf("flows %+v", v.Flows)
	}
}
