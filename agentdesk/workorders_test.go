package agentdesk_test

import (
	"bytes"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk/workorder"
	"github.com/foshan-hotline/hotline/postgres"
)

func init() {
	validBodies["POST /api/work-orders"] = `{"caller_number":"13800138000","category":"consultation","urgency":"normal","title":"咨询社保","description":"","confidential":false}`
	validBodies["POST /api/work-orders/{id}/action"] = `{"action":"urge","note":"请尽快办理"}`
}

// departmentUser adds a department and a user of it (password username-pw) and logs in.
func (d *desk) departmentUser(username string) (*client, int64) {
	d.t.Helper()
	var dept int64
	if err := d.db.Get(&dept, `INSERT INTO platform.departments (name, phone) VALUES ($1, '0757-83000000') RETURNING id`,
		"部门"+username); err != nil {
		d.t.Fatal(err)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(username+"-pw"), bcrypt.MinCost)
	if err != nil {
		d.t.Fatal(err)
	}
	var id int64
	if err := d.db.Get(&id, `INSERT INTO hotline.agents (username, display_name, role, password_hash, department_id)
		VALUES ($1, $2, 'department', $3, $4) RETURNING id`, username, "部门用户"+username, string(h), dept); err != nil {
		d.t.Fatal(err)
	}
	d.ids[username] = id
	return d.login(username), dept
}

// order is the part of a WorkOrder the tests read.
type order struct {
	ID           int64                   `json:"id"`
	Number       string                  `json:"number"`
	Status       string                  `json:"status"`
	Category     string                  `json:"category"`
	CallerNumber string                  `json:"caller_number"`
	Citizen      *struct{ ID int64 }     `json:"citizen"`
	Confidential bool                    `json:"confidential"`
	DueAt        time.Time               `json:"due_at"`
	Overdue      bool                    `json:"overdue"`
	Urged        bool                    `json:"urged"`
	Department   *struct{ ID int64 }     `json:"department"`
	CoDeps       []struct{ ID int64 }    `json:"co_departments"`
	Satisfaction *int                    `json:"satisfaction"`
	MergedInto   *struct{ ID int64 }     `json:"merged_into"`
	Merged       []struct{ ID int64 }    `json:"merged"`
	Extension    *struct{ State string } `json:"extension"`
	Allowed      []string                `json:"allowed_actions"`
	History      []struct {
		Action     string `json:"action"`
		FromStatus string `json:"from_status"`
		ToStatus   string `json:"to_status"`
		Note       string `json:"note"`
		Actor      string `json:"actor"`
	} `json:"history"`
}

func (o order) last() string {
	if len(o.History) == 0 {
		return ""
	}
	h := o.History[len(o.History)-1]
	return h.Action + ":" + h.FromStatus + "→" + h.ToStatus
}

func (c *client) newOrder(t *testing.T, body string) order {
	t.Helper()
	status, b := c.do("POST", "/api/work-orders", body)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, b)
	}
	return decodeJSON[order](t, b)
}

func (c *client) act(t *testing.T, id int64, body string, want int) order {
	t.Helper()
	status, b := c.do("POST", "/api/work-orders/"+strconv.FormatInt(id, 10)+"/action", body)
	if status != want {
		t.Fatalf("action %s on %d: %d %s, want %d", body, id, status, b, want)
	}
	if status != http.StatusOK {
		return order{}
	}
	return decodeJSON[order](t, b)
}

