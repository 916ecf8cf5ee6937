package agentdesk_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

func init() {
	validBodies["POST /api/offers/{id}/answer"] = `{}`
	validBodies["POST /api/offers/{id}/reject"] = `{}`
}

// callbackOffer is cardFixture with call1's offer gone and a callback the caller asked for
// on it ringing agent01 instead; it returns the offer and the citizen.
func (d *desk) callbackOffer() (offer, citizen int64) {
	d.t.Helper()
	call, citizen := d.cardFixture(true)
	d.exec(`UPDATE hotline.queue_entries SET offer_id = NULL, left_at = now(), outcome = 'callback' WHERE call_id = $1`, call)
	d.exec(`UPDATE hotline.offers SET state = 'cancelled', decided_at = now() WHERE call_id = $1`, call)
	if err := d.db.Get(&offer, `WITH cb AS (INSERT INTO hotline.callbacks (call_id, number, queue_id, status, agent_id)
		VALUES ($1, '13800138000', 'general', 'assigned', $2) RETURNING id)
		INSERT INTO hotline.offers (callback_id, agent_id, queue_id, instance_id) SELECT id, $2, 'general', 'live' FROM cb
		RETURNING id`, call, d.ids["agent01"]); err != nil {
		d.t.Fatal(err)
	}
	return offer, citizen
}

