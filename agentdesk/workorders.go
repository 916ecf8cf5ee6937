package agentdesk

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk/workorder"
	"github.com/foshan-hotline/hotline/postgres"
)

// workOrderRoutes are work orders (工单), for the hotline and for departments.
func (s *Server) workOrderRoutes() []route {
	return []route{
		{"GET /api/departments", hotline.RoleAgent, s.departments},
		{"GET /api/work-orders/prefill", hotline.RoleAgent, s.workOrderPrefill},
		{"GET /api/work-orders/due", hotline.RoleAgent, s.workOrderDue},
		{"POST /api/work-orders", hotline.RoleAgent, s.createWorkOrder},
		{"GET /api/work-orders", hotline.RoleAgent, s.listWorkOrders},
		{"GET /api/work-orders.csv", hotline.RoleAgent, s.exportWorkOrders},
		{"GET /api/work-orders/{id}", hotline.RoleAgent, s.getWorkOrder},
		{"POST /api/work-orders/{id}/action", hotline.RoleAgent, s.actOnWorkOrder},
		{"GET /api/messages", hotline.RoleAgent, s.voiceMessages},
		{"GET /api/recordings/{id}/audio", hotline.RoleAgent, s.recordingAudio},
	}
}

// workOrderDepartmentRoutes are the work-order endpoints department users may call.
var workOrderDepartmentRoutes = []string{
	"GET /api/work-orders", "GET /api/work-orders.csv", "GET /api/work-orders/{id}",
	"POST /api/work-orders/{id}/action",
}

// Audit actions of work orders.
const (
	AuditViewWorkOrder = "view_work_order"
	AuditPlayRecording = "play_recording"
	AuditExportOrders  = "export_work_orders"
)

const maxWorkOrders = 200

// viewer is who reads or acts on orders.
type viewer struct {
	id         int64
	role       hotline.Role
	department int64
}

func (v viewer) actor() workorder.Actor {
	switch {
	case v.role == hotline.RoleDepartment:
		return workorder.Department
	case v.role.AtLeast(hotline.RoleSupervisor):
		return workorder.Supervisor
	}
	return workorder.Hotline
}

func (s *Server) viewerOf(r *http.Request, sess *postgres.Session) (viewer, error) {
	v := viewer{id: sess.Agent.ID, role: sess.Agent.Role}
	if v.role == hotline.RoleDepartment {
		d, err := postgres.AgentDepartment(r.Context(), s.o.DB, v.id)
		if err != nil {
			return v, err
		}
		if d == 0 {
			return v, forbidden("this department user has no department")
		}
		v.department = d
	}
	return v, nil
}

// Views of an order.
type (
	refView struct {
		ID     int64  `json:"id"`
		Number string `json:"number"`
	}
	citizenRefView struct {
		ID           int64  `json:"id"`
		Name         string `json:"name"`
		IDNumberMask string `json:"id_number_mask"`
	}
	nameView struct {
		ID          int64  `json:"id"`
		DisplayName string `json:"display_name"`
	}
	extensionView struct {
		RequestedDueAt time.Time `json:"requested_due_at"`
		Reason         string    `json:"reason"`
		State          string    `json:"state"`
	}
	recordingView struct {
		ID         int64  `json:"id"`
		DurationMs int64  `json:"duration_ms"`
		URL        string `json:"url"`
	}
	workOrderView struct {
		ID             int64                     `json:"id"`
		Number         string                    `json:"number"`
		Status         workorder.Status          `json:"status"`
		Category       workorder.Category        `json:"category"`
		Urgency        workorder.Urgency         `json:"urgency"`
		Title          string                    `json:"title"`
		Description    string                    `json:"description"`
		CallerNumber   string                    `json:"caller_number"`
		Citizen        *citizenRefView           `json:"citizen"`
		CallID         *string                   `json:"call_id"`
		QueueID        *string                   `json:"queue_id"`
		JourneySummary string                    `json:"journey_summary"`
		Department     *postgres.Department      `json:"department"`
		CoDepartments  []postgres.Department     `json:"co_departments"`
		Confidential   bool                      `json:"confidential"`
		DueAt          time.Time                 `json:"due_at"`
		Overdue        bool                      `json:"overdue"`
		Urged          bool                      `json:"urged"`
		Extension      *extensionView            `json:"extension"`
		Reply          string                    `json:"reply"`
		Satisfaction   *int64                    `json:"satisfaction"`
		MergedInto     *postgres.WorkOrderRef    `json:"merged_into"`
		Merged         []postgres.WorkOrderRef   `json:"merged"`
		Recording      *recordingView            `json:"recording"`
		CreatedAt      time.Time                 `json:"created_at"`
		CreatedBy      *nameView                 `json:"created_by"`
		UpdatedAt      time.Time                 `json:"updated_at"`
		AllowedActions []workorder.Action        `json:"allowed_actions"`
		History        []postgres.WorkOrderEvent `json:"history,omitempty"`
	}
)

