package flow

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"
)

// CalendarSpec is the configuration of a business-hours calendar: opening hours per weekday,
// public holidays (closed) and make-up workdays (调休: a weekend day worked with workday
// hours). It decodes from YAML, viper (mapstructure) or JSON (the calendars the database keeps):
//
//	timezone: Asia/Shanghai
//	weekly:
//	  mon: ["08:30-12:00", "14:00-17:30"]
//	  sat: []
//	workday_hours: ["08:30-12:00", "14:00-17:30"]
//	holidays: ["2026-10-01..2026-10-07"]
//	workdays: ["2026-09-27"]
type CalendarSpec struct {
	// Timezone is an IANA name; empty means China Standard Time (UTC+8).
	Timezone string `yaml:"timezone" mapstructure:"timezone" json:"timezone"`
	// Weekly maps mon … sun to opening spans "HH:MM-HH:MM"; a day not listed is closed.
	Weekly map[string][]string `yaml:"weekly" mapstructure:"weekly" json:"weekly"`
	// WorkdayHours are the spans of a make-up workday; Monday's when empty.
	WorkdayHours []string `yaml:"workday_hours" mapstructure:"workday_hours" json:"workday_hours"`
	// Holidays are closed dates, "2006-01-02" or ranges "2006-01-02..2006-01-08".
	Holidays []string `yaml:"holidays" mapstructure:"holidays" json:"holidays"`
	// Workdays are make-up workdays (调休), dates or ranges as Holidays.
	Workdays []string `yaml:"workdays" mapstructure:"workdays" json:"workdays"`
}

// span is an opening interval in minutes after midnight, [from, to).
type span struct{ from, to int }

// Calendar says when a service is open. Supervisors edit calendars while calls run: Replace
// swaps a calendar's days for another's at once, for every call and work-order deadline that
// holds it.
type Calendar struct {
	days atomic.Pointer[calendarDays]
}

// calendarDays is a calendar's content, never changed once built.
type calendarDays struct {
	spec     CalendarSpec
	loc      *time.Location
	weekly   [7][]span
	workday  []span
	holidays map[string]bool
	workdays map[string]bool
}

var weekdays = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
	"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}

// NewCalendar builds a calendar from its configuration.
func NewCalendar(spec CalendarSpec) (*Calendar, error) {
	d, err := newCalendarDays(spec)
	if err != nil {
		return nil, err
	}
	c := &Calendar{}
	c.days.Store(d)
	return c, nil
}

// Replace gives c the days of other, from now on.
func (c *Calendar) Replace(other *Calendar) { c.days.Store(other.days.Load()) }

// Spec returns the configuration c was built from.
func (c *Calendar) Spec() CalendarSpec { return c.days.Load().spec }

func newCalendarDays(spec CalendarSpec) (*calendarDays, error) {
	c := &calendarDays{spec: spec, loc: time.FixedZone("CST", 8*3600), holidays: map[string]bool{}, workdays: map[string]bool{}}
	if spec.Timezone != "" {
		loc, err := time.LoadLocation(spec.Timezone)
		switch {
		case err != nil && spec.Timezone == "Asia/Shanghai":
			loc = c.loc // no tzdata here; China has kept UTC+8 without DST since 1991
		case err != nil:
			return nil, fmt.Errorf("calendar timezone: %w", err)
		}
		c.loc = loc
	}
	for day, spans := range spec.Weekly {
		wd, ok := weekdays[strings.ToLower(day)]
		if !ok {
			return nil, fmt.Errorf("calendar weekly: unknown day %q (want mon … sun)", day)
		}
		s, err := parseSpans(spans)
		if err != nil {
			return nil, fmt.Errorf("calendar weekly %s: %w", day, err)
		}
		c.weekly[wd] = s
	}
	c.workday = c.weekly[time.Monday]
	if len(spec.WorkdayHours) > 0 {
		s, err := parseSpans(spec.WorkdayHours)
		if err != nil {
			return nil, fmt.Errorf("calendar workday_hours: %w", err)
		}
		c.workday = s
	}
	for _, d := range []struct {
		list []string
		into map[string]bool
		what string
	}{{spec.Holidays, c.holidays, "holidays"}, {spec.Workdays, c.workdays, "workdays"}} {
		for _, s := range d.list {
			if err := addDates(d.into, s); err != nil {
				return nil, fmt.Errorf("calendar %s: %w", d.what, err)
			}
		}
	}
	for day := range c.holidays {
		if c.workdays[day] {
			return nil, fmt.Errorf("calendar: %s is both a holiday and a workday", day)
		}
	}
	return c, nil
}

func parseSpans(list []string) ([]span, error) {
	var out []span
	for _, s := range list {
		a, b, ok := strings.Cut(s, "-")
		from, err1 := parseClock(a)
		to, err2 := parseClock(b)
		if !ok || err1 != nil || err2 != nil || to <= from {
			return nil, fmt.Errorf("bad span %q (want HH:MM-HH:MM, start before end)", s)
		}
		out = append(out, span{from, to})
	}
	slices.SortFunc(out, func(x, y span) int { return x.from - y.from })
	return out, nil
}

func parseClock(s string) (int, error) {
	if s == "24:00" {
		return 24 * 60, nil
	}
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

// addDates adds a date or a range of dates; what follows them after a space names them
// ("2026-10-01..2026-10-07 国庆节") and is kept in the spec only.
func addDates(into map[string]bool, s string) error {
	dates, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	a, b, isRange := strings.Cut(dates, "..")
	from, err := time.Parse(time.DateOnly, strings.TrimSpace(a))
	if err != nil {
		return fmt.Errorf("bad date %q", s)
	}
	to := from
	if isRange {
		if to, err = time.Parse(time.DateOnly, strings.TrimSpace(b)); err != nil || to.Before(from) || to.Sub(from) > 62*24*time.Hour {
			return fmt.Errorf("bad date range %q", s)
		}
	}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		into[d.Format(time.DateOnly)] = true
	}
	return nil
}

// Open reports whether the calendar is open at t.
func (c *Calendar) Open(t time.Time) bool {
	return c.days.Load().open(t)
}

func (c *calendarDays) open(t time.Time) bool {
	t = t.In(c.loc)
	day := t.Format(time.DateOnly)
	var spans []span
	switch {
	case c.holidays[day]:
		return false
	case c.workdays[day]:
		spans = c.workday
	default:
		spans = c.weekly[t.Weekday()]
	}
	m := t.Hour()*60 + t.Minute()
	for _, s := range spans {
		if m >= s.from && m < s.to {
			return true
		}
	}
	return false
}

// ParseCalendars reads a calendars file ("calendars:" mapping names to CalendarSpec, as
// flows/calendars.yaml) and builds each calendar.
func ParseCalendars(data []byte) (map[string]*Calendar, error) {
	var doc struct {
		Calendars map[string]CalendarSpec `yaml:"calendars"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse calendars: %w", err)
	}
	out := make(map[string]*Calendar, len(doc.Calendars))
	for name, spec := range doc.Calendars {
		c, err := NewCalendar(spec)
		if err != nil {
			return nil, fmt.Errorf("calendar %s: %w", name, err)
		}
		out[name] = c
	}
	return out, nil
}
