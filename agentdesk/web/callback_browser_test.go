package web_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
)

// phoneAnswerer is the demo's simulated phone for the callback test: answering accepts the
// offer ringing agent01 (the agent talks; the citizen is being dialled), rejecting ends it.
type phoneAnswerer struct {
	e    *env
	mu   sync.Mutex
	seen []string
}

func (a *phoneAnswerer) decide(endpoint, callID, state string) {
	a.mu.Lock()
	a.seen = append(a.seen, state+" "+endpoint+" "+callID)
	a.mu.Unlock()
	me := a.e.ids["agent01"]
	var offer int64
	if err := a.e.db.Get(&offer, `UPDATE hotline.offers SET state = $2, decided_at = now()
		WHERE agent_id = $1 AND state = 'pending' RETURNING id`, me, state); err != nil {
		a.e.t.Errorf("%s: %v", state, err)
		return
	}
	if state == "accepted" {
		a.e.states.Set(me, hotline.AgentStatus{State: hotline.AgentTalking, OfferID: offer})
	} else {
		a.e.exec(`UPDATE hotline.callbacks SET status = 'pending', agent_id = NULL WHERE id = (SELECT callback_id FROM hotline.offers WHERE id = $1)`, offer)
		a.e.states.Set(me, hotline.AgentStatus{State: hotline.AgentMissed})
	}
	a.e.notify(me)
}

func (a *phoneAnswerer) Answer(_ context.Context, endpoint, callID string) error {
	a.decide(endpoint, callID, "accepted")
	return nil
}

func (a *phoneAnswerer) Reject(_ context.Context, endpoint, callID string) error {
	a.decide(endpoint, callID, "rejected")
	return nil
}