func TestWorkOrderLifecycle(t *testing.T) {
	d := newDesk(t)
	agent, sup := d.login("agent01"), d.login("supervisor")
	dept, deptID := d.departmentUser("dept-a")
	other, otherID := d.departmentUser("dept-b")

	o := agent.newOrder(t, fmt.Sprintf(`{"caller_number":"13800138000","category":"complaint","urgency":"normal",
		"title":"噪音扰民","description":"夜间施工","department_id":%d,"co_department_ids":[%d],"confidential":false}`, deptID, otherID))
	if !regexp.MustCompile(`^FS\d{8}-\d{4}$`).MatchString(o.Number) {
		t.Errorf("number %q", o.Number)
	}
	if o.Status != "dispatched" || o.Department == nil || o.Department.ID != deptID || len(o.CoDeps) != 1 || o.CoDeps[0].ID != otherID {
		t.Errorf("created and dispatched: %+v", o)
	}
	if len(o.History) != 2 || o.last() != "dispatch:accepted→dispatched" {
		t.Errorf("history %+v", o.History)
	}
	if days := time.Until(o.DueAt).Hours() / 24; days < 13 || days > 22 {
		t.Errorf("a complaint due in %.1f days", days)
	}

	// The 协办 department sees it but does not act on it.
	if status, b := other.do("GET", "/api/work-orders/"+strconv.FormatInt(o.ID, 10), ""); status != http.StatusOK {
		t.Errorf("协办 GET: %d %s", status, b)
	}
	other.act(t, o.ID, `{"action":"sign"}`, http.StatusConflict)

	o = dept.act(t, o.ID, `{"action":"sign"}`, http.StatusOK)
	o = dept.act(t, o.ID, `{"action":"start"}`, http.StatusOK)
	dept.act(t, o.ID, `{"action":"resolve"}`, http.StatusBadRequest) // no reply
	o = dept.act(t, o.ID, `{"action":"resolve","reply":"已责令停工"}`, http.StatusOK)
	if o.Status != "resolved" || !slices.Contains(o.Allowed, "follow_up") && false {
		t.Errorf("resolved: %+v", o)
	}
	if got := agent.act(t, o.ID, `{"action":"get","note":""}`, http.StatusBadRequest); got.ID != 0 {
		t.Error("unknown action answered")
	}

	// 不满意 sends it back to the department.
	o = agent.act(t, o.ID, `{"action":"follow_up","satisfaction":2,"note":"仍有噪音"}`, http.StatusOK)
	if o.Status != "dispatched" || o.Satisfaction == nil || *o.Satisfaction != 2 || o.last() != "follow_up:resolved→dispatched" ||
		!strings.Contains(o.History[len(o.History)-1].Note, "不满意") {
		t.Errorf("dissatisfied follow-up: %s %+v", o.Status, o.History[len(o.History)-1])
	}
	dept.act(t, o.ID, `{"action":"sign"}`, http.StatusOK)
	o = dept.act(t, o.ID, `{"action":"resolve","reply":"已复查"}`, http.StatusOK)
	o = agent.act(t, o.ID, `{"action":"follow_up_call"}`, http.StatusOK)
	var cb struct {
		Number string `db:"number"`
		Status string `db:"status"`
	}
	if err := d.db.Get(&cb, `SELECT number, status FROM hotline.callbacks WHERE work_order_id = $1`, o.ID); err != nil ||
		cb.Number != "13800138000" || cb.Status != "pending" {
		t.Errorf("follow-up callback %+v: %v", cb, err)
	}
	o = agent.act(t, o.ID, `{"action":"follow_up","satisfaction":5}`, http.StatusOK)
	agent.act(t, o.ID, `{"action":"archive"}`, http.StatusConflict) // supervisors archive
	o = sup.act(t, o.ID, `{"action":"archive"}`, http.StatusOK)
	if o.Status != "archived" || len(o.Allowed) != 0 {
		t.Errorf("archived: %+v", o)
	}
	var views int
	d.db.Get(&views, `SELECT count(*) FROM hotline.audit_log WHERE action = 'view_work_order' AND object_id = $1`, strconv.FormatInt(o.ID, 10))
	if views != 1 {
		t.Errorf("%d view_work_order audit rows, want 1", views)
	}
}

