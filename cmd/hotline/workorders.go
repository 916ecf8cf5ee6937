package main

import (
	"fmt"
	"maps"

	"github.com/foshan-hotline/hotline/agentdesk/workorder"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/postgres"
)

// OrdersConfig (workorders.*) is how long work orders (工单) may take: working days per
// category, counted on the calendar named Calendar in the flows' calendars.yaml (holidays and
// make-up workdays included), at most UrgentDays for an urgent order, EmergencyHours for an
// emergency.
type OrdersConfig struct {
	Calendar         string `mapstructure:"calendar" yaml:"calendar"`
	ConsultationDays int    `mapstructure:"consultation_days" yaml:"consultation_days"`
	HelpDays         int    `mapstructure:"help_days" yaml:"help_days"`
	ComplaintDays    int    `mapstructure:"complaint_days" yaml:"complaint_days"`
	SuggestionDays   int    `mapstructure:"suggestion_days" yaml:"suggestion_days"`
	PraiseDays       int    `mapstructure:"praise_days" yaml:"praise_days"`
	ReportDays       int    `mapstructure:"report_days" yaml:"report_days"`
	UrgentDays       int    `mapstructure:"urgent_days" yaml:"urgent_days"`
	EmergencyHours   int    `mapstructure:"emergency_hours" yaml:"emergency_hours"`
}

// The defaults of workorders.*: the 12345 practice (workorder.DefaultLimits).
func init() {
	maps.Copy(defaults, map[string]any{
		"workorders.calendar":          "hotline",
		"workorders.consultation_days": 3,
		"workorders.help_days":         3,
		"workorders.complaint_days":    13,
		"workorders.suggestion_days":   13,
		"workorders.praise_days":       3,
		"workorders.report_days":       13,
		"workorders.urgent_days":       2,
		"workorders.emergency_hours":   24,
	})
}

// workOrderRules are the deadlines of work orders from workorders.*: the named calendar's
// working days and the limits.
func (a *app) workOrderRules(cals map[string]*flow.Calendar) (postgres.WorkOrderRules, error) {
	c := a.cfg.Orders
	cal, ok := cals[c.Calendar]
	if !ok {
		return postgres.WorkOrderRules{}, fmt.Errorf("workorders.calendar: no calendar %q in calendars.yaml", c.Calendar)
	}
	l := workorder.Limits{WorkingDays: map[workorder.Category]int{
		workorder.Consultation: c.ConsultationDays, workorder.HelpRequest: c.HelpDays, workorder.Complaint: c.ComplaintDays,
		workorder.Suggestion: c.SuggestionDays, workorder.Praise: c.PraiseDays, workorder.Report: c.ReportDays,
	}, UrgentDays: c.UrgentDays, EmergencyHours: c.EmergencyHours}
	for cat, n := range l.WorkingDays {
		if n < 1 || n > 60 {
			return postgres.WorkOrderRules{}, fmt.Errorf("workorders.%s_days: %d, want 1 to 60 working days", cat, n)
		}
	}
	if l.UrgentDays < 0 || l.EmergencyHours < 1 || l.EmergencyHours > 240 {
		return postgres.WorkOrderRules{}, fmt.Errorf("workorders: urgent_days %d (0 or more) and emergency_hours %d (1 to 240)",
			l.UrgentDays, l.EmergencyHours)
	}
	return postgres.WorkOrderRules{Calendar: cal, Limits: l}, nil
}
