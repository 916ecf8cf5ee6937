package web_test

import (
	"slices"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/foshan-hotline/hotline"
)

// TestRejectAnOffer: while a call rings, 拒接 shows its key (Alt+R) and is the only way to
// refuse the call besides letting it ring out; it is disabled with no call ringing. A refusal
// of the phone is explained; Alt+R then declines the offer through the call's control, and
// the agent is 未接 with no ring left. Clicking the button does the same for the next call.
func TestRejectAnOffer(t *testing.T) {
	e := newEnv(t)
	e.queues()
	e.calls.Update(func(f *fakeCalls) { f.CardFunc = demoCard })
	p := newPage(t, e)
	p.login()
	p.Key("F2", kb.F2)
	p.state("available")
	me := e.ids["agent01"]

	if got := p.Eval(`document.getElementById("btn-reject").disabled`); got != "true" {
		t.Errorf("拒接 enabled with no call ringing")
	}
	if got := p.Text("btn-reject"); got != "拒接Alt+R" && got != "拒接\nAlt+R" && got != "拒接 Alt+R" {
		t.Errorf("the reject button says %q, want 拒接 with its key Alt+R", got)
	}

	offerID := e.offer()
	p.state("ringing")
	p.Wait("拒接 enabled", `!document.getElementById("btn-reject").disabled`)
	p.WaitText("help", "拒接来电")

	// A phone the server cannot reach: the desk says to reject on the phone.
	e.calls.Update(func(f *fakeCalls) {
		f.ControlFunc = func(string, hotline.CallCommand) (int, any) {
			return 400, map[string]string{"error": "invalid", "reason": "reject: unknown action"}
		}
	})
	p.Key("Alt+R", "r", chromedp.ModifierAlt)
	p.WaitText("control-error", "拒接未成功：请在话机上拒接来电")

	// Alt+R declines: the offer ends as rejected and the agent is 未接.
	reject := func(id string, cmd hotline.CallCommand) (int, any) {
		if cmd.Action != "reject" {
			return 409, map[string]string{"error": "conflict", "reason": "not possible now"}
		}
		e.exec(`UPDATE hotline.offers SET state = 'rejected', decided_at = now() WHERE call_id = $1`, id)
		e.exec(`UPDATE hotline.queue_entries SET offer_id = NULL WHERE call_id = $1`, id)
		e.states.Set(me, hotline.AgentStatus{State: hotline.AgentMissed})
		e.notify(me)
		return 200, hotline.CallState{CallID: id, AgentID: me}
	}
	e.calls.Update(func(f *fakeCalls) { f.ControlFunc = reject })
	e.calls.Commands()
	p.Shoot("reject-01-ringing")
	p.Key("Alt+R", "r", chromedp.ModifierAlt)
	p.state("missed")
	p.Wait("no more ringing", `document.getElementById("ring").hidden && !window.deskRing.ringing`)
	p.Wait("拒接 disabled again", `document.getElementById("btn-reject").disabled && document.getElementById("btn-answer").disabled`)
	p.Wait("no refusal", `document.getElementById("control-error").hidden`)
	if got := e.calls.Commands(); !slices.Equal(got, []string{"reject " + callID}) {
		t.Errorf("commands %q, want one reject of %s", got, callID)
	}
	var state string
	if err := e.db.Get(&state, `SELECT state FROM hotline.offers WHERE id = $1`, offerID); err != nil || state != "rejected" {
		t.Errorf("offer %d is %q (%v), want rejected", offerID, state, err)
	}
	p.Shoot("reject-02-missed")

	// The button itself, for the next call.
	p.Key("F2", kb.F2)
	p.state("available")
	const second = "8f0c2a36-4d0e-4a55-9a3b-3f1c6c1f2b11"
	e.offerCall(second, "13900139000")
	p.state("ringing")
	p.Wait("拒接 enabled", `!document.getElementById("btn-reject").disabled`)
	p.Do("click 拒接", chromedp.Click(chromedp.ID("btn-reject")))
	p.state("missed")
	if got := e.calls.Commands(); !slices.Equal(got, []string{"reject " + second}) {
		t.Errorf("commands %q, want one reject of %s", got, second)
	}
}
