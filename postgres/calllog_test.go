package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

var (
	_ ivr.Recorder = (*postgres.CallLog)(nil)
	_ ivr.Services = (*postgres.IVRServices)(nil)
)

// manual batches only when flushed or full, so a test decides what one batch holds.
var manual = postgres.CallLogOptions{MaxDelay: time.Hour, MaxBatch: 10000}

// t0 is when the test calls start.
var t0 = time.Date(2026, 3, 10, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newCallLog returns a CallLog on db, closed when the test ends, and its log output.
func newCallLog(t testing.TB, db *sqlx.DB, opts postgres.CallLogOptions) (*postgres.CallLog, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	l := postgres.NewCallLog(db, slog.New(slog.NewTextHandler(out, nil)), opts)
	t.Cleanup(func() {
		if err := l.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return l, out
}

// syncBuffer is a bytes.Buffer for a logger written from another goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startCall starts a call with a new id on l and returns the id.
func startCall(t testing.TB, l *postgres.CallLog, channel string) string {
	t.Helper()
	id := newUUID()
	err := l.StartCall(context.Background(), hotline.CallRecord{ID: id, Node: "ast1", ChannelID: channel,
		CallerNumber: "13800138000", StartedAt: t0})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// entry and exit are a step's two records.
func entry(call string, seq int, node string) hotline.CallStep {
	return hotline.CallStep{CallID: call, Seq: seq, Flow: "main", Node: node, Kind: "menu",
		EnteredAt: t0.Add(time.Duration(seq) * time.Second)}
}

func exit(call string, seq int, node, exitName, input string) hotline.CallStep {
	s := entry(call, seq, node)
	s.LeftAt = s.EnteredAt.Add(500 * time.Millisecond)
	s.Exit, s.Input = exitName, input
	return s
}

// stepRow is a call_steps row as read back.
type stepRow struct {
	Seq       int        `db:"seq"`
	Node      string     `db:"node"`
	EnteredAt time.Time  `db:"entered_at"`
	LeftAt    *time.Time `db:"left_at"`
	Exit      *string    `db:"exit"`
	Input     *string    `db:"input"`
}

func steps(t *testing.T, db *sqlx.DB, call string) []stepRow {
	t.Helper()
	var rows []stepRow
	err := db.Select(&rows, `SELECT seq, node, entered_at, left_at, exit, input FROM hotline.call_steps
		WHERE call_id = $1 ORDER BY seq`, call)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestCallLogEndCarriesTheSurvey: a call's end record saves the caller's survey answer when
// the IVR's own save did not (the database was down then), corrects one that differs, and leaves
// one that agrees as it was.
func TestCallLogEndCarriesTheSurvey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	l, _ := newCallLog(t, f.db, postgres.CallLogOptions{})
	missing, differs, agrees := startCall(t, l, "chan-1"), startCall(t, l, "chan-2"), startCall(t, l, "chan-3")
	must(t, l.Flush(ctx))
	f.exec(t, `INSERT INTO hotline.survey_answers (call_id, score, answered_at) VALUES ($1, 2, $3), ($2, 1, $3)`,
		differs, agrees, t0.Add(10*time.Second))
	at := t0.Add(50 * time.Second)
	for id, level := range map[string]int{missing: 5, differs: 3, agrees: 1} {
		must(t, l.EndCall(ctx, hotline.CallEnd{CallID: id, EndedAt: t0.Add(time.Minute), Outcome: hotline.OutcomeSelfServed,
			Survey: level, SurveyAt: at}))
	}
	must(t, l.Close(ctx))
	for id, want := range map[string]struct {
		score int
		at    time.Time
	}{missing: {5, at}, differs: {3, at}, agrees: {1, t0.Add(10 * time.Second)}} {
		var got struct {
			Score int       `db:"score"`
			At    time.Time `db:"answered_at"`
		}
		must(t, f.db.Get(&got, `SELECT score, answered_at FROM hotline.survey_answers WHERE call_id = $1`, id))
		if got.Score != want.score || !got.At.Equal(want.at) {
			t.Errorf("call %s: score %d at %v, want %d at %v", id, got.Score, got.At, want.score, want.at)
		}
	}
}

// TestCallLogRecordsARecording: a conversation's recording is saved when it starts and again
// with its length when it stops; the two make one row whether they meet in a batch or not, and
// a recording of a call with no row is refused without keeping the others out.
func TestCallLogRecordsARecording(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	agent := f.id64(t, `INSERT INTO hotline.agents (username, display_name, role, password_hash)
		VALUES ('a1', '坐席一', 'agent', 'x') RETURNING id`)
	l, out := newCallLog(t, f.db, postgres.CallLogOptions{})
	apart, together := startCall(t, l, "chan-1"), startCall(t, l, "chan-2")
	rec := func(call string, length time.Duration) hotline.Recording {
		return hotline.Recording{CallID: call, AgentID: agent, Kind: hotline.RecordingConversation, Node: "ast1",
			Name: "conv-" + call, Format: "wav", StartedAt: t0.Add(time.Minute), Duration: length}
	}
	must(t, l.Recording(ctx, rec(apart, 0)))
	must(t, l.Flush(ctx))
	must(t, l.Recording(ctx, rec(apart, 95*time.Second)))
	must(t, l.Recording(ctx, rec(together, 0)))
	must(t, l.Recording(ctx, rec(together, 42*time.Second)))
	must(t, l.Recording(ctx, rec(newUUID(), 0))) // no such call
	if err := l.Recording(ctx, hotline.Recording{CallID: apart, Name: "x"}); err == nil {
		t.Error("a recording without kind and node was taken")
	}
	must(t, l.Close(ctx))

	for call, want := range map[string]int64{apart: 95000, together: 42000} {
		var got struct {
			Duration int64     `db:"duration_ms"`
			Agent    int64     `db:"agent_id"`
			Node     string    `db:"node"`
			Started  time.Time `db:"started_at"`
			Rows     int       `db:"rows"`
		}
		must(t, f.db.Get(&got, `SELECT max(duration_ms) AS duration_ms, max(agent_id) AS agent_id, max(node) AS node,
			max(started_at) AS started_at, count(*) AS rows FROM hotline.recordings WHERE call_id = $1`, call))
		if got.Rows != 1 || got.Duration != want || got.Agent != agent || got.Node != "ast1" || !got.Started.Equal(t0.Add(time.Minute)) {
			t.Errorf("call %s: recording %+v, want one row of %d ms by agent %d on ast1", call, got, want, agent)
		}
	}
	if st := l.Stats(); st.Failed != 1 || st.Written != 6 {
		t.Errorf("stats = %+v, want 6 records written (2 starts, 4 recordings) and the stray one failed", st)
	}
	if !strings.Contains(out.String(), "kind=recording") {
		t.Errorf("the stray recording was not reported:\n%s", out.String())
	}
}

func TestCallLogRecordsACall(t *testing.T) {
	f := newFixture(t)
	f.exec(t, `INSERT INTO hotline.skills (id, name) VALUES ('general', '综合')`)
	f.exec(t, `INSERT INTO hotline.queues (id, name, skill_id) VALUES ('general', '综合咨询', 'general')`)
	ctx := context.Background()
	l, _ := newCallLog(t, f.db, postgres.CallLogOptions{})
	call := startCall(t, l, "chan-1")
	// Starting it again (a retry) changes nothing.
	must(t, l.StartCall(ctx, hotline.CallRecord{ID: call, Node: "ast1", ChannelID: "chan-1", CallerNumber: "x", StartedAt: t0}))

	must(t, l.Step(ctx, entry(call, 1, "welcome")))
	must(t, l.Step(ctx, exit(call, 1, "welcome", "next", "")))
	must(t, l.Step(ctx, entry(call, 2, "verify_id")))
	must(t, l.Step(ctx, exit(call, 2, "verify_id", "ok", "******************")))
	must(t, l.Step(ctx, entry(call, 3, "menu"))) // the caller hangs up here
	must(t, l.EndCall(ctx, hotline.CallEnd{CallID: call, EndedAt: t0.Add(time.Minute), AnsweredAt: t0.Add(time.Second),
		Outcome: hotline.OutcomeHangup, Language: "yue", CitizenID: f.real, QueueID: "general", FollowUp: true}))
	must(t, l.Close(ctx))

	var c struct {
		Caller    string     `db:"caller_number"`
		Language  string     `db:"language"`
		Citizen   *int64     `db:"citizen_id"`
		Answered  *time.Time `db:"answered_at"`
		Ended     *time.Time `db:"ended_at"`
		Outcome   *string    `db:"outcome"`
		Queue     *string    `db:"queue_id"`
		FollowUp  bool       `db:"follow_up"`
		FlowVerID *int64     `db:"flow_version_id"`
	}
	must(t, f.db.Get(&c, `SELECT caller_number, language, citizen_id, answered_at, ended_at, outcome, queue_id,
		follow_up, flow_version_id FROM hotline.calls WHERE id = $1`, call))
	if c.Caller != "13800138000" || c.Language != "yue" || c.Citizen == nil || *c.Citizen != f.real ||
		str(c.Outcome) != hotline.OutcomeHangup || str(c.Queue) != "general" || !c.FollowUp || c.FlowVerID != nil {
		t.Errorf("call row = %+v", c)
	}
	if c.Answered == nil || !c.Answered.Equal(t0.Add(time.Second)) || c.Ended == nil || !c.Ended.Equal(t0.Add(time.Minute)) {
		t.Errorf("answered %v, ended %v", c.Answered, c.Ended)
	}

	got := steps(t, f.db, call)
	if len(got) != 3 {
		t.Fatalf("%d steps, want 3: %+v", len(got), got)
	}
	for i, want := range []struct {
		node, exit, input string
		left              bool
	}{
		{"welcome", "next", "<nil>", true},
		{"verify_id", "ok", "******************", true},
		{"menu", "<nil>", "<nil>", false},
	} {
		s := got[i]
		if s.Node != want.node || str(s.Exit) != want.exit || str(s.Input) != want.input || (s.LeftAt != nil) != want.left {
			t.Errorf("step %d = %s exit %s input %s left %v, want %+v", s.Seq, s.Node, str(s.Exit), str(s.Input), s.LeftAt, want)
		}
		if !s.EnteredAt.Equal(t0.Add(time.Duration(i+1) * time.Second)) {
			t.Errorf("step %d entered at %v", s.Seq, s.EnteredAt)
		}
	}
	if st := l.Stats(); st.Written != 8 || st.Failed != 0 || st.Pending != 0 { // the starts count too
		t.Errorf("stats = %+v, want 8 written", st)
	}
}

func TestCallLogMergesAStepsRecordsInABatch(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()
	l, _ := newCallLog(t, db, manual)
	call := startCall(t, l, "chan-1")
	must(t, l.Step(ctx, entry(call, 1, "welcome")))
	must(t, l.Step(ctx, entry(call, 2, "menu")))
	must(t, l.Step(ctx, exit(call, 1, "welcome", "next", "")))
	must(t, l.Step(ctx, exit(call, 2, "menu", "1", "1")))
	must(t, l.EndCall(ctx, hotline.CallEnd{CallID: call, EndedAt: t0.Add(time.Minute), Outcome: hotline.OutcomeSelfServed}))
	must(t, l.Flush(ctx))

	// One statement for the start, one for the four step records (two rows), one for the end:
	// a statement that touched a row twice would have been refused and written row by row.
	if got, want := l.Stats(), (postgres.CallLogStats{Written: 6, Batches: 3}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	got := steps(t, db, call)
	if len(got) != 2 || str(got[0].Exit) != "next" || str(got[1].Exit) != "1" || str(got[1].Input) != "1" ||
		got[0].LeftAt == nil || got[1].LeftAt == nil {
		t.Errorf("steps = %+v", got)
	}
}

func TestCallLogUpdatesAStepAtExit(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()
	l, _ := newCallLog(t, db, manual)
	call := startCall(t, l, "chan-1")
	must(t, l.Step(ctx, entry(call, 1, "collect_id")))
	must(t, l.Flush(ctx))
	s := steps(t, db, call)
	if len(s) != 1 || s[0].LeftAt != nil || s[0].Exit != nil || s[0].Input != nil {
		t.Fatalf("at entry: %+v", s)
	}
	must(t, l.Step(ctx, exit(call, 1, "collect_id", "ok", "**************123X")))
	must(t, l.Flush(ctx))
	s = steps(t, db, call)
	if len(s) != 1 || s[0].LeftAt == nil || !s[0].LeftAt.Equal(t0.Add(1500*time.Millisecond)) ||
		str(s[0].Exit) != "ok" || str(s[0].Input) != "**************123X" {
		t.Fatalf("at exit: %+v", s)
	}
	if got, want := l.Stats().Batches, int64(3); got != want { // the start, the entry, the exit
		t.Errorf("%d statements, want %d", got, want)
	}
}

func TestCallLogCloseFlushes(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()
	l := postgres.NewCallLog(db, quiet(), manual)
	call := startCall(t, l, "chan-1")
	for seq := 1; seq <= 10; seq++ {
		must(t, l.Step(ctx, exit(call, seq, "n", "next", "")))
	}
	must(t, l.EndCall(ctx, hotline.CallEnd{CallID: call, EndedAt: t0.Add(time.Minute), Outcome: hotline.OutcomeAbandoned}))
	must(t, l.Close(ctx))
	if got, want := len(steps(t, db, call)), 10; got != want {
		t.Errorf("%d steps after Close, want %d", got, want)
	}
	var outcome string
	must(t, db.Get(&outcome, `SELECT outcome FROM hotline.calls WHERE id = $1`, call))
	if outcome != hotline.OutcomeAbandoned {
		t.Errorf("outcome %q, want %q", outcome, hotline.OutcomeAbandoned)
	}
	if err := l.Step(ctx, entry(call, 11, "late")); !errors.Is(err, postgres.ErrCallLogClosed) {
		t.Errorf("Step after Close: %v, want ErrCallLogClosed", err)
	}
	if err := l.Flush(ctx); !errors.Is(err, postgres.ErrCallLogClosed) {
		t.Errorf("Flush after Close: %v, want ErrCallLogClosed", err)
	}
	must(t, l.Close(ctx)) // again
}

func TestCallLogRefusesIncompleteRecords(t *testing.T) {
	l := postgres.NewCallLog(nil, quiet(), manual)
	defer l.Close(context.Background())
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"step without call", l.Step(ctx, hotline.CallStep{Seq: 1})},
		{"step without seq", l.Step(ctx, hotline.CallStep{CallID: newUUID()})},
		{"end without call", l.EndCall(ctx, hotline.CallEnd{Outcome: hotline.OutcomeHangup})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil {
				t.Error("accepted")
			}
		})
	}
	if got := l.Stats().Pending; got != 0 {
		t.Errorf("%d pending, want 0", got)
	}
}

func TestCallLogConcurrentCalls(t *testing.T) {
	const calls, stepsPerCall = 200, 20
	db := pgtest.DB(t)
	ctx := context.Background()
	// A small buffer sends most records through the spool file.
	l, out := newCallLog(t, db, postgres.CallLogOptions{Buffer: 64, MaxBatch: 100, SpoolDir: t.TempDir()})
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	for i := range calls {
		wg.Go(func() {
			id := newUUID()
			err := l.StartCall(ctx, hotline.CallRecord{ID: id, Node: "ast1", ChannelID: fmt.Sprint("chan-", i),
				CallerNumber: "13800138000", StartedAt: t0})
			for seq := 1; seq <= stepsPerCall && err == nil; seq++ {
				if err = l.Step(ctx, entry(id, seq, "n")); err == nil {
					err = l.Step(ctx, exit(id, seq, "n", "next", ""))
				}
			}
			if err == nil {
				err = l.EndCall(ctx, hotline.CallEnd{CallID: id, EndedAt: t0.Add(time.Minute), Outcome: hotline.OutcomeSelfServed})
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	must(t, l.Flush(ctx))

	var n struct {
		Steps  int `db:"steps"`
		Open   int `db:"open"`
		Ended  int `db:"ended"`
		MaxSeq int `db:"max_seq"`
	}
	must(t, db.Get(&n, `SELECT (SELECT count(*) FROM hotline.call_steps) AS steps,
		(SELECT count(*) FROM hotline.call_steps WHERE exit IS NULL OR left_at IS NULL) AS open,
		(SELECT count(*) FROM hotline.calls WHERE outcome = 'self_served' AND ended_at IS NOT NULL) AS ended,
		(SELECT max(seq) FROM hotline.call_steps) AS max_seq`))
	if n.Steps != calls*stepsPerCall || n.Open != 0 || n.Ended != calls || n.MaxSeq != stepsPerCall {
		t.Errorf("written %+v, want %d steps all closed, %d calls ended", n, calls*stepsPerCall, calls)
	}
	st := l.Stats()
	if got, want := st.Written, int64(calls*(2*stepsPerCall+2)); got != want || st.Failed != 0 || st.Pending != 0 {
		t.Errorf("stats = %+v, want %d written, none failed or pending", st, want)
	}
	if s := out.String(); s != "" {
		t.Errorf("log: %s", s)
	}
}

func TestCallLogBadRecordsKeepOthersOut(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()
	l, out := newCallLog(t, db, manual)
	a, b := startCall(t, l, "chan-a"), startCall(t, l, "chan-b")
	ghost := newUUID() // never started
	// One batch: each statement fails as a whole and is written row by row.
	must(t, l.Step(ctx, exit(a, 1, "welcome", "next", "")))
	must(t, l.Step(ctx, exit(ghost, 1, "welcome", "next", ""))) // foreign key violation
	must(t, l.Step(ctx, exit(b, 1, "welcome", "next", "")))
	must(t, l.EndCall(ctx, hotline.CallEnd{CallID: ghost, EndedAt: t0.Add(time.Minute), Outcome: hotline.OutcomeHangup}))
	must(t, l.EndCall(ctx, hotline.CallEnd{CallID: b, EndedAt: t0.Add(time.Minute), Outcome: "bogus"})) // check violation
	must(t, l.EndCall(ctx, hotline.CallEnd{CallID: a, EndedAt: t0.Add(time.Minute), Outcome: hotline.OutcomeHangup}))
	must(t, l.Flush(ctx))

	for _, call := range []string{a, b} {
		if got := steps(t, db, call); len(got) != 1 || str(got[0].Exit) != "next" {
			t.Errorf("steps of %s = %+v", call, got)
		}
	}
	var outcomes []string
	must(t, db.Select(&outcomes, `SELECT COALESCE(outcome, '-') FROM hotline.calls ORDER BY channel_id`))
	if got, want := strings.Join(outcomes, ","), "hangup,-"; got != want {
		t.Errorf("outcomes of a, b = %s, want %s", got, want)
	}
	if got, want := l.Stats(), (postgres.CallLogStats{Written: 5, Failed: 3, Batches: 4}); got != want {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	log := out.String()
	for _, want := range []string{"call_id=" + ghost, "call_id=" + b, "records not written", "count=1", "count=2"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "call_id="+a) {
		t.Errorf("log names the good call:\n%s", log)
	}
}

func TestCallLogRetriesWhileTheDatabaseHangs(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()
	l := postgres.NewCallLog(db, quiet(), postgres.CallLogOptions{MaxDelay: time.Hour,
		Backoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond, WriteTimeout: 100 * time.Millisecond})
	call := startCall(t, l, "chan-1")
	must(t, l.Flush(ctx))
	// Another transaction holds the table: every write times out, a passing failure.
	lock, err := db.BeginTxx(ctx, nil)
	must(t, err)
	defer lock.Rollback()
	_, err = lock.Exec(`LOCK TABLE hotline.call_steps IN ACCESS EXCLUSIVE MODE`)
	must(t, err)

	must(t, l.Step(ctx, entry(call, 1, "welcome")))
	must(t, l.Step(ctx, entry(call, 2, "menu")))
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if err := l.Flush(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("flush while locked: %v, want the context's deadline", err)
	}
	if st := l.Stats(); st.Failed != 0 || st.Pending != 2 {
		t.Errorf("while locked: stats = %+v, want 2 pending, none failed", st)
	}
	must(t, lock.Rollback())
	must(t, l.Flush(ctx))
	if st := l.Stats(); st.Retries == 0 || st.Failed != 0 {
		t.Errorf("after the lock: stats = %+v, want retries, none failed", st)
	}
	if got := steps(t, db, call); len(got) != 2 {
		t.Errorf("after the lock: steps %+v, want 2", got)
	}

	// Close gives up on what it cannot write when its context ends, and says so.
	lock, err = db.BeginTxx(ctx, nil)
	must(t, err)
	defer lock.Rollback()
	_, err = lock.Exec(`LOCK TABLE hotline.call_steps IN ACCESS EXCLUSIVE MODE`)
	must(t, err)
	must(t, l.Step(ctx, entry(call, 3, "bills")))
	closing, cancelClose := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelClose()
	if err := l.Close(closing); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close with an ended context: %v, want context.DeadlineExceeded", err)
	}
	if got := l.Stats(); got.Failed != 1 || got.Pending != 0 {
		t.Errorf("after Close: stats = %+v, want 1 failed, none pending", got)
	}
}

func TestCallLogCollector(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()
	l, _ := newCallLog(t, db, manual)
	call := startCall(t, l, "chan-1")
	must(t, l.Step(ctx, entry(call, 1, "welcome")))
	must(t, l.Step(ctx, entry(newUUID(), 1, "welcome")))
	must(t, l.Flush(ctx))
	must(t, l.Step(ctx, entry(call, 2, "menu")))
	reg := prometheus.NewPedanticRegistry() // checks Describe against Collect
	if err := reg.Register(l.Collector()); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			got[f.GetName()] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"hotline_call_log_pending":              1,
		"hotline_call_log_written_total":        2,
		"hotline_call_log_failed_total":         1,
		"hotline_call_log_batches_total":        2,
		"hotline_call_log_spilled_total":        0,
		"hotline_call_log_retries_total":        0,
		"hotline_call_log_orphans_closed_total": 0,
	}
	if !maps.Equal(got, want) {
		t.Errorf("metrics = %v, want %v", got, want)
	}
}

// BenchmarkCallLog measures call step records written per second through a CallLog: 200
// callers, each on its own call, record their steps at entry and exit as fast as they can;
// b.N is the number of step records and the time includes the final flush (records/s).
// Sub-benchmarks vary the batch size; "unbatched" writes each record with its own INSERT on a
// pool of 20 connections, for comparison. The test server runs with fsync off.
//
//	go test -run '^$' -bench CallLog -benchtime 200000x ./postgres
func BenchmarkCallLog(b *testing.B) {
	for _, size := range []int{50, 500, 2000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			db := pgtest.DB(b)
			l := postgres.NewCallLog(db, quiet(), postgres.CallLogOptions{MaxBatch: size})
			benchSteps(b, l, l.Step, func() error { return l.Flush(context.Background()) })
			must(b, l.Close(context.Background()))
			if st := l.Stats(); st.Failed != 0 || st.Written < int64(b.N) { // the calls' starts count too
				b.Fatalf("stats = %+v, want %d written", st, b.N)
			}
			b.ReportMetric(float64(b.N)/float64(l.Stats().Batches), "records/stmt")
		})
	}
	b.Run("unbatched", func(b *testing.B) {
		db := pgtest.DB(b)
		db.SetMaxOpenConns(20)
		l := postgres.NewCallLog(db, quiet(), postgres.CallLogOptions{})
		defer l.Close(context.Background())
		const upsert = `
			INSERT INTO hotline.call_steps AS s (call_id, seq, flow, node, kind, entered_at, left_at, exit, input)
			VALUES ($1, $2, $3, $4, $5, $6, $7, NULLIF($8, ''), NULLIF($9, ''))
			ON CONFLICT (call_id, seq) DO UPDATE SET left_at = COALESCE(EXCLUDED.left_at, s.left_at),
				exit = COALESCE(EXCLUDED.exit, s.exit), input = COALESCE(EXCLUDED.input, s.input)`
		write := func(ctx context.Context, s hotline.CallStep) error {
			var left any
			if !s.LeftAt.IsZero() {
				left = s.LeftAt
			}
			_, err := db.ExecContext(ctx, upsert, s.CallID, s.Seq, s.Flow, s.Node, s.Kind, s.EnteredAt, left, s.Exit, s.Input)
			return err
		}
		benchSteps(b, l, write, func() error { return nil })
	})
}

// benchSteps starts 200 calls on l, then has one goroutine per call write b.N step records
// in all with step, entry then exit of each node, and reports records/s including flush.
func benchSteps(b *testing.B, l *postgres.CallLog, step func(context.Context, hotline.CallStep) error, flush func() error) {
	const callers = 200
	ctx := context.Background()
	calls := make([]string, callers)
	for i := range calls {
		calls[i] = startCall(b, l, fmt.Sprint("chan-", i))
	}
	must(b, l.Flush(ctx)) // the starts are written before the steps that refer to them
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i, call := range calls {
		n := b.N / callers
		if i < b.N%callers {
			n++
		}
		wg.Go(func() {
			for k := range n {
				s := entry(call, k/2+1, "n")
				if k%2 == 1 {
					s = exit(call, k/2+1, "n", "next", "")
				}
				if err := step(ctx, s); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	must(b, flush())
	elapsed := time.Since(start)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
}