// TestWorkOrderTransitions tries every action in every status as each kind of user: the
// rules of workorder.Next decide between 200 and 409.
func TestWorkOrderTransitions(t *testing.T) {
	d := newDesk(t)
	dept, deptID := d.departmentUser("dept-t")
	users := map[workorder.Actor]*client{workorder.Hotline: d.login("agent01"), workorder.Supervisor: d.login("supervisor"),
		workorder.Department: dept}
	agent := users[workorder.Hotline]
	target := agent.newOrder(t, `{"caller_number":"13800138000","category":"help","title":"并单目标"}`)
	bodies := map[workorder.Action]string{
		workorder.Dispatch:         fmt.Sprintf(`{"action":"dispatch","department_id":%d}`, deptID),
		workorder.Resolve:          `{"action":"resolve","reply":"已办结"}`,
		workorder.Return:           `{"action":"return","note":"非本部门职责"}`,
		workorder.RequestExtension: `{"action":"request_extension","due_at":"2099-01-01T00:00:00+08:00","note":"需现场核查"}`,
		workorder.FollowUp:         `{"action":"follow_up","satisfaction":4}`,
		workorder.Merge:            fmt.Sprintf(`{"action":"merge","into_id":%d}`, target.ID),
	}
	o := agent.newOrder(t, `{"caller_number":"13800138000","category":"help","title":"状态测试"}`)
	for _, a := range workorder.Actions {
		for _, st := range workorder.Statuses {
			for actor, c := range users {
				ext := "NULL"
				if a == workorder.ApproveExtension || a == workorder.RejectExtension {
					ext = "'requested'"
				}
				d.exec(`UPDATE hotline.work_orders SET status = $2, department_id = $3, merged_into = NULL,
					due_at = now() - interval '1 hour', extension_state = `+ext+`, extension_due_at = now() + interval '9 days'
					WHERE id = $1`, o.ID, st, deptID)
				body := bodies[a]
				if body == "" {
					body = `{"action":"` + string(a) + `"}`
				}
				want := http.StatusOK
				if _, err := workorder.Next(st, a, actor); err != nil {
					want = http.StatusConflict
				}
				status, b := c.do("POST", "/api/work-orders/"+strconv.FormatInt(o.ID, 10)+"/action", body)
				if status != want {
					t.Errorf("%s in %s by %s: %d %s, want %d", a, st, actor, status, b, want)
					continue
				}
				if want == http.StatusConflict {
					if code, reason := errorOf(t, b); code != "conflict" || reason == "" {
						t.Errorf("%s in %s by %s: %s", a, st, actor, b)
					}
					continue
				}
				got := decodeJSON[order](t, b)
				next, _ := workorder.Next(st, a, actor)
				if a == workorder.FollowUp {
					next = workorder.FollowedUp // satisfaction 4
				}
				if got.Status != string(next) || got.History[len(got.History)-1].Action != string(a) {
					t.Errorf("%s in %s by %s: status %s, last %s", a, st, actor, got.Status, got.last())
				}
			}
		}
	}
}

func TestWorkOrderDepartmentScopeAndConfidential(t *testing.T) {
	d := newDesk(t)
	agent, agent2, sup := d.login("agent01"), d.login("agent02"), d.login("supervisor")
	deptA, a := d.departmentUser("dept-sa")
	deptB, _ := d.departmentUser("dept-sb")
	secret := agent.newOrder(t, fmt.Sprintf(`{"caller_number":"13900139000","category":"report","title":"举报无证经营",
		"department_id":%d,"confidential":true}`, a))
	plain := agent.newOrder(t, `{"caller_number":"13700137000","category":"consultation","title":"咨询"}`)

	list := func(c *client, query string) []order {
		t.Helper()
		status, b := c.do("GET", "/api/work-orders"+query, "")
		if status != http.StatusOK {
			t.Fatalf("list%s: %d %s", query, status, b)
		}
		return decodeJSON[struct {
			Orders []order `json:"work_orders"`
			Total  int     `json:"total"`
		}](t, b).Orders
	}
	got := list(deptA, "")
	if len(got) != 1 || got[0].ID != secret.ID || got[0].CallerNumber != "" || got[0].Citizen != nil || !got[0].Confidential {
		t.Errorf("department A's list: %+v", got)
	}
	if got := list(deptB, ""); len(got) != 0 {
		t.Errorf("department B sees %+v", got)
	}
	status, b := deptB.do("GET", "/api/work-orders/"+strconv.FormatInt(secret.ID, 10), "")
	if status != http.StatusForbidden {
		t.Errorf("department B GET: %d %s", status, b)
	}
	deptB.act(t, secret.ID, `{"action":"sign"}`, http.StatusForbidden)
	status, b = deptA.do("GET", "/api/work-orders/"+strconv.FormatInt(secret.ID, 10), "")
	if status != http.StatusOK || bytes.Contains(b, []byte("13900139000")) {
		t.Errorf("department A GET of a confidential order: %d %s", status, b)
	}
	for _, path := range []string{"/api/departments", "/api/messages", "/api/work-orders/due?category=help", "/api/agent/status"} {
		if status, b := deptA.do("GET", path, ""); status != http.StatusForbidden {
			t.Errorf("department user GET %s: %d %s", path, status, b)
		}
	}
	deptA.act(t, plain.ID, `{"action":"sign"}`, http.StatusForbidden)
	if status, b := deptA.do("GET", "/api/me", ""); status != http.StatusOK {
		t.Errorf("department user GET /api/me: %d %s", status, b)
	}

	// Among the hotline, the creator and supervisors see a confidential order's caller.
	for name, c := range map[string]*client{"creator": agent, "supervisor": sup} {
		status, b := c.do("GET", "/api/work-orders/"+strconv.FormatInt(secret.ID, 10), "")
		if status != http.StatusOK || !bytes.Contains(b, []byte("13900139000")) {
			t.Errorf("%s: %d %s", name, status, b)
		}
	}
	if got := list(agent2, "?q=13900139000"); len(got) != 1 || got[0].CallerNumber != "" {
		t.Errorf("another agent's search: %+v", got)
	}
	if got := list(agent, "?q="+secret.Number); len(got) != 1 || got[0].ID != secret.ID {
		t.Errorf("search by number: %+v", got)
	}
	if got := list(agent, "?department_id="+strconv.FormatInt(a, 10)); len(got) != 1 {
		t.Errorf("by department: %+v", got)
	}
	if status, _ := agent.do("GET", "/api/work-orders?due=tomorrow", ""); status != http.StatusBadRequest {
		t.Errorf("bad due: %d", status)
	}
}

