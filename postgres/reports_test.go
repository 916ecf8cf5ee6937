package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// reportFixture is a morning of the hotline, 1 December 2026, whose figures are computed by
// hand in the tests below. Queues ss (社保) and hf (公积金); agents a1 and a2.
//
//	call 1  ss 10:00:00; offered to a1, rang out 10:00:16; a2 answered 10:00:20 (20 s: not
//	        within 15 s); hold 10:01:00–10:02:00; talk ends 10:05:20; wrap-up to 10:05:50
//	call 2  ss 10:10:00; a1 answered 10:10:10; blind transfer to hf 10:12:10, a1 wraps up to
//	        10:12:40; hf 10:12:10, a2 answered 10:12:15; talk to 10:15:15, wrap-up to 10:15:25
//	call 3  ss 10:20:00, hung up 10:20:03 (a short abandon)
//	call 4  ss 10:30:00, hung up 10:30:40
//	call 5  ss 10:50:00, still waiting (not counted)
//	call 6  served in the IVR
type reportFixture struct {
	db     *sqlx.DB
	a1, a2 int64
}

func dec1(hms string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04:05", "2026-12-01 "+hms, cst)
	if err != nil {
		panic(err)
	}
	return t
}

func newReportFixture(t *testing.T) *reportFixture {
	db := pgtest.DB(t)
	f := &reportFixture{db: db}
	db.MustExec(`INSERT INTO hotline.skills (id, name) VALUES ('ss', '社保'), ('hf', '公积金')`)
	db.MustExec(`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('ss', '社保咨询', 'ss'), ('hf', '公积金咨询', 'hf')`)
	agent := func(name, endpoint string) int64 {
		var id int64
		if err := db.Get(&id, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
			VALUES ($1, $1, 'agent', 'x', $2) RETURNING id`, name, endpoint); err != nil {
			t.Fatal(err)
		}
		return id
	}
	f.a1, f.a2 = agent("a1", "PJSIP/1001"), agent("a2", "PJSIP/1002")
	call := func(n int, queue, outcome string, started time.Time) string {
		id := "00000000-0000-4000-8000-00000000000" + string(rune('0'+n))
		db.MustExec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, outcome, queue_id)
			VALUES ($1, 'ast1', $2, '13800138000', $3, NULLIF($4, ''), NULLIF($5, ''))`, id, id, started, outcome, queue)
		if outcome == "agent" { // the call record names the last agent, as the call log writes it
			db.MustExec(`UPDATE hotline.calls SET agent_id = $2 WHERE id = $1`, id, f.a2)
		}
		for i, flow := range []string{"main", "consultation"} {
			if queue == "" && flow == "consultation" {
				continue
			}
			db.MustExec(`INSERT INTO hotline.call_steps (call_id, seq, flow, node, kind, entered_at) VALUES ($1, $2, $3, 'start', 'menu', $4)`,
				id, i+1, flow, started)
		}
		return id
	}
	entry := func(callID, queue, outcome string, entered time.Time, left any) int64 {
		var id int64
		if err := db.Get(&id, `INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, left_at, outcome)
			VALUES ($1, $2, $3, $4, NULLIF($5, '')) RETURNING id`, callID, queue, entered, left, outcome); err != nil {
			t.Fatal(err)
		}
		return id
	}
	offer := func(callID string, entry, agent int64, queue, state string, offered, decided time.Time, talkEnd, wrapEnd any) {
		db.MustExec(`INSERT INTO hotline.offers (call_id, entry_id, agent_id, queue_id, state, offered_at, decided_at, talk_ended_at, wrapped_up_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, callID, entry, agent, queue, state, offered, decided, talkEnd, wrapEnd)
	}
	step := func(callID string, seq int, node string, when time.Time) {
		db.MustExec(`INSERT INTO hotline.call_steps (call_id, seq, flow, node, kind, entered_at) VALUES ($1, $2, 'desk', $3, 'control', $4)`,
			callID, seq, node, when)
	}

	c1 := call(1, "ss", "agent", dec1("09:59:00"))
	e1 := entry(c1, "ss", "answered", dec1("10:00:00"), dec1("10:00:20"))
	offer(c1, e1, f.a1, "ss", "timeout", dec1("10:00:01"), dec1("10:00:16"), nil, nil)
	offer(c1, e1, f.a2, "ss", "accepted", dec1("10:00:17"), dec1("10:00:20"), dec1("10:05:20"), dec1("10:05:50"))
	step(c1, 10, "hold", dec1("10:01:00"))
	step(c1, 11, "resume", dec1("10:02:00"))

	c2 := call(2, "hf", "agent", dec1("10:09:00"))
	e2 := entry(c2, "ss", "answered", dec1("10:10:00"), dec1("10:10:10"))
	offer(c2, e2, f.a1, "ss", "accepted", dec1("10:10:01"), dec1("10:10:10"), dec1("10:12:10"), dec1("10:12:40"))
	step(c2, 10, "transfer", dec1("10:12:10"))
	e2b := entry(c2, "hf", "answered", dec1("10:12:10"), dec1("10:12:15"))
	offer(c2, e2b, f.a2, "hf", "accepted", dec1("10:12:11"), dec1("10:12:15"), dec1("10:15:15"), dec1("10:15:25"))

	c3 := call(3, "ss", "abandoned", dec1("10:19:00"))
	entry(c3, "ss", "abandoned", dec1("10:20:00"), dec1("10:20:03"))
	c4 := call(4, "ss", "abandoned", dec1("10:29:00"))
	entry(c4, "ss", "abandoned", dec1("10:30:00"), dec1("10:30:40"))
	c5 := call(5, "ss", "", dec1("10:49:00"))
	entry(c5, "ss", "", dec1("10:50:00"), nil)
	call(6, "", "self_served", dec1("10:55:00"))

	db.MustExec(`INSERT INTO hotline.callbacks (number, queue_id, requested_at, status) VALUES
		('13800138000', 'ss', $1, 'done'), ('13900139000', 'ss', $2, 'pending')`, dec1("10:40:00"), dec1("10:41:00"))
	db.MustExec(`INSERT INTO hotline.survey_answers (call_id, score, agent_id, answered_at) VALUES
		($1, 5, $3, $4), ($2, 2, $3, $5)`, c1, c2, f.a2, dec1("10:06:00"), dec1("10:16:00"))

	for _, l := range []struct {
		state, reason string
		when          string
	}{
		{"available", "", "09:50:00"}, {"ringing", "", "10:00:01"}, {"missed", "", "10:00:16"},
		{"available", "", "10:00:30"}, {"talking", "", "10:10:10"}, {"wrap_up", "", "10:12:10"},
		{"available", "", "10:12:40"}, {"paused", "break", "10:45:00"},
	} {
		db.MustExec(`INSERT INTO hotline.agent_state_log (agent_id, state, reason, at) VALUES ($1, $2, $3, $4)`,
			f.a1, l.state, l.reason, dec1(l.when))
	}
	return f
}

func near(t *testing.T, what string, got *float64, want float64) {
	t.Helper()
	if got == nil || math.Abs(*got-want) > 1e-6 {
		if got == nil {
			t.Errorf("%s = nil, want %v", what, want)
		} else {
			t.Errorf("%s = %v, want %v", what, *got, want)
		}
	}
}

func TestQueueReportByHour(t *testing.T) {
	f := newReportFixture(t)
	rows, err := postgres.QueueReport(context.Background(), f.db, postgres.ReportQuery{
		From: dec1("00:00:00"), To: dec1("23:59:59"), Bucket: postgres.BucketHour})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows = %+v; want hf and ss at 10:00", rows)
	}
	hf, ss := rows[0], rows[1]
	if !ss.Bucket.Equal(dec1("10:00:00")) || ss.QueueID != "ss" || hf.QueueID != "hf" {
		t.Fatalf("buckets = %v %s, %v %s", hf.Bucket, hf.QueueID, ss.Bucket, ss.QueueID)
	}
	// ss: calls 1–4 ended (call 5 still waits); 2 answered, call 2 within 15 s; 2 abandoned,
	// one within 5 s.
	if ss.Offered != 4 || ss.Answered != 2 || ss.AnsweredIn15s != 1 || ss.Abandoned != 2 || ss.ShortAbandoned != 1 {
		t.Errorf("ss counts = %+v", ss)
	}
	near(t, "ss service level", ss.ServiceLevel, 1.0/4)
	near(t, "ss service level over answered + abandoned after 5 s", ss.ServiceLevelAnsweredAbandoned, 1.0/3)
	near(t, "ss ASA", ss.ASA, (20.0+10)/2)
	// Call 1: 300 s from answer to the end, 60 of them on hold, 30 s wrap-up; call 2's part in
	// ss: 120 s, 30 s wrap-up.
	near(t, "ss AHT", ss.AHT, (330.0+150)/2)
	near(t, "ss talk", ss.Talk, (240.0+120)/2)
	near(t, "ss hold", ss.Hold, 30)
	near(t, "ss wrap", ss.Wrap, 30)
	if ss.Transfers != 1 || ss.CallbacksRequested != 2 || ss.CallbacksCompleted != 1 {
		t.Errorf("ss transfers %d, callbacks %d/%d; want 1, 2/1", ss.Transfers, ss.CallbacksRequested, ss.CallbacksCompleted)
	}
	// hf: the transferred call, answered 5 s after it arrived; its talk is its own.
	if hf.Offered != 1 || hf.Answered != 1 || hf.AnsweredIn15s != 1 || hf.Transfers != 0 {
		t.Errorf("hf counts = %+v", hf)
	}
	near(t, "hf service level", hf.ServiceLevel, 1)
	near(t, "hf ASA", hf.ASA, 5)
	near(t, "hf AHT", hf.AHT, 190)
	near(t, "hf talk", hf.Talk, 180)
	// Call 2's talk in all is 120 s + 180 s: once, not twice.
	if got := *ss.Talk*2 - 240 + *hf.Talk; math.Abs(got-300) > 1e-6 {
		t.Errorf("call 2's talk in the report = %v s, want 300", got)
	}
}

func TestQueueReportBy15Minutes(t *testing.T) {
	f := newReportFixture(t)
	rows, err := postgres.QueueReport(context.Background(), f.db, postgres.ReportQuery{
		From: dec1("10:00:00"), To: dec1("11:00:00"), Bucket: postgres.Bucket15Min, Queue: "ss"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][3]int{}
	for _, r := range rows {
		got[r.Bucket.Format("15:04")] = [3]int{r.Offered, r.Answered, r.Abandoned}
	}
	want := map[string][3]int{"10:00": {2, 2, 0}, "10:15": {1, 0, 1}, "10:30": {1, 0, 1}}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: offered/answered/abandoned = %v, want %v (all: %v)", k, got[k], w, got)
		}
	}
	if _, err := postgres.QueueReport(context.Background(), f.db, postgres.ReportQuery{Bucket: "month"}); err == nil {
		t.Error("bucket month accepted")
	}
}

func TestAgentReport(t *testing.T) {
	f := newReportFixture(t)
	rows, err := postgres.AgentReport(context.Background(), f.db, postgres.ReportQuery{From: dec1("10:00:00"), To: dec1("11:00:00")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 {
		t.Fatalf("rows = %+v", rows)
	}
	a1, a2 := rows[0], rows[1]
	if a1.Answered != 1 || a1.Transfers != 1 || a1.Missed != 1 {
		t.Errorf("a1 = %+v", a1)
	}
	near(t, "a1 AHT", a1.AHT, 150)
	if a2.Answered != 2 || a2.Missed != 0 || a2.Surveyed != 2 || a2.Satisfied != 1 {
		t.Errorf("a2 = %+v", a2)
	}
	near(t, "a2 AHT", a2.AHT, (330.0+190)/2)
	near(t, "a2 hold", a2.Hold, 30)
	// a1's hour, from the state log: every second in exactly one state.
	want := map[string]float64{"available": 1 + 580 + 1940, "ringing": 15, "missed": 14, "talking": 120, "wrap_up": 30, "paused": 900}
	var total float64
	for state, secs := range want {
		if math.Abs(a1.States[state]-secs) > 1e-6 {
			t.Errorf("a1 %s = %v s, want %v", state, a1.States[state], secs)
		}
		total += a1.States[state]
	}
	if total != 3600 {
		t.Errorf("a1's states add up to %v s, want 3600", total)
	}
}

func TestIVRFunnelAndSatisfaction(t *testing.T) {
	f := newReportFixture(t)
	q := postgres.ReportQuery{From: dec1("00:00:00"), To: dec1("23:59:59")}
	funnel, err := postgres.IVRFunnel(context.Background(), f.db, q)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]postgres.FlowFunnel{}
	for _, r := range funnel {
		got[r.Flow] = r
	}
	if m := got["main"]; m != (postgres.FlowFunnel{Flow: "main", Entered: 6, SelfServed: 1, AskedAgent: 5, AgentAnswer: 2}) {
		t.Errorf("main funnel = %+v", m)
	}
	if _, ok := got["desk"]; ok {
		t.Error("the desk's call control counted as a flow")
	}
	sat, err := postgres.Satisfaction(context.Background(), f.db, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(sat) != 2 || sat[0] != (postgres.QueueSatisfaction{QueueID: "hf", Surveyed: 1, Satisfied: 0}) ||
		sat[1] != (postgres.QueueSatisfaction{QueueID: "ss", Surveyed: 1, Satisfied: 1}) {
		t.Errorf("satisfaction = %+v", sat)
	}
}

// Work orders on time: one resolved before its deadline, one after, one resolved late but
// within an approved extension, one open past its deadline, one open within it, one merged.
func TestWorkOrderTimeliness(t *testing.T) {
	f := newReportFixture(t)
	var dept int64
	f.db.Get(&dept, `INSERT INTO platform.departments (name, phone) VALUES ('佛山市供电局', '0757-95598') RETURNING id`)
	order := func(n int, category string, created, due time.Time, resolved any, extension any) int64 {
		var id int64
		if err := f.db.Get(&id, `INSERT INTO hotline.work_orders (number, category, title, created_at, due_at, department_id,
			extension_due_at, extension_state)
			VALUES ($1, $2, '停电', $3, $4, $5, $6, CASE WHEN $6::timestamptz IS NULL THEN NULL ELSE 'approved' END) RETURNING id`,
			"FS-T"+string(rune('0'+n)), category, created, due, dept, extension); err != nil {
			t.Fatal(err)
		}
		if resolved != nil {
			f.db.MustExec(`INSERT INTO hotline.work_order_events (work_order_id, at, action, from_status, to_status)
				VALUES ($1, $2, 'resolve', 'in_progress', 'resolved')`, id, resolved)
			f.db.MustExec(`UPDATE hotline.work_orders SET status = 'resolved' WHERE id = $1`, id)
		}
		return id
	}
	day := dec1("09:00:00")
	order(1, "complaint", day, day.AddDate(0, 0, 13), day.AddDate(0, 0, 5), nil)
	order(2, "complaint", day, day.AddDate(0, 0, 13), day.AddDate(0, 0, 20), nil)
	order(3, "complaint", day, day.AddDate(0, 0, 13), day.AddDate(0, 0, 20), day.AddDate(0, 0, 25))
	order(4, "complaint", day, day.AddDate(0, 0, -1), nil, nil)
	order(5, "complaint", day, day.AddDate(1, 0, 0), nil, nil)
	into := order(6, "complaint", day, day.AddDate(0, 0, 13), nil, nil)
	merged := order(7, "complaint", day, day.AddDate(0, 0, 13), nil, nil)
	f.db.MustExec(`UPDATE hotline.work_orders SET merged_into = $1, status = 'archived' WHERE id = $2`, into, merged)

	rows, err := postgres.WorkOrderTimeliness(context.Background(), f.db, postgres.ReportQuery{From: dec1("00:00:00"), To: dec1("23:59:59")})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("rows = %+v", rows)
	}
	r := rows[0]
	want := postgres.OrderTimeliness{Category: "complaint", DepartmentID: &dept, Department: "佛山市供电局",
		Orders: 6, Resolved: 3, OnTime: 2, OverdueOpen: 1}
	if r.Category != want.Category || r.Department != want.Department || r.Orders != want.Orders ||
		r.Resolved != want.Resolved || r.OnTime != want.OnTime || r.OverdueOpen != want.OverdueOpen {
		t.Errorf("timeliness = %+v, want %+v", r, want)
	}
}

// sameReports checks that every report computed with the roll-ups equals the report computed
// from the event rows alone, to the last digit, over ranges that are whole days, partial days
// and days around the fixture's, in every bucket.
func sameReports(t *testing.T, db *sqlx.DB) {
	t.Helper()
	ctx := context.Background()
	dec := func(day int, hms string) time.Time {
		return dec1(hms).AddDate(0, 0, day-1)
	}
	ranges := [][2]time.Time{
		{dec(1, "00:00:00"), dec(2, "00:00:00")},
		{dec(1, "00:00:00"), dec(1, "23:59:59")},
		{dec(-1, "00:00:00"), dec(4, "00:00:00")},
		{dec(1, "10:07:00"), dec(1, "10:50:00")},
		{dec(0, "12:00:00"), dec(2, "06:00:00")},
	}
	same := func(what string, got, want any) {
		t.Helper()
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s:\nwith roll-ups   %s\nfrom the rows   %s", what, g, w)
		}
	}
	for _, r := range ranges {
		for _, b := range []postgres.Bucket{postgres.Bucket15Min, postgres.BucketHour, postgres.BucketDay, postgres.BucketWeek} {
			for _, queue := range []string{"", "ss"} {
				q := postgres.ReportQuery{From: r[0], To: r[1], Bucket: b, Queue: queue}
				got, err := postgres.QueueReport(ctx, db, q)
				if err != nil {
					t.Fatal(err)
				}
				want, err := postgres.QueueReportDirect(ctx, db, q)
				if err != nil {
					t.Fatal(err)
				}
				if len(want) == 0 && r[1].Sub(r[0]) > time.Hour {
					t.Fatalf("%v: the direct queue report is empty", q)
				}
				same(fmt.Sprintf("queues %v–%v by %s, queue %q", r[0], r[1], b, queue), got, want)
			}
		}
		q := postgres.ReportQuery{From: r[0], To: r[1]}
		agents, err := postgres.AgentReport(ctx, db, q)
		if err != nil {
			t.Fatal(err)
		}
		wantAgents, err := postgres.AgentReportDirect(ctx, db, q)
		if err != nil {
			t.Fatal(err)
		}
		same(fmt.Sprintf("agents %v–%v", r[0], r[1]), agents, wantAgents)
		funnel, err := postgres.IVRFunnel(ctx, db, q)
		if err != nil {
			t.Fatal(err)
		}
		wantFunnel, err := postgres.IVRFunnelDirect(ctx, db, q)
		if err != nil {
			t.Fatal(err)
		}
		same(fmt.Sprintf("funnel %v–%v", r[0], r[1]), funnel, wantFunnel)
		sat, err := postgres.Satisfaction(ctx, db, q)
		if err != nil {
			t.Fatal(err)
		}
		wantSat, err := postgres.SatisfactionDirect(ctx, db, q)
		if err != nil {
			t.Fatal(err)
		}
		same(fmt.Sprintf("satisfaction %v–%v", r[0], r[1]), sat, wantSat)
	}
}

// The roll-ups give the figures of the definitions: before the first roll-up (everything
// computed from the rows), after it (the fixture's day read from the roll-ups, its edges and
// the open days computed), and the reports do read the roll-ups.
func TestReportRollupsEqualDirect(t *testing.T) {
	f := newReportFixture(t)
	ctx := context.Background()
	sameReports(t, f.db)

	r, err := postgres.RollUpReports(ctx, f.db)
	if err != nil {
		t.Fatal(err)
	}
	today := time.Now().In(cst)
	if r.Busy || r.Days < 1 || r.Upto.After(today) || today.Sub(r.Upto) > 25*time.Hour {
		t.Fatalf("roll-up = %+v, want the days from 1 December to today's or yesterday's start", r)
	}
	var offered int
	f.db.Get(&offered, `SELECT coalesce(sum(offered), 0) FROM hotline.report_queue_slots WHERE slot >= $1 AND slot < $2`,
		dec1("00:00:00"), dec1("00:00:00").AddDate(0, 0, 1))
	if offered != 5 {
		t.Errorf("1 December's roll-ups offer %d entries, want 5 (4 to ss, 1 to hf)", offered)
	}
	sameReports(t, f.db)

	// A second run has nothing to do.
	if r, err := postgres.RollUpReports(ctx, f.db); err != nil || r.Days != 0 {
		t.Errorf("second roll-up = %+v, %v; want no day recomputed", r, err)
	}

	// The day's figures come from the roll-ups: a changed roll-up row shows in the report.
	f.db.MustExec(`UPDATE hotline.report_queue_slots SET offered = offered + 100 WHERE queue_id = 'hf'`)
	f.db.MustExec(`UPDATE hotline.report_queue_days SET offered = offered + 200 WHERE queue_id = 'hf'`)
	for b, want := range map[postgres.Bucket]int{postgres.BucketHour: 101, postgres.BucketDay: 201} {
		rows, err := postgres.QueueReport(ctx, f.db, postgres.ReportQuery{From: dec1("00:00:00"), To: dec1("00:00:00").AddDate(0, 0, 1),
			Bucket: b, Queue: "hf"})
		if err != nil || len(rows) != 1 || rows[0].Offered != want {
			t.Errorf("hf by %s with a changed roll-up = %+v, %v; want %d offered", b, rows, err, want)
		}
	}
}

// A call log replayed after an outage writes rows for a day already rolled up: the day is
// marked stale and computed from the rows until the next roll-up recomputes it.
func TestReportRollupsLateRows(t *testing.T) {
	f := newReportFixture(t)
	ctx := context.Background()
	if _, err := postgres.RollUpReports(ctx, f.db); err != nil {
		t.Fatal(err)
	}
	var stale int
	f.db.Get(&stale, `SELECT count(*) FROM hotline.report_stale WHERE day < (SELECT upto FROM hotline.report_rollup)`)
	if stale != 0 {
		t.Fatalf("%d stale marks of rolled-up days after a roll-up", stale)
	}
	// A wrong roll-up row, which the recomputation must replace.
	f.db.MustExec(`UPDATE hotline.report_queue_slots SET offered = offered + 100 WHERE queue_id = 'ss'`)
	f.db.MustExec(`UPDATE hotline.report_queue_days SET offered = offered + 100 WHERE queue_id = 'ss'`)

	// The replay: call 7 to ss at 11:00, answered by a1 after 5.123456 s with a hold, a survey answer,
	// a1's state log of it; the pending callback completed; a flow step of call 6.
	c7 := "00000000-0000-4000-8000-000000000007"
	f.db.MustExec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, outcome, queue_id, agent_id)
		VALUES ($1, 'ast1', $4, '13700137000', $2, 'agent', 'ss', $3)`, c7, dec1("10:59:00"), f.a1, c7)
	f.db.MustExec(`INSERT INTO hotline.call_steps (call_id, seq, flow, node, kind, entered_at) VALUES ($1, 1, 'main', 'start', 'menu', $2),
		($1, 2, 'desk', 'hold', 'control', $3), ($1, 3, 'desk', 'resume', 'control', $4)`, c7, dec1("10:59:00"), dec1("11:01:00"), dec1("11:01:30"))
	var e7 int64
	if err := f.db.Get(&e7, `INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, left_at, outcome)
		VALUES ($1, 'ss', $2, $3, 'answered') RETURNING id`, c7, dec1("11:00:00"), dec1("11:00:05")); err != nil {
		t.Fatal(err)
	}
	f.db.MustExec(`INSERT INTO hotline.offers (call_id, entry_id, agent_id, queue_id, state, offered_at, decided_at, talk_ended_at, wrapped_up_at)
		VALUES ($1, $2, $3, 'ss', 'accepted', $4, $5, $6, $7)`, c7, e7, f.a1, dec1("11:00:01"), dec1("11:00:05").Add(123456*time.Microsecond),
		dec1("11:03:05").Add(654321*time.Microsecond), dec1("11:03:35").Add(7*time.Microsecond))
	f.db.MustExec(`INSERT INTO hotline.survey_answers (call_id, score, agent_id, answered_at) VALUES ($1, 4, $2, $3)`, c7, f.a1, dec1("11:03:10"))
	f.db.MustExec(`INSERT INTO hotline.agent_state_log (agent_id, state, at) VALUES ($1, 'talking', $2), ($1, 'wrap_up', $3), ($1, 'available', $4)`,
		f.a1, dec1("11:00:05").Add(123456*time.Microsecond), dec1("11:03:05").Add(654321*time.Microsecond), dec1("11:03:35").Add(7*time.Microsecond))
	f.db.MustExec(`UPDATE hotline.callbacks SET status = 'done' WHERE status = 'pending'`)
	f.db.MustExec(`INSERT INTO hotline.call_steps (call_id, seq, flow, node, kind, entered_at)
		VALUES ('00000000-0000-4000-8000-000000000006', 2, 'bills', 'lookup', 'lookup', $1)`, dec1("10:56:00"))

	var marked bool
	f.db.Get(&marked, `SELECT EXISTS (SELECT FROM hotline.report_stale WHERE day = '2026-12-01')`)
	if !marked {
		t.Fatal("1 December not marked stale by the late rows")
	}
	// Before the next roll-up the day is computed from the rows: the wrong roll-up row is not read.
	sameReports(t, f.db)
	day := postgres.ReportQuery{From: dec1("00:00:00"), To: dec1("00:00:00").AddDate(0, 0, 1), Bucket: postgres.BucketDay, Queue: "ss"}
	rows, err := postgres.QueueReport(ctx, f.db, day)
	if err != nil || len(rows) != 1 || rows[0].Offered != 5 || rows[0].Answered != 3 || rows[0].CallbacksCompleted != 2 {
		t.Fatalf("ss on 1 December with the late rows = %+v, %v; want 5 offered, 3 answered, 2 callbacks done", rows, err)
	}

	r, err := postgres.RollUpReports(ctx, f.db)
	if err != nil || r.Days < 1 {
		t.Fatalf("roll-up after the late rows = %+v, %v", r, err)
	}
	f.db.Get(&stale, `SELECT count(*) FROM hotline.report_stale WHERE day < (SELECT upto FROM hotline.report_rollup)`)
	if stale != 0 {
		t.Errorf("%d stale marks of rolled-up days after the second roll-up", stale)
	}
	for _, table := range []string{"hotline.report_queue_slots", "hotline.report_queue_days"} {
		var offered int
		f.db.Get(&offered, `SELECT sum(offered) FROM `+table+` WHERE queue_id = 'ss'`)
		if offered != 5 {
			t.Errorf("ss's %s offer %d entries after the recomputation, want 5", table, offered)
		}
	}
	sameReports(t, f.db)
	agents, err := postgres.AgentReport(ctx, f.db, day)
	if err != nil || agents[0].Answered != 2 || agents[0].Surveyed != 1 || agents[0].States["talking"] != 120+180.530865 {
		t.Errorf("a1 with the late call = %+v, %v; want 2 answered, 1 surveyed, 300.530865 s talking", agents, err)
	}
}

// Emptying the event tables (hotline seed --replace) empties the roll-ups; the next run
// starts over.
func TestReportRollupsReset(t *testing.T) {
	f := newReportFixture(t)
	ctx := context.Background()
	if _, err := postgres.RollUpReports(ctx, f.db); err != nil {
		t.Fatal(err)
	}
	f.db.MustExec(`TRUNCATE hotline.calls CASCADE`)
	var rows int
	f.db.Get(&rows, `SELECT (SELECT count(*) FROM hotline.report_queue_slots) + (SELECT count(*) FROM hotline.report_agent_days)
		+ (SELECT count(*) FROM hotline.report_flow_days) + (SELECT count(*) FROM hotline.report_rollup WHERE upto IS NOT NULL)`)
	if rows != 0 {
		t.Errorf("%d roll-up rows after the event tables were emptied", rows)
	}
	day := postgres.ReportQuery{From: dec1("00:00:00"), To: dec1("00:00:00").AddDate(0, 0, 1), Bucket: postgres.BucketDay}
	if _, err := postgres.RollUpReports(ctx, f.db); err != nil {
		t.Fatal(err)
	}
	if rows, err := postgres.QueueReport(ctx, f.db, day); err != nil || len(rows) != 0 {
		t.Errorf("1 December's queues after the calls were emptied: %+v, %v", rows, err)
	}
}

// One run at a time; on demand, only once the first run is made and not more often than asked.
func TestReportRollupsLockAndDue(t *testing.T) {
	f := newReportFixture(t)
	ctx := context.Background()
	if r, err := postgres.RollUpReportsIfDue(ctx, f.db, 0); err != nil || r.Days != 0 {
		t.Errorf("on demand before the first run = %+v, %v; want nothing done", r, err)
	}
	conn, err := f.db.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(1234500025)`); err != nil {
		t.Fatal(err)
	}
	if r, err := postgres.RollUpReports(ctx, f.db); err != nil || !r.Busy {
		t.Errorf("a run while another holds the lock = %+v, %v; want busy", r, err)
	}
	conn.ExecContext(ctx, `SELECT pg_advisory_unlock(1234500025)`)
	if r, err := postgres.RollUpReports(ctx, f.db); err != nil || r.Busy || r.Days == 0 {
		t.Fatalf("the first run = %+v, %v", r, err)
	}
	f.db.MustExec(`INSERT INTO hotline.report_stale (day) VALUES ('2026-12-01')`)
	if r, err := postgres.RollUpReportsIfDue(ctx, f.db, time.Hour); err != nil || r.Days != 0 {
		t.Errorf("on demand just after a run = %+v, %v; want nothing done", r, err)
	}
	if r, err := postgres.RollUpReportsIfDue(ctx, f.db, 0); err != nil || r.Days != 1 {
		t.Errorf("on demand when due = %+v, %v; want the stale day recomputed", r, err)
	}
}
