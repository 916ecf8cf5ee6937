package postgres_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// entry inserts a queue entry of a new call of instance with its outcome, and for an answered
// one the accepted offer decided answeredAfter after it entered.
func (f *acdFixture) entry(t *testing.T, instance, queue string, entered time.Time, left time.Duration, outcome string, answeredAfter time.Duration) {
	t.Helper()
	call := f.call(t, instance)
	var leftAt, out any
	if outcome != "" {
		leftAt, out = entered.Add(left), outcome
	}
	id := f.int(t, `INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, left_at, outcome, instance_id)
		VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')) RETURNING id`, call, queue, entered, leftAt, out, instance)
	if outcome == "answered" {
		f.exec(t, `INSERT INTO hotline.offers (call_id, agent_id, queue_id, state, offered_at, decided_at, entry_id)
			VALUES ($1, $2, $3, 'accepted', $4, $5, $6)`, call, f.boss, queue, entered.Add(answeredAfter-3*time.Second), entered.Add(answeredAfter), id)
	}
	if outcome == "abandoned" {
		// An offer that rang out before the caller hung up does not make the call answered.
		f.exec(t, `INSERT INTO hotline.offers (call_id, agent_id, queue_id, state, offered_at, decided_at, entry_id)
			VALUES ($1, $2, $3, 'timeout', $4, $5, $6)`, call, f.boss, queue, entered, entered.Add(left/2), id)
	}
}

func TestWallboardQueueFigures(t *testing.T) {
	f := newACDFixture(t)
	ctx := context.Background()
	at := func(hms string) time.Time {
		d, err := time.ParseInLocation("2006-01-02 15:04:05", "2026-03-10 "+hms, cst)
		must(t, err)
		return d
	}
	// Now is 09:00 on 10 March; instance "a" is alive, "dead" stopped beating an hour ago.
	must(t, f.acd.Heartbeat(ctx))
	f.exec(t, `INSERT INTO hotline.instances (id, started_at, heartbeat_at) VALUES ('dead', $1, $1)`, at("08:00:00"))

	f.entry(t, "a", "general", at("08:00:00"), 10*time.Second, "answered", 10*time.Second)                 // within 15 s
	f.entry(t, "a", "general", at("08:01:00"), 15*time.Second, "answered", 15*time.Second)                 // exactly 15 s: within
	f.entry(t, "a", "general", at("08:02:00"), 40*time.Second, "answered", 40*time.Second)                 // answered late
	f.entry(t, "a", "general", at("08:03:00"), 30*time.Second, "abandoned", 0)                             // the caller hung up
	f.entry(t, "a", "general", at("08:20:00"), 5*time.Minute, "overflow", 0)                               // offered, neither
	f.entry(t, "a", "general", at("00:00:00").Add(-time.Minute), 5*time.Second, "answered", 5*time.Second) // yesterday
	f.entry(t, "a", "general", at("08:58:00"), 0, "", 0)                                                   // waiting, live
	f.entry(t, "a", "general", at("08:59:30"), 0, "", 0)                                                   // waiting, live
	f.entry(t, "dead", "general", at("08:50:00"), 0, "", 0)                                                // waiting on a dead instance
	f.entry(t, "a", "insurance", at("08:10:00"), 20*time.Second, "abandoned", 0)

	wb, err := postgres.LoadWallboard(ctx, f.db, f.clock.Now(), 30*time.Second)
	must(t, err)
	if !wb.Day.Equal(at("00:00:00")) {
		t.Errorf("day %v, want 10 March in Asia/Shanghai", wb.Day)
	}
	byID := map[string]postgres.WallboardQueue{}
	for _, q := range wb.Queues {
		byID[q.ID] = q
	}
	g := byID["general"]
	if g.Waiting != 2 || g.OldestSince == nil || !g.OldestSince.Equal(at("08:58:00")) {
		t.Errorf("general waiting %d since %v, want 2 live calls since 08:58", g.Waiting, g.OldestSince)
	}
	if g.Offered != 5 || g.Answered != 3 || g.Answered15 != 2 || g.Abandoned != 1 {
		t.Errorf("general today: offered %d answered %d within 15 s %d abandoned %d, want 5 3 2 1",
			g.Offered, g.Answered, g.Answered15, g.Abandoned)
	}
	if g.ServiceLevel == nil || math.Abs(*g.ServiceLevel-0.4) > 1e-9 {
		t.Errorf("general service level %v, want 2/5", g.ServiceLevel)
	}
	if g.ASA == nil || math.Abs(*g.ASA-65.0/3) > 1e-6 {
		t.Errorf("general ASA %v, want (10+15+40)/3 s", g.ASA)
	}
	ins := byID["insurance"]
	if ins.Offered != 1 || ins.Abandoned != 1 || ins.Answered != 0 || ins.ServiceLevel == nil || *ins.ServiceLevel != 0 || ins.ASA != nil || ins.Waiting != 0 || ins.OldestSince != nil {
		t.Errorf("insurance: %+v, want one abandoned call, service level 0, no ASA", ins)
	}
	if h := byID["housing"]; h.Offered != 0 || h.ServiceLevel != nil || h.ASA != nil {
		t.Errorf("housing without calls: %+v, want no service level or ASA", h)
	}

	// The chart: 00:00 to 09:00 in quarter hours, by when the calls entered.
	if len(wb.Intraday) != 37 || !wb.Intraday[0].Start.Equal(at("00:00:00")) || !wb.Intraday[36].Start.Equal(at("09:00:00")) {
		t.Fatalf("intraday: %d buckets from %v, want 37 from 00:00 to 09:00", len(wb.Intraday), wb.Intraday[0].Start)
	}
	got := map[string][3]int{}
	for _, b := range wb.Intraday {
		if b.Offered+b.Answered+b.Abandoned > 0 {
			got[b.Start.In(cst).Format("15:04")] = [3]int{b.Offered, b.Answered, b.Abandoned}
		}
	}
	want := map[string][3]int{"08:00": {5, 3, 2}, "08:15": {1, 0, 0}}
	if len(got) != len(want) || got["08:00"] != want["08:00"] || got["08:15"] != want["08:15"] {
		t.Errorf("intraday %v, want %v", got, want)
	}

	// The board and the queue report agree on the day.
	rows, err := postgres.QueueReport(ctx, f.db, postgres.ReportQuery{From: at("00:00:00"), To: at("00:00:00").AddDate(0, 0, 1), Bucket: postgres.BucketDay, Queue: "general"})
	must(t, err)
	if len(rows) != 1 || rows[0].Offered != g.Offered || rows[0].AnsweredIn15s != g.Answered15 || rows[0].Abandoned != g.Abandoned {
		t.Errorf("the queue report says %+v, the board %+v", rows, g)
	}
}

