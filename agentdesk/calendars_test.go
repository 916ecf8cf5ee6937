package agentdesk_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/postgres"
)

func init() {
	validBodies["POST /api/calendars/{name}"] = `{"spec":{"timezone":"Asia/Shanghai","weekly":{"mon":["08:30-18:00"]}},"version":1}`
}

// A supervisor adds a holiday: the calendar the engine and the deadlines hold changes at
// once, the change is a new version and audited; a stale or broken one is refused.
func TestCalendarEditing(t *testing.T) {
	d := newDesk(t)
	seed, err := flow.NewCalendar(flow.CalendarSpec{Timezone: "Asia/Shanghai",
		Weekly: map[string][]string{"mon": {"08:30-18:00"}, "tue": {"08:30-18:00"}, "sat": {"09:00-12:00", "13:00-17:00"}}})
	if err != nil {
		t.Fatal(err)
	}
	book, err := postgres.LoadCalendars(context.Background(), d.db, map[string]*flow.Calendar{"hotline": seed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.srv = d.newServer(d.states, func(o *agentdesk.Options) { o.Calendars = book })
	d.web.Config.Handler = d.srv.Handler()
	held := book.Live()["hotline"] // as the engine and the work-order deadlines hold it
	sup := d.login("supervisor")

	status, body := sup.do("GET", "/api/calendars", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"name":"hotline"`) || !strings.Contains(string(body), `"version":1`) {
		t.Fatalf("list: %d %s", status, body)
	}
	monday := time.Date(2026, 12, 7, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	if !held.Open(monday) {
		t.Fatal("an ordinary Monday is closed")
	}
	save := `{"version":1,"spec":{"timezone":"Asia/Shanghai","weekly":{"mon":["08:30-18:00"],"tue":["08:30-18:00"],"sat":["09:00-12:00","13:00-17:00"]},
		"holidays":["2026-12-07..2026-12-08 临时假日"],"workdays":["2026-12-13 调休"]}}`
	status, body = sup.do("POST", "/api/calendars/hotline", save)
	if status != http.StatusOK || !strings.Contains(string(body), `"version":2`) || !strings.Contains(string(body), "临时假日") {
		t.Fatalf("save: %d %s", status, body)
	}
	if held.Open(monday) || held.WorkingDay(monday) {
		t.Error("the calendar in use did not take the holiday")
	}
	status, body = sup.do("GET", "/api/calendars/hotline/days?from=2026-12-05&days=9", "")
	var days struct {
		Days []struct {
			Date    string `json:"date"`
			Working bool   `json:"working"`
			Hours   string `json:"hours"`
		} `json:"days"`
	}
	json.Unmarshal(body, &days)
	if status != http.StatusOK || len(days.Days) != 9 {
		t.Fatalf("days: %d %s", status, body)
	}
	got := map[string]string{}
	for _, day := range days.Days {
		w := "休"
		if day.Working {
			w = "班"
		}
		got[day.Date] = w + " " + day.Hours
	}
	for date, want := range map[string]string{
		"2026-12-05": "休 09:00–12:00、13:00–17:00", // a Saturday: no official working day, the hotline open
		"2026-12-07": "休 ",                        // the new holiday
		"2026-12-09": "班 ",                        // a Wednesday the calendar keeps closed
		"2026-12-13": "班 08:30–18:00",             // the make-up Sunday: Monday's hours
	} {
		if got[date] != want {
			t.Errorf("%s: %q, want %q", date, got[date], want)
		}
	}
	var audited int
	d.db.Get(&audited, `SELECT count(*) FROM hotline.audit_log WHERE action = 'calendar_change' AND actor_id = $1`, d.ids["supervisor"])
	if audited != 1 {
		t.Errorf("%d audit rows", audited)
	}

	for _, c := range []struct {
		path, body string
		status     int
	}{
		{"/api/calendars/hotline", save, http.StatusConflict}, // version 1 is stale now
		{"/api/calendars/hotline", `{"version":2,"spec":{"weekly":{"mon":["18:00-08:30"]}}}`, http.StatusBadRequest},
		{"/api/calendars/hotline", `{"version":2,"spec":{"holidays":["2026-02-30"]}}`, http.StatusBadRequest},
		{"/api/calendars/hotline", `{"spec":{}}`, http.StatusBadRequest},
		{"/api/calendars/nope", `{"version":1,"spec":{}}`, http.StatusNotFound},
	} {
		status, body := sup.do("POST", c.path, c.body)
		if code, reason := errorOf(t, body); status != c.status || code == "" || reason == "" {
			t.Errorf("POST %s %s: %d %s, want %d", c.path, c.body, status, body, c.status)
		}
	}
	if status, _ := sup.do("GET", "/api/calendars/hotline/days?days=0", ""); status != http.StatusBadRequest {
		t.Errorf("days=0: %d", status)
	}
	if status, _ := d.login("agent01").do("GET", "/api/calendars", ""); status != http.StatusForbidden {
		t.Errorf("an agent: %d", status)
	}
}
