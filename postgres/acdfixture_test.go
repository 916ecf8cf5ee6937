package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// cst is China Standard Time, the hotline's time zone.
var cst = time.FixedZone("CST", 8*60*60)

// acdFixture is a contact centre: skills general, insurance and housing with a queue each
// (insurance requires a disposition; housing has no wrap-up), a supervisor, and instance "a"
// started. Agents and calls are added by the tests.
type acdFixture struct {
	db    *sqlx.DB
	store *postgres.Store
	clock *testClock
	acd   *postgres.ACD
	ivr   *postgres.IVRServices
	boss  int64
	n     int // agents added
	// skills counts the skills added by skill.
	skills int
}

func newACDFixture(t testing.TB) *acdFixture {
	t.Helper()
	return acdFixtureOn(t, pgtest.DB(t))
}

func acdFixtureOn(t testing.TB, db *sqlx.DB) *acdFixture {
	t.Helper()
	f := &acdFixture{db: db, clock: &testClock{t: time.Date(2026, 3, 10, 9, 0, 0, 0, cst)}}
	f.store = postgres.New(f.db, nil, f.clock.Now)
	f.acd = postgres.NewACD(f.store, "a")
	f.ivr = postgres.NewIVRServices(f.store)
	f.exec(t, `INSERT INTO hotline.skills (id, name) VALUES ('general', '综合'), ('insurance', '社保'), ('housing', '公积金')`)
	f.exec(t, `INSERT INTO hotline.queues (id, name, skill_id, whisper_prompt, ring_timeout_seconds) VALUES
		('general', '综合咨询', 'general', '', 15),
		('insurance', '社会保障咨询', 'insurance', 'whisper/insurance', 20),
		('housing', '公积金咨询', 'housing', '', 15)`)
	f.exec(t, `UPDATE hotline.queues SET disposition_required = true WHERE id = 'insurance'`)
	f.exec(t, `UPDATE hotline.queues SET wrap_up_seconds = 0 WHERE id = 'housing'`)
	f.exec(t, `INSERT INTO hotline.dispositions (queue_id, code, name, position) VALUES
		('insurance', 'answered', '已解答', 1), ('insurance', 'work_order', '转工单', 2), ('general', 'answered', '已解答', 1)`)
	f.boss = f.user(t, "boss", hotline.RoleSupervisor, "PJSIP/9000", nil)
	must(t, f.acd.Start(context.Background()))
	return f
}