func TestWorkOrderListOverdueFirstAndCSV(t *testing.T) {
	d := newDesk(t)
	agent := d.login("agent01")
	late := agent.newOrder(t, `{"caller_number":"13800138000","category":"complaint","title":"逾期的"}`)
	soon := agent.newOrder(t, `{"caller_number":"13800138001","category":"consultation","title":"=SUM(A1)"}`)
	d.exec(`UPDATE hotline.work_orders SET due_at = now() - interval '2 days' WHERE id = $1`, late.ID)
	status, b := agent.do("GET", "/api/work-orders", "")
	all := decodeJSON[struct {
		Orders []order `json:"work_orders"`
		Total  int     `json:"total"`
	}](t, b)
	if status != http.StatusOK || all.Total != 2 || all.Orders[0].ID != late.ID || !all.Orders[0].Overdue || all.Orders[1].ID != soon.ID {
		t.Fatalf("list: %d %s", status, b)
	}
	o := agent.act(t, late.ID, `{"action":"urge","note":"请加快"}`, http.StatusOK)
	if !o.Urged || o.last() != "urge:accepted→accepted" {
		t.Errorf("urged: %+v", o)
	}
	agent.act(t, soon.ID, `{"action":"urge"}`, http.StatusConflict) // not overdue

	resp := agent.response("GET", "/api/work-orders.csv?due=overdue", "")
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	csv := buf.String()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(csv, "\uFEFF工单编号,状态,类别") || !strings.Contains(csv, late.Number+",已受理,投诉,普通,逾期的,13800138000") ||
		strings.Contains(csv, soon.Number) {
		t.Errorf("CSV %d %q: %q", resp.StatusCode, resp.Header.Get("Content-Type"), csv)
	}
	resp = agent.response("GET", "/api/work-orders.csv", "")
	buf.Reset()
	buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if !strings.Contains(buf.String(), "'=SUM(A1)") {
		t.Errorf("a formula-like title is not defused: %q", buf.String())
	}
}

func TestWorkOrderMergeAndExtension(t *testing.T) {
	d := newDesk(t)
	agent, sup := d.login("agent01"), d.login("supervisor")
	dept, deptID := d.departmentUser("dept-m")
	first := agent.newOrder(t, fmt.Sprintf(`{"caller_number":"13800138000","category":"complaint","title":"路灯不亮","department_id":%d}`, deptID))
	dup := agent.newOrder(t, `{"caller_number":"13800138002","category":"complaint","title":"路灯不亮（重复）"}`)
	agent.act(t, dup.ID, `{"action":"merge","into_id":999999}`, http.StatusBadRequest)
	agent.act(t, dup.ID, fmt.Sprintf(`{"action":"merge","into_id":%d}`, dup.ID), http.StatusConflict)
	m := agent.act(t, dup.ID, fmt.Sprintf(`{"action":"merge","into_id":%d,"note":"同一路段"}`, first.ID), http.StatusOK)
	if m.Status != "archived" || m.MergedInto == nil || m.MergedInto.ID != first.ID {
		t.Errorf("merged: %+v", m)
	}
	status, b := agent.do("GET", "/api/work-orders/"+strconv.FormatInt(first.ID, 10), "")
	f := decodeJSON[order](t, b)
	if status != http.StatusOK || len(f.Merged) != 1 || f.Merged[0].ID != dup.ID || f.last() != "merged:dispatched→dispatched" {
		t.Errorf("merged into: %d %+v", status, f)
	}

	dept.act(t, first.ID, `{"action":"sign"}`, http.StatusOK)
	dept.act(t, first.ID, `{"action":"request_extension","due_at":"2000-01-01T00:00:00Z","note":"x"}`, http.StatusBadRequest)
	want := f.DueAt.AddDate(0, 0, 10)
	e := dept.act(t, first.ID, `{"action":"request_extension","due_at":"`+want.Format(time.RFC3339)+`","note":"需协调电力部门"}`, http.StatusOK)
	if e.Extension == nil || e.Extension.State != "requested" || !e.DueAt.Equal(f.DueAt) {
		t.Errorf("requested: %+v", e)
	}
	dept.act(t, first.ID, `{"action":"request_extension","due_at":"`+want.Format(time.RFC3339)+`","note":"again"}`, http.StatusConflict)
	agent.act(t, first.ID, `{"action":"approve_extension"}`, http.StatusConflict)
	e = sup.act(t, first.ID, `{"action":"approve_extension","note":"同意"}`, http.StatusOK)
	if e.Extension.State != "approved" || !e.DueAt.Equal(want) {
		t.Errorf("approved: due %s, want %s; %+v", e.DueAt, want, e.Extension)
	}
	sup.act(t, first.ID, `{"action":"reject_extension"}`, http.StatusConflict)
}

