package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk/workorder"
)

// Department is a department orders are dispatched to.
type Department struct {
	ID    int64  `db:"id" json:"id"`
	Name  string `db:"name" json:"name"`
	Phone string `db:"phone" json:"phone,omitempty"`
}

// WorkOrderRef names another order (merged into, merged from).
type WorkOrderRef struct {
	ID     int64  `json:"id"`
	Number string `json:"number"`
}

// WorkOrderEvent is a line of an order's history.
type WorkOrderEvent struct {
	At         time.Time `db:"at" json:"at"`
	Actor      string    `db:"actor" json:"actor"`
	Action     string    `db:"action" json:"action"`
	FromStatus string    `db:"from_status" json:"from_status"`
	ToStatus   string    `db:"to_status" json:"to_status"`
	Note       string    `db:"note" json:"note"`
}

// jsonColumn scans a json column into T.
type jsonColumn[T any] struct{ V T }

func (j *jsonColumn[T]) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("json column: %T", src)
	}
	return json.Unmarshal(b, &j.V)
}

// WorkOrder is a work order (工单) as read, with its departments and links.
type WorkOrder struct {
	ID              int64                      `db:"id"`
	Number          string                     `db:"number"`
	Status          workorder.Status           `db:"status"`
	Category        workorder.Category         `db:"category"`
	Urgency         workorder.Urgency          `db:"urgency"`
	Title           string                     `db:"title"`
	Description     string                     `db:"description"`
	CallerNumber    string                     `db:"caller_number"`
	CitizenID       sql.NullInt64              `db:"citizen_id"`
	CitizenName     sql.NullString             `db:"citizen_name"`
	CitizenIDMask   sql.NullString             `db:"citizen_id_mask"`
	CallID          sql.NullString             `db:"call_id"`
	QueueID         sql.NullString             `db:"queue_id"`
	JourneySummary  string                     `db:"journey_summary"`
	DepartmentID    sql.NullInt64              `db:"department_id"`
	DepartmentName  sql.NullString             `db:"department_name"`
	CoDepartments   jsonColumn[[]Department]   `db:"co_departments"`
	Confidential    bool                       `db:"confidential"`
	DueAt           time.Time                  `db:"due_at"`
	UrgedAt         sql.NullTime               `db:"urged_at"`
	ExtensionDueAt  sql.NullTime               `db:"extension_due_at"`
	ExtensionReason string                     `db:"extension_reason"`
	ExtensionState  sql.NullString             `db:"extension_state"`
	Reply           string                     `db:"reply"`
	Satisfaction    sql.NullInt64              `db:"satisfaction"`
	MergedInto      jsonColumn[*WorkOrderRef]  `db:"merged_into"`
	Merged          jsonColumn[[]WorkOrderRef] `db:"merged"`
	RecordingID     sql.NullInt64              `db:"recording_id"`
	RecordingMs     sql.NullInt64              `db:"recording_ms"`
	CreatedAt       time.Time                  `db:"created_at"`
	CreatedByID     sql.NullInt64              `db:"created_by"`
	CreatedByName   sql.NullString             `db:"created_by_name"`
	UpdatedAt       time.Time                  `db:"updated_at"`
	// History is filled by GetWorkOrder only.
	History []WorkOrderEvent `db:"-"`
}

// Overdue reports whether the order, still being handled, is past its deadline at now.
func (o *WorkOrder) Overdue(now time.Time) bool { return o.Status.Open() && now.After(o.DueAt) }

// On reports whether department dept is on the order, in charge (主办) or assisting (协办).
func (o *WorkOrder) On(dept int64) bool {
	if dept == 0 {
		return false
	}
	if o.DepartmentID.Valid && o.DepartmentID.Int64 == dept {
		return true
	}
	return slices.ContainsFunc(o.CoDepartments.V, func(d Department) bool { return d.ID == dept })
}

