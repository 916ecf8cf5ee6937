package agentdesk

import (
	"net/http"
	"strconv"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/postgres"
)

// calendarRoutes are the business-hours calendars supervisors edit: opening hours, public
// holidays and make-up workdays (调休), for the hours nodes of the flows and the work-order
// deadlines alike.
func (s *Server) calendarRoutes() []route {
	return []route{
		{"GET /api/calendars", hotline.RoleSupervisor, s.calendars},
		{"POST /api/calendars/{name}", hotline.RoleSupervisor, s.saveCalendar},
		{"GET /api/calendars/{name}/days", hotline.RoleSupervisor, s.calendarDays},
	}
}

// calendarBook returns the calendars, or 404 when the server has none.
func (s *Server) calendarBook() (*postgres.Calendars, error) {
	if s.o.Calendars == nil {
		return nil, &problem{err: hotline.ErrNotFound, reason: "this server keeps no calendars"}
	}
	return s.o.Calendars, nil
}

// calendars is GET /api/calendars.
func (s *Server) calendars(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	book, err := s.calendarBook()
	if err != nil {
		return err
	}
	rows, err := book.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"calendars": nonNil(rows)})
	return nil
}

// saveCalendarRequest is the body of POST /api/calendars/{name}.
type saveCalendarRequest struct {
	Spec    flow.CalendarSpec `json:"spec"`
	Version int               `json:"version"`
}

// saveCalendar is POST /api/calendars/{name}: a new version, audited; new calls and new
// deadlines use it at once.
func (s *Server) saveCalendar(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req saveCalendarRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	book, err := s.calendarBook()
	if err != nil {
		return err
	}
	if req.Version <= 0 {
		return badRequest("version (the version the change was made on) is required")
	}
	if len(req.Spec.Holidays)+len(req.Spec.Workdays) > 400 {
		return badRequest("at most 400 holidays and workdays")
	}
	row, err := book.Save(r.Context(), r.PathValue("name"), req.Spec, req.Version, sess.Agent.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, row)
	return nil
}

// dayView is a day of a calendar as the page shows it.
type dayView struct {
	Date    string `json:"date"`
	Weekday int    `json:"weekday"`
	// Working: an official working day (deadlines count it).
	Working bool `json:"working"`
	// Hours: the opening spans of the hotline's agents that day, "" when closed.
	Hours string `json:"hours"`
}

// calendarDays is GET /api/calendars/{name}/days?from=YYYY-MM-DD&days=N (default today, 62):
// what the calendar in force says of each day.
func (s *Server) calendarDays(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	book, err := s.calendarBook()
	if err != nil {
		return err
	}
	cal := book.Live()[r.PathValue("name")]
	if cal == nil {
		return &problem{err: hotline.ErrNotFound, reason: "no such calendar"}
	}
	loc := cal.Location()
	now := s.now().In(loc)
	from := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	if v := r.URL.Query().Get("from"); v != "" {
		if from, err = time.ParseInLocation(time.DateOnly, v, loc); err != nil {
			return badRequest("from must be a day like 2026-12-01, got %q", v)
		}
	}
	n := 62
	if v := r.URL.Query().Get("days"); v != "" {
		if n, err = strconv.Atoi(v); err != nil || n < 1 || n > 400 {
			return badRequest("days must be 1 to 400, got %q", v)
		}
	}
	out := make([]dayView, n)
	for i := range out {
		d := from.AddDate(0, 0, i)
		out[i] = dayView{Date: d.Format(time.DateOnly), Weekday: int(d.Weekday()), Working: cal.WorkingDay(d), Hours: openHours(cal, d)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"days": out})
	return nil
}

// openHours describes when cal is open on day d, minute by minute: "08:30–18:00", "" closed.
func openHours(cal *flow.Calendar, d time.Time) string {
	var spans []string
	start := -1
	for m := 0; m <= 24*60; m++ {
		open := m < 24*60 && cal.Open(d.Add(time.Duration(m)*time.Minute))
		switch {
		case open && start < 0:
			start = m
		case !open && start >= 0:
			spans = append(spans, clock(start)+"–"+clock(m))
			start = -1
		}
	}
	out := ""
	for i, s := range spans {
		if i > 0 {
			out += "、"
		}
		out += s
	}
	return out
}

func clock(m int) string {
	return strconv.Itoa(m/600) + strconv.Itoa(m/60%10) + ":" + strconv.Itoa(m%60/10) + strconv.Itoa(m%10)
}
