package workorder_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/agentdesk/workorder"
	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

func TestDueOnWorkingDays(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repotest.Root(t), "flows", "calendars.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cals, err := flow.ParseCalendars(data)
	if err != nil {
		t.Fatal(err)
	}
	cal := cals["hotline"]
	cst := time.FixedZone("CST", 8*3600)
	at := func(s string) time.Time {
		t, err := time.ParseInLocation("2006-01-02 15:04", s, cst)
		if err != nil {
			panic(err)
		}
		return t
	}
	endOf := func(day string) time.Time { return at(day+" 00:00").AddDate(0, 0, 1) }
	tests := []struct {
		name    string
		created string
		cat     workorder.Category
		urg     workorder.Urgency
		want    time.Time
	}{
		{"consultation on a Tuesday", "2026-12-01 10:00", workorder.Consultation, workorder.Normal, endOf("2026-12-04")},
		{"across a weekend", "2026-12-03 16:00", workorder.HelpRequest, workorder.Normal, endOf("2026-12-08")},
		{"accepted on a Saturday", "2026-12-05 11:00", workorder.Consultation, workorder.Normal, endOf("2026-12-09")},
		// National Day 10-01..10-07 and the make-up Saturday 10-10 (调休).
		{"across National Day to the make-up Saturday", "2026-09-30 09:00", workorder.Consultation, workorder.Normal, endOf("2026-10-10")},
		{"make-up Saturday counts", "2026-10-08 09:00", workorder.Consultation, workorder.Normal, endOf("2026-10-12")},
		// 13 working days from Friday 2026-09-18: 21 22 23 24 (25-27 Mid-Autumn) 28 29 30
		// (10-01..07) 08 09 10(调休) 12 13 14, with 09-20 a make-up Sunday.
		{"complaint across two holidays", "2026-09-18 15:00", workorder.Complaint, workorder.Normal, endOf("2026-10-13")},
		{"a deadline that would land on a holiday moves past it", "2026-09-29 10:00", workorder.Consultation, workorder.Normal, endOf("2026-10-09")},
		{"urgent is capped at 2 days", "2026-12-01 10:00", workorder.Complaint, workorder.Urgent, endOf("2026-12-03")},
		{"emergency is 24 hours, holiday or not", "2026-10-01 20:00", workorder.Complaint, workorder.Emergency, at("2026-10-02 20:00")},
		{"spring festival", "2026-02-13 09:00", workorder.Consultation, workorder.Normal, endOf("2026-02-25")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := workorder.DefaultLimits.Due(cal, at(tt.created), tt.cat, tt.urg)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("Due(%s, %s, %s) = %s, want %s", tt.created, tt.cat, tt.urg, got.In(cst), tt.want)
			}
		})
	}
	if _, err := workorder.DefaultLimits.Due(cal, at("2026-12-01 10:00"), "gossip", workorder.Normal); err == nil {
		t.Error("an unknown category has a deadline")
	}
}
