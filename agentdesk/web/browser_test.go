package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/internal/browsertest"
)

// shotsEnv names a directory to keep the screenshots in; without it they go to a temporary
// directory (they are taken anyway: taking them checks the page fits the window).
const shotsEnv = "HOTLINE_DESK_SHOTS"

// screens are the window sizes the desk must fit without horizontal scrolling.
var screens = []struct{ w, h int64 }{{1280, 800}, {1920, 1080}}

// page is the desk in headless Chromium.
type page struct {
	t     *testing.T
	b     context.Context
	e     *env
	shots string

	mu       sync.Mutex
	problems []string // exceptions, console errors, CSP violations
}

// newPage opens the desk's browser; flags add to Chromium's usual ones.
func newPage(t *testing.T, e *env, flags ...chromedp.ExecAllocatorOption) *page {
	t.Helper()
	shots := os.Getenv(shotsEnv)
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	p := &page{t: t, b: browsertest.New(t, t.Context(), flags...), e: e, shots: shots}
	// Whatever goes wrong in the page fails the test: an exception, a console error, a
	// blocked script or style. Refused requests (the browser logs every 4xx) are expected.
	messages := chromedp.Console(p.b)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if (m.Type == chromedp.ConsoleError || m.IsException()) && m.Source != "network" {
				p.mu.Lock()
				p.problems = append(p.problems, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, pr := range p.problems {
			t.Errorf("in the page: %s", pr)
		}
	})
	p.do("set the window to 1280×800", chromedp.EmulateViewport(screens[0].w, screens[0].h))
	return p
}

func (p *page) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.b, steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// wait polls a JavaScript condition until it holds, for up to 30 s. It goes on polling
// across a navigation (a login, a refresh), which browsertest.WaitJS does not.
func (p *page) wait(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(p.b, chromedp.Evaluate[bool](`Boolean(`+expr+`)`))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	said, _ := chromedp.Run(p.b, chromedp.Evaluate[string](`String(document.body && document.body.innerText)`))
	p.mu.Lock()
	problems := strings.Join(p.problems, "\n")
	p.mu.Unlock()
	p.t.Fatalf("waiting for %s (%s): last error %v\nthe page says: %s\nproblems: %s", what, expr, last, said, problems)
}

func (p *page) eval(expr string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.b, chromedp.Evaluate[string](`String(`+expr+`)`))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return s
}

func (p *page) text(id string) string {
	p.t.Helper()
	return p.eval(fmt.Sprintf(`document.getElementById(%q).innerText`, id))
}

// waitText waits until the element's text includes s.
func (p *page) waitText(id, s string) {
	p.t.Helper()
	p.wait(fmt.Sprintf("%s to say %q", id, s), fmt.Sprintf(`(document.getElementById(%q)?.innerText || "").includes(%q)`, id, s))
}

// key presses a key, with modifiers.
func (p *page) key(what, key string, mods ...chromedp.Modifier) {
	p.t.Helper()
	p.do(what, chromedp.KeyEvent(key, chromedp.KeyModifiers(mods...)))
}

// shoot takes a screenshot of the page at each screen size, and fails the test if the page
// is wider than the window.
func (p *page) shoot(name string) {
	p.t.Helper()
	for _, s := range screens {
		p.do("resize", chromedp.EmulateViewport(s.w, s.h), chromedp.Sleep(300*time.Millisecond))
		if got := p.eval(`document.documentElement.scrollWidth > document.documentElement.clientWidth || document.body.scrollWidth > document.body.clientWidth`); got != "false" {
			p.t.Errorf("%s at %d×%d: the page scrolls sideways (scrollWidth %s, window %d)", name, s.w, s.h,
				p.eval(`document.documentElement.scrollWidth`), s.w)
		}
		png, err := chromedp.Run(p.b, chromedp.FullScreenshot(100))
		if err != nil {
			p.t.Fatalf("screenshot %s: %v", name, err)
		}
		file := filepath.Join(p.shots, fmt.Sprintf("%s-%dx%d.png", name, s.w, s.h))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			p.t.Fatal(err)
		}
	}
	p.do("resize back", chromedp.EmulateViewport(screens[0].w, screens[0].h))
}

