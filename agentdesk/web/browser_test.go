package web_test

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/internal/browsertest"
)

// shotsEnv names a directory to keep the screenshots in; without it they go to a temporary
// directory (they are taken anyway: taking them checks the page fits the window).
const shotsEnv = "HOTLINE_DESK_SHOTS"

// page is the desk in headless Chromium.
type page struct {
	*browsertest.Page
	e *env
}

// newPage opens the desk's browser at 1280×800; flags add to Chromium's usual ones. Whatever
// goes wrong in the page fails the test: an exception, a console error, a blocked script or
// style. Refused requests (the browser logs every 4xx) are expected.
func newPage(t *testing.T, e *env, flags ...chromedp.ExecAllocatorOption) *page {
	t.Helper()
	shots := os.Getenv(shotsEnv)
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &page{Page: browsertest.NewPage(t, browsertest.New(t, t.Context(), flags...), shots), e: e}
	p.FailOnProblems()
	p.Do("set the window to 1280×800", chromedp.EmulateViewport(p.Sizes[0].W, p.Sizes[0].H))
	return p
}

// login logs agent01 in through the login page.
func (p *page) login() {
	p.T.Helper()
	p.Do("open the desk", chromedp.Navigate(p.e.url+"/desk/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	p.Do("log in", chromedp.SendKeys(chromedp.ID("username"), "agent01"), chromedp.SendKeys(chromedp.ID("password"), "agent01-pw"),
		chromedp.Click(chromedp.ID("login-submit")))
	p.Wait("the desk", `document.body.dataset.ready === "true"`)
}

// loginAs logs a user in through the login page and waits for the page it leads to (the desk,
// for anyone but a department's user).
func (p *page) loginAs(username, password string) {
	p.T.Helper()
	p.Do("open the login page", chromedp.Navigate(p.e.url+"/desk/login"), chromedp.WaitVisible(chromedp.ID("login-form")))
	p.Do("log in as "+username, chromedp.SendKeys(chromedp.ID("username"), username), chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("login-submit")))
	p.Wait("the desk", `location.pathname === "/desk/"`)
}

// asSupervisor makes a supervisor (password username-pw) and logs them in on p.
func asSupervisor(t *testing.T, e *env, p *page, username, name string) {
	t.Helper()
	hash, _ := bcrypt.GenerateFromPassword([]byte(username+"-pw"), bcrypt.MinCost)
	e.exec(`INSERT INTO hotline.agents (username, display_name, role, password_hash) VALUES ($1, $2, 'supervisor', $3)`,
		username, name, string(hash))
	p.loginAs(username, username+"-pw")
}

// state waits until the state bar shows state.
func (p *page) state(state string) {
	p.T.Helper()
	p.Wait("state "+state, fmt.Sprintf(`document.getElementById("state-pill").dataset.state === %q`, state))
}

func hasCall(calls []string, prefix string) bool {
	return slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, prefix) })
}