func TestWorkOrderVoiceMessageAndDue(t *testing.T) {
	d := newDesk(t)
	agent := d.login("agent01")
	var callID string
	if err := d.db.Get(&callID, `INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at)
		VALUES (gen_random_uuid(), 'pbx1', 'ch-1', '13800138000', now()) RETURNING id`); err != nil {
		t.Fatal(err)
	}
	services := postgres.NewIVRServices(postgres.New(d.db, nil, nil))
	number, err := services.SaveMessageNumber(t.Context(), hotline.Message{CallID: callID, CallerNumber: "13800138000",
		RecordingName: "msg-" + callID, Duration: 12 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	status, b := agent.do("GET", "/api/messages", "")
	msgs := decodeJSON[struct {
		Messages []struct {
			ID        int64  `json:"id"`
			URL       string `json:"url"`
			WorkOrder *struct {
				Number, Status string
			} `json:"work_order"`
		} `json:"messages"`
	}](t, b)
	if status != http.StatusOK || len(msgs.Messages) != 1 || msgs.Messages[0].WorkOrder == nil ||
		msgs.Messages[0].WorkOrder.Number != number || msgs.Messages[0].WorkOrder.Status != "accepted" {
		t.Fatalf("messages: %d %s", status, b)
	}
	status, b = agent.do("GET", "/api/work-orders?q="+number, "")
	if status != http.StatusOK || !bytes.Contains(b, []byte(`"title":"语音留言"`)) || !bytes.Contains(b, []byte(`"category":"help"`)) ||
		!bytes.Contains(b, []byte(`"url":"`+msgs.Messages[0].URL+`"`)) {
		t.Errorf("the message's order: %s", b)
	}
	// No audio store here: 404 with a reason.
	if status, b := agent.do("GET", msgs.Messages[0].URL, ""); status != http.StatusNotFound {
		t.Errorf("audio: %d %s", status, b)
	}

	status, b = agent.do("GET", "/api/work-orders/due?category=complaint&urgency=emergency", "")
	due := decodeJSON[map[string]any](t, b)
	if status != http.StatusOK || due["hours"] != float64(24) || due["working_days"] != nil {
		t.Errorf("due: %d %s", status, b)
	}
	status, b = agent.do("GET", "/api/work-orders/due?category=complaint", "")
	if due := decodeJSON[map[string]any](t, b); status != http.StatusOK || due["working_days"] != float64(13) {
		t.Errorf("due: %d %s", status, b)
	}
	if status, _ := agent.do("GET", "/api/work-orders/due?category=gossip", ""); status != http.StatusBadRequest {
		t.Errorf("unknown category: %d", status)
	}
	if status, _ := agent.do("POST", "/api/work-orders", `{"category":"help","title":""}`); status != http.StatusBadRequest {
		t.Errorf("no title: %d", status)
	}
	if status, _ := agent.do("POST", "/api/work-orders", `{"category":"help","title":"x","department_id":999999}`); status != http.StatusBadRequest {
		t.Errorf("unknown department: %d", status)
	}
}
