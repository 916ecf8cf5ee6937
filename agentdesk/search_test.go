package agentdesk_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/pii"
)

func init() {
	validBodies["POST /api/calls/{id}/citizen"] = `{"citizen_id":1}`
	validBodies["POST /api/calls/{id}/control"] = `{"action":"hold"}`
}

// testPII hashes the test citizens' ID numbers.
var testPII = func() *pii.Protector {
	k := pii.Keys{Seal: make([]byte, pii.KeySize), Lookup: make([]byte, pii.KeySize)}
	k.Lookup[0] = 1
	p, err := pii.NewProtector(k)
	if err != nil {
		panic(err)
	}
	return p
}()

func withPII(o *agentdesk.Options) { o.PII = testPII }

type searchBody struct {
	Citizens []struct {
		ID           int64  `json:"id"`
		Name         string `json:"name"`
		IDNumberMask string `json:"id_number_mask"`
		MobileMask   string `json:"mobile_mask"`
		DistrictName string `json:"district_name"`
	} `json:"citizens"`
}

func TestCitizenSearch(t *testing.T) {
	d := newDesk(t, withPII)
	call, citizen := d.cardFixture(true)
	c := d.login("agent02")
	me := d.ids["agent02"]
	for _, tc := range []struct {
		by, q, reason string
	}{
		{"mobile", "13800138000", ""},
		{"mobile", "+8613800138000", ""},
		{"account", "0100200345", ""},
		{"case", "2026110100001", ""},
		{"id_number", testIDNumber, "市民代他人查询办件"},
	} {
		params := url.Values{"by": {tc.by}, "q": {tc.q}, "call_id": {call}}
		if tc.reason != "" {
			params.Set("reason", tc.reason)
		}
		status, body := c.do("GET", "/api/citizens/search?"+params.Encode(), "")
		var r searchBody
		json.Unmarshal(body, &r)
		if status != http.StatusOK || len(r.Citizens) != 1 || r.Citizens[0].ID != citizen || r.Citizens[0].MobileMask != "138****8000" ||
			r.Citizens[0].DistrictName != "禅城区" || strings.Contains(string(body), testIDNumber) || strings.Contains(string(body), "13800138000") {
			t.Errorf("by %s %s: %d %s", tc.by, tc.q, status, body)
		}
	}
	if n := d.auditRows(me, "view_citizen", citizen, "search"); n != 5 {
		t.Errorf("%d audit rows of searches, want 5", n)
	}
	var stated string
	d.db.Get(&stated, `SELECT detail->>'stated_reason' FROM hotline.audit_log WHERE detail->>'by' = 'id_number'`)
	if stated != "市民代他人查询办件" {
		t.Errorf("stated reason %q", stated)
	}
	// Nothing found: no audit row.
	status, body := c.do("GET", "/api/citizens/search?by=mobile&q=13900000000", "")
	if var_ := (searchBody{}); status != http.StatusOK || json.Unmarshal(body, &var_) != nil || len(var_.Citizens) != 0 {
		t.Errorf("nobody: %d %s", status, body)
	}
	if n := d.auditRows(me, "view_citizen", citizen, "search"); n != 5 {
		t.Errorf("%d audit rows after a search that found nobody", n)
	}
}

func TestCitizenSearchBadRequests(t *testing.T) {
	d := newDesk(t, withPII)
	d.cardFixture(true)
	c := d.login("agent01")
	for _, q := range []string{
		"by=name&q=张三",
		"by=mobile&q=12345",
		"by=mobile",
		"by=id_number&q=" + testIDNumber, // no reason
		"by=id_number&q=" + testIDNumber + "&reason=%20", // a blank one
		"by=id_number&q=440604198001011230&reason=x",     // a wrong check character
		"by=account&q=0100200345&call_id=nope",
		"by=case&q=12",
	} {
		status, body := c.do("GET", "/api/citizens/search?"+q, "")
		if code, reason := errorOf(t, body); status != http.StatusBadRequest || code != "invalid" || reason == "" {
			t.Errorf("%s: %d %s", q, status, body)
		}
	}
	var n int
	d.db.Get(&n, `SELECT count(*) FROM hotline.audit_log WHERE action = 'view_citizen'`)
	if n != 0 {
		t.Errorf("refused searches wrote %d audit rows", n)
	}
	// Without the PII keys the ID number search is not available.
	d2 := newDesk(t)
	status, body := d2.login("agent01").do("GET", "/api/citizens/search?by=id_number&reason=x&q="+testIDNumber, "")
	if status != http.StatusConflict {
		t.Errorf("id number search without keys: %d %s", status, body)
	}
}

func TestAttachCitizenToACall(t *testing.T) {
	d := newDesk(t, withPII)
	call, citizen := d.cardFixture(true)
	// The caller rings from another number: the card matches nobody until attached.
	d.exec(`UPDATE hotline.calls SET caller_number = '075788886666' WHERE id = $1`, call)
	c := d.login("agent01")
	var card cardBody
	_, body := c.do("GET", "/api/calls/"+call+"/card", "")
	json.Unmarshal(body, &card)
	if card.Citizen != nil {
		t.Fatalf("citizen before attaching: %+v", card.Citizen)
	}
	other := d.login("agent02")
	for _, tc := range []struct {
		who, call, body string
		want            int
	}{
		{"agent02", call, `{"citizen_id":1}`, http.StatusForbidden},
		{"agent01", "00000000-0000-4000-8000-000000000000", `{"citizen_id":1}`, http.StatusNotFound},
		{"agent01", call, `{"citizen_id":0}`, http.StatusBadRequest},
		{"agent01", call, `{"citizen":1}`, http.StatusBadRequest},
		{"agent01", call, `{"citizen_id":999999}`, http.StatusNotFound},
	} {
		cl := c
		if tc.who == "agent02" {
			cl = other
		}
		if status, body := cl.do("POST", "/api/calls/"+tc.call+"/citizen", tc.body); status != tc.want {
			t.Errorf("%s %s %s: %d %s, want %d", tc.who, tc.call, tc.body, status, body, tc.want)
		}
	}
	status, body := c.do("POST", "/api/calls/"+call+"/citizen", `{"citizen_id":`+itoa(citizen)+`}`)
	if status != http.StatusOK {
		t.Fatalf("attach: %d %s", status, body)
	}
	if n := d.auditRows(d.ids["agent01"], "attach_citizen", citizen, "attach"); n != 1 {
		t.Errorf("%d audit rows of the attachment", n)
	}
	_, body = c.do("GET", "/api/calls/"+call+"/card", "")
	card = cardBody{}
	json.Unmarshal(body, &card)
	if card.Citizen == nil || card.Citizen.ID != citizen || card.Citizen.Mobile != "138****8000" {
		t.Errorf("card after attaching: %s", body)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