func TestLoginAndStateBar(t *testing.T) {
	e := newEnv(t)
	e.queues()
	p := newPage(t, e)
	p.Do("open the desk", chromedp.Navigate(e.url+"/desk/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	if got := p.Eval(`location.pathname`); got != "/desk/login" {
		t.Errorf("without a session the desk is at %s, want /desk/login", got)
	}
	p.Shoot("01-login")

	// A wrong password is refused with the reason, in Chinese.
	p.Do("log in wrongly", chromedp.SendKeys(chromedp.ID("username"), "agent01"), chromedp.SendKeys(chromedp.ID("password"), "nope"),
		chromedp.Click(chromedp.ID("login-submit")))
	p.WaitText("login-error", "用户名或密码错误")
	p.Shoot("01-login-refused")

	p.Do("log in", chromedp.SetValue(chromedp.ID("password"), "agent01-pw"), chromedp.Click(chromedp.ID("login-submit")))
	p.Wait("the desk", `document.body.dataset.ready === "true"`)
	p.state("paused")
	p.WaitText("state-name", "示忙 · 刚登录")
	p.WaitText("who", "李晓敏")
	p.WaitText("conn", "已连接")
	// The queues with their waiting calls and the oldest wait.
	p.WaitText("queues", "社会保障")
	p.Wait("the queue counts", `document.querySelector('#queues [data-queue="social_security"] b').textContent === "2"`)
	p.Wait("the oldest wait", `/^0[1-9]:\d\d$/.test(document.querySelector('#queues [data-queue="social_security"] .q-oldest').textContent)`)
	p.Shoot("02-paused-after-login")

	p.Key("F2", kb.F2)
	p.state("available")
	p.WaitText("idle-state", "空闲，等待来电")
	if !hasCall(e.states.Calls(), "SetAvailable") {
		t.Errorf("F2 did not go available")
	}
	p.Shoot("03-available")

	// F4 opens the reasons; a number picks one.
	p.Key("F4", kb.F4)
	p.Wait("the pause menu", `!document.getElementById("pause-menu").hidden`)
	p.WaitText("pause-items", "用餐")
	p.Shoot("04-pause-menu")
	p.Key("2", "2")
	p.state("paused")
	p.WaitText("state-name", "示忙 · 用餐")
	if calls := e.states.Calls(); !slices.Contains(calls, fmt.Sprintf("Pause(%d, meal)", e.ids["agent01"])) {
		t.Errorf("the ACD got %q, want a pause for meal", calls)
	}
	p.Shoot("05-paused-meal")

	// A click works as well as the key.
	p.Do("click 示闲", chromedp.Click(chromedp.ID("btn-available")))
	p.state("available")

	// The session survives a refresh; logging out ends it.
	p.Do("refresh", chromedp.Reload())
	p.Wait("the desk again", `document.body.dataset.ready === "true"`)
	p.state("available")
	p.Do("log out", chromedp.Click(chromedp.ID("btn-logout")))
	p.Wait("the login page", `location.pathname === "/desk/login"`)
	p.Do("open the desk", chromedp.Navigate(e.url+"/desk/"))
	p.Wait("the login page again", `location.pathname === "/desk/login"`)
}

// TestCallJourney takes agent01 through a call: the offer rings with the caller's card, a
// refresh restores it, the agent answers, a control the server refuses shows its reason, a
// hold survives a refresh, a pause is asked for during the call, the wrap-up is extended
// once, its draft survives a refresh and submitting it takes the pause.
func TestCallJourney(t *testing.T) {
	e := newEnv(t)
	e.queues()
	e.calls.Update(func(f *fakeCalls) { f.CardFunc = demoCard })
	p := newPage(t, e)
	p.login()
	p.Key("F2", kb.F2)
	p.state("available")
	me := e.ids["agent01"]

	// The offer: ring, banner, card.
	offerID := e.offer()
	p.state("ringing")
	p.Wait("the ringing banner", `!document.getElementById("ring").hidden`)
	p.WaitText("ring-number", callerNumber)
	p.WaitText("ring-queue", "公用事业")
	p.Wait("the card", `document.getElementById("card").dataset.loaded === "card"`)
	card := p.Text("card")
	for _, want := range []string{"陈美玲", "440604********1234", "实名注册用户", "禅城区", "查询电费账单", "2025年11月 应缴 356.20 元 逾期",
		"按0 转人工", "本次来电已验证身份", "电费", "356.20 元", "逾期未缴", "居住证签注", "审核中", "46,321.50 元", "佛山市某科技有限公司"} {
		if !strings.Contains(card, want) {
			t.Errorf("the card lacks %q:\n%s", want, card)
		}
	}
	if strings.Contains(card, "440604199001011234") {
		t.Errorf("the card shows a full ID number")
	}
	// A key the step's exit already names is not repeated as input; a masked input is shown.
	if strings.Contains(card, "输入 2") || !strings.Contains(card, "输入 ******") {
		t.Errorf("the journey's inputs: want 输入 ****** and no 输入 2 beside 按2:\n%s", card)
	}
	p.Wait("the chime", `window.deskRing.chimes > 0`)
	if got := p.Eval(`document.getElementById("btn-answer").disabled`); got != "false" {
		t.Errorf("answer button disabled while ringing")
	}
	p.Shoot("06-ringing")

	// A refresh while ringing shows the same offer, card and ring.
	p.Do("refresh", chromedp.Reload())
	p.Wait("the desk again", `document.body.dataset.ready === "true"`)
	p.Wait("the same offer", fmt.Sprintf(`document.getElementById("ring").dataset.offer === "%d"`, offerID))
	p.Wait("the card again", `document.getElementById("card").dataset.loaded === "card"`)
	p.Wait("the ring again", `window.deskRing.ringing && window.deskRing.chimes > 0`)

	// Where the server cannot answer the phone, F8 says to answer on the phone, and the
	// message stays while queue counts come and go.
	e.calls.Update(func(f *fakeCalls) {
		f.ControlFunc = func(string, hotline.CallCommand) (int, any) {
			return 400, map[string]string{"error": "invalid", "reason": "answer: unknown action: invalid request"}
		}
	})
	p.Key("F8", kb.F8)
	p.WaitText("control-error", "接听未成功：请在话机上接听来电")
	seen := p.Eval(`window.deskSnapshots`)
	e.exec(`UPDATE hotline.queue_entries SET entered_at = entered_at - interval '1 second' WHERE left_at IS NULL`)
	p.Wait("a queue update", `window.deskSnapshots > `+seen)
	if p.Eval(`document.getElementById("control-error").hidden`) != "false" {
		t.Errorf("a queue update hid the refusal")
	}

	// F8 answers: the phone is answered and the call connects.
	e.calls.Update(func(f *fakeCalls) {
		f.ControlFunc = func(id string, cmd hotline.CallCommand) (int, any) {
			if cmd.Action != "answer" {
				return 409, map[string]string{"error": "conflict", "reason": "not possible now"}
			}
			e.answer(offerID)
			return 200, hotline.CallState{CallID: id, AgentID: me}
		}
	})
	p.Key("F8", kb.F8)
	p.state("talking")
	p.Wait("no more ringing", `document.getElementById("ring").hidden && !window.deskRing.ringing`)
	p.WaitText("call-state", "通话中")
	p.Wait("the answer's refusal gone", `document.getElementById("control-error").hidden`)
	p.Wait("the talk timer", `/^\d\d:\d\d$/.test(document.getElementById("talk-time").textContent)`)
	if got := e.calls.Commands(); !slices.Contains(got, "answer "+callID) {
		t.Errorf("commands %q, want an answer", got)
	}
	// Notes taken during the call go on into the wrap-up.
	p.Wait("the call notes", `!document.getElementById("call-notes-box").hidden`)
	p.Do("notes", chromedp.SendKeys(chromedp.ID("call-notes"), "市民反映电费账单金额异常，已建工单跟进"))

	// A hold the server refuses shows its reason; the call stays as it was.
	e.calls.Update(func(f *fakeCalls) {
		f.ControlFunc = func(string, hotline.CallCommand) (int, any) {
			return 409, map[string]string{"error": "conflict", "reason": "the caller is not bridged with the agent yet"}
		}
	})
	p.Key("Alt+H", "h", chromedp.ModifierAlt)
	p.Wait("the refusal", `!document.getElementById("control-error").hidden`)
	if got := p.Eval(`document.getElementById("control-error").dataset.reason`); got != "the caller is not bridged with the agent yet" {
		t.Errorf("refusal reason %q", got)
	}
	p.WaitText("control-error", "the caller is not bridged with the agent yet")
	p.WaitText("btn-hold", "保持")
	p.Shoot("07-talking-refused")

	// A hold that works: the button turns to 恢复 and the hold timer runs, across a refresh.
	e.calls.Update(func(f *fakeCalls) {
		f.ControlFunc = func(id string, cmd hotline.CallCommand) (int, any) {
			switch cmd.Action {
			case "hold":
				return 200, hotline.CallState{CallID: id, AgentID: me, Held: true}
			case "resume":
				return 200, hotline.CallState{CallID: id, AgentID: me}
			case "hangup":
				e.hangUp(90 * time.Second)
				return 200, hotline.CallState{CallID: id, AgentID: me}
			}
			return 409, map[string]string{"error": "conflict", "reason": "not possible now"}
		}
	})
	p.Key("Alt+H", "h", chromedp.ModifierAlt)
	p.WaitText("btn-hold", "恢复")
	p.Wait("the hold timer", `!document.getElementById("hold-timer").hidden`)
	p.Wait("the refusal gone", `document.getElementById("control-error").hidden`)
	p.Do("refresh", chromedp.Reload())
	p.Wait("the desk again", `document.body.dataset.ready === "true"`)
	p.state("talking")
	p.WaitText("btn-hold", "恢复")
	p.Wait("the hold timer again", `!document.getElementById("hold-timer").hidden`)
	p.Wait("the card again", `document.getElementById("card").dataset.loaded === "card"`)
	p.Shoot("08-talking-held")
	p.Key("Alt+H", "h", chromedp.ModifierAlt)
	p.WaitText("btn-hold", "保持")
	p.Wait("no hold timer", `document.getElementById("hold-timer").hidden`)

	// The transfer panel lists the targets the agent API gives, the queues first.
	p.Key("Alt+T", "t", chromedp.ModifierAlt)
	p.Wait("the transfer panel", `!document.getElementById("transfer").hidden`)
	p.WaitText("targets", "社会保障")
	p.Shoot("09-transfer")
	p.Key("Escape", kb.Escape)
	p.Wait("the transfer panel closed", `document.getElementById("transfer").hidden`)

	// The agent API refuses a logout during a call, with the ACD's reason.
	e.states.Update(func(f *fakeStates) {
		f.LogoutFunc = func(int64) error {
			return &hotline.StateError{State: hotline.AgentTalking, Reason: "end the call first"}
		}
	})
	p.Do("click 签出", chromedp.Click(chromedp.ID("btn-logout")))
	p.WaitText("notice", "签出未成功：请先结束通话")
	if got := p.Eval(`document.getElementById("notice").dataset.reason`); !strings.Contains(got, "end the call first") {
		t.Errorf("notice reason %q", got)
	}

	// A pause asked for during the call waits for the end of the call's work.
	p.Key("F4", kb.F4)
	p.WaitText("pause-menu-title", "通话结束后示忙")
	p.Key("1", "1")
	p.WaitText("state-note", "之后示忙：小休")

	// F9 hangs up: wrap-up with the queue's dispositions and a countdown.
	p.Key("F9", kb.F9)
	p.state("wrap_up")
	p.Wait("the wrap-up panel", `!document.getElementById("wrapup").hidden && document.getElementById("call-panel").hidden`)
	p.WaitText("disp-legend", "必选")
	p.WaitText("wrapup-after", "提交后示忙：小休")
	p.Wait("the countdown", `/^01:[0-9]{2}$/.test(document.getElementById("wrapup-left").textContent)`)

	// Submitting without the required disposition is stopped before the server.
	p.Key("Ctrl+Enter", kb.Enter, chromedp.ModifierCtrl)
	p.WaitText("wrapup-error", "请先选择话后小结")
	if hasCall(e.states.Calls(), "EndWrapUp") {
		t.Errorf("a wrap-up without its required disposition was sent")
	}
	p.Wait("the call's notes", `document.getElementById("wrapup-notes").value === "市民反映电费账单金额异常，已建工单跟进"`)
	p.Wait("the first disposition focused", `document.activeElement?.name === "disposition"`)
	p.Key("2", "2")
	p.Wait("a disposition", `document.querySelector("input[name=disposition]:checked")?.value === "work_order"`)

	// Extend once: the button is spent afterwards.
	p.Key("Alt+Y", "y", chromedp.ModifierAlt)
	p.WaitText("btn-wrapup-extend", "已延长")
	p.Wait("the countdown extended", `/^0[12]:[0-9]{2}$/.test(document.getElementById("wrapup-left").textContent) && document.getElementById("btn-wrapup-extend").disabled`)
	if calls := e.states.Calls(); !slices.Contains(calls, fmt.Sprintf("ExtendWrapUp(%d, 30s)", me)) {
		t.Errorf("the ACD got %q, want a 30 s extension", calls)
	}

	// A refresh keeps the draft and the spent extension.
	p.Do("refresh", chromedp.Reload())
	p.Wait("the desk again", `document.body.dataset.ready === "true"`)
	p.state("wrap_up")
	p.Wait("the notes again", `document.getElementById("wrapup-notes").value.includes("电费账单金额异常")`)
	p.Wait("the disposition again", `document.querySelector("input[name=disposition]:checked")?.value === "work_order"`)
	p.Wait("the extension spent", `document.getElementById("btn-wrapup-extend").disabled`)
	p.Shoot("10-wrapup")

	p.Key("Ctrl+Enter", kb.Enter, chromedp.ModifierCtrl)
	p.state("paused")
	p.WaitText("state-name", "示忙 · 小休")
	want := fmt.Sprintf("EndWrapUp(%d, work_order, 市民反映电费账单金额异常，已建工单跟进)", me)
	if calls := e.states.Calls(); !slices.Contains(calls, want) {
		t.Errorf("the ACD got %q, want %q", calls, want)
	}
	p.Wait("the card gone", `document.getElementById("card").hidden && !document.getElementById("idle").hidden`)
}

// demoCard is a caller's card as GET /api/calls/{id}/card is to answer it: a real-name
// citizen verified in the IVR who looked up an overdue electricity bill and pressed 0.
func demoCard(id string) (int, any) {
	now := time.Now()
	ago := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	return 200, map[string]any{
		"call_id":       id,
		"caller_number": callerNumber,
		"citizen": map[string]any{"id": 1, "name": "陈美玲", "id_number_mask": "440604********1234", "level": "real_name",
			"district": "禅城区", "mobile": callerNumber, "status": "active", "verified_at": "2024-05-12T10:00:00+08:00"},
		"journey": map[string]any{"verified": true, "ivr_seconds": 134, "queue_seconds": 40, "steps": []map[string]any{
			{"summary": "语言选择", "exit_label": "普通话"},
			{"summary": "主菜单", "exit_label": "按1 账单查询"},
			{"summary": "账单查询 · 菜单选择", "input": "2", "exit_label": "按2"},
			{"summary": "身份验证（服务密码）", "input": "******", "exit_label": "验证通过"},
			{"summary": "查询电费账单", "detail": "2025年11月 应缴 356.20 元 逾期"},
			{"summary": "账单菜单", "exit_label": "按0 转人工"},
		}},
		"accounts": []map[string]any{
			{"kind": "electricity", "provider": "广东电网佛山供电局", "account_number": "0301234567",
				"latest_bill": map[string]any{"period": "2025-11-01", "amount_fen": 35620, "due_date": "2025-12-15", "overdue": true}},
			{"kind": "water", "provider": "佛山水业集团", "account_number": "1100456789",
				"latest_bill": map[string]any{"period": "2025-12-01", "amount_fen": 8850, "due_date": "2026-01-20", "paid_at": ago(96 * time.Hour)}},
			{"kind": "gas", "provider": "佛山燃气", "account_number": "7700112233",
				"latest_bill": map[string]any{"period": "2025-12-01", "amount_fen": 6400, "due_date": "2099-01-25"}},
		},
		"applications": []map[string]any{
			{"case_number": "440604202511000123", "item_name": "居住证签注", "department_name": "禅城区公安分局", "status": "reviewing", "updated_at": ago(50 * time.Hour)},
		},
		"insurance": map[string]any{
			"social_insurance": map[string]any{"status": "active", "balance_fen": 4632150, "months_paid": 86, "last_paid_period": "2025-12-01"},
			"housing_fund":     map[string]any{"status": "active", "employer": "佛山市某科技有限公司", "balance_fen": 2875000, "months_paid": 60, "last_deposit_period": "2025-12-01"},
		},
		"history": map[string]any{
			"calls": []map[string]any{
				{"started_at": ago(20 * 24 * time.Hour), "outcome": "self_served", "queue_name": ""},
				{"started_at": ago(41 * 24 * time.Hour), "outcome": "agent", "queue_name": "公用事业"},
			},
			"work_orders": []map[string]any{
				{"number": "GD20251102001", "created_at": ago(41 * 24 * time.Hour), "category": "咨询", "status": "已办结", "title": "燃气开户所需材料"},
			},
		},
	}
}