const workOrderColumns = `
	w.id, w.number, w.status, w.category, w.urgency, w.title, w.description, w.caller_number,
	w.citizen_id, c.name AS citizen_name, c.id_number_mask AS citizen_id_mask,
	w.call_id::text AS call_id, w.queue_id, w.journey_summary, w.department_id, d.name AS department_name,
	(SELECT coalesce(jsonb_agg(jsonb_build_object('id', cd.id, 'name', cd.name) ORDER BY cd.id), '[]')
	   FROM hotline.work_order_departments wd JOIN platform.departments cd ON cd.id = wd.department_id
	  WHERE wd.work_order_id = w.id) AS co_departments,
	w.confidential, w.due_at, w.urged_at, w.extension_due_at, w.extension_reason, w.extension_state,
	w.reply, w.satisfaction,
	(SELECT jsonb_build_object('id', m.id, 'number', m.number) FROM hotline.work_orders m WHERE m.id = w.merged_into) AS merged_into,
	(SELECT coalesce(jsonb_agg(jsonb_build_object('id', m.id, 'number', m.number) ORDER BY m.id), '[]')
	   FROM hotline.work_orders m WHERE m.merged_into = w.id) AS merged,
	r.id AS recording_id, r.duration_ms AS recording_ms,
	w.created_at, w.created_by, a.display_name AS created_by_name, w.updated_at`

const workOrderFrom = `
	FROM hotline.work_orders w
	LEFT JOIN platform.citizens c ON c.id = w.citizen_id
	LEFT JOIN platform.departments d ON d.id = w.department_id
	LEFT JOIN hotline.agents a ON a.id = w.created_by
	LEFT JOIN LATERAL (SELECT id, duration_ms FROM hotline.recordings
		WHERE work_order_id = w.id AND kind = 'message' ORDER BY id LIMIT 1) r ON true`

// WorkOrderRules are what orders need beside the database: the calendar of working days and
// the time limits.
type WorkOrderRules struct {
	Calendar workorder.Calendar
	Limits   workorder.Limits
}

// Due is the deadline of an order of cat and urg accepted at created.
func (r WorkOrderRules) Due(created time.Time, cat workorder.Category, urg workorder.Urgency) (time.Time, error) {
	if r.Calendar == nil {
		return time.Time{}, errors.New("work orders: no calendar of working days")
	}
	return r.Limits.Due(r.Calendar, created, cat, urg)
}

// NewWorkOrder is an order to create.
type NewWorkOrder struct {
	CallID          string
	CitizenID       int64
	CallerNumber    string
	Category        workorder.Category
	Urgency         workorder.Urgency
	Title           string
	Description     string
	DepartmentID    int64
	CoDepartmentIDs []int64
	Confidential    bool
	QueueID         string
	JourneySummary  string
	// CreatedBy is the desk user; 0 for an order the IVR made (a voice message).
	CreatedBy int64
	// Note is the history's note of the creation.
	Note string
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), hotline.ErrInvalid)
}

func (n NewWorkOrder) check() error {
	switch {
	case !n.Category.Valid():
		return invalid("unknown category %q", n.Category)
	case !n.Urgency.Valid():
		return invalid("unknown urgency %q", n.Urgency)
	case strings.TrimSpace(n.Title) == "":
		return invalid("a title is required")
	case len([]rune(n.Title)) > 100:
		return invalid("title of more than 100 characters")
	case len([]rune(n.Description)) > 4000:
		return invalid("description of more than 4000 characters")
	case n.CallerNumber != "" && !digits(n.CallerNumber, 3, 20):
		return invalid("caller number must be 3 to 20 digits")
	case n.DepartmentID == 0 && len(n.CoDepartmentIDs) > 0:
		return invalid("协办 departments need a department in charge")
	}
	return nil
}

const workOrderNumberNext = `
	INSERT INTO hotline.work_order_numbers (day, last) VALUES ($1, 1)
	ON CONFLICT (day) DO UPDATE SET last = hotline.work_order_numbers.last + 1
	RETURNING last`

const workOrderCreate = `
	INSERT INTO hotline.work_orders (number, call_id, citizen_id, caller_number, category, urgency, title,
		description, confidential, queue_id, journey_summary, created_by, created_at, updated_at, due_at, status)
	VALUES ($1, NULLIF($2, '')::uuid, NULLIF($3::bigint, 0), $4, $5, $6, $7, $8, $9, NULLIF($10, ''), $11,
		NULLIF($12::bigint, 0), $13, $13, $14, 'accepted')
	RETURNING id`

const workOrderEventInsert = `
	INSERT INTO hotline.work_order_events (work_order_id, at, actor_id, action, from_status, to_status, note)
	VALUES ($1, $2, NULLIF($3::bigint, 0), $4, NULLIF($5, ''), $6, $7)`