func TestWallboardAgents(t *testing.T) {
	f := newACDFixture(t)
	ctx := context.Background()
	t0 := f.clock.Now()
	talking := f.into(t, hotline.AgentTalking)
	missed := f.into(t, hotline.AgentMissed)
	wrapping := f.into(t, hotline.AgentWrapUp)
	paused := f.into(t, hotline.AgentPaused)
	offline := f.into(t, hotline.AgentOffline)
	f.user(t, "backoffice", hotline.RoleAgent, "", nil) // takes no calls: not on the board

	board := func() map[int64]postgres.WallboardAgent {
		wb, err := postgres.LoadWallboard(ctx, f.db, f.clock.Now(), 30*time.Second)
		must(t, err)
		m := map[int64]postgres.WallboardAgent{}
		for _, a := range wb.Agents {
			m[a.ID] = a
		}
		if len(m) != 6 { // five and the supervisor boss
			t.Errorf("%d agents on the board, want 6", len(m))
		}
		return m
	}
	m := board()
	for id, want := range map[int64]string{talking: "talking", missed: "missed", wrapping: "wrap_up", paused: "paused", offline: "offline"} {
		if a := m[id]; a.State != want || a.Stuck {
			t.Errorf("agent %d: %s stuck %v, want %s not stuck", id, a.State, a.Stuck, want)
		}
	}
	if a := m[talking]; a.CallSince == nil || !a.CallSince.Equal(t0) || a.Queue == "" {
		t.Errorf("talking agent: call since %v queue %q, want since %v and the queue", a.CallSince, a.Queue, t0)
	}
	if a := m[paused]; a.Reason != "break" || a.CallSince != nil {
		t.Errorf("paused agent: %+v", a)
	}
	if a := m[wrapping]; a.WrapUpUntil == nil || !a.WrapUpUntil.Equal(t0.Add(30*time.Second)) {
		t.Errorf("wrapping agent: wrap-up until %v, want 30 s after %v", a.WrapUpUntil, t0)
	}

	f.clock.Advance(postgres.StuckMissedAfter)
	if m := board(); !m[missed].Stuck || m[wrapping].Stuck {
		t.Errorf("after 10 s: missed stuck %v, wrap-up stuck %v; want true, false", m[missed].Stuck, m[wrapping].Stuck)
	}
	f.clock.Advance(21 * time.Second)
	m = board()
	if !m[missed].Stuck || !m[wrapping].Stuck || m[talking].Stuck || m[paused].Stuck {
		t.Errorf("after 31 s: missed %v wrap-up %v talking %v paused %v; want only missed and wrap-up stuck",
			m[missed].Stuck, m[wrapping].Stuck, m[talking].Stuck, m[paused].Stuck)
	}
	if a := m[talking]; !a.Since.Equal(t0) {
		t.Errorf("talking since %v, want %v", a.Since, t0)
	}
}
