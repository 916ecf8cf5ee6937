package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/postgres"
)

// A supervisor makes a Monday a holiday: saved as version 2, and the month view shows the day
// as a rest day with no agents.
func TestCalendarPage(t *testing.T) {
	seed, err := flow.NewCalendar(flow.CalendarSpec{Timezone: "Asia/Shanghai", Weekly: map[string][]string{
		"mon": {"08:30-18:00"}, "tue": {"08:30-18:00"}, "wed": {"08:30-18:00"}, "thu": {"08:30-18:00"}, "fri": {"08:30-18:00"},
		"sat": {"09:00-17:00"}, "sun": {"09:00-17:00"}}})
	if err != nil {
		t.Fatal(err)
	}
	var book *postgres.Calendars
	e := newEnv(t, func(o *agentdesk.Options) {
		book, err = postgres.LoadCalendars(context.Background(), o.DB, map[string]*flow.Calendar{"hotline": seed}, nil)
		if err != nil {
			t.Fatal(err)
		}
		o.Calendars = book
	})
	// A Monday two weeks ahead: within the page's two months.
	now := time.Now().In(time.FixedZone("CST", 8*3600))
	d := now.AddDate(0, 0, 14)
	for d.Weekday() != time.Monday {
		d = d.AddDate(0, 0, 1)
	}
	day := d.Format(time.DateOnly)
	p := newPage(t, e)
	asSupervisor(t, e, p, "boss", "张班长")
	p.Do("open the calendar", chromedp.Navigate(e.url+"/desk/calendar"))
	p.Wait("the calendar", `document.body.dataset.ready === "true"`)
	p.WaitText("cal-version", "版本 1")
	p.Wait("the Monday open", `document.querySelector('[data-date="`+day+`"]').classList.contains("working")`)
	p.Do("add the holiday", chromedp.SendKeys(chromedp.ID("cal-holidays"), day+" 临时假日"))
	p.Do("save", chromedp.Click(chromedp.ID("cal-save")))
	p.Wait("saved", `document.body.dataset.saved === "2"`)
	p.WaitText("cal-version", "版本 2 · 张班长")
	p.Wait("the Monday a rest day", `document.querySelector('[data-date="`+day+`"]').classList.contains("rest")`)
	if got := p.Eval(`document.querySelector('[data-date="` + day + `"] small').textContent`); got != "—" {
		t.Errorf("the holiday shows hours %q", got)
	}
	if live := book.Live()["hotline"]; live.Spec().Holidays[0] != day+" 临时假日" {
		t.Errorf("the calendar in use has holidays %v", live.Spec().Holidays)
	}
	p.Shoot("calendar")
}
