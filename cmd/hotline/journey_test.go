package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/foshan-hotline/hotline/internal/browsertest"
	"github.com/foshan-hotline/hotline/ivr/speech"
)

// TestJourney is the whole day of one call, against `hotline demo` in headless Chromium: agent01
// logs in to the desk and goes available; a seeded citizen whose electricity bill is overdue
// calls from the browser phone, hears the bill in the IVR and presses 0; the desk rings with
// the caller's card (masked ID, the IVR journey with the bill's amount, the accounts); the agent
// answers the simulated phone from the desk, holds, refreshes the page (the call, the hold and
// the card come back), resumes and transfers the caller to the survey, which the caller
// answers; in the wrap-up the agent creates a 投诉 work order due 13 working days later on the
// calendar in the database (with a holiday and a make-up Saturday the supervisor adds ahead),
// dispatched to a department, and submits; the department's user signs for and replies to it
// on the department page; the agent asks for the follow-up call (回访来电), the ACD rings the
// agent's phone, which the agent picks up, the hotline calls the citizen, whose phone answers,
// and the agent records the satisfaction; the citizen hangs up and the agent wraps up.
// Screenshots of each screen go to the test's artefact directory (go test -artifacts).
func TestJourney(t *testing.T) {
	root, _ := filepath.Abs("../..")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d := startDemo(t, ctx, alwaysOpen(t, filepath.Join(root, "flows")), 200)
	logins := regexp.MustCompile(`(?m)^\s+(agent01|supervisor|dept-\d+)\s+(\S+)\s+(\S+)`)
	for len(logins.FindAllString(d.out.String(), -1)) < 3 {
		if ctx.Err() != nil {
			t.Fatalf("no desk accounts in the banner:\n%s", d.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	passwords := map[string]string{}
	deptUser := ""
	for _, m := range logins.FindAllStringSubmatch(d.out.String(), -1) {
		passwords[m[1]] = m[2]
		if strings.HasPrefix(m[1], "dept-") && m[3] == "department" && deptUser == "" {
			deptUser = m[1]
		}
	}
	if deptUser == "" {
		t.Fatalf("no department user in the banner:\n%s", d.out.String())
	}
	deptID := strings.TrimPrefix(deptUser, "dept-")
	db := openTestDB(t, d.url)
	var deptName string
	if err := db.GetContext(ctx, &deptName, `SELECT name FROM platform.departments WHERE id = $1`, deptID); err != nil {
		t.Fatal(err)
	}

	// The caller: a seeded citizen behind on payments, with one electricity account whose
	// latest bill is unpaid. The seed bills up to last month and dates the clock now, so early
	// in a month that bill is not yet due: it is then made due yesterday, so that it is overdue
	// whatever the day the test runs.
	var who struct {
		ID        int64     `db:"id"`
		Name      string    `db:"name"`
		Mobile    string    `db:"mobile"`
		Mask      string    `db:"id_number_mask"`
		AccountID int64     `db:"account_id"`
		Period    time.Time `db:"period"`
		AmountFen int64     `db:"amount_fen"`
		Account   string    `db:"account_number"`
	}
	err := db.GetContext(ctx, &who, `
SELECT c.id, c.name, c.mobile, c.id_number_mask, a.id AS account_id, b.period, b.amount_fen, a.account_number
FROM platform.citizens c
JOIN platform.utility_accounts a ON a.citizen_id = c.id AND a.kind = 'electricity'
JOIN LATERAL (SELECT period, amount_fen, due_date, paid_at FROM platform.bills
              WHERE account_id = a.id ORDER BY period DESC LIMIT 1) b ON true
WHERE c.status = 'active' AND b.paid_at IS NULL
  AND (SELECT count(*) FROM platform.utility_accounts e WHERE e.citizen_id = c.id AND e.kind = 'electricity') = 1
ORDER BY b.due_date < (now() AT TIME ZONE 'Asia/Shanghai')::date DESC, c.id LIMIT 1`)
	if err != nil {
		t.Fatalf("no seeded citizen with an unpaid electricity bill: %v", err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE platform.bills SET due_date = LEAST(due_date, (now() AT TIME ZONE 'Asia/Shanghai')::date - 1)
		WHERE account_id = $1 AND period = $2`, who.AccountID, who.Period); err != nil {
		t.Fatal(err)
	}
	// The IVR's words for the bill, and the desk's.
	heard := speech.Text(speech.Money(who.AmountFen, speech.Mandarin), speech.Mandarin)
	step := fmt.Sprintf("电费 %d年%d月 应缴 %s 逾期", who.Period.Year(), int(who.Period.Month()), yuanWords(who.AmountFen))
	onCard := fmt.Sprintf("%s.%02d 元", groupThousands(who.AmountFen/100), who.AmountFen%100)

	// The supervisor puts a holiday and a make-up Saturday into the coming weeks of the
	// hotline's calendar: the demo's clock is the machine's, so the test makes sure the
	// deadline crosses both whatever the day it runs.
	sup := deskLogin(t, d, "supervisor", passwords["supervisor"])
	cal := addCalendarDays(t, sup, time.Now())

	started := time.Now()
	mark := func(what string) { t.Logf("%5.1f s: %s done", time.Since(started).Seconds(), what) }
	shots := t.ArtifactDir()
	b := browsertest.New(t, ctx)
	desk := newJourneyTab(t, b, shots, true)
	desk.Do("set the window", chromedp.EmulateViewport(1280, 800))

	// 1. agent01 logs in and goes available.
	desk.Do("open the desk", chromedp.Navigate("http://"+d.httpAddr+"/desk/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	desk.Do("log in", chromedp.SendKeys(chromedp.ID("username"), "agent01"),
		chromedp.SendKeys(chromedp.ID("password"), passwords["agent01"]), chromedp.Click(chromedp.ID("login-submit")))
	desk.Wait("the desk", `document.body.dataset.ready === "true"`)
	desk.state("paused")
	desk.Shoot("01-logged-in")
	desk.Key("F2", kb.F2)
	desk.state("available")
	desk.Shoot("02-available")
	mark("login")

	// 2. The citizen calls from the browser phone and looks up the electricity bill.
	phoneCtx, closePhone := chromedp.NewContext(b)
	defer closePhone()
	phone := newJourneyTab(t, phoneCtx, shots, false)
	phone.Do("open the phone", chromedp.Navigate("http://"+d.httpAddr+"/phone/"), chromedp.WaitVisible(`#number`))
	phone.Do("dial as the citizen", chromedp.SendKeys(`#number`, who.Mobile+"\r"))
	phone.WaitText("captions", "普通话请按一")
	phone.Key("1 for Mandarin", "1")
	phone.WaitText("captions", "账单查询请按一")
	phone.Key("1 for bills", "1")
	phone.WaitText("captions", "电费")
	phone.Key("2 for electricity", "2")
	phone.WaitText("captions", heard)
	// 0 as soon as the amount is heard: 0 always reaches an agent.
	phone.Key("0 for an agent", "0")
	phone.WaitText("captions", "正在为您转接人工服务")
	phone.Shoot("03-phone-bill")
	mark("the IVR")

	// 3. The offer: the ring, the caller's card with the IVR journey and the accounts.
	desk.state("ringing")
	desk.WaitText("ring-number", who.Mobile)
	desk.Wait("the card", `document.getElementById("card").dataset.loaded === "card"`)
	for _, want := range []string{who.Name, who.Mask, step, "按0转人工", "电费", onCard, "逾期未缴"} {
		desk.WaitText("card", want)
	}
	if card := desk.Text("card"); strings.Contains(card, who.Account) {
		t.Errorf("the card shows the account number in full")
	}
	var full int
	if err := db.GetContext(ctx, &full, `SELECT count(*) FROM hotline.audit_log
		WHERE object_type = 'citizen' AND object_id = $1::text AND detail->>'reason' = 'offered_call'`, who.ID); err != nil || full == 0 {
		t.Errorf("opening the card wrote no audit row for citizen %d (%v)", who.ID, err)
	}
	desk.Wait("拒接 offered", `!document.getElementById("btn-reject").disabled`)
	desk.Shoot("04-ringing-card")
	mark("the offer")

	// 4. The agent answers the simulated phone from the desk, holds, and refreshes the page.
	desk.Do("answer", chromedp.Click(chromedp.ID("btn-answer")))
	desk.state("talking")
	desk.WaitText("call-state", "通话中")
	desk.Wait("the talk timer", `/^\d\d:\d\d$/.test(document.getElementById("talk-time").textContent)`)
	phone.WaitText("state", "通话中")
	desk.Shoot("05-talking")
	desk.Key("Alt+H", "h", chromedp.ModifierAlt)
	desk.WaitText("call-state", "保持中")
	desk.Wait("the hold timer", `!document.getElementById("hold-timer").hidden`)
	desk.Shoot("06-held")
	desk.Do("refresh", chromedp.Reload())
	desk.Wait("the desk again", `document.body.dataset.ready === "true"`)
	desk.state("talking")
	desk.WaitText("call-state", "保持中")
	desk.WaitText("btn-hold", "恢复")
	desk.Wait("the hold timer again", `!document.getElementById("hold-timer").hidden`)
	desk.Wait("the card again", `document.getElementById("card").dataset.loaded === "card"`)
	desk.WaitText("card", step)
	desk.WaitText("call-number", who.Mobile)
	desk.Shoot("07-refreshed-held")
	desk.Key("Alt+H", "h", chromedp.ModifierAlt)
	desk.WaitText("call-state", "通话中")
	desk.Wait("the hold timer gone", `document.getElementById("hold-timer").hidden`)

	// 5. The caller goes to the survey: a blind transfer into the IVR's flow survey.
	desk.Key("Alt+T", "t", chromedp.ModifierAlt)
	desk.Wait("the transfer panel", `!document.getElementById("transfer").hidden`)
	desk.Do("to a flow", chromedp.Click(`#transfer input[name=kind][value=flow]`))
	desk.Wait("the survey among the flows", `[...document.querySelectorAll("#targets button")].some(b => b.innerText.includes("满意度评价"))`)
	desk.Do("pick the survey", chromedp.Evaluate[chromedp.Void](
		`[...document.querySelectorAll("#targets button")].find(b => b.innerText.includes("满意度评价")).click()`))
	desk.Wait("the survey picked", `document.querySelector("#targets button[aria-selected=true]")?.innerText.includes("满意度评价")`)
	desk.Shoot("08-transfer-survey")
	desk.Do("transfer", chromedp.Click(chromedp.ID("btn-transfer-go")))
	desk.state("wrap_up")
	phone.WaitText("captions", "请对本次服务进行评价")
	phone.Key("1: very satisfied", "1")
	phone.WaitText("captions", "感谢您的评价")
	phone.Shoot("09-phone-survey")
	var survey struct {
		Score int    `db:"score"`
		Agent *int64 `db:"agent_id"`
	}
	for {
		err := db.GetContext(ctx, &survey, `SELECT s.score, s.agent_id FROM hotline.survey_answers s
			JOIN hotline.calls c ON c.id = s.call_id WHERE c.caller_number = $1`, who.Mobile)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the survey's answer was never recorded: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var agentID int64
	if err := db.GetContext(ctx, &agentID, `SELECT id FROM hotline.agents WHERE username = 'agent01'`); err != nil {
		t.Fatal(err)
	}
	if survey.Score != 1 || survey.Agent == nil || *survey.Agent != agentID {
		t.Errorf("survey answer %+v, want score 1 for agent01 (%d)", survey, agentID)
	}
	mark("the survey")
	phone.Key("hang up", "\x1b")
	phone.WaitText("state", "已挂断")

	// 6. The wrap-up: a 投诉 work order due 13 working days later, dispatched.
	desk.Wait("the work-order button", `!!document.getElementById("btn-wrapup-wo")`)
	desk.Key("Alt+G", "g", chromedp.ModifierAlt)
	desk.Wait("the form", `!!document.querySelector(".wo-create-form")`)
	desk.Wait("the caller's number", `document.querySelector(".wo-create [name=caller_number]").value === "`+who.Mobile+`"`)
	desk.WaitText("stage", who.Mask)
	choose := func(name, value string) {
		t.Helper()
		desk.Do("choose "+name+" "+value, chromedp.SetValue(`.wo-create [name=`+name+`]`, value),
			chromedp.Evaluate[chromedp.Void](`document.querySelector(".wo-create [name=`+name+`]").dispatchEvent(new Event("change", {bubbles: true}))`))
	}
	choose("category", "complaint")
	created := time.Now()
	due := cal.due(created, 13)
	desk.WaitText("stage", chineseDay(due)+" 截止，剩13个工作日")
	choose("department_id", deptID)
	desk.Do("the title", chromedp.SetValue(`.wo-create [name=title]`, "电费账单逾期，对催缴方式不满"))
	desk.Do("the description", chromedp.SendKeys(`.wo-create [name=description]`, "市民称未收到电费缴费提醒即被告知逾期，要求核实并改进通知方式。"))
	desk.Shoot("10-work-order-form")
	desk.Do("focus the title", chromedp.Focus(`.wo-create [name=title]`))
	desk.Key("Ctrl+Enter", kb.Enter, chromedp.ModifierCtrl)
	desk.Wait("the form closed", `!document.querySelector(".wo-create")`)
	desk.WaitText("wrapup-wo-done", "已建工单：FS")
	number := strings.TrimPrefix(desk.Text("wrapup-wo-done"), "已建工单：")
	var made struct {
		Category   string `db:"category"`
		Status     string `db:"status"`
		Dept       string `db:"department_id"`
		Citizen    *int64 `db:"citizen_id"`
		Created    string `db:"created_day"`
		DueDay     string `db:"due_day"`
		DueMidnite bool   `db:"due_midnight"`
		Journey    string `db:"journey_summary"`
	}
	if err := db.GetContext(ctx, &made, `SELECT category, status, department_id::text, citizen_id,
			to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS created_day,
			to_char((due_at - interval '1 second') AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') AS due_day,
			(due_at AT TIME ZONE 'Asia/Shanghai')::time = '00:00' AS due_midnight, journey_summary
		FROM hotline.work_orders WHERE number = $1`, number); err != nil {
		t.Fatalf("the order %s: %v", number, err)
	}
	if made.Created != created.In(shanghai).Format(time.DateOnly) {
		// The day turned between the page's deadline and the order; count from the order's.
		due = cal.due(created.Add(time.Minute), 13)
	}
	if made.Category != "complaint" || made.Status != "dispatched" || made.Dept != deptID || made.Citizen == nil || *made.Citizen != who.ID ||
		made.DueDay != due.Format(time.DateOnly) || !made.DueMidnite {
		t.Errorf("the order is %+v, want a complaint of citizen %d dispatched to %s, due by the end of %s", made, who.ID, deptID, due.Format(time.DateOnly))
	}
	if !strings.Contains(made.Journey, step) {
		t.Errorf("the order's IVR journey %q lacks %q", made.Journey, step)
	}
	t.Logf("accepted %s, due %s: the 13 working days cross %s", made.Created, made.DueDay, cal.crossed(created, due))
	desk.Wait("已建工单 chosen", `document.querySelector("input[name=disposition]:checked")?.value === "work_order"`)
	desk.Shoot("11-wrap-up-order")
	desk.Do("focus the notes", chromedp.Focus(chromedp.ID("wrapup-notes")))
	desk.Key("Ctrl+Enter", kb.Enter, chromedp.ModifierCtrl)
	desk.state("available")
	desk.Shoot("12-available-again")
	mark("the wrap-up")

	// 7. The department's user signs for the order and replies, on the department page.
	deptCtx, closeDept := chromedp.NewContext(b, chromedp.WithNewBrowserContext())
	defer closeDept()
	dept := newJourneyTab(t, deptCtx, shots, true)
	dept.Do("set the window", chromedp.EmulateViewport(1280, 800))
	dept.Do("open the login page", chromedp.Navigate("http://"+d.httpAddr+"/desk/login"), chromedp.WaitVisible(chromedp.ID("login-form")))
	dept.Do("log in", chromedp.SendKeys(chromedp.ID("username"), deptUser),
		chromedp.SendKeys(chromedp.ID("password"), passwords[deptUser]), chromedp.Click(chromedp.ID("login-submit")))
	dept.Wait("the department page", `location.pathname === "/desk/department" && document.body.dataset.ready === "true"`)
	dept.WaitText("dept-name", deptName)
	dept.WaitText("dept-orders", number)
	dept.Shoot("13-department-list")
	dept.Do("open it", chromedp.Evaluate[chromedp.Void](
		`[...document.querySelectorAll(".wo-row")].find(r => r.innerText.includes("`+number+`")).click()`))
	dept.Wait("sign", `!!document.querySelector(".wo-actions [data-action=sign]")`)
	dept.WaitText("dept-orders", chineseDay(due))
	dept.Do("sign", chromedp.Click(`.wo-actions [data-action=sign]`))
	dept.WaitText("dept-orders", "已签收")
	dept.Wait("signed", `!!document.querySelector(".wo-actions [data-action=resolve]")`)
	dept.Do("reply", chromedp.Click(`.wo-actions [data-action=resolve]`))
	dept.Do("the result", chromedp.SendKeys(`.wo-action-form textarea[name=reply]`,
		"经核查，供电局已于账单到期前发送短信提醒，但该号码曾退订通知；已为市民恢复提醒并说明缴费渠道。"))
	dept.Shoot("14-department-reply")
	dept.Do("send", chromedp.Click(`.wo-action-form button[type=submit]`))
	dept.WaitText("dept-orders", "已办结")
	dept.Shoot("15-department-resolved")
	mark("the department")

	// 8. 回访: the agent asks for the follow-up call; the ACD rings the agent, the agent answers,
	// the hotline calls the citizen, whose phone answers; the agent records the satisfaction.
	desk.Key("Alt+5", "5", chromedp.ModifierAlt)
	desk.Wait("the list", `!!document.querySelector("#pane-workorders .wo-row")`)
	desk.WaitText("pane-workorders", number)
	desk.Do("open the order", chromedp.Evaluate[chromedp.Void](
		`[...document.querySelectorAll("#pane-workorders .wo-row")].find(r => r.innerText.includes("`+number+`")).click()`))
	desk.Wait("回访来电", `!!document.querySelector("#pane-workorders .wo-actions [data-action=follow_up_call]")`)
	desk.WaitText("pane-workorders", "经核查，供电局已于账单到期前发送短信提醒")
	desk.Shoot("16-order-resolved")
	desk.Do("回访来电", chromedp.Click(`#pane-workorders .wo-actions [data-action=follow_up_call]`))
	desk.state("ringing")
	desk.Shoot("17-follow-up-ringing")
	// The callback rings on the desk like a call: 回访 with the order's number; F8 answers
	// the agent's simulated phone.
	desk.WaitText("ring-kind", "回访")
	desk.WaitText("ring-queue", number)
	desk.Wait("the citizen's card", `document.getElementById("card").dataset.loaded === "card"`)
	desk.Key("F8", kb.F8)
	desk.state("talking")
	outside := ""
	for outside == "" {
		var calls []struct {
			ID, Kind, Exten, State string
		}
		control(t, "GET", "http://"+d.controlAddr+"/calls", nil, &calls)
		for _, c := range calls {
			if c.Kind == "outbound" && c.Exten == who.Mobile && c.State == "up" {
				outside = c.ID
			}
		}
		if ctx.Err() != nil {
			t.Fatalf("the citizen's phone was never called back: %+v", calls)
		}
		time.Sleep(50 * time.Millisecond)
	}
	desk.WaitText("call-state", "回拨通话中")
	desk.Key("Alt+5", "5", chromedp.ModifierAlt)
	desk.Wait("回访", `!!document.querySelector("#pane-workorders .wo-actions [data-action=follow_up]")`)
	desk.Do("follow up", chromedp.Click(`#pane-workorders .wo-actions [data-action=follow_up]`),
		chromedp.Click(`#pane-workorders .wo-action-form input[name=satisfaction][value="5"]`))
	desk.Do("note", chromedp.SendKeys(`#pane-workorders .wo-action-form textarea`, "市民对处理结果很满意"))
	desk.Shoot("18-follow-up")
	desk.Do("send", chromedp.Click(`#pane-workorders .wo-action-form button[type=submit]`))
	desk.WaitText("pane-workorders", "已回访")
	desk.WaitText("pane-workorders", "5 分 · 很满意")
	var follow struct {
		Status       string `db:"status"`
		Satisfaction int    `db:"satisfaction"`
		Callbacks    int    `db:"callbacks"`
	}
	if err := db.GetContext(ctx, &follow, `SELECT status, COALESCE(satisfaction, 0) AS satisfaction,
			(SELECT count(*) FROM hotline.callbacks c WHERE c.work_order_id = w.id AND c.status = 'done') AS callbacks
		FROM hotline.work_orders w WHERE number = $1`, number); err != nil {
		t.Fatal(err)
	}
	if follow.Status != "followed_up" || follow.Satisfaction != 5 || follow.Callbacks != 1 {
		t.Errorf("after the follow-up the order is %+v, want followed_up with satisfaction 5 and its callback done", follow)
	}
	desk.Shoot("19-followed-up")
	// The citizen hangs up; the agent wraps up.
	control(t, "POST", "http://"+d.controlAddr+"/calls/"+outside+"/hangup", nil, nil)
	desk.state("wrap_up")
	desk.Do("focus the notes", chromedp.Focus(chromedp.ID("wrapup-notes")))
	desk.Key("Ctrl+Enter", kb.Enter, chromedp.ModifierCtrl)
	desk.state("available")
	mark("the follow-up")
}

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return loc
}()

// journeyCalendar is the hotline calendar's working days as the test reads them: Monday to
// Friday, less holidays, plus make-up workdays.
type journeyCalendar struct {
	holidays, workdays map[string]string // date → name
}

func (c journeyCalendar) working(day time.Time) bool {
	k := day.Format(time.DateOnly)
	if _, ok := c.workdays[k]; ok {
		return true
	}
	if _, ok := c.holidays[k]; ok {
		return false
	}
	return day.Weekday() != time.Saturday && day.Weekday() != time.Sunday
}

// due is the last day of n working days after the day of accepted.
func (c journeyCalendar) due(accepted time.Time, n int) time.Time {
	t := accepted.In(shanghai)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, shanghai)
	for counted := 0; counted < n; {
		day = day.AddDate(0, 0, 1)
		if c.working(day) {
			counted++
		}
	}
	return day
}

// crossed names the days off and make-up days between the day after accepted and due.
func (c journeyCalendar) crossed(accepted, due time.Time) string {
	t := accepted.In(shanghai)
	var off []string
	for day := time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, shanghai); day.Before(due); day = day.AddDate(0, 0, 1) {
		k := day.Format(time.DateOnly)
		switch {
		case c.workdays[k] != "":
			off = append(off, k+" 调休上班("+c.workdays[k]+")")
		case c.holidays[k] != "":
			off = append(off, k+" 假日("+c.holidays[k]+")")
		case !c.working(day):
			off = append(off, k+" 周末")
		}
	}
	return strings.Join(off, ", ")
}

// addCalendarDays has the supervisor add to the hotline calendar a holiday on the first
// weekday at least two days after now and a make-up workday on the first Saturday after now,
// and returns the calendar as the database then holds it.
func addCalendarDays(t *testing.T, sup *deskClient, now time.Time) journeyCalendar {
	t.Helper()
	type row struct {
		Name    string         `json:"name"`
		Spec    map[string]any `json:"spec"`
		Version int            `json:"version"`
	}
	read := func() row {
		var cals struct {
			Calendars []row `json:"calendars"`
		}
		if code := sup.do("GET", "/api/calendars", nil, &cals); code != 200 {
			t.Fatalf("GET /api/calendars: %d", code)
		}
		for _, c := range cals.Calendars {
			if c.Name == "hotline" {
				return c
			}
		}
		t.Fatalf("no hotline calendar in %+v", cals)
		return row{}
	}
	cal := read()
	t0 := now.In(shanghai)
	today := time.Date(t0.Year(), t0.Month(), t0.Day(), 0, 0, 0, 0, shanghai)
	holiday := today.AddDate(0, 0, 2)
	for holiday.Weekday() == time.Saturday || holiday.Weekday() == time.Sunday {
		holiday = holiday.AddDate(0, 0, 1)
	}
	saturday := today.AddDate(0, 0, 1)
	for saturday.Weekday() != time.Saturday {
		saturday = saturday.AddDate(0, 0, 1)
	}
	add := func(key, entry string) {
		list, _ := cal.Spec[key].([]any)
		cal.Spec[key] = append(list, entry)
	}
	add("holidays", holiday.Format(time.DateOnly)+" 测试假日")
	add("workdays", saturday.Format(time.DateOnly)+" 测试调休")
	if code := sup.do("POST", "/api/calendars/hotline", map[string]any{"spec": cal.Spec, "version": cal.Version}, nil); code != 200 {
		t.Fatalf("save the calendar: %d", code)
	}
	saved := read()
	c := journeyCalendar{holidays: map[string]string{}, workdays: map[string]string{}}
	for key, into := range map[string]map[string]string{"holidays": c.holidays, "workdays": c.workdays} {
		list, _ := saved.Spec[key].([]any)
		for _, e := range list {
			s, _ := e.(string)
			span, name, _ := strings.Cut(s, " ")
			from, to, ranged := strings.Cut(span, "..")
			if !ranged {
				to = from
			}
			a, err1 := time.ParseInLocation(time.DateOnly, from, shanghai)
			b, err2 := time.ParseInLocation(time.DateOnly, to, shanghai)
			if err1 != nil || err2 != nil {
				t.Fatalf("calendar %s entry %q", key, s)
			}
			for day := a; !day.After(b); day = day.AddDate(0, 0, 1) {
				into[day.Format(time.DateOnly)] = cmpOr(name, key)
			}
		}
	}
	if c.holidays[holiday.Format(time.DateOnly)] == "" || c.workdays[saturday.Format(time.DateOnly)] == "" {
		t.Fatalf("the calendar saved lacks the days added: %+v", saved.Spec)
	}
	return c
}

func cmpOr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

// deskLogin logs a desk user in through the agent API.
func deskLogin(t *testing.T, d *demoRun, user, password string) *deskClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &deskClient{t: t, base: "http://" + d.httpAddr, http: &http.Client{Jar: jar}}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if code := c.do("POST", "/api/login", map[string]string{"username": user, "password": password}, &me); code != 200 {
		t.Fatalf("login %s: %d", user, code)
	}
	c.csrf = me.CSRF
	return c
}

// chineseDay writes a date as the desk does: 2026年12月23日 星期三.
func chineseDay(t time.Time) string {
	return fmt.Sprintf("%d年%d月%d日 %s", t.Year(), int(t.Month()), t.Day(),
		[]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}[t.Weekday()])
}

// yuanWords writes an amount in fen as the IVR's journey does: 356元2角, 20元5分.
func yuanWords(fen int64) string {
	s := fmt.Sprintf("%d元", fen/100)
	if j := fen % 100 / 10; j > 0 {
		s += fmt.Sprintf("%d角", j)
	}
	if f := fen % 10; f > 0 {
		s += fmt.Sprintf("%d分", f)
	}
	return s
}

// groupThousands writes n with commas every three digits, as the desk's amounts.
func groupThousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// journeyTab is one tab of the test's Chromium: the desk, the phone or the department page.
type journeyTab struct{ *browsertest.Page }

// newJourneyTab wraps a browser tab; strict ones fail the test on an exception or console
// error in the page. Its screenshots are kept at 1280×800, and at 1920×1080 for the screens
// named in wide.
func newJourneyTab(t *testing.T, b context.Context, shots string, strict bool) journeyTab {
	p := browsertest.NewPage(t, b, shots)
	p.Keep = func(name string, s browsertest.Size) bool { return s.W == 1280 || wide[name] }
	if strict {
		p.FailOnProblems()
	}
	return journeyTab{p}
}

// state waits until the desk's state bar shows state.
func (p journeyTab) state(state string) {
	p.T.Helper()
	p.Wait("state "+state, fmt.Sprintf(`document.getElementById("state-pill").dataset.state === %q`, state))
}

// wide are the screens also kept at 1920×1080.
var wide = map[string]bool{"04-ringing-card": true, "07-refreshed-held": true, "10-work-order-form": true, "13-department-list": true}
