package web_test

import (
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"
)

// A supervisor opens the reports for a day with one answered call and one abandoned: the
// chart, the figures and their definitions.
func TestReportsPage(t *testing.T) {
	e := newEnv(t)
	hash, _ := bcrypt.GenerateFromPassword([]byte("boss-pw"), bcrypt.MinCost)
	e.exec(`INSERT INTO hotline.agents (username, display_name, role, password_hash) VALUES ('boss', '张班长', 'supervisor', $1)`, string(hash))
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

	p := newPage(t, e)
	p.do("open the login page", chromedp.Navigate(e.url+"/desk/login"), chromedp.WaitVisible(chromedp.ID("login-form")))
	p.do("log in", chromedp.SendKeys(chromedp.ID("username"), "boss"), chromedp.SendKeys(chromedp.ID("password"), "boss-pw"),
		chromedp.Click(chromedp.ID("login-submit")))
	p.wait("the desk", `location.pathname === "/desk/"`)
	// A supervisor's desk links to their pages.
	p.waitText("statebar", "报表")
	if got := p.eval(`[...document.querySelectorAll(".sb-links a")].map(a => a.textContent).join(" ")`); got != "班长台 报表 流程 日历" {
		t.Errorf("the supervisor's links: %q", got)
	}
	p.do("open the reports", chromedp.Click(`.sb-links a[href="/desk/reports"]`))
	p.wait("the reports", `document.body.dataset.ready === "true"`)
	p.do("choose 1 December by the hour",
		chromedp.SetValue(chromedp.ID("rp-from"), "2026-12-01"), chromedp.SetValue(chromedp.ID("rp-to"), "2026-12-01"),
		chromedp.SetValue(chromedp.ID("rp-bucket"), "hour"), chromedp.Click(`#rp-form button[type=submit]`))
	p.waitText("rp-queues", "12-01 10:00 · ss")
	p.waitText("rp-queues", "100.0%") // 10:00: one call, answered in 12 s
	p.waitText("rp-queues", "12-01 11:00 · ss")
	p.waitText("rp-agents", "李晓敏")
	p.waitText("rp-ivr", "main")
	p.wait("the chart's three lines", `document.querySelectorAll("#rp-chart polyline").length === 3`)
	if got := p.eval(`document.getElementById("rp-csv-queues").getAttribute("href")`); got != "/api/reports/queues?from=2026-12-01&to=2026-12-01&bucket=hour&format=csv" {
		t.Errorf("CSV link %s", got)
	}
	p.shoot("reports")
}
