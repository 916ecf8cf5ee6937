package flow

import (
	"testing"
	"time"
)

// A supervisor's edit replaces a calendar's days for everyone holding it, at once; dates may
// carry their names.
func TestCalendarReplace(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	monday := time.Date(2026, 12, 7, 10, 0, 0, 0, cst)
	cal, err := NewCalendar(CalendarSpec{Timezone: "Asia/Shanghai", Weekly: map[string][]string{"mon": {"08:30-18:00"}}})
	if err != nil {
		t.Fatal(err)
	}
	held := cal // what the engine and the deadlines hold
	if !held.Open(monday) || !held.WorkingDay(monday) {
		t.Fatal("an ordinary Monday is closed")
	}
	spec := CalendarSpec{Timezone: "Asia/Shanghai", Weekly: map[string][]string{"mon": {"08:30-18:00"}},
		Holidays: []string{"2026-12-07..2026-12-08 临时假日"}, Workdays: []string{"2026-12-12 调休"}}
	next, err := NewCalendar(spec)
	if err != nil {
		t.Fatal(err)
	}
	cal.Replace(next)
	if held.Open(monday) || held.WorkingDay(monday) || held.WorkingDay(monday.AddDate(0, 0, 1)) {
		t.Error("the new holiday does not show through the calendar held before the change")
	}
	if !held.WorkingDay(time.Date(2026, 12, 12, 10, 0, 0, 0, cst)) {
		t.Error("the make-up Saturday is not a working day")
	}
	if got := held.Spec().Holidays[0]; got != "2026-12-07..2026-12-08 临时假日" {
		t.Errorf("spec kept %q", got)
	}
	if _, err := NewCalendar(CalendarSpec{Holidays: []string{"2026-13-01 坏日期"}}); err == nil {
		t.Error("a bad named date accepted")
	}
}
