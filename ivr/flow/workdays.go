package flow

import "time"

// WorkingDay reports whether the date of t (in the calendar's zone) is an official working
// day: Monday to Friday unless a public holiday, or a make-up workday (调休). This is the day
// count of government deadlines, whatever the hotline's own opening hours.
func (c *Calendar) WorkingDay(t time.Time) bool {
	return c.days.Load().workingDay(t)
}

func (c *calendarDays) workingDay(t time.Time) bool {
	t = t.In(c.loc)
	day := t.Format(time.DateOnly)
	switch {
	case c.holidays[day]:
		return false
	case c.workdays[day]:
		return true
	}
	wd := t.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.days.Load().loc }
