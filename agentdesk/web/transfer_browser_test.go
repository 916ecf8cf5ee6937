package web_test

import (
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/foshan-hotline/hotline"
)

// TestTransferToANamedAgent: in the transfer panel, a blind transfer (直接转接) may go to a
// colleague (坐席): the desk sends the agent's id as transfer.agent, not their phone; a
// refusal (the colleague logged out) is said in Chinese; the transfer that works ends the
// conversation into wrap-up. A consultation (先咨询) of the same colleague still calls their
// phone.
func TestTransferToANamedAgent(t *testing.T) {
	e := newEnv(t)
	e.queues()
	e.calls.Update(func(f *fakeCalls) { f.CardFunc = demoCard })
	p := newPage(t, e)
	p.login()
	p.Key("F2", kb.F2)
	p.state("available")
	me, colleague := e.ids["agent01"], e.ids["agent02"]

	var mu sync.Mutex
	var sent []hotline.TransferTarget
	refuse := true
	e.calls.Update(func(f *fakeCalls) {
		f.ControlFunc = func(id string, cmd hotline.CallCommand) (int, any) {
			switch cmd.Action {
			case "answer":
				return 200, hotline.CallState{CallID: id, AgentID: me}
			case "transfer", "consult":
				mu.Lock()
				defer mu.Unlock()
				sent = append(sent, cmd.Transfer)
				if cmd.Action == "consult" {
					return 409, map[string]string{"error": "conflict", "reason": "not possible now"}
				}
				if refuse {
					return 409, map[string]string{"error": "conflict",
						"reason": "transfer offer 7 to agent 2: the agent is logged out: not possible in the current state"}
				}
				e.hangUp(90 * time.Second)
				return 200, hotline.CallState{CallID: id, AgentID: me}
			}
			return 409, map[string]string{"error": "conflict", "reason": "not possible now"}
		}
	})
	offerID := e.offer()
	p.state("ringing")
	e.answer(offerID)
	p.state("talking")

	pick := func() {
		t.Helper()
		p.Key("Alt+T", "t", chromedp.ModifierAlt)
		p.Wait("the transfer panel", `!document.getElementById("transfer").hidden`)
		p.Do("坐席", chromedp.Click(chromedp.CSS(`input[name=kind][value=agent]`)))
		p.Wait("the colleague listed", `[...document.querySelectorAll("#targets button")].some((b) => b.textContent.includes("陈志华"))`)
		p.Eval(`[...document.querySelectorAll("#targets button")].find((b) => b.textContent.includes("陈志华")).click()`)
		p.Wait("the colleague chosen", `document.querySelector("#targets button[aria-selected=true]") !== null`)
	}
	last := func() hotline.TransferTarget {
		mu.Lock()
		defer mu.Unlock()
		if len(sent) == 0 {
			return hotline.TransferTarget{}
		}
		return sent[len(sent)-1]
	}

	// 先咨询 calls the colleague's phone.
	p.Key("Alt+T", "t", chromedp.ModifierAlt)
	p.Wait("the transfer panel", `!document.getElementById("transfer").hidden`)
	p.Do("先咨询", chromedp.Click(chromedp.CSS(`input[name=mode][value=consult]`)))
	p.Key("Escape", kb.Escape)
	p.Wait("the transfer panel closed", `document.getElementById("transfer").hidden`)
	pick()
	p.Do("呼叫咨询", chromedp.Click(chromedp.ID("btn-transfer-go")))
	p.Wait("the consultation sent", `!document.getElementById("control-error").hidden`)
	if got := last(); got.Endpoint != "PJSIP/1002" || got.Agent != 0 {
		t.Errorf("a consultation of the colleague sent %+v, want their endpoint", got)
	}

	// 直接转接 to the colleague sends the agent; the refusal is said in Chinese.
	p.Do("直接转接", chromedp.Click(chromedp.CSS(`input[name=mode][value=transfer]`)))
	p.Key("Escape", kb.Escape)
	p.Wait("the transfer panel closed", `document.getElementById("transfer").hidden`)
	pick()
	p.Shoot("transfer-agent-01-chosen")
	p.Do("转接", chromedp.Click(chromedp.ID("btn-transfer-go")))
	p.WaitText("control-error", "转接未成功：该坐席未登录")
	if got := last(); got.Agent != colleague || got.Endpoint != "" {
		t.Errorf("a blind transfer to the colleague sent %+v, want agent %d", got, colleague)
	}
	p.Shoot("transfer-agent-02-refused")

	mu.Lock()
	refuse = false
	mu.Unlock()
	p.Do("转接 again", chromedp.Click(chromedp.ID("btn-transfer-go")))
	p.state("wrap_up")
	if got := last(); got.Agent != colleague {
		t.Errorf("the transfer sent %+v, want agent %d", got, colleague)
	}
}