// hidesCaller reports whether v may not see who called about o: a confidential order's
// caller is shown to its creator and to supervisors only, never to a department.
func (v viewer) hidesCaller(o *postgres.WorkOrder) bool {
	if !o.Confidential {
		return false
	}
	if v.role == hotline.RoleDepartment {
		return true
	}
	return !v.role.AtLeast(hotline.RoleSupervisor) && !(o.CreatedByID.Valid && o.CreatedByID.Int64 == v.id)
}

// allowedActions are the actions v may take on o now (the desk's buttons).
func (v viewer) allowedActions(o *postgres.WorkOrder, now time.Time) []workorder.Action {
	out := []workorder.Action{}
	if o.MergedInto.V != nil {
		return out
	}
	if v.role == hotline.RoleDepartment && !(o.DepartmentID.Valid && o.DepartmentID.Int64 == v.department) {
		return out // 协办 follow the order
	}
	ext := o.ExtensionState.String
	for _, a := range workorder.Allowed(o.Status, v.actor()) {
		switch {
		case a == workorder.Urge && !o.Overdue(now),
			(a == workorder.ApproveExtension || a == workorder.RejectExtension) && ext != "requested",
			a == workorder.RequestExtension && ext == "requested",
			a == workorder.FollowUpCall && o.CallerNumber == "":
			continue
		}
		out = append(out, a)
	}
	return out
}

func (s *Server) viewWorkOrder(o *postgres.WorkOrder, v viewer, now time.Time) workOrderView {
	w := workOrderView{ID: o.ID, Number: o.Number, Status: o.Status, Category: o.Category, Urgency: o.Urgency,
		Title: o.Title, Description: o.Description, CallerNumber: o.CallerNumber, JourneySummary: o.JourneySummary,
		CoDepartments: o.CoDepartments.V, Confidential: o.Confidential, DueAt: o.DueAt.In(s.loc()),
		Overdue: o.Overdue(now), Urged: o.UrgedAt.Valid, Reply: o.Reply, MergedInto: o.MergedInto.V,
		Merged: o.Merged.V, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, History: o.History,
		AllowedActions: v.allowedActions(o, now)}
	if w.CoDepartments == nil {
		w.CoDepartments = []postgres.Department{}
	}
	if w.Merged == nil {
		w.Merged = []postgres.WorkOrderRef{}
	}
	if o.CitizenID.Valid {
		w.Citizen = &citizenRefView{ID: o.CitizenID.Int64, Name: o.CitizenName.String, IDNumberMask: o.CitizenIDMask.String}
	}
	if o.CallID.Valid {
		w.CallID = &o.CallID.String
	}
	if o.QueueID.Valid {
		w.QueueID = &o.QueueID.String
	}
	if o.DepartmentID.Valid {
		w.Department = &postgres.Department{ID: o.DepartmentID.Int64, Name: o.DepartmentName.String}
	}
	if o.ExtensionState.Valid {
		w.Extension = &extensionView{RequestedDueAt: o.ExtensionDueAt.Time, Reason: o.ExtensionReason, State: o.ExtensionState.String}
	}
	if o.Satisfaction.Valid {
		w.Satisfaction = &o.Satisfaction.Int64
	}
	if o.RecordingID.Valid {
		w.Recording = &recordingView{ID: o.RecordingID.Int64, DurationMs: o.RecordingMs.Int64,
			URL: "/api/recordings/" + strconv.FormatInt(o.RecordingID.Int64, 10) + "/audio"}
	}
	if o.CreatedByID.Valid {
		w.CreatedBy = &nameView{ID: o.CreatedByID.Int64, DisplayName: o.CreatedByName.String}
	}
	if v.hidesCaller(o) {
		w.CallerNumber, w.Citizen, w.CallID = "", nil, nil
		if v.role == hotline.RoleDepartment {
			w.JourneySummary = ""
		}
	}
	return w
}