// login logs agent01 in through the login page.
func (p *page) login() {
	p.t.Helper()
	p.do("open the desk", chromedp.Navigate(p.e.url+"/desk/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	p.do("log in", chromedp.SendKeys(chromedp.ID("username"), "agent01"), chromedp.SendKeys(chromedp.ID("password"), "agent01-pw"),
		chromedp.Click(chromedp.ID("login-submit")))
	p.wait("the desk", `document.body.dataset.ready === "true"`)
}

// state waits until the state bar shows state.
func (p *page) state(state string) {
	p.t.Helper()
	p.wait("state "+state, fmt.Sprintf(`document.getElementById("state-pill").dataset.state === %q`, state))
}

func hasCall(calls []string, prefix string) bool {
	return slices.ContainsFunc(calls, func(c string) bool { return strings.HasPrefix(c, prefix) })
}

func TestLoginAndStateBar(t *testing.T) {
	e := newEnv(t)
	e.queues()
	p := newPage(t, e)
	p.do("open the desk", chromedp.Navigate(e.url+"/desk/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	if got := p.eval(`location.pathname`); got != "/desk/login" {
		t.Errorf("without a session the desk is at %s, want /desk/login", got)
	}
	p.shoot("01-login")

	// A wrong password is refused with the reason, in Chinese.
	p.do("log in wrongly", chromedp.SendKeys(chromedp.ID("username"), "agent01"), chromedp.SendKeys(chromedp.ID("password"), "nope"),
		chromedp.Click(chromedp.ID("login-submit")))
	p.waitText("login-error", "用户名或密码错误")
	p.shoot("01-login-refused")

	p.do("log in", chromedp.SetValue(chromedp.ID("password"), "agent01-pw"), chromedp.Click(chromedp.ID("login-submit")))
	p.wait("the desk", `document.body.dataset.ready === "true"`)
	p.state("paused")
	p.waitText("state-name", "示忙 · 刚登录")
	p.waitText("who", "李晓敏")
	p.waitText("conn", "已连接")
	// The queues with their waiting calls and the oldest wait.
	p.waitText("queues", "社会保障")
	p.wait("the queue counts", `document.querySelector('#queues [data-queue="social_security"] b').textContent === "2"`)
	p.wait("the oldest wait", `/^0[1-9]:\d\d$/.test(document.querySelector('#queues [data-queue="social_security"] .q-oldest').textContent)`)
	p.shoot("02-paused-after-login")

	p.key("F2", kb.F2)
	p.state("available")
	p.waitText("idle-state", "空闲，等待来电")
	if !hasCall(e.states.Calls(), "SetAvailable") {
		t.Errorf("F2 did not go available")
	}
	p.shoot("03-available")

	// F4 opens the reasons; a number picks one.
	p.key("F4", kb.F4)
	p.wait("the pause menu", `!document.getElementById("pause-menu").hidden`)
	p.waitText("pause-items", "用餐")
	p.shoot("04-pause-menu")
	p.key("2", "2")
	p.state("paused")
	p.waitText("state-name", "示忙 · 用餐")
	if calls := e.states.Calls(); !slices.Contains(calls, fmt.Sprintf("Pause(%d, meal)", e.ids["agent01"])) {
		t.Errorf("the ACD got %q, want a pause for meal", calls)
	}
	p.shoot("05-paused-meal")

	// A click works as well as the key.
	p.do("click 示闲", chromedp.Click(chromedp.ID("btn-available")))
	p.state("available")

	// The session survives a refresh; logging out ends it.
	p.do("refresh", chromedp.Reload())
	p.wait("the desk again", `document.body.dataset.ready === "true"`)
	p.state("available")
	p.do("log out", chromedp.Click(chromedp.ID("btn-logout")))
	p.wait("the login page", `location.pathname === "/desk/login"`)
	p.do("open the desk", chromedp.Navigate(e.url+"/desk/"))
	p.wait("the login page again", `location.pathname === "/desk/login"`)
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
	p.key("F2", kb.F2)
	p.state("available")
	me := e.ids["agent01"]

	// The offer: ring, banner, card.
	offerID := e.offer()
	p.state("ringing")
	p.wait("the ringing banner", `!document.getElementById("ring").hidden`)
	p.waitText("ring-number", callerNumber)
	p.waitText("ring-queue", "公用事业")
	p.wait("the card", `document.getElementById("card").dataset.loaded === "card"`)
	card := p.text("card")
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
	p.wait("the chime", `window.deskRing.chimes > 0`)
	if got := p.eval(`document.getElementById("btn-answer").disabled`); got != "false" {
		t.Errorf("answer button disabled while ringing")
	}
	p.shoot("06-ringing")

	// A refresh while ringing shows the same offer, card and ring.
	p.do("refresh", chromedp.Reload())
	p.wait("the desk again", `document.body.dataset.ready === "true"`)
	p.wait("the same offer", fmt.Sprintf(`document.getElementById("ring").dataset.offer === "%d"`, offerID))
	p.wait("the card again", `document.getElementById("card").dataset.loaded === "card"`)
	p.wait("the ring again", `window.deskRing.ringing && window.deskRing.chimes > 0`)

	// Where the server cannot answer the phone, F8 says to answer on the phone, and the
	// message stays while queue counts come and go.
	e.calls.Update(func(f *fakeCalls) {
		f.ControlFunc = func(string, hotline.CallCommand) (int, any) {
			return 400, map[string]string{"error": "invalid", "reason": "answer: unknown action: invalid request"}
		}
	})
	p.key("F8", kb.F8)
	p.waitText("control-error", "接听未成功：请在话机上接听来电")
	seen := p.eval(`window.deskSnapshots`)
	e.exec(`UPDATE hotline.queue_entries SET entered_at = entered_at - interval '1 second' WHERE left_at IS NULL`)
	p.wait("a queue update", `window.deskSnapshots > `+seen)
	if p.eval(`document.getElementById("control-error").hidden`) != "false" {
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
	p.key("F8", kb.F8)
	p.state("talking")
	p.wait("no more ringing", `document.getElementById("ring").hidden && !window.deskRing.ringing`)
	p.waitText("call-state", "通话中")
	p.wait("the answer's refusal gone", `document.getElementById("control-error").hidden`)
	p.wait("the talk timer", `/^\d\d:\d\d$/.test(document.getElementById("talk-time").textContent)`)
	if got := e.calls.Commands(); !slices.Contains(got, "answer "+callID) {
		t.Errorf("commands %q, want an answer", got)
	}
	// Notes taken during the call go on into the wrap-up.
	p.wait("the call notes", `!document.getElementById("call-notes-box").hidden`)
	p.do("notes", chromedp.SendKeys(chromedp.ID("call-notes"), "市民反映电费账单金额异常，已建工单跟进"))

	// A hold the server refuses shows its reason; the call stays as it was.
	e.calls.Update(func(f *fakeCalls) {
		f.ControlFunc = func(string, hotline.CallCommand) (int, any) {
			return 409, map[string]string{"error": "conflict", "reason": "the caller is not bridged with the agent yet"}
		}
	})
	p.key("Alt+H", "h", chromedp.ModifierAlt)
	p.wait("the refusal", `!document.getElementById("control-error").hidden`)
	if got := p.eval(`document.getElementById("control-error").dataset.reason`); got != "the caller is not bridged with the agent yet" {
		t.Errorf("refusal reason %q", got)
	}
	p.waitText("control-error", "the caller is not bridged with the agent yet")
	p.waitText("btn-hold", "保持")
	p.shoot("07-talking-refused")

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
	p.key("Alt+H", "h", chromedp.ModifierAlt)
	p.waitText("btn-hold", "恢复")
	p.wait("the hold timer", `!document.getElementById("hold-timer").hidden`)
	p.wait("the refusal gone", `document.getElementById("control-error").hidden`)
	p.do("refresh", chromedp.Reload())
	p.wait("the desk again", `document.body.dataset.ready === "true"`)
	p.state("talking")
	p.waitText("btn-hold", "恢复")
	p.wait("the hold timer again", `!document.getElementById("hold-timer").hidden`)
	p.wait("the card again", `document.getElementById("card").dataset.loaded === "card"`)
	p.shoot("08-talking-held")
	p.key("Alt+H", "h", chromedp.ModifierAlt)
	p.waitText("btn-hold", "保持")
	p.wait("no hold timer", `document.getElementById("hold-timer").hidden`)

	// The transfer panel lists the targets the agent API gives, the queues first.
	p.key("Alt+T", "t", chromedp.ModifierAlt)
	p.wait("the transfer panel", `!document.getElementById("transfer").hidden`)
	p.waitText("targets", "社会保障")
	p.shoot("09-transfer")
	p.key("Escape", kb.Escape)
	p.wait("the transfer panel closed", `document.getElementById("transfer").hidden`)

	// The agent API refuses a logout during a call, with the ACD's reason.
	e.states.Update(func(f *fakeStates) {
		f.LogoutFunc = func(int64) error {
			return &hotline.StateError{State: hotline.AgentTalking, Reason: "end the call first"}
		}
	})
	p.do("click 签出", chromedp.Click(chromedp.ID("btn-logout")))
	p.waitText("notice", "签出未成功：请先结束通话")
	if got := p.eval(`document.getElementById("notice").dataset.reason`); !strings.Contains(got, "end the call first") {
		t.Errorf("notice reason %q", got)
	}

	// A pause asked for during the call waits for the end of the call's work.
	p.key("F4", kb.F4)
	p.waitText("pause-menu-title", "通话结束后示忙")
	p.key("1", "1")
	p.waitText("state-note", "之后示忙：小休")

	// F9 hangs up: wrap-up with the queue's dispositions and a countdown.
	p.key("F9", kb.F9)
	p.state("wrap_up")
	p.wait("the wrap-up panel", `!document.getElementById("wrapup").hidden && document.getElementById("call-panel").hidden`)
	p.waitText("disp-legend", "必选")
	p.waitText("wrapup-after", "提交后示忙：小休")
	p.wait("the countdown", `/^01:[0-9]{2}$/.test(document.getElementById("wrapup-left").textContent)`)

	// Submitting without the required disposition is stopped before the server.
	p.key("Ctrl+Enter", kb.Enter, chromedp.ModifierCtrl)
	p.waitText("wrapup-error", "请先选择话后小结")
	if hasCall(e.states.Calls(), "EndWrapUp") {
		t.Errorf("a wrap-up without its required disposition was sent")
	}
	p.wait("the call's notes", `document.getElementById("wrapup-notes").value === "市民反映电费账单金额异常，已建工单跟进"`)
	p.wait("the first disposition focused", `document.activeElement?.name === "disposition"`)
	p.key("2", "2")
	p.wait("a disposition", `document.querySelector("input[name=disposition]:checked")?.value === "work_order"`)

	// Extend once: the button is spent afterwards.
	p.key("Alt+Y", "y", chromedp.ModifierAlt)
	p.waitText("btn-wrapup-extend", "已延长")
	p.wait("the countdown extended", `/^0[12]:[0-9]{2}$/.test(document.getElementById("wrapup-left").textContent) && document.getElementById("btn-wrapup-extend").disabled`)
	if calls := e.states.Calls(); !slices.Contains(calls, fmt.Sprintf("ExtendWrapUp(%d, 30s)", me)) {
		t.Errorf("the ACD got %q, want a 30 s extension", calls)
	}

	// A refresh keeps the draft and the spent extension.
	p.do("refresh", chromedp.Reload())
	p.wait("the desk again", `document.body.dataset.ready === "true"`)
	p.state("wrap_up")
	p.wait("the notes again", `document.getElementById("wrapup-notes").value.includes("电费账单金额异常")`)
	p.wait("the disposition again", `document.querySelector("input[name=disposition]:checked")?.value === "work_order"`)
	p.wait("the extension spent", `document.getElementById("btn-wrapup-extend").disabled`)
	p.shoot("10-wrapup")

	p.key("Ctrl+Enter", kb.Enter, chromedp.ModifierCtrl)
	p.state("paused")
	p.waitText("state-name", "示忙 · 小休")
	want := fmt.Sprintf("EndWrapUp(%d, work_order, 市民反映电费账单金额异常，已建工单跟进)", me)
	if calls := e.states.Calls(); !slices.Contains(calls, want) {
		t.Errorf("the ACD got %q, want %q", calls, want)
	}
	p.wait("the card gone", `document.getElementById("card").hidden && !document.getElementById("idle").hidden`)
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