// TestCallbackOnTheDesk: a callback rings like a call — the banner says 回拨 (回访 for a work
// order's follow-up) with the citizen's number and the queue or order, the citizen's card
// shows before answering; 拒接 declines it (未接); F8 answers the phone, the desk says the
// citizen is being called, and once they answer the call panel shows with hold and transfer
// refused for a callback; F9 hangs up, and the wrap-up returns the agent to available.
func TestCallbackOnTheDesk(t *testing.T) {
	phone := &phoneAnswerer{}
	e := newEnv(t, func(o *agentdesk.Options) { o.Answerer = phone })
	phone.e = e
	e.queues()
	me := e.ids["agent01"]
	const (
		number   = "13700137000"
		original = "6d6d6d6d-0000-4000-8000-000000000006"
		dialled  = "7e7e7e7e-0000-4000-8000-000000000007"
	)
	e.exec(`INSERT INTO platform.districts (code, name) VALUES ('440605', '南海区') ON CONFLICT DO NOTHING`)
	var citizen int64
	if err := e.db.Get(&citizen, `INSERT INTO platform.citizens (name, mobile, id_number_enc, id_number_hmac, id_number_mask,
		level, district_code, registered_at)
		VALUES ('李小华', $1, '\x00', '\x0b0b', '440605********4321', 'ordinary', '440605', '2021-05-01') RETURNING id`, number); err != nil {
		t.Fatal(err)
	}
	e.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, citizen_id)
		VALUES ($1, 'node1', 'chan-orig', $2, now() - interval '2 days', $3)`, original, number, citizen)
	e.exec(`INSERT INTO hotline.call_steps (call_id, seq, flow, node, kind, entered_at, left_at, exit, input, detail) VALUES
		($1, 1, 'main', 'main_menu', 'menu', now() - interval '2 days', now() - interval '2 days', '9', '9', '按9 预约回拨')`, original)
	var order int64
	if err := e.db.Get(&order, `INSERT INTO hotline.work_orders (number, citizen_id, call_id, caller_number, category, title, due_at, status)
		VALUES ('GD202612010007', $1, $2, $3, 'complaint', '路灯不亮', now() + interval '3 days', 'resolved') RETURNING id`, citizen, original, number); err != nil {
		t.Fatal(err)
	}
	// ring offers callback cb to agent01 as the ACD does.
	ring := func(workOrder any) int64 {
		t.Helper()
		var offer int64
		if err := e.db.Get(&offer, `WITH cb AS (INSERT INTO hotline.callbacks (call_id, number, queue_id, status, agent_id, work_order_id)
			VALUES ($1, $2, 'general', 'assigned', $3, $4) RETURNING id)
			INSERT INTO hotline.offers (callback_id, agent_id, queue_id, instance_id) SELECT id, $3, 'general', 'live' FROM cb
			RETURNING id`, original, number, me, workOrder); err != nil {
			t.Fatal(err)
		}
		e.states.Set(me, hotline.AgentStatus{State: hotline.AgentRinging, OfferID: offer})
		e.notify(me)
		return offer
	}

	p := newPage(t, e)
	p.login()
	p.Key("F2", kb.F2)
	p.state("available")

	// A callback the citizen asked for in the IVR: 回拨, the citizen's card before answering.
	first := ring(nil)
	p.state("ringing")
	p.Wait("the ringing banner", fmt.Sprintf(`!document.getElementById("ring").hidden && document.getElementById("ring").dataset.offer === "%d"`, first))
	p.WaitText("ring-kind", "回拨")
	p.WaitText("ring-number", number)
	p.WaitText("ring-queue", "综合咨询")
	p.WaitText("call-state", "回拨振铃")
	p.Wait("the card", `document.getElementById("card").dataset.loaded === "card"`)
	card := p.Text("card")
	for _, want := range []string{"李小华", "440605********4321", "南海区", "回拨电话未经身份验证", "原来电的自助语音经过", "按9 预约回拨",
		"投诉 · 已办结", "GD202612010007"} {
		if !strings.Contains(card, want) {
			t.Errorf("the callback's card lacks %q:\n%s", want, card)
		}
	}
	var audited int
	e.db.Get(&audited, `SELECT count(*) FROM hotline.audit_log WHERE actor_id = $1 AND object_id = $2::text
		AND detail->>'reason' = 'offered_callback'`, me, citizen)
	if audited != 1 {
		t.Errorf("%d audit rows offered_callback, want 1", audited)
	}
	p.Wait("拒接 and 接听 enabled", `!document.getElementById("btn-reject").disabled && !document.getElementById("btn-answer").disabled`)
	p.Shoot("callback-01-ringing")
	p.Do("click 拒接", chromedp.Click(chromedp.ID("btn-reject")))
	p.state("missed")
	p.Wait("no more ringing", `document.getElementById("ring").hidden && !window.deskRing.ringing`)

	// The follow-up call of a resolved work order: 回访 with the order's number.
	p.Key("F2", kb.F2)
	p.state("available")
	second := ring(order)
	p.state("ringing")
	p.WaitText("ring-kind", "回访")
	p.WaitText("ring-queue", "工单 GD202612010007")
	p.Wait("the card", `document.getElementById("card").dataset.loaded === "card" && document.getElementById("card").textContent.includes("李小华")`)
	p.Shoot("callback-02-followup-ringing")
	// A refresh while it rings shows the same offer, banner and card.
	p.Do("refresh", chromedp.Reload())
	p.Wait("the desk again", `document.body.dataset.ready === "true"`)
	p.Wait("the same offer", fmt.Sprintf(`document.getElementById("ring").dataset.offer === "%d" && window.deskRing.ringing`, second))
	p.WaitText("ring-kind", "回访")
	p.Wait("the card again", `document.getElementById("card").dataset.loaded === "card" && document.getElementById("card").textContent.includes("李小华")`)

	// F8 answers the phone; the citizen is being called.
	p.Key("F8", kb.F8)
	p.state("talking")
	p.Wait("no more ringing", `document.getElementById("ring").hidden && !window.deskRing.ringing`)
	p.WaitText("call-state", "正在呼叫市民")
	p.Wait("the card stays", `document.getElementById("card").textContent.includes("李小华")`)

	// The citizen answers: the call panel, hold and transfer refused for a callback.
	e.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at) VALUES ($1, 'node1', 'chan-cb', $2, now())`, dialled, number)
	e.exec(`INSERT INTO hotline.callback_attempts (callback_id, offer_id, agent_id, call_id, attempt, started_at, ended_at, outcome)
		SELECT callback_id, id, agent_id, $2, 1, now(), now(), 'answered' FROM hotline.offers WHERE id = $1`, second, dialled)
	e.states.Set(me, hotline.AgentStatus{State: hotline.AgentTalking, OfferID: second, CallID: dialled})
	e.notify(me)
	p.WaitText("call-state", "回拨通话中")
	p.Wait("the talk timer", `/^\d\d:\d\d$/.test(document.getElementById("talk-time").textContent)`)
	p.Wait("hold and transfer refused, mute and hang-up allowed", `document.getElementById("btn-hold").disabled && document.getElementById("btn-transfer").disabled
		&& !document.getElementById("btn-mute").disabled && !document.getElementById("btn-hangup").disabled`)
	if got := p.Eval(`document.getElementById("card").dataset.call`); got != fmt.Sprintf("offer:%d", second) {
		t.Errorf("the card is of %q, want the callback offer's", got)
	}
	p.Shoot("callback-03-talking")

	// F9 hangs up: wrap-up, then available.
	e.calls.Update(func(f *fakeCalls) {
		f.ControlFunc = func(id string, cmd hotline.CallCommand) (int, any) {
			if cmd.Action != "hangup" || id != dialled {
				return 409, map[string]string{"error": "conflict", "reason": "not possible now"}
			}
			e.exec(`UPDATE hotline.offers SET talk_ended_at = now() WHERE id = $1`, second)
			e.states.Set(me, hotline.AgentStatus{State: hotline.AgentWrapUp, CallID: dialled, OfferID: second, WrapUpUntil: time.Now().Add(time.Minute)})
			e.notify(me)
			return 200, hotline.CallState{CallID: id, AgentID: me}
		}
	})
	p.Key("F9", kb.F9)
	p.state("wrap_up")
	p.Wait("the wrap-up panel", `!document.getElementById("wrapup").hidden && document.getElementById("call-panel").hidden`)
	p.Wait("the callback's card stays", `document.getElementById("card").textContent.includes("李小华")`)
	if got := e.calls.Commands(); !slices.Equal(got, []string{"hangup " + dialled}) {
		t.Errorf("commands %q, want the hang-up of the call to the citizen", got)
	}
	p.Shoot("callback-04-wrapup")
	p.Key("Ctrl+Enter", kb.Enter, chromedp.ModifierCtrl)
	p.state("available")
	if calls := e.states.Calls(); !slices.Contains(calls, fmt.Sprintf("EndWrapUp(%d, , )", me)) {
		t.Errorf("the ACD got %q, want the wrap-up ended", calls)
	}
	phone.mu.Lock()
	defer phone.mu.Unlock()
	if want := []string{"rejected PJSIP/1001 ", "accepted PJSIP/1001 "}; !slices.Equal(phone.seen, want) {
		t.Errorf("the phone was asked %q, want %q", phone.seen, want)
	}
}