func (f *acdFixture) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if _, err := f.db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func (f *acdFixture) int(t testing.TB, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := f.db.Get(&n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// user adds a desk user with a phone endpoint ("" for none) and skills (skill → level).
func (f *acdFixture) user(t testing.TB, name string, role hotline.Role, endpoint string, skills map[string]int) int64 {
	t.Helper()
	var ep any
	if endpoint != "" {
		ep = endpoint
	}
	id := f.int(t, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
		VALUES ($1, $1, $2, 'x', $3) RETURNING id`, name, role, ep)
	for s, level := range skills {
		f.exec(t, `INSERT INTO hotline.agent_skills (agent_id, skill_id, level) VALUES ($1, $2, $3)`, id, s, level)
	}
	return id
}

// agent adds an agent with a phone and skills.
func (f *acdFixture) agent(t testing.TB, skills map[string]int) int64 {
	t.Helper()
	f.n++
	return f.user(t, fmt.Sprintf("agent%03d", f.n), hotline.RoleAgent, fmt.Sprintf("PJSIP/%d", 1000+f.n), skills)
}

// skill adds a skill with a queue of the same name like general's (30 s wrap-up, disposition
// "answered").
func (f *acdFixture) skill(t testing.TB) string {
	t.Helper()
	f.skills++
	skill := fmt.Sprintf("own%d", f.skills)
	f.exec(t, `INSERT INTO hotline.skills (id, name) VALUES ($1, $1)`, skill)
	f.exec(t, `INSERT INTO hotline.queues (id, name, skill_id) VALUES ($1, $1, $1)`, skill)
	f.exec(t, `INSERT INTO hotline.dispositions (queue_id, code, name) VALUES ($1, 'answered', '已解答')`, skill)
	return skill
}

// ready logs the agent in on acd and makes them available.
func (f *acdFixture) ready(t testing.TB, acd *postgres.ACD, agentID int64) {
	t.Helper()
	ctx := context.Background()
	if _, _, err := acd.Login(ctx, agentID, fmt.Sprintf("session-%d", agentID)); err != nil {
		t.Fatal(err)
	}
	if _, err := acd.SetAvailable(ctx, agentID); err != nil {
		t.Fatal(err)
	}
}

// call inserts a call owned by instance ("" for none).
func (f *acdFixture) call(t testing.TB, instance string) string {
	t.Helper()
	id := newUUID()
	f.exec(t, `INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, instance_id)
		VALUES ($1::uuid, 'ast1', $1::text, '13800138000', $2, NULLIF($3, ''))`, id, f.clock.Now().Add(-time.Minute), instance)
	return id
}

// enter puts a new call of instance "a" in queue.
func (f *acdFixture) enter(t testing.TB, queue string, priority int) hotline.QueueEntry {
	t.Helper()
	e, err := f.ivr.EnterQueue(context.Background(), f.call(t, "a"), queue, priority)
	must(t, err)
	return e
}

// assign runs an assignment round of instance "a", live now.
func (f *acdFixture) assign(t testing.TB, max int) []hotline.Offer {
	t.Helper()
	ctx := context.Background()
	must(t, f.acd.Heartbeat(ctx))
	offers, err := f.acd.Assign(ctx, max)
	must(t, err)
	return offers
}

// status is the agent's state now.
func (f *acdFixture) status(t testing.TB, agentID int64) hotline.AgentStatus {
	t.Helper()
	st, err := f.acd.Status(context.Background(), agentID)
	must(t, err)
	return st
}

// logRow is a row of hotline.agent_state_log.
type logRow struct {
	State    string  `db:"state"`
	Previous *string `db:"previous"`
	Reason   string  `db:"reason"`
	Cause    string  `db:"cause"`
	CallID   *string `db:"call_id"`
}

func (f *acdFixture) log(t testing.TB, agentID int64) []logRow {
	t.Helper()
	var rows []logRow
	if err := f.db.Select(&rows, `SELECT state, previous, reason, cause, call_id::text AS call_id
		FROM hotline.agent_state_log WHERE agent_id = $1 ORDER BY id`, agentID); err != nil {
		t.Fatal(err)
	}
	return rows
}

// states lists the states the agent went through, reasons after a colon.
func (f *acdFixture) states(t testing.TB, agentID int64) string {
	t.Helper()
	var s []string
	for _, r := range f.log(t, agentID) {
		if r.Reason != "" {
			s = append(s, r.State+":"+r.Reason)
		} else {
			s = append(s, r.State)
		}
	}
	return strings.Join(s, " ")
}

// checkChain checks that each logged transition starts where the one before ended, and that
// agent_status agrees with the last one: the transitions of an agent are serialised.
func (f *acdFixture) checkChain(t testing.TB, agentID int64) {
	t.Helper()
	prev := "offline"
	for i, r := range f.log(t, agentID) {
		if r.Previous == nil || *r.Previous != prev {
			t.Errorf("agent %d: transition %d to %s from %v, want from %s", agentID, i, r.State, r.Previous, prev)
		}
		prev = r.State
	}
	if st := f.status(t, agentID); string(st.State) != prev {
		t.Errorf("agent %d: status %s, last logged %s", agentID, st.State, prev)
	}
}

func isConflict(err error) bool {
	var se *hotline.StateError
	return errors.Is(err, hotline.ErrConflict) && errors.As(err, &se) && se.Reason != ""
}

// into brings a new agent into a state, through the ACD's own transitions. The agent has a
// skill of their own, with a queue like general's (30 s wrap-up, disposition "answered").
func (f *acdFixture) into(t *testing.T, state hotline.AgentState) int64 {
	t.Helper()
	ctx := context.Background()
	skill := f.skill(t)
	id := f.agent(t, map[string]int{skill: 3})
	if state == hotline.AgentOffline {
		return id
	}
	_, _, err := f.acd.Login(ctx, id, "s")
	must(t, err)
	if state == hotline.AgentPaused {
		_, err := f.acd.Pause(ctx, id, "break")
		must(t, err)
		return id
	}
	_, err = f.acd.SetAvailable(ctx, id)
	must(t, err)
	if state == hotline.AgentAvailable {
		return id
	}
	f.enter(t, skill, 0)
	offers := f.assign(t, 10)
	if len(offers) != 1 || offers[0].AgentID != id {
		t.Fatalf("offers %+v, want one to agent %d", offers, id)
	}
	o := offers[0].ID
	switch state {
	case hotline.AgentMissed:
		must(t, f.acd.OfferEnded(ctx, o, hotline.OfferTimeout, "no answer"))
	case hotline.AgentTalking:
		must(t, f.acd.OfferAnswered(ctx, o))
	case hotline.AgentWrapUp:
		must(t, f.acd.OfferAnswered(ctx, o))
		must(t, f.acd.ConversationEnded(ctx, o))
	}
	if st := f.status(t, id); st.State != state {
		t.Fatalf("agent in %s, want %s", st.State, state)
	}
	return id
}