func (s *Server) loc() *time.Location { return s.o.WorkOrders.Calendar.Location() }

// departments is GET /api/departments.
func (s *Server) departments(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	ds, err := postgres.Departments(r.Context(), s.o.DB)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"departments": ds})
	return nil
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'):
		default:
			return false
		}
	}
	return true
}

// workOrderPrefill is GET /api/work-orders/prefill: what a new order from a call the agent
// is on or wrapping up starts with.
func (s *Server) workOrderPrefill(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	callID := r.URL.Query().Get("call_id")
	if !validUUID(callID) {
		return badRequest("call_id must be a call's UUID")
	}
	ctx := r.Context()
	rel, err := postgres.CallRelation(ctx, s.o.DB, callID, sess.Agent.ID)
	if errors.Is(err, hotline.ErrNotFound) {
		return forbidden("you are not on this call")
	}
	if err != nil {
		return err
	}
	if rel != postgres.RelationTalking && rel != postgres.RelationWrapUp {
		return forbidden("a work order is prefilled only from a call you talked on or are wrapping up")
	}
	p, err := postgres.PrefillWorkOrder(ctx, s.o.DB, callID)
	if err != nil {
		return err
	}
	var citizen *citizenRefView
	if p.CitizenID != nil {
		citizen = &citizenRefView{ID: *p.CitizenID}
		if p.CitizenName != nil {
			citizen.Name = *p.CitizenName
		}
		if p.CitizenIDMask != nil {
			citizen.IDNumberMask = *p.CitizenIDMask
		}
		if err := postgres.AuditCitizen(ctx, s.o.DB, s.now(), sess.Agent.ID, postgres.AuditViewCitizen, *p.CitizenID,
			map[string]any{"reason": "work_order_prefill", "call_id": callID}, clientIP(r)); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"caller_number": p.CallerNumber, "citizen": citizen, "call_id": p.CallID,
		"queue_id": p.QueueID, "journey_summary": p.JourneySummary, "category": workorder.Consultation, "title": ""})
	return nil
}