func TestCallbackOfferInSnapshot(t *testing.T) {
	d := newDesk(t)
	offer, _ := d.callbackOffer()
	c := d.login("agent01")
	status, body := c.do("GET", "/api/agent/status", "")
	var snap struct {
		Offer *struct {
			ID           int64  `json:"id"`
			CallID       string `json:"call_id"`
			Kind         string `json:"kind"`
			QueueName    string `json:"queue_name"`
			CallerNumber string `json:"caller_number"`
			CallbackID   int64  `json:"callback_id"`
		} `json:"offer"`
	}
	if err := json.Unmarshal(body, &snap); status != http.StatusOK || err != nil {
		t.Fatalf("status: %d %s", status, body)
	}
	if o := snap.Offer; o == nil || o.ID != offer || o.CallID != "" || o.Kind != "callback" || o.QueueName != "综合咨询" ||
		o.CallerNumber != "13800138000" || o.CallbackID == 0 {
		t.Errorf("offer: %s", body)
	}
	// The websocket's snapshot carries it, and again, the same, after a reconnect.
	for i := range 2 {
		ws := c.socket()
		if o := ws.snapshot("snapshot").Offer; o == nil || o.ID != offer || o.CallID != "" || o.CallerNumber != "13800138000" {
			t.Errorf("connection %d: offer %+v, want callback offer %d", i+1, o, offer)
		}
		ws.conn.CloseNow()
	}
	// Nobody else is offered it.
	status, body = d.login("agent02").do("GET", "/api/agent/status", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"offer":null`) {
		t.Errorf("agent02's snapshot: %d %s", status, body)
	}
}

func TestCallbackOfferCard(t *testing.T) {
	d := newDesk(t)
	offer, citizen := d.callbackOffer()
	path := "/api/offers/" + strconv.FormatInt(offer, 10) + "/card"
	status, body := d.login("agent02").do("GET", path, "")
	if status != http.StatusForbidden {
		t.Errorf("agent02 reads agent01's callback card: %d %s", status, body)
	}
	status, body = d.login("agent01").do("GET", path, "")
	var card cardBody
	if err := json.Unmarshal(body, &card); status != http.StatusOK || err != nil {
		t.Fatalf("card: %d %s", status, body)
	}
	if card.Citizen == nil || card.Citizen.Name != "张三" || card.CallerNumber != "13800138000" {
		t.Errorf("card: %s", body)
	}
	if !strings.Contains(string(body), "356元2角") || !strings.Contains(string(body), "回拨电话未经身份验证") || strings.Contains(string(body), `"insurance":{`) {
		t.Errorf("journey or insurance: %s", body)
	}
	if n := d.auditRows(d.ids["agent01"], "view_citizen", citizen, "offered_callback"); n != 1 {
		t.Errorf("%d audit rows offered_callback, want 1", n)
	}
	if n := d.auditRows(d.ids["agent02"], "view_citizen", citizen, "offered_callback"); n != 0 {
		t.Errorf("agent02 refused but audited %d times", n)
	}
}

func TestCallbackOfferAnswerReject(t *testing.T) {
	a := &fakeAnswerer{}
	d, _, call := controlDesk(t, a)
	_ = call
	d.exec(`UPDATE hotline.offers SET state = 'cancelled', decided_at = now() WHERE call_id = $1`, call)
	var offer int64
	if err := d.db.Get(&offer, `WITH cb AS (INSERT INTO hotline.callbacks (number, queue_id, status, agent_id)
		VALUES ('13900139000', 'general', 'assigned', $1) RETURNING id)
		INSERT INTO hotline.offers (callback_id, agent_id, queue_id, instance_id) SELECT id, $1, 'general', 'live' FROM cb
		RETURNING id`, d.ids["agent01"]); err != nil {
		t.Fatal(err)
	}
	id := strconv.FormatInt(offer, 10)
	other := d.login("agent02")
	for _, action := range []string{"answer", "reject"} {
		if status, body := other.do("POST", "/api/offers/"+id+"/"+action, ""); status != http.StatusForbidden {
			t.Errorf("agent02 %ss agent01's callback: %d %s", action, status, body)
		}
	}
	c := d.login("agent01")
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/api/offers/abc/answer", http.StatusNotFound},
		{"/api/offers/0/answer", http.StatusNotFound},
		{"/api/offers/999999/answer", http.StatusNotFound},
	} {
		if status, body := c.do("POST", tc.path, ""); status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.path, status, body, tc.want)
		}
	}
	if status, body := c.do("POST", "/api/offers/"+id+"/answer", `{"x":1}`); status != http.StatusBadRequest {
		t.Errorf("unknown field: %d %s", status, body)
	}
	status, body := c.do("POST", "/api/offers/"+id+"/answer", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"offer_id":`+id) {
		t.Errorf("answer: %d %s", status, body)
	}
	status, body = c.do("POST", "/api/offers/"+id+"/reject", `{}`)
	if status != http.StatusOK {
		t.Errorf("reject: %d %s", status, body)
	}
	a.mu.Lock()
	got := strings.Join(a.answered, "; ")
	a.mu.Unlock()
	if got != "answer PJSIP/1001 ; reject PJSIP/1001 " {
		t.Errorf("the phone was asked: %q", got)
	}
	// Once it rings no more: 409.
	d.exec(`UPDATE hotline.offers SET state = 'rejected', decided_at = now() WHERE id = $1`, offer)
	if status, body := c.do("POST", "/api/offers/"+id+"/answer", ""); status != http.StatusConflict {
		t.Errorf("answer an ended offer: %d %s", status, body)
	}
	// The offer of a call is addressed by its call.
	var callOffer int64
	d.db.Get(&callOffer, `SELECT id FROM hotline.offers WHERE call_id = $1`, call)
	if status, body := c.do("POST", "/api/offers/"+strconv.FormatInt(callOffer, 10)+"/answer", ""); status != http.StatusNotFound {
		t.Errorf("answer a call's offer by offer id: %d %s", status, body)
	}
}

func TestCallbackOfferNoAnswerer(t *testing.T) {
	d := newDesk(t)
	offer, _ := d.callbackOffer()
	status, body := d.login("agent01").do("POST", "/api/offers/"+strconv.FormatInt(offer, 10)+"/answer", "")
	if _, reason := errorOf(t, body); status != http.StatusConflict || reason != "请在话机上接听或拒接来电" {
		t.Errorf("answer without an answerer: %d %s", status, body)
	}
}

// TestCallbackCallCard: once the citizen answers a callback, the card of the call to them (as
// a desk reloaded during the callback reads it) is the callback's: the journey of the call
// that asked for it, no insurance, audited as offered_callback.
func TestCallbackCallCard(t *testing.T) {
	d := newDesk(t)
	offer, citizen := d.callbackOffer()
	const out = "5c5c5c5c-0000-4000-8000-0000000000cb"
	d.exec(`UPDATE hotline.offers SET state = 'accepted', decided_at = now() WHERE id = $1`, offer)
	d.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at)
		VALUES ($1, 'node1', 'chan-callback', '13800138000', now())`, out)
	d.exec(`INSERT INTO hotline.callback_attempts (callback_id, offer_id, agent_id, call_id, attempt, started_at)
		SELECT callback_id, id, agent_id, $2, 1, now() FROM hotline.offers WHERE id = $1`, offer, out)
	agent := d.login("agent01")
	d.exec(`INSERT INTO hotline.agent_status (agent_id, state, call_id, offer_id) VALUES ($1, 'talking', $2, $3)
		ON CONFLICT (agent_id) DO UPDATE SET state = 'talking', call_id = $2, offer_id = $3`, d.ids["agent01"], out, offer)
	status, body := agent.do("GET", "/api/calls/"+out+"/card", "")
	var card cardBody
	if err := json.Unmarshal(body, &card); status != http.StatusOK || err != nil {
		t.Fatalf("card of the call to the citizen: %d %s", status, body)
	}
	if card.Citizen == nil || card.Citizen.Name != "张三" || !strings.Contains(string(body), "356元2角") ||
		!strings.Contains(string(body), "回拨电话未经身份验证") || strings.Contains(string(body), `"insurance":{`) {
		t.Errorf("card: %s", body)
	}
	if n := d.auditRows(d.ids["agent01"], "view_citizen", citizen, "offered_callback"); n != 1 {
		t.Errorf("%d audit rows offered_callback, want 1", n)
	}
}
