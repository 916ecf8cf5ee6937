package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/postgres"
)

// A supervisor opens the reports for a day with one answered call and one abandoned, rolled
// up: the chart, the figures (those of the fixture, by the hour and by day) and their
// definitions.
func TestReportsPage(t *testing.T) {
	e := newEnv(t)
	e.exec(`INSERT INTO hotline.skills (id, name) VALUES ('ss', '社保')`)
	e.exec(`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('ss', '社保咨询', 'ss')`)
	for i, c := range []struct{ outcome, entered, left string }{
		{"answered", "2026-12-01 10:00:00+08", "2026-12-01 10:00:12+08"},
		{"abandoned", "2026-12-01 11:00:00+08", "2026-12-01 11:00:40+08"},
	} {
		id := []string{"00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"}[i]
		e.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, queue_id)
			VALUES ($1, 'ast1', $3, '13800138000', $2, 'ss')`, id, c.entered, id)
		e.exec(`INSERT INTO hotline.call_steps (call_id, seq, flow, node, kind, entered_at) VALUES ($1, 1, 'main', 'menu', 'menu', $2)`, id, c.entered)
		e.exec(`INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, left_at, outcome) VALUES ($1, 'ss', $2, $3, $4)`,
			id, c.entered, c.left, c.outcome)
	}
	e.exec(`INSERT INTO hotline.offers (call_id, entry_id, agent_id, queue_id, state, offered_at, decided_at, talk_ended_at, wrapped_up_at)
		SELECT call_id, id, $1, 'ss', 'accepted', entered_at, left_at, left_at + interval '3 minutes', left_at + interval '210 seconds'
		FROM hotline.queue_entries WHERE outcome = 'answered'`, e.ids["agent01"])

	// The day is rolled up, as the housekeeping job does: the page reads 1 December from the
	// roll-ups.
	if r, err := postgres.RollUpReports(t.Context(), e.db); err != nil || r.Days == 0 {
		t.Fatalf("roll-up: %+v, %v", r, err)
	}

	p := newPage(t, e)
	asSupervisor(t, e, p, "boss", "张班长")
	// A supervisor's desk links to their pages.
	p.WaitText("statebar", "报表")
	if got := p.Eval(`[...document.querySelectorAll(".sb-links a")].map(a => a.textContent).join(" ")`); !strings.HasPrefix(got, "班长台 报表 流程 日历") {
		t.Errorf("the supervisor's links: %q", got)
	}
	p.Do("open the reports", chromedp.Click(`.sb-links a[href="/desk/reports"]`))
	p.Wait("the reports", `document.body.dataset.ready === "true"`)
	p.Do("choose 1 December by the hour",
		chromedp.SetValue(chromedp.ID("rp-from"), "2026-12-01"), chromedp.SetValue(chromedp.ID("rp-to"), "2026-12-01"),
		chromedp.SetValue(chromedp.ID("rp-bucket"), "hour"), chromedp.Click(`#rp-form button[type=submit]`))
	p.WaitText("rp-queues", "12-01 10:00 · ss")
	p.WaitText("rp-queues", "100.0%") // 10:00: one call, answered in 12 s
	p.WaitText("rp-queues", "12-01 11:00 · ss")
	p.WaitText("rp-agents", "李晓敏")
	p.WaitText("rp-ivr", "main")
	p.Wait("the chart's three lines", `document.querySelectorAll("#rp-chart polyline").length === 3`)
	if got := p.Eval(`document.getElementById("rp-csv-queues").getAttribute("href")`); got != "/api/reports/queues?from=2026-12-01&to=2026-12-01&bucket=hour&format=csv" {
		t.Errorf("CSV link %s", got)
	}
	// The figures, computed by hand: at 10:00 one call answered in 12 s, talked 3 minutes and
	// wrapped up in 30 s; at 11:00 one abandoned after 40 s.
	rows := func(table string) string {
		return p.Eval(`[...document.querySelectorAll("#` + table + ` tbody tr")].map(tr => [...tr.cells].map(c => c.textContent).join("|")).join("\n")`)
	}
	wantHours := "12-01 10:00 · ss|1|1|1|0|0|100.0%|100.0%|12秒|3分30秒|3分00秒|0秒|30秒|0|0/0\n" +
		"12-01 11:00 · ss|1|0|0|1|0|0.0%|0.0%|—|—|—|—|—|0|0/0"
	if got := rows("rp-queues"); got != wantHours {
		t.Errorf("the queues by the hour:\n%s\nwant\n%s", got, wantHours)
	}
	if got, want := rows("rp-agents"), "李晓敏|1|3分30秒|0秒|30秒|0|0|—|—|—|—|—|—|—"; !strings.Contains(got, want) {
		t.Errorf("the agents:\n%s\nwant a row %s", got, want)
	}
	if got, want := rows("rp-ivr"), "main|2|0 (0.0%)|2|0"; got != want {
		t.Errorf("the IVR funnel: %s, want %s", got, want)
	}
	p.Do("the same day by day", chromedp.SetValue(chromedp.ID("rp-bucket"), "day"), chromedp.Click(`#rp-form button[type=submit]`))
	p.WaitText("rp-queues", "12-01 · ss")
	if got, want := rows("rp-queues"), "12-01 · ss|2|1|1|1|0|50.0%|50.0%|12秒|3分30秒|3分00秒|0秒|30秒|0|0/0"; got != want {
		t.Errorf("the queues by day:\n%s\nwant\n%s", got, want)
	}
	p.Shoot("reports")
}

// TestReportsOpenOnTheServersWeek: the reports open on the last seven days by the server's
// clock (Foshan's day), not the browser's. The server's clock here is 30 days behind the
// browser's.
func TestReportsOpenOnTheServersWeek(t *testing.T) {
	const shift = -30 * 24 * time.Hour
	e := newEnv(t, func(o *agentdesk.Options) { o.Now = func() time.Time { return time.Now().Add(shift) } })
	p := newPage(t, e)
	asSupervisor(t, e, p, "boss", "张班长")
	p.Do("open the reports", chromedp.Navigate(e.url+"/desk/reports"))
	p.Wait("the reports", `document.body.dataset.ready === "true"`)
	cst := time.FixedZone("CST", 8*3600)
	server := time.Now().Add(shift).In(cst)
	from, to := p.Eval(`document.getElementById("rp-from").value`), p.Eval(`document.getElementById("rp-to").value`)
	if want := server.Format(time.DateOnly); to != want {
		t.Errorf("the reports end on %s, want the server's day %s", to, want)
	}
	if want := server.AddDate(0, 0, -6).Format(time.DateOnly); from != want {
		t.Errorf("the reports start on %s, want %s", from, want)
	}
}