// workOrderDue is GET /api/work-orders/due: the deadline an order would get now.
func (s *Server) workOrderDue(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	q := r.URL.Query()
	cat, urg := workorder.Category(q.Get("category")), workorder.Urgency(q.Get("urgency"))
	if urg == "" {
		urg = workorder.Normal
	}
	if !cat.Valid() {
		return badRequest("category must be one of consultation, help, complaint, suggestion, praise, report")
	}
	if !urg.Valid() {
		return badRequest("urgency must be normal, urgent or emergency")
	}
	rules := s.o.WorkOrders
	due, err := rules.Due(s.now(), cat, urg)
	if err != nil {
		return err
	}
	days, hours, err := rules.Limits.Allowance(cat, urg)
	if err != nil {
		return err
	}
	out := map[string]any{"due_at": due.In(s.loc()), "working_days": nil, "hours": nil}
	if hours > 0 {
		out["hours"] = hours
	} else {
		out["working_days"] = days
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// createWorkOrderRequest is the body of POST /api/work-orders.
type createWorkOrderRequest struct {
	CallID          string             `json:"call_id"`
	CitizenID       int64              `json:"citizen_id"`
	CallerNumber    string             `json:"caller_number"`
	Category        workorder.Category `json:"category"`
	Urgency         workorder.Urgency  `json:"urgency"`
	Title           string             `json:"title"`
	Description     string             `json:"description"`
	DepartmentID    int64              `json:"department_id"`
	CoDepartmentIDs []int64            `json:"co_department_ids"`
	Confidential    bool               `json:"confidential"`
}

// createWorkOrder is POST /api/work-orders.
func (s *Server) createWorkOrder(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req createWorkOrderRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Urgency == "" {
		req.Urgency = workorder.Normal
	}
	if len(req.CoDepartmentIDs) > 20 {
		return badRequest("at most 20 协办 departments")
	}
	ctx := r.Context()
	n := postgres.NewWorkOrder{CitizenID: req.CitizenID, CallerNumber: req.CallerNumber, Category: req.Category,
		Urgency: req.Urgency, Title: req.Title, Description: req.Description, DepartmentID: req.DepartmentID,
		CoDepartmentIDs: req.CoDepartmentIDs, Confidential: req.Confidential, CreatedBy: sess.Agent.ID}
	if req.CallID != "" {
		if !validUUID(req.CallID) {
			return badRequest("call_id must be a call's UUID")
		}
		p, err := postgres.PrefillWorkOrder(ctx, s.o.DB, req.CallID)
		if errors.Is(err, hotline.ErrNotFound) {
			return badRequest("no call %s", req.CallID)
		}
		if err != nil {
			return err
		}
		n.CallID, n.JourneySummary = req.CallID, p.JourneySummary
		if p.QueueID != nil {
			n.QueueID = *p.QueueID
		}
	}
	id, err := postgres.CreateWorkOrder(ctx, s.o.DB, s.o.WorkOrders, s.now(), n)
	if err != nil {
		return asBadRequest(err)
	}
	return s.writeWorkOrder(w, r, sess, id, http.StatusCreated)
}

// asBadRequest turns a missing department or citizen (a foreign key) into 400.
func asBadRequest(err error) error {
	if errors.Is(err, hotline.ErrNotFound) {
		return badRequest("%v", err)
	}
	return err
}

func (s *Server) writeWorkOrder(w http.ResponseWriter, r *http.Request, sess *postgres.Session, id int64, status int) error {
	v, err := s.viewerOf(r, sess)
	if err != nil {
		return err
	}
	o, err := postgres.GetWorkOrder(r.Context(), s.o.DB, id)
	if err != nil {
		return err
	}
	writeJSON(w, status, s.viewWorkOrder(o, v, s.now()))
	return nil
}

// workOrderFilter reads the list's filters from the query.
func (s *Server) workOrderFilter(r *http.Request, v viewer) (postgres.WorkOrderFilter, error) {
	q := r.URL.Query()
	f := postgres.WorkOrderFilter{Status: workorder.Status(q.Get("status")), Category: workorder.Category(q.Get("category")),
		Due: q.Get("due"), Q: q.Get("q"), Loc: s.loc(), Scope: v.department}
	if f.Status != "" && f.Status.Name() == "" {
		return f, badRequest("unknown status %q", f.Status)
	}
	if f.Category != "" && !f.Category.Valid() {
		return f, badRequest("unknown category %q", f.Category)
	}
	switch f.Due {
	case "", "overdue", "today", "week":
	default:
		return f, badRequest("due must be overdue, today or week")
	}
	if !utf8.ValidString(f.Q) || utf8.RuneCountInString(f.Q) > 40 {
		return f, badRequest("q must be a work order's number or a phone number")
	}
	if d := q.Get("department_id"); d != "" {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil || n < 1 {
			return f, badRequest("department_id %q is not a number", d)
		}
		f.DepartmentID = n
	}
	switch q.Get("mine") {
	case "", "0":
	case "1":
		f.CreatedBy = v.id
	default:
		return f, badRequest("mine must be 1 or left out")
	}
	limit, err := limitParam(r, 50, maxWorkOrders)
	if err != nil {
		return f, err
	}
	f.Limit = limit
	if o := q.Get("offset"); o != "" {
		n, err := strconv.Atoi(o)
		if err != nil || n < 0 || n > 1_000_000 {
			return f, badRequest("offset must be a number from 0")
		}
		f.Offset = n
	}
	return f, nil
}

// listWorkOrders is GET /api/work-orders.
func (s *Server) listWorkOrders(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	v, err := s.viewerOf(r, sess)
	if err != nil {
		return err
	}
	f, err := s.workOrderFilter(r, v)
	if err != nil {
		return err
	}
	now := s.now()
	orders, total, err := postgres.ListWorkOrders(r.Context(), s.o.DB, now, f)
	if err != nil {
		return err
	}
	out := make([]workOrderView, len(orders))
	for i := range orders {
		out[i] = s.viewWorkOrder(&orders[i], v, now)
	}
	writeJSON(w, http.StatusOK, map[string]any{"work_orders": out, "total": total})
	return nil
}

// exportWorkOrders is GET /api/work-orders.csv: the list (up to 10000 rows) as CSV in UTF-8
// with a byte order mark, for spreadsheets, with Chinese headers.
func (s *Server) exportWorkOrders(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	v, err := s.viewerOf(r, sess)
	if err != nil {
		return err
	}
	f, err := s.workOrderFilter(r, v)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("limit") == "" {
		f.Limit = 10000
	}
	f.Offset = 0
	now := s.now()
	orders, _, err := postgres.ListWorkOrders(r.Context(), s.o.DB, now, f)
	if err != nil {
		return err
	}
	if err := postgres.AuditWorkOrder(r.Context(), s.o.DB, now, v.id, AuditExportOrders, "work_orders", 0,
		map[string]any{"query": r.URL.RawQuery, "rows": len(orders)}, clientIP(r)); err != nil {
		return err
	}
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	cw := csv.NewWriter(&buf)
	cw.Write([]string{"工单编号", "状态", "类别", "紧急程度", "标题", "来电号码", "主办部门", "协办部门", "受理时间", "办理时限", "是否超期", "满意度"})
	loc := s.loc()
	for i := range orders {
		o := s.viewWorkOrder(&orders[i], v, now)
		dept := ""
		if o.Department != nil {
			dept = o.Department.Name
		}
		var co []string
		for _, d := range o.CoDepartments {
			co = append(co, d.Name)
		}
		overdue, sat := "否", ""
		if o.Overdue {
			overdue = "是"
		}
		if o.Satisfaction != nil {
			sat = strconv.FormatInt(*o.Satisfaction, 10)
		}
		cw.Write([]string{o.Number, o.Status.Name(), o.Category.Name(), o.Urgency.Name(), csvSafe(o.Title), o.CallerNumber,
			dept, strings.Join(co, "、"), o.CreatedAt.In(loc).Format("2006-01-02 15:04"), o.DueAt.In(loc).Format("2006-01-02 15:04"), overdue, sat})
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="work-orders-`+now.In(loc).Format("20060102")+`.csv"`)
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
	return nil
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func pathID(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, badRequest("%s id %q is not a number", what, r.PathValue("id"))
	}
	return id, nil
}

// getWorkOrder is GET /api/work-orders/{id}: the order with its history, audited.
func (s *Server) getWorkOrder(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	id, err := pathID(r, "work order")
	if err != nil {
		return err
	}
	v, err := s.viewerOf(r, sess)
	if err != nil {
		return err
	}
	ctx := r.Context()
	o, err := postgres.GetWorkOrder(ctx, s.o.DB, id)
	if err != nil {
		return err
	}
	if v.role == hotline.RoleDepartment && !o.On(v.department) {
		return forbidden("work order %s is not your department's", o.Number)
	}
	now := s.now()
	if err := postgres.AuditWorkOrder(ctx, s.o.DB, now, v.id, AuditViewWorkOrder, "work_order", id,
		map[string]any{"number": o.Number, "caller_hidden": v.hidesCaller(o)}, clientIP(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewWorkOrder(o, v, now))
	return nil
}

// workOrderActionRequest is the body of POST /api/work-orders/{id}/action.
type workOrderActionRequest struct {
	Action          workorder.Action `json:"action"`
	DepartmentID    int64            `json:"department_id"`
	CoDepartmentIDs []int64          `json:"co_department_ids"`
	Note            string           `json:"note"`
	Reply           string           `json:"reply"`
	DueAt           *time.Time       `json:"due_at"`
	Satisfaction    int              `json:"satisfaction"`
	IntoID          int64            `json:"into_id"`
}

// actOnWorkOrder is POST /api/work-orders/{id}/action.
func (s *Server) actOnWorkOrder(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	id, err := pathID(r, "work order")
	if err != nil {
		return err
	}
	var req workOrderActionRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if !slices.Contains(workorder.Actions, req.Action) {
		return badRequest("unknown action %q", req.Action)
	}
	if len(req.CoDepartmentIDs) > 20 {
		return badRequest("at most 20 协办 departments")
	}
	v, err := s.viewerOf(r, sess)
	if err != nil {
		return err
	}
	act := postgres.WorkOrderAction{Action: req.Action, Actor: v.actor(), ActorID: v.id, ActorDepartment: v.department,
		DepartmentID: req.DepartmentID, CoDepartmentIDs: req.CoDepartmentIDs, Note: req.Note, Reply: req.Reply,
		Satisfaction: req.Satisfaction, IntoID: req.IntoID}
	if req.DueAt != nil {
		act.DueAt = *req.DueAt
	}
	if err := postgres.ActOnWorkOrder(r.Context(), s.o.DB, s.o.WorkOrders, s.now(), id, act); err != nil {
		if req.Action == workorder.Merge && errors.Is(err, hotline.ErrNotFound) && !strings.HasPrefix(err.Error(), "work order "+strconv.FormatInt(id, 10)+":") {
			return badRequest("into_id: %v", err)
		}
		if req.Action == workorder.Dispatch || req.Action == workorder.Merge {
			return asBadRequest(err)
		}
		return err
	}
	return s.writeWorkOrder(w, r, sess, id, http.StatusOK)
}

// voiceMessages is GET /api/messages: the messages left in the IVR with their orders.
func (s *Server) voiceMessages(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	st := r.URL.Query().Get("status")
	if st != "" && st != "new" && st != "all" {
		return badRequest("status must be new or all")
	}
	limit, err := limitParam(r, 100, maxWorkOrders)
	if err != nil {
		return err
	}
	ms, err := postgres.VoiceMessages(r.Context(), s.o.DB, st != "all", limit)
	if err != nil {
		return err
	}
	out := make([]map[string]any, len(ms))
	for i, m := range ms {
		var order any
		if m.OrderID.Valid {
			order = map[string]any{"id": m.OrderID.Int64, "number": m.OrderNumber.String, "status": m.OrderStatus.String}
		}
		var queue any
		if m.QueueID.Valid {
			queue = m.QueueID.String
		}
		out[i] = map[string]any{"id": m.ID, "call_id": m.CallID, "caller_number": m.CallerNumber, "queue_id": queue,
			"created_at": m.CreatedAt, "duration_ms": m.DurationMs, "url": "/api/recordings/" + strconv.FormatInt(m.ID, 10) + "/audio",
			"work_order": order}
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": out})
	return nil
}

// recordingAudio is GET /api/recordings/{id}/audio: a voice message for agents, a
// conversation for supervisors; audited.
func (s *Server) recordingAudio(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	id, err := pathID(r, "recording")
	if err != nil {
		return err
	}
	ctx := r.Context()
	rec, err := postgres.RecordingByID(ctx, s.o.DB, id)
	if err != nil {
		return err
	}
	if rec.Kind != hotline.RecordingMessage && !sess.Agent.Role.AtLeast(hotline.RoleSupervisor) {
		return forbidden("recordings of conversations are for supervisors")
	}
	if s.o.RecordingAudio == nil {
		return &problem{err: hotline.ErrNotFound, reason: "the recording's audio is not available here"}
	}
	body, err := s.o.RecordingAudio(ctx, rec)
	if err != nil {
		if errors.Is(err, hotline.ErrNotFound) {
			return &problem{err: hotline.ErrNotFound, reason: "the recording's audio is gone"}
		}
		return err
	}
	defer body.Close()
	if err := postgres.AuditWorkOrder(ctx, s.o.DB, s.now(), sess.Agent.ID, AuditPlayRecording, "recording", id,
		map[string]any{"kind": rec.Kind, "call_id": rec.CallID}, clientIP(r)); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "audio/wav")
	w.WriteHeader(http.StatusOK)
	io.Copy(w, body)
	return nil
}
