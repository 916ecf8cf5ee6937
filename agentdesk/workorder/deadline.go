// Package workorder holds the rules of work orders (工单) in the 12345 practice: their
// categories, urgencies, statuses and deadlines on working days.
package workorder

import (
	"fmt"
	"time"
)

// Category is what a caller's matter is.
type Category string

// Categories of the 12345 practice.
const (
	Consultation Category = "consultation" // 咨询
	HelpRequest  Category = "help"         // 求助
	Complaint    Category = "complaint"    // 投诉
	Suggestion   Category = "suggestion"   // 建议
	Praise       Category = "praise"       // 表扬
	Report       Category = "report"       // 举报
)

// Categories lists every category with its Chinese name.
var Categories = []struct {
	Code Category
	Name string
}{{Consultation, "咨询"}, {HelpRequest, "求助"}, {Complaint, "投诉"}, {Suggestion, "建议"}, {Praise, "表扬"}, {Report, "举报"}}

// Valid reports whether c is a category of the practice.
func (c Category) Valid() bool { return c.Name() != "" }

// Name is the category's Chinese name; "" for an unknown one.
func (c Category) Name() string {
	for _, k := range Categories {
		if k.Code == c {
			return k.Name
		}
	}
	return ""
}

// Valid reports whether u is an urgency of the practice.
func (u Urgency) Valid() bool { return u == Normal || u == Urgent || u == Emergency }

// Name is the urgency's Chinese name; "" for an unknown one.
func (u Urgency) Name() string {
	return map[Urgency]string{Normal: "普通", Urgent: "紧急", Emergency: "应急"}[u]
}

// Name is the status's Chinese name; "" for an unknown one.
func (s Status) Name() string {
	return map[Status]string{Accepted: "已受理", Dispatched: "已派单", Signed: "已签收", InProgress: "办理中",
		Resolved: "已办结", FollowedUp: "已回访", Archived: "已归档"}[s]
}

// Urgency is how fast a work order must be handled.
type Urgency string

// Urgencies.
const (
	Normal    Urgency = "normal"    // 普通
	Urgent    Urgency = "urgent"    // 紧急
	Emergency Urgency = "emergency" // 应急: within 24 hours whatever the category
)

// Calendar tells working days: Monday to Friday less public holidays, plus make-up workdays
// (flow.Calendar from flows/calendars.yaml).
type Calendar interface {
	WorkingDay(t time.Time) bool
	Location() *time.Location
}

// Limits are the time allowed per category in working days, and per emergency in hours.
type Limits struct {
	WorkingDays    map[Category]int
	EmergencyHours int
	// UrgentDays, when > 0, caps the working days of an urgent order.
	UrgentDays int
}

// DefaultLimits are the 12345 practice: consultations and requests for help within 3 working
// days, complaints, suggestions and reports within 13, praise within 3; emergencies within
// 24 hours; urgent orders within 2 working days at most.
var DefaultLimits = Limits{
	WorkingDays: map[Category]int{
		Consultation: 3, HelpRequest: 3, Complaint: 13, Suggestion: 13, Report: 13, Praise: 3,
	},
	EmergencyHours: 24,
	UrgentDays:     2,
}

// Allowance is the time limit of an order of category cat and urgency urg: working days, or
// hours for an emergency.
func (l Limits) Allowance(cat Category, urg Urgency) (workingDays, hours int, err error) {
	if urg == Emergency {
		return 0, l.EmergencyHours, nil
	}
	n, ok := l.WorkingDays[cat]
	if !ok {
		return 0, 0, fmt.Errorf("work order: unknown category %q", cat)
	}
	if urg == Urgent && l.UrgentDays > 0 && l.UrgentDays < n {
		n = l.UrgentDays
	}
	return n, 0, nil
}

// Due returns when an order accepted at created must be done: for an emergency, created plus
// EmergencyHours; otherwise the end of the n-th working day after the day it was accepted
// (the day of acceptance does not count, whether or not it is a working day).
func (l Limits) Due(cal Calendar, created time.Time, cat Category, urg Urgency) (time.Time, error) {
	if urg == Emergency {
		return created.Add(time.Duration(l.EmergencyHours) * time.Hour), nil
	}
	n, ok := l.WorkingDays[cat]
	if !ok {
		return time.Time{}, fmt.Errorf("work order: unknown category %q", cat)
	}
	if urg == Urgent && l.UrgentDays > 0 && l.UrgentDays < n {
		n = l.UrgentDays
	}
	loc := cal.Location()
	t := created.In(loc)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	for counted := 0; counted < n; {
		day = day.AddDate(0, 0, 1)
		if cal.WorkingDay(day) {
			counted++
		}
	}
	return day.AddDate(0, 0, 1), nil // the end of that day
}