// CreateWorkOrder creates an order accepted now with its deadline and number (FS, the day in
// the calendar's time zone, the day's sequence); with a department it is dispatched at once.
func CreateWorkOrder(ctx context.Context, db *sqlx.DB, rules WorkOrderRules, now time.Time, n NewWorkOrder) (int64, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	id, err := createWorkOrder(ctx, tx, rules, now, n)
	if err != nil {
		return 0, err
	}
	return id, tx.Commit()
}

func createWorkOrder(ctx context.Context, tx *sqlx.Tx, rules WorkOrderRules, now time.Time, n NewWorkOrder) (int64, error) {
	if err := n.check(); err != nil {
		return 0, err
	}
	due, err := rules.Due(now, n.Category, n.Urgency)
	if err != nil {
		return 0, err
	}
	local := now.In(rules.Calendar.Location())
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	var seq int
	if err := tx.GetContext(ctx, &seq, workOrderNumberNext, day); err != nil {
		return 0, fmt.Errorf("work order number: %w", err)
	}
	number := fmt.Sprintf("FS%s-%04d", local.Format("20060102"), seq)
	var id int64
	err = tx.GetContext(ctx, &id, workOrderCreate, number, n.CallID, n.CitizenID, n.CallerNumber, n.Category,
		n.Urgency, strings.TrimSpace(n.Title), n.Description, n.Confidential, n.QueueID, n.JourneySummary,
		n.CreatedBy, now, due)
	if err != nil {
		return 0, fmt.Errorf("create work order: %w", missingRef(err))
	}
	if _, err := tx.ExecContext(ctx, workOrderEventInsert, id, now, n.CreatedBy, "create", "", workorder.Accepted, n.Note); err != nil {
		return 0, fmt.Errorf("work order %d history: %w", id, err)
	}
	if n.DepartmentID != 0 {
		act := WorkOrderAction{Action: workorder.Dispatch, Actor: workorder.Hotline, ActorID: n.CreatedBy,
			DepartmentID: n.DepartmentID, CoDepartmentIDs: n.CoDepartmentIDs}
		if err := act.apply(ctx, tx, rules, now, id); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// GetWorkOrder reads an order and its history; an unknown id wraps hotline.ErrNotFound.
func GetWorkOrder(ctx context.Context, db sqlx.QueryerContext, id int64) (*WorkOrder, error) {
	var o WorkOrder
	err := sqlx.GetContext(ctx, db, &o, `SELECT `+workOrderColumns+workOrderFrom+` WHERE w.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("work order %d: %w", id, hotline.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("work order %d: %w", id, err)
	}
	err = sqlx.SelectContext(ctx, db, &o.History, `
		SELECT e.at, coalesce(a.display_name, '系统') AS actor, e.action, coalesce(e.from_status, '') AS from_status,
			coalesce(e.to_status, '') AS to_status, e.note
		FROM hotline.work_order_events e LEFT JOIN hotline.agents a ON a.id = e.actor_id
		WHERE e.work_order_id = $1 ORDER BY e.at, e.id`, id)
	if err != nil {
		return nil, fmt.Errorf("work order %d history: %w", id, err)
	}
	return &o, nil
}

// WorkOrderFilter narrows the list of orders.
type WorkOrderFilter struct {
	Status       workorder.Status
	Category     workorder.Category
	DepartmentID int64
	// Due is overdue, today (due before the end of today) or week (within 7 days).
	Due string
	// Q matches the order's number or the caller's number.
	Q string
	// CreatedBy lists only the orders this user created (mine=1).
	CreatedBy int64
	// Scope limits the list to one department's orders (主办 or 协办): a department user's.
	Scope int64
	// Loc is the time zone of "today"; nil means China Standard Time.
	Loc           *time.Location
	Limit, Offset int
}

// ListWorkOrders returns the orders matching f, overdue first, then by deadline, and how many
// match in all.
func ListWorkOrders(ctx context.Context, db *sqlx.DB, now time.Time, f WorkOrderFilter) ([]WorkOrder, int, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)) }
	if f.Status != "" {
		where = append(where, "w.status = "+arg(f.Status))
	}
	if f.Category != "" {
		where = append(where, "w.category = "+arg(f.Category))
	}
	if f.DepartmentID != 0 {
		p := arg(f.DepartmentID)
		where = append(where, "(w.department_id = "+p+" OR EXISTS (SELECT 1 FROM hotline.work_order_departments x WHERE x.work_order_id = w.id AND x.department_id = "+p+"))")
	}
	if f.Scope != 0 {
		p := arg(f.Scope)
		where = append(where, "(w.department_id = "+p+" OR EXISTS (SELECT 1 FROM hotline.work_order_departments x WHERE x.work_order_id = w.id AND x.department_id = "+p+"))")
	}
	if f.CreatedBy != 0 {
		where = append(where, "w.created_by = "+arg(f.CreatedBy))
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		p := arg(q)
		where = append(where, "(upper(w.number) = upper("+p+") OR w.caller_number = "+p+")")
	}
	open := "w.status IN ('accepted', 'dispatched', 'signed', 'in_progress')"
	loc := f.Loc
	if loc == nil {
		loc = chinaTime
	}
	local := now.In(loc)
	endOfToday := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, loc)
	switch f.Due {
	case "":
	case "overdue":
		where = append(where, open+" AND w.due_at < "+arg(now))
	case "today":
		where = append(where, open+" AND w.due_at <= "+arg(endOfToday))
	case "week":
		where = append(where, open+" AND w.due_at <= "+arg(endOfToday.AddDate(0, 0, 6)))
	default:
		return nil, 0, invalid("due must be overdue, today or week, got %q", f.Due)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := db.GetContext(ctx, &total, `SELECT count(*) FROM hotline.work_orders w`+cond, args...); err != nil {
		return nil, 0, fmt.Errorf("count work orders: %w", err)
	}
	nowArg := arg(now)
	q := `SELECT ` + workOrderColumns + workOrderFrom + cond +
		` ORDER BY (` + open + ` AND w.due_at < ` + nowArg + `) DESC, w.due_at, w.id` +
		` LIMIT ` + arg(f.Limit) + ` OFFSET ` + arg(f.Offset)
	out := []WorkOrder{}
	if err := db.SelectContext(ctx, &out, q, args...); err != nil {
		return nil, 0, fmt.Errorf("list work orders: %w", err)
	}
	return out, total, nil
}

// WorkOrderAction is a change of an order by a user.
type WorkOrderAction struct {
	Action  workorder.Action
	Actor   workorder.Actor
	ActorID int64
	// ActorDepartment is the department of a department user.
	ActorDepartment int64
	DepartmentID    int64
	CoDepartmentIDs []int64
	Note            string
	Reply           string
	DueAt           time.Time
	Satisfaction    int
	IntoID          int64
}

// ActionError is an action that does not fit the order's status or the actor; it matches
// hotline.ErrConflict.
type ActionError struct{ Reason string }

func (e *ActionError) Error() string { return e.Reason }

// Unwrap makes an ActionError match hotline.ErrConflict.
func (e *ActionError) Unwrap() error { return hotline.ErrConflict }

// ActOnWorkOrder carries out act on order id in one transaction: the order locked, the rules
// of workorder.Next checked, the change made and a line of history written. A department
// user not on the order gets hotline.ErrForbidden; an action that does not fit, an
// *ActionError.
func ActOnWorkOrder(ctx context.Context, db *sqlx.DB, rules WorkOrderRules, now time.Time, id int64, act WorkOrderAction) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := act.apply(ctx, tx, rules, now, id); err != nil {
		return err
	}
	return tx.Commit()
}

type lockedOrder struct {
	Status         workorder.Status `db:"status"`
	Number         string           `db:"number"`
	DepartmentID   sql.NullInt64    `db:"department_id"`
	DueAt          time.Time        `db:"due_at"`
	ExtensionDueAt sql.NullTime     `db:"extension_due_at"`
	ExtensionState sql.NullString   `db:"extension_state"`
	CallerNumber   string           `db:"caller_number"`
	CallID         sql.NullString   `db:"call_id"`
	QueueID        sql.NullString   `db:"queue_id"`
	Assisting      bool             `db:"assisting"`
}

const workOrderLock = `
	SELECT status, number, department_id, due_at, extension_due_at, extension_state, caller_number,
		call_id::text AS call_id, queue_id,
		EXISTS (SELECT 1 FROM hotline.work_order_departments x WHERE x.work_order_id = w.id AND x.department_id = $2) AS assisting
	FROM hotline.work_orders w WHERE id = $1 FOR UPDATE`

func (act WorkOrderAction) apply(ctx context.Context, tx *sqlx.Tx, rules WorkOrderRules, now time.Time, id int64) error {
	if act.Action == workorder.Merge {
		if act.IntoID == 0 {
			return invalid("merge needs into_id, the order to merge into")
		}
		if act.IntoID == id {
			return &ActionError{"an order cannot be merged into itself"}
		}
		// Both orders locked in the order of their ids, so two merges cannot deadlock.
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM hotline.work_orders WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`, id, act.IntoID); err != nil {
			return err
		}
	}
	var o lockedOrder
	err := tx.GetContext(ctx, &o, workOrderLock, id, act.ActorDepartment)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("work order %d: %w", id, hotline.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("lock work order %d: %w", id, err)
	}
	if act.Actor == workorder.Department {
		inCharge := o.DepartmentID.Valid && o.DepartmentID.Int64 == act.ActorDepartment
		switch {
		case !inCharge && !o.Assisting:
			return fmt.Errorf("work order %d is not your department's: %w", id, hotline.ErrForbidden)
		case !inCharge:
			return &ActionError{"协办 departments follow the order; the department in charge (主办) acts on it"}
		}
	}
	to, err := workorder.Next(o.Status, act.Action, act.Actor)
	if err != nil {
		return &ActionError{err.Error()}
	}
	note := strings.TrimSpace(act.Note)
	if len([]rune(note)) > 1000 {
		return invalid("note of more than 1000 characters")
	}
	action := string(act.Action)
	var set []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + strconv.Itoa(len(args)+1) }
	switch act.Action {
	case workorder.Dispatch:
		if act.DepartmentID == 0 {
			return invalid("dispatch needs department_id, the department in charge")
		}
		set = append(set, "department_id = "+arg(act.DepartmentID))
		if _, err := tx.ExecContext(ctx, `DELETE FROM hotline.work_order_departments WHERE work_order_id = $1`, id); err != nil {
			return err
		}
		for _, d := range act.CoDepartmentIDs {
			if d == act.DepartmentID {
				continue
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO hotline.work_order_departments (work_order_id, department_id)
				VALUES ($1, $2) ON CONFLICT DO NOTHING`, id, d); err != nil {
				return fmt.Errorf("协办 department %d: %w", d, missingRef(err))
			}
		}
	case workorder.Resolve:
		reply := strings.TrimSpace(act.Reply)
		if reply == "" {
			return invalid("resolve needs the reply (办理结果)")
		}
		if len([]rune(reply)) > 4000 {
			return invalid("reply of more than 4000 characters")
		}
		set = append(set, "reply = "+arg(reply))
	case workorder.Return:
		if note == "" {
			return invalid("return needs a note: why the order is not the department's")
		}
		set = append(set, "department_id = NULL")
		if _, err := tx.ExecContext(ctx, `DELETE FROM hotline.work_order_departments WHERE work_order_id = $1`, id); err != nil {
			return err
		}
	case workorder.RequestExtension:
		switch {
		case act.DueAt.IsZero():
			return invalid("request_extension needs due_at, the new deadline")
		case !act.DueAt.After(o.DueAt):
			return invalid("the new deadline must be after the current one (%s)", localDeadline(o.DueAt))
		case note == "":
			return invalid("request_extension needs a note: why")
		case o.ExtensionState.String == "requested":
			return &ActionError{"an extension is already waiting for approval"}
		}
		set = append(set, "extension_due_at = "+arg(act.DueAt), "extension_reason = "+arg(note), "extension_state = 'requested'")
	case workorder.ApproveExtension, workorder.RejectExtension:
		if o.ExtensionState.String != "requested" {
			return &ActionError{"no extension is waiting for approval"}
		}
		if act.Action == workorder.ApproveExtension {
			set = append(set, "extension_state = 'approved'", "due_at = extension_due_at")
		} else {
			set = append(set, "extension_state = 'rejected'")
		}
	case workorder.FollowUp:
		if act.Satisfaction < 1 || act.Satisfaction > 5 {
			return invalid("follow_up needs satisfaction from 1 (very dissatisfied) to 5")
		}
		set = append(set, "satisfaction = "+arg(act.Satisfaction))
		if act.Satisfaction <= 2 {
			// 不满意: back to the department for review.
			to = workorder.Dispatched
			why := fmt.Sprintf("回访不满意（满意度 %d），重新交办", act.Satisfaction)
			if note != "" {
				why += "：" + note
			}
			note = why
		}
	case workorder.Urge:
		if !now.After(o.DueAt) {
			return &ActionError{"urge is for overdue orders; this one is due " + localDeadline(o.DueAt)}
		}
		set = append(set, "urged_at = "+arg(now))
	case workorder.FollowUpCall:
		if !digits(o.CallerNumber, 3, 20) {
			return &ActionError{"the order has no caller number to call back"}
		}
		var cb int64
		err := tx.GetContext(ctx, &cb, `INSERT INTO hotline.callbacks (call_id, number, queue_id, requested_at, next_attempt_at, work_order_id)
			VALUES ($1::uuid, $2, $3, $4, $4, $5) RETURNING id`, o.CallID, o.CallerNumber, o.QueueID, now, id)
		if err != nil {
			return fmt.Errorf("follow-up callback of work order %d: %w", id, missingRef(err))
		}
		if note == "" {
			note = fmt.Sprintf("回访回拨已排队（回拨 %d）", cb)
		}
	case workorder.Merge:
		var into lockedOrder
		if err := tx.GetContext(ctx, &into, workOrderLock, act.IntoID, 0); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("work order %d to merge into: %w", act.IntoID, hotline.ErrNotFound)
		} else if err != nil {
			return err
		}
		if into.Status == workorder.Archived {
			return &ActionError{"cannot merge into an archived order"}
		}
		set = append(set, "merged_into = "+arg(act.IntoID))
		if _, err := tx.ExecContext(ctx, workOrderEventInsert, act.IntoID, now, act.ActorID, "merged", into.Status, into.Status,
			"并入 "+o.Number); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE hotline.work_orders SET updated_at = $2 WHERE id = $1`, act.IntoID, now); err != nil {
			return err
		}
		m := "并入 " + into.Number
		if note != "" {
			m += "：" + note
		}
		note = m
	}
	set = append(set, "status = "+arg(to), "updated_at = "+arg(now))
	if _, err := tx.ExecContext(ctx, `UPDATE hotline.work_orders SET `+strings.Join(set, ", ")+` WHERE id = $1`,
		append([]any{id}, args...)...); err != nil {
		return fmt.Errorf("work order %d %s: %w", id, action, missingRef(err))
	}
	if _, err := tx.ExecContext(ctx, workOrderEventInsert, id, now, act.ActorID, action, o.Status, to, note); err != nil {
		return fmt.Errorf("work order %d history: %w", id, err)
	}
	return nil
}

// Departments lists the departments orders go to.
func Departments(ctx context.Context, db *sqlx.DB) ([]Department, error) {
	out := []Department{}
	if err := db.SelectContext(ctx, &out, `SELECT id, name, phone FROM platform.departments ORDER BY id`); err != nil {
		return nil, fmt.Errorf("departments: %w", err)
	}
	return out, nil
}

// AgentDepartment returns the department of a desk user; 0 for the hotline's users.
func AgentDepartment(ctx context.Context, db *sqlx.DB, agentID int64) (int64, error) {
	var d sql.NullInt64
	if err := db.GetContext(ctx, &d, `SELECT department_id FROM hotline.agents WHERE id = $1`, agentID); err != nil {
		return 0, fmt.Errorf("department of user %d: %w", agentID, err)
	}
	return d.Int64, nil
}

// WorkOrderPrefill is what a new order from a call starts with.
type WorkOrderPrefill struct {
	CallerNumber   string  `db:"caller_number" json:"caller_number"`
	CitizenID      *int64  `db:"citizen_id" json:"-"`
	CitizenName    *string `db:"citizen_name" json:"-"`
	CitizenIDMask  *string `db:"citizen_id_mask" json:"-"`
	CallID         string  `db:"call_id" json:"call_id"`
	QueueID        *string `db:"queue_id" json:"queue_id"`
	JourneySummary string  `db:"-" json:"journey_summary"`
}

// PrefillWorkOrder reads the call's caller, citizen, queue and the IVR steps' details (the
// journey, joined by →).
func PrefillWorkOrder(ctx context.Context, db *sqlx.DB, callID string) (*WorkOrderPrefill, error) {
	var p WorkOrderPrefill
	err := db.GetContext(ctx, &p, `
		SELECT coalesce(k.caller_number, '') AS caller_number, k.citizen_id, c.name AS citizen_name,
			c.id_number_mask AS citizen_id_mask, k.id::text AS call_id,
			(SELECT q.queue_id FROM hotline.queue_entries q WHERE q.call_id = k.id ORDER BY q.id DESC LIMIT 1) AS queue_id
		FROM hotline.calls k LEFT JOIN platform.citizens c ON c.id = k.citizen_id
		WHERE k.id = $1::uuid`, callID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("call %s: %w", callID, hotline.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("prefill from call %s: %w", callID, err)
	}
	var steps []string
	if err := db.SelectContext(ctx, &steps, `SELECT detail FROM hotline.call_steps
		WHERE call_id = $1::uuid AND detail <> '' ORDER BY seq`, callID); err != nil {
		return nil, fmt.Errorf("journey of call %s: %w", callID, err)
	}
	p.JourneySummary = strings.Join(steps, " → ")
	return &p, nil
}

// VoiceMessage is a message left in the IVR with its order.
type VoiceMessage struct {
	ID           int64          `db:"id"`
	CallID       string         `db:"call_id"`
	CallerNumber string         `db:"caller_number"`
	QueueID      sql.NullString `db:"queue_id"`
	CreatedAt    time.Time      `db:"created_at"`
	DurationMs   int64          `db:"duration_ms"`
	OrderID      sql.NullInt64  `db:"order_id"`
	OrderNumber  sql.NullString `db:"order_number"`
	OrderStatus  sql.NullString `db:"order_status"`
}

// VoiceMessages lists the messages, newest first; onlyNew leaves out those whose order is
// no longer accepted (handled).
func VoiceMessages(ctx context.Context, db *sqlx.DB, onlyNew bool, limit int) ([]VoiceMessage, error) {
	out := []VoiceMessage{}
	err := db.SelectContext(ctx, &out, `
		SELECT r.id, r.call_id::text AS call_id, coalesce(k.caller_number, '') AS caller_number, w.queue_id,
			r.created_at, r.duration_ms, w.id AS order_id, w.number AS order_number, w.status AS order_status
		FROM hotline.recordings r
		JOIN hotline.calls k ON k.id = r.call_id
		LEFT JOIN hotline.work_orders w ON w.id = r.work_order_id
		WHERE r.kind = 'message' AND (NOT $1 OR w.id IS NULL OR w.status = 'accepted')
		ORDER BY r.created_at DESC, r.id DESC LIMIT $2`, onlyNew, limit)
	if err != nil {
		return nil, fmt.Errorf("voice messages: %w", err)
	}
	return out, nil
}

// RecordingByID reads a recording's row; an unknown one wraps hotline.ErrNotFound.
func RecordingByID(ctx context.Context, db *sqlx.DB, id int64) (hotline.Recording, error) {
	var r hotline.Recording
	var ms int64
	row := db.QueryRowxContext(ctx, `SELECT id, call_id::text, coalesce(agent_id, 0), kind, node, name, format, started_at, duration_ms
		FROM hotline.recordings WHERE id = $1`, id)
	err := row.Scan(&r.ID, &r.CallID, &r.AgentID, &r.Kind, &r.Node, &r.Name, &r.Format, &r.StartedAt, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("recording %d: %w", id, hotline.ErrNotFound)
	}
	r.Duration = time.Duration(ms) * time.Millisecond
	return r, err
}

// AuditWorkOrder writes that actorID did action (view_work_order, play_recording …) on an
// object of type kind.
func AuditWorkOrder(ctx context.Context, db sqlx.ExecerContext, now time.Time, actorID int64, action, kind string, id int64, detail map[string]any, ip string) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	_, err = db.ExecContext(ctx, `INSERT INTO hotline.audit_log (at, actor_id, action, object_type, object_id, detail, ip)
		VALUES ($1, $2, $3, $4, $5, $6, NULLIF($7, '')::inet)`, now, actorID, action, kind, strconv.FormatInt(id, 10), b, normalIP(ip))
	if err != nil {
		return fmt.Errorf("audit %s of %s %d: %w", action, kind, id, err)
	}
	return nil
}

// localDeadline is a deadline as the desk's users read it: Foshan's time, to the minute.
func localDeadline(t time.Time) string { return t.In(chinaTime).Format("2006-01-02 15:04 MST") }
