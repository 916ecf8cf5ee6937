package web_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/postgres"
)

// A supervisor opens the wallboard: the queues with their waiting calls, a call arriving
// within the refresh, an agent stuck in 未接 standing out, then ringing for it and answering
// it, a forced pause from agent
// management reaching the board, and the full-screen mode.
func TestSupervisorWallboard(t *testing.T) {
	e := newEnv(t, func(o *agentdesk.Options) {
		o.States = postgres.NewACD(postgres.New(o.DB, nil, nil), "live")
	})
	e.queues()
	hash, _ := bcrypt.GenerateFromPassword([]byte("boss-pw"), bcrypt.MinCost)
	e.exec(`INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint) VALUES ('boss', '张班长', 'supervisor', $1, 'PJSIP/1100')`, string(hash))
	// agent01 rang out a minute ago and is still in 未接.
	e.exec(`INSERT INTO hotline.agent_status (agent_id, state, reason, since) VALUES ($1, 'missed', 'timeout', now() - interval '1 minute')`, e.ids["agent01"])
	// Calls of today that ended: one answered in 8 s, one abandoned.
	for i, c := range []struct{ outcome, after string }{{"answered", "8 seconds"}, {"abandoned", "40 seconds"}} {
		id := fmt.Sprintf("6d6d6d6d-0000-4000-8000-00000000000%d", i)
		e.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at) VALUES ($1, 'node1', $2, '13900139000', now() - interval '3 minutes')`, id, "done-"+id)
		e.exec(`INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, left_at, outcome, instance_id)
			VALUES ($1, 'general', now() - interval '2 minutes', now() - interval '2 minutes' + $2::interval, $3, 'live')`, id, c.after, c.outcome)
	}
	e.exec(`INSERT INTO hotline.offers (call_id, entry_id, agent_id, queue_id, state, offered_at, decided_at)
		SELECT call_id, id, $1, 'general', 'accepted', entered_at, left_at FROM hotline.queue_entries WHERE outcome = 'answered'`, e.ids["agent02"])

	p := newPage(t, e)
	p.loginAs("boss", "boss-pw")
	p.Do("open the wallboard", chromedp.Navigate(e.url+"/desk/supervisor"))
	p.Wait("the board", `document.body.dataset.ready === "true" && !!document.body.dataset.board`)
	p.Wait("live", `document.body.dataset.conn === "open"`)

	row := func(queue string) string {
		return fmt.Sprintf(`document.querySelector('#sv-queue-rows tr[data-queue=%q]')`, queue)
	}
	p.Wait("two calls waiting for 社会保障", row("social_security")+`.querySelector('[data-field=waiting]').textContent === "2"`)
	p.Wait("one for 综合咨询", row("general")+`.querySelector('[data-field=waiting]').textContent === "1"`)
	// 综合咨询 today: two calls ended, one answered within 15 s: 50%, ASA 8 s.
	p.Wait("the service level", row("general")+`.querySelector('.sl').textContent === "50.0%"`)
	if got := p.Eval(row("general") + `.textContent`); got == "" {
		t.Error("no row for 综合咨询")
	}
	p.WaitText("sv-defs", "15 秒内接通")
	p.Wait("agent01 stuck in 未接", fmt.Sprintf(`document.querySelector('#sv-agent-grid li[data-agent="%d"]').classList.contains("stuck")`, e.ids["agent01"]))
	p.Wait("agent02 available", fmt.Sprintf(`document.querySelector('#sv-agent-grid li[data-agent="%d"]').dataset.state === "available"`, e.ids["agent02"]))
	p.Wait("the chart", `document.querySelectorAll("#sv-chart rect.bar-offered").length >= 1`)

	// A call arrives: the board shows it within the refresh, without a reload.
	e.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at) VALUES ('7e7e7e7e-0000-4000-8000-000000000001', 'node1', 'new-1', '13700137000', now())`)
	e.exec(`INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, instance_id) VALUES ('7e7e7e7e-0000-4000-8000-000000000001', 'general', now(), 'live')`)
	p.Wait("the new call", row("general")+`.querySelector('[data-field=waiting]').textContent === "2"`)

	// Agents change state while calls arrive, written as the ACD writes them (the status row,
	// the state log, NOTIFY hotline_agent): agent01 leaves 未接, rings for the new call and
	// answers it; the board follows each step without a reload.
	tile := func(agent string) string {
		return fmt.Sprintf(`document.querySelector('#sv-agent-grid li[data-agent="%d"]')`, e.ids[agent])
	}
	state := func(agent, st string, offer any) {
		e.exec(`WITH s AS (UPDATE hotline.agent_status SET state = $2, reason = '', since = now(),
				call_id = CASE WHEN $3::bigint IS NULL THEN NULL ELSE '7e7e7e7e-0000-4000-8000-000000000001'::uuid END, offer_id = $3::bigint
				WHERE agent_id = $1 RETURNING agent_id, call_id),
			l AS (INSERT INTO hotline.agent_state_log (agent_id, state, reason, cause, call_id, at) SELECT agent_id, $2, '', 'acd', call_id, now() FROM s)
			SELECT pg_notify('hotline_agent', agent_id::text) FROM s`, e.ids[agent], st, offer)
	}
	state("agent01", "available", nil)
	p.Wait("agent01 available, no longer stuck", tile("agent01")+`.dataset.state === "available" && !`+tile("agent01")+`.classList.contains("stuck")`)
	var offer int64
	if err := e.db.Get(&offer, `INSERT INTO hotline.offers (call_id, entry_id, agent_id, queue_id, instance_id)
		SELECT call_id, id, $1, 'general', 'live' FROM hotline.queue_entries WHERE call_id = '7e7e7e7e-0000-4000-8000-000000000001'
		RETURNING id`, e.ids["agent01"]); err != nil {
		t.Fatal(err)
	}
	state("agent01", "ringing", offer)
	p.Wait("agent01 ringing", tile("agent01")+`.dataset.state === "ringing"`)
	e.exec(`UPDATE hotline.offers SET state = 'accepted', decided_at = now() WHERE id = $1`, offer)
	e.exec(`UPDATE hotline.queue_entries SET left_at = now(), outcome = 'answered' WHERE call_id = '7e7e7e7e-0000-4000-8000-000000000001'`)
	state("agent01", "talking", offer)
	p.Wait("agent01 talking", tile("agent01")+`.dataset.state === "talking"`)
	p.Wait("the answered call no longer waiting", row("general")+`.querySelector('[data-field=waiting]').textContent === "1"`)

	// Agent management: force agent02's pause with a reason.
	p.Wait("the management list", fmt.Sprintf(`!!document.querySelector('#sv-admin-rows tr[data-agent="%d"] button[data-act=pause]')`, e.ids["agent02"]))
	p.Shoot("supervisor")
	p.Do("force a pause", chromedp.Click(fmt.Sprintf(`#sv-admin-rows tr[data-agent="%d"] button[data-act=pause]`, e.ids["agent02"])))
	p.Wait("the dialog", `document.getElementById("sv-dialog").open`)
	p.Eval(`document.querySelector("#sv-dialog select[name=pause_reason]").value = "meeting"`)
	p.Do("say why", chromedp.SendKeys(`#sv-dialog input[name=reason]`, "班前会"), chromedp.Click(chromedp.ID("sv-dialog-ok")))
	p.Wait("the dialog closed", `!document.getElementById("sv-dialog").open || (document.getElementById("sv-dialog-error").hidden ? false : (() => { throw new Error(document.getElementById("sv-dialog-error").textContent) })())`)
	p.Wait("agent02 paused on the board", fmt.Sprintf(`document.querySelector('#sv-agent-grid li[data-agent="%d"]').dataset.state === "paused"`, e.ids["agent02"]))
	p.WaitText("sv-agent-grid", "示忙（会议）")
	var n int
	if err := e.db.Get(&n, `SELECT count(*) FROM hotline.audit_log WHERE action IN ('agent_state_forced', 'agent_state_forced_reason') AND object_id = $1::text`, e.ids["agent02"]); err != nil || n != 2 {
		t.Errorf("%d audit rows of the forced pause (%v), want 2", n, err)
	}

	// The wall display: F, and back.
	p.Key("full screen", "f")
	p.Wait("the wall mode", `document.body.classList.contains("wall") && getComputedStyle(document.getElementById("sv-admin")).display === "none"`)
	p.Shoot("supervisor-wall")
	p.Key("back", "f")
	p.Wait("the normal mode", `!document.body.classList.contains("wall")`)
}
