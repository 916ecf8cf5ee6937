package workorder

import (
	"fmt"
	"slices"
)

// Status is where a work order is in its life.
type Status string

// Statuses of the 12345 practice, in their usual order.
const (
	Accepted   Status = "accepted"    // 已受理: created by the hotline
	Dispatched Status = "dispatched"  // 已派单: sent to a department
	Signed     Status = "signed"      // 已签收: the department took it
	InProgress Status = "in_progress" // 办理中
	Resolved   Status = "resolved"    // 已办结: the department replied with the result
	FollowedUp Status = "followed_up" // 已回访: the citizen was asked how it went
	Archived   Status = "archived"    // 已归档
)

// Statuses lists every status in order.
var Statuses = []Status{Accepted, Dispatched, Signed, InProgress, Resolved, FollowedUp, Archived}

// Action is a change of a work order, by the hotline or by a department.
type Action string

// Actions.
const (
	Dispatch         Action = "dispatch"          // 派单 to a department (主办, optional 协办)
	Sign             Action = "sign"              // 签收 by the department
	Start            Action = "start"             // 办理
	Resolve          Action = "resolve"           // 办结, with the result
	Return           Action = "return"            // 退单 by the department, with a reason
	RequestExtension Action = "request_extension" // 申请延期, with a reason and a new date
	ApproveExtension Action = "approve_extension" // 批准延期 by a supervisor
	RejectExtension  Action = "reject_extension"  // 驳回延期
	FollowUp         Action = "follow_up"         // 回访 recorded (satisfaction 1–5)
	Reopen           Action = "reopen"            // 不满意: back to the department for review
	Archive          Action = "archive"           // 归档
	Merge            Action = "merge"             // 并单 into an existing order
	Urge             Action = "urge"              // 催办 an overdue order
	FollowUpCall     Action = "follow_up_call"    // 回访 by a callback to the caller
)

// Actions lists every action.
var Actions = []Action{Dispatch, Sign, Start, Resolve, Return, RequestExtension, ApproveExtension,
	RejectExtension, FollowUp, Reopen, Archive, Merge, Urge, FollowUpCall}

// Open reports whether an order in status s is still being handled (its deadline runs).
func (s Status) Open() bool {
	return s == Accepted || s == Dispatched || s == Signed || s == InProgress
}

// Actor is who acts on work orders.
type Actor string

// Actors: the hotline's desk users and the departments' users.
const (
	Hotline    Actor = "hotline"    // agents and supervisors
	Supervisor Actor = "supervisor" // approvals and archiving
	Department Actor = "department"
)

// transition is one allowed change.
type transition struct {
	from []Status
	to   Status // "" keeps the status
	by   []Actor
}

var transitions = map[Action]transition{
	Dispatch:         {from: []Status{Accepted}, to: Dispatched, by: []Actor{Hotline, Supervisor}},
	Sign:             {from: []Status{Dispatched}, to: Signed, by: []Actor{Department}},
	Start:            {from: []Status{Signed}, to: InProgress, by: []Actor{Department}},
	Resolve:          {from: []Status{Signed, InProgress}, to: Resolved, by: []Actor{Department, Hotline, Supervisor}},
	Return:           {from: []Status{Dispatched, Signed, InProgress}, to: Accepted, by: []Actor{Department}},
	RequestExtension: {from: []Status{Signed, InProgress}, by: []Actor{Department}},
	ApproveExtension: {from: []Status{Signed, InProgress}, by: []Actor{Supervisor}},
	RejectExtension:  {from: []Status{Signed, InProgress}, by: []Actor{Supervisor}},
	FollowUp:         {from: []Status{Resolved}, to: FollowedUp, by: []Actor{Hotline, Supervisor}},
	Reopen:           {from: []Status{Resolved, FollowedUp}, to: Dispatched, by: []Actor{Hotline, Supervisor}},
	Archive:          {from: []Status{FollowedUp}, to: Archived, by: []Actor{Supervisor}},
	Merge:            {from: []Status{Accepted, Dispatched}, to: Archived, by: []Actor{Hotline, Supervisor}},
	Urge:             {from: []Status{Accepted, Dispatched, Signed, InProgress}, by: []Actor{Hotline, Supervisor}},
	FollowUpCall:     {from: []Status{Resolved}, by: []Actor{Hotline, Supervisor}},
}

// Allowed lists the actions actor may take on an order in status from, in the order of
// Actions.
func Allowed(from Status, by Actor) []Action {
	var out []Action
	for _, a := range Actions {
		if _, err := Next(from, a, by); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// Next returns the status after action a by actor on an order in status from, or an error
// saying why the action does not fit.
func Next(from Status, a Action, by Actor) (Status, error) {
	t, ok := transitions[a]
	if !ok {
		return "", fmt.Errorf("unknown action %q", a)
	}
	if !slices.Contains(t.by, by) {
		return "", fmt.Errorf("%s: not for %s", a, by)
	}
	if !slices.Contains(t.from, from) {
		return "", fmt.Errorf("%s: not possible when %s", a, from)
	}
	if t.to == "" {
		return from, nil
	}
	return t.to, nil
}
