package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/agentdesk/workorder"
	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

// workOrdersFront serves the desk in front of the environment's server: the work-order
// endpoints of the contract the desk is written to are answered by fakeOrders when the agent
// API does not have them yet; everything else (login, the websocket, the pages) goes through
// to the real server. A user named dept01 is a department user of department 6 here.
type workOrdersFront struct {
	t      *testing.T
	real   *url.URL
	proxy  *httputil.ReverseProxy
	orders *fakeOrders
	url    string
}

func newFront(t *testing.T, e *env, accepted time.Time) *workOrdersFront {
	t.Helper()
	real, _ := url.Parse(e.url)
	data, err := os.ReadFile(filepath.Join(repotest.Root(t), "flows", "calendars.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cals, err := flow.ParseCalendars(data)
	if err != nil {
		t.Fatal(err)
	}
	f := &workOrdersFront{t: t, real: real, orders: &fakeOrders{cal: cals["hotline"], accepted: accepted, dept: map[string]bool{}, logins: map[string][]byte{}}}
	f.proxy = httputil.NewSingleHostReverseProxy(real)
	f.proxy.ModifyResponse = f.departmentRole
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

// hasRealOrders reports whether the agent API answers the work-order endpoints itself.
func (f *workOrdersFront) hasRealOrders() bool {
	resp, err := http.Get(f.real.String() + "/api/work-orders/due?category=complaint&urgency=normal")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusNotFound
}

func (f *workOrdersFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if !f.orders.real && (strings.HasPrefix(p, "/api/work-orders") || p == "/api/departments" || p == "/api/messages") {
		f.orders.serve(w, r)
		return
	}
	if p == "/api/login" && r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		if bytes.Contains(body, []byte(`"dept01"`)) {
			r.Header.Set("X-Front-Dept", "1")
		}
	}
	f.proxy.ServeHTTP(w, r)
}

// departmentRole makes dept01 a department user in the answers of /api/login and /api/me.
func (f *workOrdersFront) departmentRole(resp *http.Response) error {
	r := resp.Request
	if f.orders.real || (r.URL.Path != "/api/login" && r.URL.Path != "/api/me") {
		return nil
	}
	dept := r.Header.Get("X-Front-Dept") == "1"
	var session string
	if c, err := r.Cookie("hotline_session"); err == nil && f.orders.isDept(c.Value) {
		dept, session = true, c.Value
	}
	if !dept {
		return nil
	}
	if r.URL.Path == "/api/me" && resp.StatusCode == http.StatusForbidden {
		// The agent API does not let a department user ask who they are yet: the login's answer.
		f.orders.mu.Lock()
		body := f.orders.logins[session]
		f.orders.mu.Unlock()
		resp.StatusCode, resp.Status = 200, "200 OK"
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		resp.ContentLength = int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		return nil
	}
	if resp.StatusCode != 200 {
		return nil
	}
	for _, c := range resp.Cookies() {
		if c.Name == "hotline_session" && c.Value != "" {
			f.orders.mu.Lock()
			f.orders.dept[c.Value] = true
			f.orders.mu.Unlock()
		}
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var v map[string]any
	if json.Unmarshal(body, &v) == nil {
		if u, ok := v["user"].(map[string]any); ok {
			u["role"] = "department"
			u["department"] = map[string]any{"id": 6, "name": "佛山市人力资源和社会保障局"}
		}
		body, _ = json.Marshal(v)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "hotline_session" && c.Value != "" {
			f.orders.mu.Lock()
			f.orders.logins[c.Value] = body
			f.orders.mu.Unlock()
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return nil
}

// fakeOrders is the work-order contract, in memory, for as long as the agent API lacks it.
type fakeOrders struct {
	mu       sync.Mutex
	real     bool
	cal      *flow.Calendar
	accepted time.Time // when new orders are accepted, for their deadlines
	dept     map[string]bool
	logins   map[string][]byte // a department user's login answer, by session
	orders   []map[string]any
	posts    []string
}

func (o *fakeOrders) isDept(session string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dept[session]
}

var fakeDepartments = []map[string]any{
	{"id": 1, "name": "佛山市公安局", "phone": "0757-83338110"},
	{"id": 4, "name": "佛山市自然资源局", "phone": "0757-83031200"},
	{"id": 5, "name": "佛山市市场监督管理局", "phone": "0757-83036315"},
	{"id": 6, "name": "佛山市人力资源和社会保障局", "phone": "0757-83033333"},
	{"id": 13, "name": "佛山市住房和城乡建设管理局", "phone": "0757-83300168"},
}

func deptName(id int) string {
	for _, d := range fakeDepartments {
		if d["id"] == id {
			return d["name"].(string)
		}
	}
	return ""
}

func (o *fakeOrders) serve(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c, err := r.Cookie("hotline_session")
	if err != nil {
		writeJSON(w, 401, map[string]string{"error": "unauthorized", "reason": "no session"})
		return
	}
	dept := o.dept[c.Value]
	p := r.URL.Path
	if r.Method == http.MethodPost {
		if r.Header.Get("X-CSRF-Token") == "" {
			writeJSON(w, 403, map[string]string{"error": "forbidden", "reason": "missing or wrong X-CSRF-Token header"})
			return
		}
		body, _ := io.ReadAll(r.Body)
		o.posts = append(o.posts, p+" "+string(body))
		var in map[string]any
		if err := json.Unmarshal(body, &in); err != nil {
			writeJSON(w, 400, map[string]string{"error": "invalid", "reason": err.Error()})
			return
		}
		if p == "/api/work-orders" {
			o.create(w, in)
			return
		}
		id, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(p, "/api/work-orders/"), "/action"))
		o.act(w, id, in, dept)
		return
	}
	q := r.URL.Query()
	switch {
	case p == "/api/departments":
		writeJSON(w, 200, map[string]any{"departments": fakeDepartments})
	case p == "/api/messages":
		writeJSON(w, 200, map[string]any{"messages": []map[string]any{{"id": 1, "call_id": "x", "caller_number": "13922220000",
			"queue_id": "general", "created_at": time.Now().Add(-time.Hour).Format(time.RFC3339), "duration_ms": 14000,
			"url": "/api/recordings/1/audio", "work_order": map[string]any{"id": 1, "number": "FS20260924-0001", "status": "accepted"}}}})
	case p == "/api/work-orders/prefill":
		writeJSON(w, 200, map[string]any{"caller_number": callerNumber, "call_id": q.Get("call_id"), "queue_id": "utilities",
			"citizen":         map[string]any{"id": 1, "name": "陈美玲", "id_number_mask": "440604********1234"},
			"journey_summary": "查询电费账单 → 2025年11月 应缴 356.20 元 逾期 → 按0 转人工", "category": "complaint", "title": "电费账单金额异常"})
	case p == "/api/work-orders/due":
		due, err := workorder.DefaultLimits.Due(o.cal, o.accepted, workorder.Category(q.Get("category")), workorder.Urgency(q.Get("urgency")))
		if err != nil {
			writeJSON(w, 400, map[string]string{"error": "invalid", "reason": err.Error()})
			return
		}
		days := workorder.DefaultLimits.WorkingDays[workorder.Category(q.Get("category"))]
		writeJSON(w, 200, map[string]any{"due_at": due.Format(time.RFC3339), "working_days": days})
	case p == "/api/work-orders" || p == "/api/work-orders.csv":
		var out []map[string]any
		for _, x := range o.orders {
			if dept && x["department"] == nil {
				continue
			}
			if s := q.Get("q"); s != "" && !strings.Contains(x["number"].(string), s) {
				continue
			}
			if s := q.Get("status"); s != "" && x["status"] != s {
				continue
			}
			out = append(out, o.view(x, dept, false))
		}
		writeJSON(w, 200, map[string]any{"work_orders": out, "total": len(out)})
	default:
		id, _ := strconv.Atoi(strings.TrimPrefix(p, "/api/work-orders/"))
		if id < 1 || id > len(o.orders) {
			writeJSON(w, 404, map[string]string{"error": "not_found", "reason": "no such work order"})
			return
		}
		writeJSON(w, 200, o.view(o.orders[id-1], dept, true))
	}
}

func (o *fakeOrders) create(w http.ResponseWriter, in map[string]any) {
	id := len(o.orders) + 1
	due, _ := workorder.DefaultLimits.Due(o.cal, o.accepted, workorder.Category(in["category"].(string)), workorder.Urgency(in["urgency"].(string)))
	x := map[string]any{"id": id, "number": fmt.Sprintf("FS%s-%04d", o.accepted.Format("20060102"), id), "status": "accepted",
		"category": in["category"], "urgency": in["urgency"], "title": in["title"], "description": in["description"],
		"caller_number": in["caller_number"], "confidential": in["confidential"], "call_id": in["call_id"],
		"citizen":         map[string]any{"id": 1, "name": "陈美玲", "id_number_mask": "440604********1234"},
		"journey_summary": "查询电费账单 → 2025年11月 应缴 356.20 元 逾期 → 按0 转人工",
		"due_at":          due.Format(time.RFC3339), "created_at": o.accepted.Format(time.RFC3339),
		"created_by": map[string]any{"id": 1, "display_name": "李晓敏"}, "reply": "", "satisfaction": nil,
		"co_departments": []any{}, "merged": []any{},
		"history": []map[string]any{{"at": o.accepted.Format(time.RFC3339), "actor": "李晓敏", "action": "create", "to_status": "accepted"}}}
	o.orders = append(o.orders, x)
	if d, ok := in["department_id"].(float64); ok {
		o.move(x, "dispatch", "dispatched", "李晓敏", "")
		x["department"] = map[string]any{"id": int(d), "name": deptName(int(d))}
	}
	writeJSON(w, 201, o.view(x, false, true))
}

func (o *fakeOrders) move(x map[string]any, action, to, actor, note string) {
	x["history"] = append(x["history"].([]map[string]any), map[string]any{"at": time.Now().Format(time.RFC3339), "actor": actor,
		"action": action, "from_status": x["status"], "to_status": to, "note": note})
	x["status"] = to
}

// allowed are the actions of the contract each side may take in each status.
func allowed(status string, dept bool) []string {
	if dept {
		return map[string][]string{"dispatched": {"sign", "return"}, "signed": {"start", "resolve", "request_extension", "return"},
			"in_progress": {"resolve", "request_extension"}}[status]
	}
	return map[string][]string{"accepted": {"dispatch", "merge"}, "dispatched": {"urge"}, "signed": {"urge"}, "in_progress": {"urge"},
		"resolved": {"follow_up", "follow_up_call"}}[status]
}

func (o *fakeOrders) act(w http.ResponseWriter, id int, in map[string]any, dept bool) {
	if id < 1 || id > len(o.orders) {
		writeJSON(w, 404, map[string]string{"error": "not_found", "reason": "no such work order"})
		return
	}
	x := o.orders[id-1]
	a, _ := in["action"].(string)
	if !slices.Contains(allowed(x["status"].(string), dept), a) {
		writeJSON(w, 409, map[string]string{"error": "conflict", "reason": fmt.Sprintf("%s is not possible in status %s", a, x["status"])})
		return
	}
	actor := "李晓敏"
	if dept {
		actor = "人社局 王科员"
	}
	note, _ := in["note"].(string)
	switch a {
	case "dispatch":
		d := int(in["department_id"].(float64))
		x["department"] = map[string]any{"id": d, "name": deptName(d)}
		o.move(x, a, "dispatched", actor, note)
	case "sign":
		o.move(x, a, "signed", actor, note)
	case "resolve":
		reply, _ := in["reply"].(string)
		if strings.TrimSpace(reply) == "" {
			writeJSON(w, 400, map[string]string{"error": "invalid", "reason": "reply is required"})
			return
		}
		x["reply"] = reply
		o.move(x, a, "resolved", actor, "")
	case "follow_up":
		x["satisfaction"] = int(in["satisfaction"].(float64))
		o.move(x, a, "followed_up", actor, note)
	case "urge":
		x["urged"] = true
		o.move(x, a, x["status"].(string), actor, note)
	default:
		o.move(x, a, x["status"].(string), actor, note)
	}
	writeJSON(w, 200, o.view(x, dept, true))
}

func (o *fakeOrders) view(x map[string]any, dept, history bool) map[string]any {
	v := map[string]any{}
	for k, val := range x {
		if k != "history" || history {
			v[k] = val
		}
	}
	due, _ := time.Parse(time.RFC3339, x["due_at"].(string))
	v["overdue"] = time.Now().After(due) && !slices.Contains([]string{"resolved", "followed_up", "archived"}, x["status"].(string))
	if v["urged"] == nil {
		v["urged"] = false
	}
	if dept && x["confidential"] == true {
		v["caller_number"] = ""
		v["citizen"] = nil
	}
	v["allowed_actions"] = allowed(x["status"].(string), dept)
	return v
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
		o.Log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	})
	e.queues()
	e.calls.Update(func(f *fakeCalls) { f.CardFunc = demoCard })
	front := newFront(t, e, accepted)
	front.orders.real = front.hasRealOrders()
	if front.orders.real {
		t.Log("the agent API answers the work-order endpoints itself")
	}
	for _, d := range fakeDepartments {
		e.exec(`INSERT INTO platform.departments (id, name, phone) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, d["id"], d["name"], d["phone"])
	}
	e.exec(`INSERT INTO hotline.agents (username, display_name, role, department_id, password_hash)
		SELECT 'dept01', '王科员', 'department', 6, password_hash FROM hotline.agents WHERE username = 'agent01'`)

	p := newPage(t, e)
	p.do("open the desk", chromedp.Navigate(front.url+"/desk/"), chromedp.WaitVisible(chromedp.ID("login-form")))
	p.do("log in", chromedp.SendKeys(chromedp.ID("username"), "agent01"), chromedp.SendKeys(chromedp.ID("password"), "agent01-pw"),
		chromedp.Click(chromedp.ID("login-submit")))
	p.wait("the desk", `document.body.dataset.ready === "true"`)
	p.key("F2", kb.F2)
	p.state("available")

	offerID := e.offer()
	p.state("ringing")
	e.answer(offerID)
	p.state("talking")
	p.do("notes", chromedp.SendKeys(chromedp.ID("call-notes"), "市民反映11月电费账单金额比往月高出一倍，怀疑电表故障"))
	e.states.Set(e.ids["agent01"], hotline.AgentStatus{State: hotline.AgentWrapUp, CallID: callID, WrapUpUntil: time.Now().Add(shift + 3*time.Minute), Since: time.Now().Add(shift)})
	e.notify(e.ids["agent01"])
	// The ACD's row, which the agent API reads to know the agent is wrapping this call up.
	e.exec(`INSERT INTO hotline.agent_status (agent_id, state, call_id) VALUES ($1, 'wrap_up', $2)
		ON CONFLICT (agent_id) DO UPDATE SET state = 'wrap_up', call_id = $2`, e.ids["agent01"], callID)
	p.state("wrap_up")
	p.wait("the work-order button", `!!document.getElementById("btn-wrapup-wo")`)

	// Alt+G opens the form, prefilled from the call.
	p.key("Alt+G", "g", chromedp.ModifierAlt)
	p.wait("the form", `!!document.querySelector(".wo-create-form")`)
	p.wait("the call's notes as the description", `document.querySelector(".wo-create [name=description]").value.includes("怀疑电表故障")`)
	p.wait("the caller's number", `document.querySelector(".wo-create [name=caller_number]").value === "`+callerNumber+`"`)
	if !front.orders.real {
		p.wait("the prefilled title", `document.querySelector(".wo-create [name=title]").value === "电费账单金额异常"`)
		p.wait("the category from the queue", `document.querySelector(".wo-create [name=category]").value === "complaint"`)
		form := p.eval(`document.querySelector(".wo-create").innerText`)
		for _, want := range []string{"陈美玲", "440604********1234", "查询电费账单"} {
			if !strings.Contains(form, want) {
				t.Errorf("the form lacks %q:\n%s", want, form)
			}
		}
	} else {
		p.do("the title", chromedp.SetValue(`.wo-create [name=title]`, "电费账单金额异常"))
	}
	// A consultation would be due in 3 working days: 30 September.
	p.do("choose 咨询", chromedp.SetValue(`.wo-create [name=category]`, "consultation"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".wo-create [name=category]").dispatchEvent(new Event("change", {bubbles: true}))`))
	p.waitText("stage", "2026年9月30日 星期三 截止，剩3个工作日")
	p.do("choose 投诉", chromedp.SetValue(`.wo-create [name=category]`, "complaint"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".wo-create [name=category]").dispatchEvent(new Event("change", {bubbles: true}))`))
	p.waitText("stage", "2026年10月20日 星期二 截止，剩13个工作日")
	// Dispatch it at once to 人社局, with 自然资源局 as 协办.
	p.do("choose the department", chromedp.SetValue(`.wo-create [name=department_id]`, "6"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector(".wo-create [name=department_id]").dispatchEvent(new Event("change", {bubbles: true}))`))
	p.do("open 协办", chromedp.Click(`.wo-co-box summary`), chromedp.Click(`.wo-create input[name=co][value="4"]`))
	p.waitText("stage", "已选 1 家")
	p.shoot("wo-01-create")

	// Ctrl+Enter in the form creates the order, not the wrap-up.
	p.do("focus the title", chromedp.Focus(`.wo-create [name=title]`))
	p.key("Ctrl+Enter", kb.Enter, chromedp.ModifierCtrl)
	p.wait("the form closed", `!document.querySelector(".wo-create")`)
	p.waitText("wrapup-wo-done", "已建工单：FS")
	number := strings.TrimPrefix(p.text("wrapup-wo-done"), "已建工单：")
	p.state("wrap_up")
	if !front.orders.real {
		front.orders.mu.Lock()
		posts := strings.Join(front.orders.posts, "\n")
		front.orders.mu.Unlock()
		for _, want := range []string{`"category":"complaint"`, `"department_id":6`, `"co_department_ids":[4]`, `"citizen_id":1`, `"call_id":"` + callID + `"`} {
			if !strings.Contains(posts, want) {
				t.Errorf("the creation lacks %s: %s", want, posts)
			}
		}
	}
	p.wait("已建工单 chosen", `document.querySelector("input[name=disposition]:checked")?.value === "work_order"`)
	p.shoot("wo-02-wrapup-created")
	p.key("Ctrl+Enter", kb.Enter, chromedp.ModifierCtrl)
	p.state("available")

	// The list: the order, overdue by now, flagged; opened with its history.
	p.key("Alt+5", "5", chromedp.ModifierAlt)
	p.wait("the list", `!!document.querySelector("#pane-workorders .wo-row")`)
	p.waitText("pane-workorders", number)
	if !front.orders.real {
		p.waitText("pane-workorders", "超期") // by the browser's clock
	}
	p.waitText("pane-workorders", "佛山市人力资源和社会保障局")
	p.shoot("wo-03-list")
	p.do("open it", chromedp.Click(`#pane-workorders .wo-row`))
	p.wait("the detail", `!!document.querySelector("#pane-workorders .wo-d-body")`)
	p.waitText("pane-workorders", "2026年10月20日 星期二")
	p.waitText("pane-workorders", "派单")
	p.shoot("wo-04-detail")
	// 催办 an overdue order: recorded in its history.
	if !front.orders.real {
		p.do("urge", chromedp.Click(`#pane-workorders .wo-actions [data-action=urge]`))
		p.do("urge note", chromedp.SendKeys(`#pane-workorders .wo-action-form textarea`, "已超期，请尽快办理"))
		p.key("Ctrl+Enter", kb.Enter, chromedp.ModifierCtrl)
		p.waitText("pane-workorders", "已催办")
	}

	// The department user signs for it and replies.
	d := newPage(t, e)
	d.do("open the login page", chromedp.Navigate(front.url+"/desk/login"), chromedp.WaitVisible(chromedp.ID("login-form")))
	d.do("log in", chromedp.SendKeys(chromedp.ID("username"), "dept01"), chromedp.SendKeys(chromedp.ID("password"), "agent01-pw"),
		chromedp.Click(chromedp.ID("login-submit")))
	d.wait("the department page", `location.pathname === "/desk/department" && document.body.dataset.ready === "true"`)
	d.waitText("dept-orders", number)
	d.shoot("wo-05-department-list")
	d.do("open it", chromedp.Click(`.wo-row`))
	d.wait("the detail", `!!document.querySelector(".wo-actions [data-action=sign]")`)
	d.shoot("wo-06-department-detail")
	d.do("sign", chromedp.Click(`.wo-actions [data-action=sign]`))
	d.waitText("dept-orders", "已签收")
	d.wait("signed", `!!document.querySelector(".wo-actions [data-action=resolve], .wo-actions [data-action=start]")`)
	if d.eval(`!!document.querySelector(".wo-actions [data-action=resolve]")`) != "true" {
		d.do("start", chromedp.Click(`.wo-actions [data-action=start]`))
		d.waitText("dept-orders", "办理中")
		d.wait("started", `!!document.querySelector(".wo-actions [data-action=resolve]")`)
	}
	d.do("reply", chromedp.Click(`.wo-actions [data-action=resolve]`))
	d.do("the result", chromedp.SendKeys(`.wo-action-form textarea[name=reply]`, "经核查，该户电表计量正常，11月用电量因空调使用增加；已向市民解释并提供分时电价办理指引。"))
	d.shoot("wo-07-department-reply")
	d.do("send", chromedp.Click(`.wo-action-form button[type=submit]`))
	d.waitText("dept-orders", "已办结")
	d.waitText("dept-orders", "经核查，该户电表计量正常")

	// The agent follows it up: 4 分.
	p.do("back to the list", chromedp.Click(`#pane-workorders .wo-back`))
	p.wait("the list again", `!!document.querySelector("#pane-workorders .wo-row")`)
	p.waitText("pane-workorders", "已办结")
	p.do("open it", chromedp.Click(`#pane-workorders .wo-row`))
	p.wait("follow-up", `!!document.querySelector("#pane-workorders .wo-actions [data-action=follow_up]")`)
	p.do("follow up", chromedp.Click(`#pane-workorders .wo-actions [data-action=follow_up]`),
		chromedp.Click(`#pane-workorders .wo-action-form input[name=satisfaction][value="4"]`))
	p.do("note", chromedp.SendKeys(`#pane-workorders .wo-action-form textarea`, "市民表示认可解释"))
	p.shoot("wo-08-follow-up")
	p.do("send", chromedp.Click(`#pane-workorders .wo-action-form button[type=submit]`))
	p.waitText("pane-workorders", "已回访")
	p.waitText("pane-workorders", "4 分 · 满意")
	p.shoot("wo-09-followed-up")

	// Voice messages: the player and the order's link.
	p.key("Alt+4", "4", chromedp.ModifierAlt)
	if front.orders.real {
		p.waitText("pane-messages", "没有待处理的留言")
	} else {
		p.wait("the messages", `!!document.querySelector("#pane-messages audio")`)
		p.waitText("pane-messages", "13922220000")
	}
	p.shoot("wo-10-messages")
}
