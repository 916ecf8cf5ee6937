package web_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

// hotlineCalendar is the hotline's calendar of flows/calendars.yaml.
func hotlineCalendar(t *testing.T) *flow.Calendar {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repotest.Root(t), "flows", "calendars.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cals, err := flow.ParseCalendars(data)
	if err != nil {
		t.Fatal(err)
	}
	return cals["hotline"]
}

// departments are some of the seeded departments.
var departments = []struct {
	id          int
	name, phone string
}{
	{1, "佛山市公安局", "0757-83338110"},
	{4, "佛山市自然资源局", "0757-83031200"},
	{5, "佛山市市场监督管理局", "0757-83036315"},
	{6, "佛山市人力资源和社会保障局", "0757-83033333"},
	{13, "佛山市住房和城乡建设管理局", "0757-83300168"},
}

// TestWorkOrderJourney: agent01 ends a call and, in the wrap-up, creates a 投诉 work order
// whose deadline, 13 working days after it was accepted on 24 September 2026, falls after 中秋
// and 国庆 (20 October); submits the wrap-up and is available again; finds the order in the
// list and opens it. A department user signs for it and replies; the agent follows it up
// with a satisfaction of 4.
func TestWorkOrderJourney(t *testing.T) {
	// The server's clock says 24 September 2026, 10:00: 中秋 and 国庆 are ahead.
	accepted := time.Date(2026, 9, 24, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	shift := time.Until(accepted)
	e := newEnv(t, func(o *agentdesk.Options) {
		o.Now = func() time.Time { return time.Now().Add(shift) }
		o.WorkOrders.Calendar = hotlineCalendar(t)
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	e.queues()
	e.calls.Update(func(f *fakeCalls) { f.CardFunc = demoCard })
	for _, d := range departments {
		e.exec(`INSERT INTO platform.departments (id, name, phone) VALUES ($1, $2, $3)`, d.id, d.name, d.phone)
	}
	e.exec(`INSERT INTO hotline.agents (username, display_name, role, department_id, password_hash)
		SELECT 'dept01', '王科员', 'department', 6, password_hash FROM hotline.agents WHERE username = 'agent01'`)

	p := newPage(t, e)
	p.Do("open the desk", chromedp.Navigate(e.url+"/desk/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	p.Do("log in", chromedp.SendKeys(chromedp.ID("username"), "agent01"), chromedp.SendKeys(chromedp.ID("password"), "agent01-pw"),
		chromedp.Click(chromedp.ID("login-submit")))
	p.Wait("the desk", `document.body.dataset.ready === "true"`)
	p.Key("F2", kb.F2)
	p.state("available")

	offerID := e.offer()
	p.state("ringing")
	e.answer(offerID)
	p.state("talking")
	p.Do("notes", chromedp.SendKeys(chromedp.ID("call-notes"), "市民反映11月电费账单金额比往月高出一倍，怀疑电表故障"))
	e.states.Set(e.ids["agent01"], hotline.AgentStatus{State: hotline.AgentWrapUp, CallID: callID, WrapUpUntil: time.Now().Add(shift + 3*time.Minute), Since: time.Now().Add(shift)})
	e.notify(e.ids["agent01"])
	// The ACD's row, which the agent API reads to know the agent is wrapping this call up.
	e.exec(`INSERT INTO hotline.agent_status (agent_id, state, call_id) VALUES ($1, 'wrap_up', $2)
		ON CONFLICT (agent_id) DO UPDATE SET state = 'wrap_up', call_id = $2`, e.ids["agent01"], callID)
	p.state("wrap_up")
	p.Wait("the work-order button", `!!document.getElementById("btn-wrapup-wo")`)

	// Alt+G opens the form, prefilled from the call.
	p.Key("Alt+G", "g", chromedp.ModifierAlt)
	p.Wait("the form", `!!document.querySelector(".wo-create-form")`)
	p.Wait("the call's notes as the description", `document.querySelector(".wo-create [name=description]").value.includes("怀疑电表故障")`)
	p.Wait("the caller's number", `document.querySelector(".wo-create [name=caller_number]").value === "`+callerNumber+`"`)
	p.Do("the title", chromedp.SetValue(`.wo-create [name=title]`, "电费账单金额异常"))
	// A consultation would be due in 3 working days: 30 September.
	p.Do("choose 咨询", chromedp.SetValue(`.wo-create [name=category]`, "consultation"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".wo-create [name=category]").dispatchEvent(new Event("change", {bubbles: true}))`))
	p.WaitText("stage", "2026年9月30日 星期三 截止，剩3个工作日")
	p.Do("choose 投诉", chromedp.SetValue(`.wo-create [name=category]`, "complaint"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".wo-create [name=category]").dispatchEvent(new Event("change", {bubbles: true}))`))
	p.WaitText("stage", "2026年10月20日 星期二 截止，剩13个工作日")
	// Dispatch it at once to 人社局, with 自然资源局 as 协办.
	p.Do("choose the department", chromedp.SetValue(`.wo-create [name=department_id]`, "6"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".wo-create [name=department_id]").dispatchEvent(new Event("change", {bubbles: true}))`))
	p.Do("open 协办", chromedp.Click(`.wo-co-box summary`), chromedp.Click(`.wo-create input[name=co][value="4"]`))
	p.WaitText("stage", "已选 1 家")
	// Text copied from the knowledge base goes into the description last typed in.
	p.Do("focus the description", chromedp.Focus(`.wo-create [name=description]`),
		chromedp.Evaluate[chromedp.Void](`window.dispatchEvent(new CustomEvent("desk:copy", {detail: {text: "供电服务热线 95598"}}))`))
	p.Wait("the pasted text", `document.querySelector(".wo-create [name=description]").value.endsWith("怀疑电表故障\n供电服务热线 95598")`)
	p.Shoot("wo-01-create")

	// Ctrl+Enter in the form creates the order, not the wrap-up.
	p.Do("focus the title", chromedp.Focus(`.wo-create [name=title]`))
	p.Key("Ctrl+Enter", kb.Enter, chromedp.ModifierCtrl)
	p.Wait("the form closed", `!document.querySelector(".wo-create")`)
	p.WaitText("wrapup-wo-done", "已建工单：FS")
	number := strings.TrimPrefix(p.Text("wrapup-wo-done"), "已建工单：")
	p.state("wrap_up")
	var made struct {
		Category string `db:"category"`
		Status   string `db:"status"`
		Dept     int    `db:"department_id"`
		DueDay   string `db:"due_day"`
		Co       int    `db:"co"`
	}
	if err := e.db.Get(&made, `SELECT category, status, department_id,
			to_char((due_at - interval '1 second') AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS due_day,
			(SELECT count(*) FROM hotline.work_order_departments d WHERE d.work_order_id = w.id AND d.department_id = 4) AS co
		FROM hotline.work_orders w WHERE number = $1`, number); err != nil {
		t.Fatalf("the order %s: %v", number, err)
	}
	if made.Category != "complaint" || made.Status != "dispatched" || made.Dept != 6 || made.DueDay != "2026-10-20" || made.Co != 1 {
		t.Errorf("the order created is %+v, want a complaint dispatched to 6 with 4 as 协办, due on 2026-10-20", made)
	}
	p.Wait("已建工单 chosen", `document.querySelector("input[name=disposition]:checked")?.value === "work_order"`)
	p.Shoot("wo-02-wrapup-created")
	p.Key("Ctrl+Enter", kb.Enter, chromedp.ModifierCtrl)
	p.state("available")

	// The list: the order; opened with its history.
	p.Key("Alt+5", "5", chromedp.ModifierAlt)
	p.Wait("the list", `!!document.querySelector("#pane-workorders .wo-row")`)
	p.WaitText("pane-workorders", number)
	p.WaitText("pane-workorders", "佛山市人力资源和社会保障局")
	p.Shoot("wo-03-list")
	p.Click("open it", `#pane-workorders .wo-row`)
	p.Wait("the detail", `!!document.querySelector("#pane-workorders .wo-d-body")`)
	p.WaitText("pane-workorders", "2026年10月20日 星期二")
	p.WaitText("pane-workorders", "派单")
	p.Shoot("wo-04-detail")

	// The department user signs for it and replies.
	d := newPage(t, e)
	d.Do("open the login page", chromedp.Navigate(e.url+"/desk/login"), chromedp.WaitVisible(chromedp.ID("login-form")))
	d.Do("log in", chromedp.SendKeys(chromedp.ID("username"), "dept01"), chromedp.SendKeys(chromedp.ID("password"), "agent01-pw"),
		chromedp.Click(chromedp.ID("login-submit")))
	d.Wait("the department page", `location.pathname === "/desk/department" && document.body.dataset.ready === "true"`)
	d.WaitText("dept-orders", number)
	d.Shoot("wo-05-department-list")
	d.Click("open it", `.wo-row`)
	d.Wait("the detail", `!!document.querySelector(".wo-actions [data-action=sign]")`)
	d.Shoot("wo-06-department-detail")
	d.Do("sign", chromedp.Click(`.wo-actions [data-action=sign]`))
	d.WaitText("dept-orders", "已签收")
	d.Wait("signed", `!!document.querySelector(".wo-actions [data-action=resolve], .wo-actions [data-action=start]")`)
	if d.Eval(`!!document.querySelector(".wo-actions [data-action=resolve]")`) != "true" {
		d.Do("start", chromedp.Click(`.wo-actions [data-action=start]`))
		d.WaitText("dept-orders", "办理中")
		d.Wait("started", `!!document.querySelector(".wo-actions [data-action=resolve]")`)
	}
	d.Do("reply", chromedp.Click(`.wo-actions [data-action=resolve]`))
	d.Do("the result", chromedp.SendKeys(`.wo-action-form textarea[name=reply]`, "经核查，该户电表计量正常，11月用电量因空调使用增加；已向市民解释并提供分时电价办理指引。"))
	d.Shoot("wo-07-department-reply")
	d.Do("send", chromedp.Click(`.wo-action-form button[type=submit]`))
	d.WaitText("dept-orders", "已办结")
	d.WaitText("dept-orders", "经核查，该户电表计量正常")

	// The agent follows it up: 4 分.
	p.Do("back to the list", chromedp.Click(`#pane-workorders .wo-back`))
	p.Wait("the list again", `!!document.querySelector("#pane-workorders .wo-row")`)
	p.WaitText("pane-workorders", "已办结")
	p.Click("open it", `#pane-workorders .wo-row`)
	p.Wait("follow-up", `!!document.querySelector("#pane-workorders .wo-actions [data-action=follow_up]")`)
	p.Do("follow up", chromedp.Click(`#pane-workorders .wo-actions [data-action=follow_up]`),
		chromedp.Click(`#pane-workorders .wo-action-form input[name=satisfaction][value="4"]`))
	p.Do("note", chromedp.SendKeys(`#pane-workorders .wo-action-form textarea`, "市民表示认可解释"))
	p.Shoot("wo-08-follow-up")
	p.Do("send", chromedp.Click(`#pane-workorders .wo-action-form button[type=submit]`))
	p.WaitText("pane-workorders", "已回访")
	p.WaitText("pane-workorders", "4 分 · 满意")
	var satisfaction int
	if err := e.db.Get(&satisfaction, `SELECT satisfaction FROM hotline.work_orders WHERE number = $1`, number); err != nil || satisfaction != 4 {
		t.Errorf("satisfaction %d (%v), want 4", satisfaction, err)
	}
	p.Shoot("wo-09-followed-up")

	// Voice messages: none left yet.
	p.Key("Alt+4", "4", chromedp.ModifierAlt)
	p.WaitText("pane-messages", "没有待处理的留言")
	p.Shoot("wo-10-messages")
}
