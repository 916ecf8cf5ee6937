package agentdesk

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// oneByOne is an ACD without Statuses: the snapshots read its agents' states one by one.
type oneByOne struct{ AgentStates }

// TestSnapshotsOfABatch checks that the snapshots of agents read together are those of the
// agents read alone, and what they should be, for agents in every kind of state: ringing,
// talking, in wrap-up (the dispositions of the last call's queue), paused, never logged in
// to the ACD, and a user who takes no calls; with the ACD's states read in one query and one
// by one.
func TestSnapshotsOfABatch(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	base := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	exec(`INSERT INTO hotline.instances (id, heartbeat_at) VALUES ('a', now())`)
	exec(`INSERT INTO hotline.skills (id, name) VALUES ('general', '综合'), ('insurance', '社保')`)
	exec(`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('general', '综合咨询', 'general'), ('insurance', '社会保障咨询', 'insurance')`)
	exec(`UPDATE hotline.queues SET disposition_required = true WHERE id = 'insurance'`)
	exec(`INSERT INTO hotline.dispositions (queue_id, code, name, position) VALUES
		('insurance', 'work_order', '转工单', 2), ('insurance', 'answered', '已解答', 1), ('general', 'answered', '已解答', 1)`)
	agent := func(name, endpoint string, skills map[string]int) hotline.Agent {
		t.Helper()
		a := hotline.Agent{Username: name, DisplayName: "坐席" + name, Role: hotline.RoleAgent, Endpoint: endpoint, Active: true}
		if err := db.Get(&a.ID, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
			VALUES ($1, $2, $3, 'x', NULLIF($4, '')) RETURNING id`, a.Username, a.DisplayName, a.Role, endpoint); err != nil {
			t.Fatal(err)
		}
		for s, level := range skills {
			exec(`INSERT INTO hotline.agent_skills (agent_id, skill_id, level) VALUES ($1, $2, $3)`, a.ID, s, level)
		}
		return a
	}
	calls := map[string]string{}
	call := func(name string, queue string, at time.Time) string {
		t.Helper()
		var id string
		if err := db.Get(&id, `INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, queue_id)
			VALUES (gen_random_uuid(), 'ast1', $1, $2, $3, NULLIF($4, '')) RETURNING id::text`, "chan-"+name, "1380013"+name, at, queue); err != nil {
			t.Fatal(err)
		}
		calls[name] = id
		return id
	}
	offer := func(callID string, agentID int64, queue, state string, at time.Time) int64 {
		t.Helper()
		var id int64
		decided := any(nil)
		if state != "pending" {
			decided = at.Add(5 * time.Second)
		}
		if err := db.Get(&id, `INSERT INTO hotline.offers (call_id, agent_id, queue_id, state, offered_at, decided_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, callID, agentID, queue, state, at, decided); err != nil {
			t.Fatal(err)
		}
		return id
	}
	status := func(agentID int64, state hotline.AgentState, reason, callID string, offerID int64, wrapUpUntil *time.Time) {
		t.Helper()
		exec(`INSERT INTO hotline.agent_status (agent_id, state, reason, since, instance_id, session_id, call_id, offer_id, wrap_up_until)
			VALUES ($1, $2, $3, $4, 'a', 's', NULLIF($5, '')::uuid, NULLIF($6, 0), $7)`, agentID, state, reason, base, callID, offerID, wrapUpUntil)
	}

	ringing := agent("01", "PJSIP/1001", map[string]int{"general": 5, "insurance": 3})
	old := call("0101", "general", base.Add(-time.Hour))
	offer(old, ringing.ID, "general", "rejected", base.Add(-time.Hour))
	ringCall := call("0102", "insurance", base)
	ringOffer := offer(ringCall, ringing.ID, "insurance", "pending", base)
	status(ringing.ID, hotline.AgentRinging, "", ringCall, ringOffer, nil)

	talking := agent("02", "PJSIP/1002", map[string]int{"general": 1})
	talkCall := call("0201", "general", base)
	offer(talkCall, talking.ID, "general", "accepted", base)
	status(talking.ID, hotline.AgentTalking, "", talkCall, 0, nil)

	until := base.Add(30 * time.Second)
	wrapping := agent("03", "PJSIP/1003", map[string]int{"insurance": 2})
	offer(call("0301", "general", base.Add(-2*time.Hour)), wrapping.ID, "general", "accepted", base.Add(-2*time.Hour))
	offer(call("0302", "insurance", base.Add(-time.Hour)), wrapping.ID, "insurance", "accepted", base.Add(-time.Hour))
	status(wrapping.ID, hotline.AgentWrapUp, "", "", 0, &until)

	wrappingGeneral := agent("04", "PJSIP/1004", map[string]int{"general": 2})
	offer(call("0401", "insurance", base.Add(-2*time.Hour)), wrappingGeneral.ID, "insurance", "accepted", base.Add(-2*time.Hour))
	offer(call("0402", "general", base.Add(-time.Hour)), wrappingGeneral.ID, "general", "accepted", base.Add(-time.Hour))
	status(wrappingGeneral.ID, hotline.AgentWrapUp, "", "", 0, &until)

	paused := agent("05", "PJSIP/1005", map[string]int{"general": 1, "insurance": 1})
	status(paused.ID, hotline.AgentPaused, "meal", "", 0, nil)
	never := agent("06", "PJSIP/1006", nil)
	noPhone := agent("07", "", map[string]int{"general": 1})

	agents := []hotline.Agent{ringing, talking, wrapping, wrappingGeneral, paused, never, noPhone}
	since := base
	wantSkills := map[int64][]skillLevel{
		ringing.ID:         {{"general", 5}, {"insurance", 3}},
		talking.ID:         {{"general", 1}},
		wrapping.ID:        {{"insurance", 2}},
		wrappingGeneral.ID: {{"general", 2}},
		paused.ID:          {{"general", 1}, {"insurance", 1}},
	}
	answered := []codeName{{"answered", "已解答"}}
	want := map[int64]snapshot{
		ringing.ID: {Status: statusView{State: hotline.AgentRinging, Since: &since, CallID: ringCall},
			Offer: &offerView{ID: ringOffer, CallID: ringCall, QueueID: "insurance", QueueName: "社会保障咨询", CallerNumber: "13800130102", OfferedAt: base, Kind: "call"},
			Call:  &callView{ID: ringCall, QueueID: "insurance", QueueName: "社会保障咨询", CallerNumber: "13800130102", Language: "zh", StartedAt: base}},
		talking.ID: {Status: statusView{State: hotline.AgentTalking, Since: &since, CallID: talkCall},
			Call: &callView{ID: talkCall, QueueID: "general", QueueName: "综合咨询", CallerNumber: "13800130201", Language: "zh", StartedAt: base, ConnectedAt: new(base.Add(5 * time.Second))}},
		wrapping.ID: {Status: statusView{State: hotline.AgentWrapUp, Since: &since, WrapUpUntil: &until},
			WrapUp: &wrapUpView{CallID: calls["0302"], QueueID: "insurance", QueueName: "社会保障咨询", Required: true,
				Dispositions: []codeName{{"answered", "已解答"}, {"work_order", "转工单"}}}},
		wrappingGeneral.ID: {Status: statusView{State: hotline.AgentWrapUp, Since: &since, WrapUpUntil: &until},
			WrapUp: &wrapUpView{CallID: calls["0402"], QueueID: "general", QueueName: "综合咨询", Dispositions: answered}},
		paused.ID:  {Status: statusView{State: hotline.AgentPaused, Reason: "meal", Since: &since}},
		never.ID:   {Status: statusView{State: hotline.AgentOffline}},
		noPhone.ID: {Status: statusView{State: hotline.AgentOffline}},
	}
	counts := map[string]queueCount{"general": {ID: "general", Name: "综合咨询"}, "insurance": {ID: "insurance", Name: "社会保障咨询"}}
	encode := func(p agentPart) string {
		t.Helper()
		b, err := json.Marshal(compose(p, counts))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	acd := postgres.NewACD(postgres.New(db, nil, nil), "a")
	for _, states := range []struct {
		name   string
		states AgentStates
	}{{"states read together", acd}, {"states read one by one", oneByOne{acd}}} {
		s := &Server{o: Options{DB: db}, states: states.states, now: time.Now}
		s.hub = newHub(s)
		parts, err := s.loadAgents(ctx, agents)
		if err != nil {
			t.Fatalf("%s: %v", states.name, err)
		}
		if len(parts) != len(agents) {
			t.Fatalf("%s: %d parts for %d agents", states.name, len(parts), len(agents))
		}
		for i, a := range agents {
			w := want[a.ID]
			w.Agent = viewUser(a)
			wantPart := agentPart{snapshot: w, skills: wantSkills[a.ID]}
			if got, want := encode(parts[i]), encode(wantPart); got != want {
				t.Errorf("%s: agent %s read with the others:\n got %s\nwant %s", states.name, a.Username, got, want)
			}
			alone, err := s.loadAgent(ctx, a)
			if err != nil {
				t.Fatalf("%s: agent %s alone: %v", states.name, a.Username, err)
			}
			if got, want := encode(alone), encode(wantPart); got != want {
				t.Errorf("%s: agent %s read alone:\n got %s\nwant %s", states.name, a.Username, got, want)
			}
		}
	}
}
