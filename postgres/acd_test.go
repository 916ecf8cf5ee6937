package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// enterOn puts a new call of instance in queue.
func (f *acdFixture) enterOn(t testing.TB, instance, queue string, priority int) hotline.QueueEntry {
	t.Helper()
	e, err := f.ivr.EnterQueue(context.Background(), f.call(t, instance), queue, priority)
	must(t, err)
	return e
}

// offeredEntries lists the entries of the offers, in order.
func offeredEntries(offers []hotline.Offer) []int64 {
	ids := make([]int64, len(offers))
	for i, o := range offers {
		ids[i] = o.EntryID
	}
	return ids
}

func offeredAgents(offers []hotline.Offer) []int64 {
	ids := make([]int64, len(offers))
	for i, o := range offers {
		ids[i] = o.AgentID
	}
	return ids
}

func TestAssignPicksTheAgent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		strategy string
		// levels are the agents' skill levels; they become available in this order, a minute
		// apart, after answering answered[i] calls today and yesterday[i] yesterday.
		levels    []int
		answered  []int
		yesterday []int
		want      int // the index of the agent offered the call
	}{
		{"longest idle", hotline.StrategyLongestIdle, []int{1, 5, 3}, nil, nil, 0},
		{"longest idle ignores levels and calls", hotline.StrategyLongestIdle, []int{1, 5}, []int{4, 0}, nil, 0},
		{"skill level", hotline.StrategySkillLevel, []int{3, 5, 4}, nil, nil, 1},
		{"skill level, then longest idle", hotline.StrategySkillLevel, []int{3, 5, 5}, nil, nil, 1},
		{"fewest calls today", hotline.StrategyFewestCalls, []int{3, 3, 3}, []int{2, 1, 3}, []int{0, 5, 0}, 1},
		{"fewest calls, then longest idle", hotline.StrategyFewestCalls, []int{3, 3, 3}, []int{2, 1, 1}, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newACDFixture(t)
			skill := f.skill(t)
			f.exec(t, `UPDATE hotline.queues SET strategy = $2 WHERE id = $1`, skill, tc.strategy)
			agents := make([]int64, len(tc.levels))
			for i, level := range tc.levels {
				agents[i] = f.agent(t, map[string]int{skill: level})
				for k := 0; k < at(tc.answered, i); k++ {
					f.acceptedOffer(t, agents[i], skill, f.clock.Now().Add(-time.Hour))
				}
				for k := 0; k < at(tc.yesterday, i); k++ {
					f.acceptedOffer(t, agents[i], skill, f.clock.Now().Add(-24*time.Hour))
				}
				f.ready(t, f.acd, agents[i])
				f.clock.Advance(time.Minute)
			}
			f.enter(t, skill, 0)
			offers := f.assign(t, 10)
			if got, want := fmt.Sprint(offeredAgents(offers)), fmt.Sprint([]int64{agents[tc.want]}); got != want {
				t.Errorf("offered to %s, want %s", got, want)
			}
		})
	}
}

// at is s[i], or 0 beyond s.
func at(s []int, i int) int {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// acceptedOffer records an answered call of the agent from queue at decided.
func (f *acdFixture) acceptedOffer(t testing.TB, agentID int64, queue string, decided time.Time) {
	t.Helper()
	f.exec(t, `INSERT INTO hotline.offers (call_id, agent_id, queue_id, state, offered_at, decided_at)
		VALUES ($1, $2, $3, 'accepted', $4, $4)`, f.call(t, ""), agentID, queue, decided)
}

func TestAssignOrderOfCalls(t *testing.T) {
	type call struct {
		queue    string
		priority int
		ago      time.Duration // entered this long before the round
	}
	for _, tc := range []struct {
		name   string
		ageing map[string]int // per queue, per minute
		calls  []call
		skills []string // of the one agent
		want   int      // index of the call offered
	}{
		{"first come first served", nil, []call{{"general", 0, time.Minute}, {"general", 0, 2 * time.Minute}, {"general", 0, 0}},
			[]string{"general"}, 1},
		{"priority first", map[string]int{"general": 0},
			[]call{{"general", 0, 10 * time.Minute}, {"general", 5, 0}}, []string{"general"}, 1},
		{"ageing lifts a long wait over priority", map[string]int{"general": 1},
			[]call{{"general", 0, 10 * time.Minute}, {"general", 5, 0}}, []string{"general"}, 0},
		{"ageing not yet enough", map[string]int{"general": 1},
			[]call{{"general", 0, 4 * time.Minute}, {"general", 5, 0}}, []string{"general"}, 1},
		{"multi-skill: the oldest across the queues", nil,
			[]call{{"general", 0, time.Minute}, {"insurance", 0, 3 * time.Minute}, {"housing", 0, 2 * time.Minute}},
			[]string{"general", "insurance"}, 1},
		{"multi-skill: a faster ageing queue wins", map[string]int{"general": 10, "insurance": 1},
			[]call{{"general", 0, time.Minute}, {"insurance", 0, 3 * time.Minute}},
			[]string{"general", "insurance"}, 0},
		{"multi-skill: priority across queues", map[string]int{"general": 0, "insurance": 0},
			[]call{{"general", 3, 0}, {"insurance", 2, 5 * time.Minute}},
			[]string{"general", "insurance"}, 0},
		{"a call of a skill nobody has does not hold the others up", nil,
			[]call{{"housing", 9, 9 * time.Minute}, {"general", 0, 0}}, []string{"general"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newACDFixture(t)
			for q, rate := range tc.ageing {
				f.exec(t, `UPDATE hotline.queues SET ageing_per_minute = $2 WHERE id = $1`, q, rate)
			}
			start := f.clock.Now()
			entries := make([]int64, len(tc.calls))
			for i, c := range tc.calls {
				f.clock.t = start.Add(-c.ago)
				entries[i] = f.enter(t, c.queue, c.priority).ID
			}
			f.clock.t = start
			skills := map[string]int{}
			for _, s := range tc.skills {
				skills[s] = 3
			}
			f.ready(t, f.acd, f.agent(t, skills))
			offers := f.assign(t, 10)
			if got, want := fmt.Sprint(offeredEntries(offers)), fmt.Sprint([]int64{entries[tc.want]}); got != want {
				t.Errorf("offered entries %s, want %s (of %v)", got, want, entries)
			}
		})
	}
}

func TestAssignOnlyWhoCanAnswer(t *testing.T) {
	ctx := context.Background()
	f := newACDFixture(t)
	b := postgres.NewACD(f.store, "b")
	must(t, b.Start(ctx))

	noPhone := f.user(t, "nophone", hotline.RoleAgent, "", map[string]int{"general": 5})
	f.ready(t, f.acd, noPhone)
	inactive := f.agent(t, map[string]int{"general": 5})
	f.ready(t, f.acd, inactive)
	f.exec(t, `UPDATE hotline.agents SET active = false WHERE id = $1`, inactive)
	paused := f.agent(t, map[string]int{"general": 5})
	_, _, err := f.acd.Login(ctx, paused, "s")
	must(t, err)
	onB := f.agent(t, map[string]int{"general": 5}) // logged in on b, which stops answering
	f.ready(t, b, onB)
	f.clock.Advance(time.Minute)
	must(t, f.acd.Heartbeat(ctx))

	f.enterOn(t, "b", "general", 9)  // a call of b: nobody can answer it
	f.enterOn(t, "", "general", 9)   // a call of no instance
	f.enterOn(t, "x", "general", 9)  // of an instance never registered
	want := f.enter(t, "general", 0) // a's
	if offers := f.assign(t, 10); len(offers) != 0 {
		t.Fatalf("offers %+v to agents who cannot answer", offers)
	}
	ok := f.agent(t, map[string]int{"general": 1})
	f.ready(t, f.acd, ok)
	offers := f.assign(t, 10)
	if len(offers) != 1 || offers[0].AgentID != ok || offers[0].EntryID != want.ID {
		t.Errorf("offers %+v, want entry %d to agent %d", offers, want.ID, ok)
	}
	if o := offers[0]; o.Endpoint != fmt.Sprintf("PJSIP/%d", 1000+f.n) || o.Instance != "a" || o.RingTimeout != 15*time.Second {
		t.Errorf("offer %+v", o)
	}
}

func TestOfferOutcomes(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		outcome string
		want    hotline.AgentState
	}{
		{hotline.OfferTimeout, hotline.AgentMissed},
		{hotline.OfferRejected, hotline.AgentMissed},
		{hotline.OfferFailed, hotline.AgentMissed},
		{hotline.OfferCancelled, hotline.AgentAvailable},
	} {
		t.Run(tc.outcome, func(t *testing.T) {
			f := newACDFixture(t)
			first := f.agent(t, map[string]int{"general": 3})
			f.ready(t, f.acd, first)
			idle := f.status(t, first).IdleSince
			f.clock.Advance(time.Minute)
			second := f.agent(t, map[string]int{"general": 3})
			f.ready(t, f.acd, second)
			entered := f.clock.Now()
			e := f.enter(t, "general", 0)
			f.clock.Advance(time.Minute)
			later := f.enter(t, "general", 0)
			offers := f.assign(t, 1)
			if len(offers) != 1 || offers[0].AgentID != first || offers[0].EntryID != e.ID {
				t.Fatalf("offers %+v", offers)
			}
			o := offers[0].ID
			f.clock.Advance(15 * time.Second)
			must(t, f.acd.OfferEnded(ctx, o, tc.outcome, "cause 19"))

			st := f.status(t, first)
			if st.State != tc.want || st.CallID != "" || st.OfferID != 0 {
				t.Errorf("agent %+v, want %s", st, tc.want)
			}
			if tc.want == hotline.AgentMissed && st.Reason != tc.outcome {
				t.Errorf("missed with reason %q, want %q", st.Reason, tc.outcome)
			}
			if tc.want == hotline.AgentAvailable && !st.IdleSince.Equal(idle) {
				t.Errorf("idle since %v, want %v as before the offer", st.IdleSince, idle)
			}
			var row struct {
				State   string    `db:"state"`
				Cause   string    `db:"cause"`
				Decided time.Time `db:"decided_at"`
			}
			must(t, f.db.Get(&row, `SELECT state, cause, decided_at FROM hotline.offers WHERE id = $1`, o))
			if row.State != tc.outcome || row.Cause != "cause 19" || !row.Decided.Equal(f.clock.Now()) {
				t.Errorf("offer %+v", row)
			}
			rows := f.log(t, first)
			if last := rows[len(rows)-1]; last.Cause != tc.outcome+": cause 19" {
				t.Errorf("last transition %+v", last)
			}
			f.checkChain(t, first)

			// The call keeps its place: it goes to the next agent before the later call.
			var at time.Time
			must(t, f.db.Get(&at, `SELECT entered_at FROM hotline.queue_entries WHERE id = $1 AND offer_id IS NULL AND left_at IS NULL`, e.ID))
			if !at.Equal(entered) {
				t.Errorf("entered at %v, want %v", at, entered)
			}
			offers = f.assign(t, 1)
			wantAgent := second
			if tc.outcome == hotline.OfferCancelled {
				wantAgent = first // still idle longest
			}
			if len(offers) != 1 || offers[0].EntryID != e.ID || offers[0].AgentID != wantAgent {
				t.Errorf("next offers %+v, want entry %d (not %d) to agent %d", offers, e.ID, later.ID, wantAgent)
			}

			// Ending it again changes nothing; answering it now is refused.
			must(t, f.acd.OfferEnded(ctx, o, hotline.OfferTimeout, "again"))
			if err := f.acd.OfferAnswered(ctx, o); !errors.Is(err, hotline.ErrConflict) {
				t.Errorf("answered after it ended: err = %v, want ErrConflict", err)
			}
			if st := f.status(t, first); st.State != tc.want && tc.want != hotline.AgentAvailable {
				t.Errorf("agent moved to %s", st.State)
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		f := newACDFixture(t)
		id := f.into(t, hotline.AgentRinging)
		o := f.status(t, id).OfferID
		for _, tc := range []struct {
			name string
			err  error
			want error
		}{
			{"unknown outcome", f.acd.OfferEnded(ctx, o, "teleported", ""), hotline.ErrInvalid},
			{"accepted as ended", f.acd.OfferEnded(ctx, o, hotline.OfferAccepted, ""), hotline.ErrInvalid},
			{"unknown offer", f.acd.OfferEnded(ctx, o+100, hotline.OfferTimeout, ""), hotline.ErrNotFound},
			{"unknown offer answered", f.acd.OfferAnswered(ctx, o+100), hotline.ErrNotFound},
			{"conversation of a pending offer", f.acd.ConversationEnded(ctx, o), hotline.ErrConflict},
		} {
			if !errors.Is(tc.err, tc.want) {
				t.Errorf("%s: err = %v, want %v", tc.name, tc.err, tc.want)
			}
		}
		must(t, f.acd.OfferAnswered(ctx, o))
		must(t, f.acd.OfferAnswered(ctx, o)) // twice: once is what happened
		if err := f.acd.OfferEnded(ctx, o, hotline.OfferCancelled, "late"); !errors.Is(err, hotline.ErrConflict) {
			t.Errorf("ended after answered: err = %v, want ErrConflict", err)
		}
		if st := f.status(t, id); st.State != hotline.AgentTalking {
			t.Errorf("state %s, want talking", st.State)
		}
		f.checkChain(t, id)
	})
}

func TestOfferAnsweredAndConversation(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		queue  string
		wrapUp time.Duration
	}{
		{"general", 30 * time.Second},
		{"housing", 0},
	} {
		t.Run(tc.queue, func(t *testing.T) {
			f := newACDFixture(t)
			id := f.agent(t, map[string]int{tc.queue: 3})
			f.ready(t, f.acd, id)
			e := f.enter(t, tc.queue, 0)
			o := f.assign(t, 1)[0]
			f.clock.Advance(5 * time.Second)
			must(t, f.acd.OfferAnswered(ctx, o.ID))
			var entry struct {
				Left    time.Time `db:"left_at"`
				Outcome string    `db:"outcome"`
			}
			must(t, f.db.Get(&entry, `SELECT left_at, outcome FROM hotline.queue_entries WHERE id = $1`, e.ID))
			if entry.Outcome != hotline.QueueAnswered || !entry.Left.Equal(f.clock.Now()) {
				t.Errorf("entry %+v", entry)
			}
			if st := f.status(t, id); st.State != hotline.AgentTalking || st.CallID != o.CallID || st.OfferID != o.ID {
				t.Errorf("agent %+v", st)
			}
			// The caller's hang-up recorded after the answer does not change it.
			must(t, f.ivr.LeaveQueue(ctx, e, hotline.QueueAbandoned))

			f.clock.Advance(3 * time.Minute)
			must(t, f.acd.ConversationEnded(ctx, o.ID))
			must(t, f.acd.ConversationEnded(ctx, o.ID)) // reported twice: no second wrap-up
			st := f.status(t, id)
			if tc.wrapUp == 0 {
				if st.State != hotline.AgentAvailable || !st.IdleSince.Equal(f.clock.Now()) || st.CallID != "" {
					t.Errorf("agent %+v, want available", st)
				}
			} else if st.State != hotline.AgentWrapUp || !st.WrapUpUntil.Equal(f.clock.Now().Add(tc.wrapUp)) || st.CallID != o.CallID {
				t.Errorf("agent %+v, want in wrap-up for %v", st, tc.wrapUp)
			}
			f.checkChain(t, id)
		})
	}
}

func TestOfferLoads(t *testing.T) {
	ctx := context.Background()
	f := newACDFixture(t)
	b := postgres.NewACD(f.store, "b")
	must(t, b.Start(ctx))
	id := f.agent(t, map[string]int{"insurance": 3})
	f.ready(t, b, id) // the agent's session is on b, the call on a
	e := f.enter(t, "insurance", 2)
	must(t, b.Heartbeat(ctx))
	offers, err := b.Assign(ctx, 5) // any instance runs the round
	must(t, err)
	if len(offers) != 1 {
		t.Fatalf("offers %+v", offers)
	}
	want := hotline.Offer{ID: offers[0].ID, CallID: offers[0].CallID, EntryID: e.ID, AgentID: id, QueueID: "insurance",
		Endpoint: fmt.Sprintf("PJSIP/%d", 1000+f.n), Instance: "a", State: hotline.OfferPending,
		RingTimeout: 20 * time.Second, Whisper: "whisper/insurance", OfferedAt: f.clock.Now()}
	if got := offers[0]; got != want {
		t.Errorf("assigned %+v\nwant %+v", got, want)
	}
	got, err := f.acd.Offer(ctx, want.ID)
	must(t, err)
	got.OfferedAt = got.OfferedAt.In(cst)
	if got != want {
		t.Errorf("loaded %+v\nwant %+v", got, want)
	}
	pending, err := f.acd.PendingOffers(ctx)
	must(t, err)
	if len(pending) != 1 || pending[0].ID != want.ID {
		t.Errorf("pending offers of a: %+v", pending)
	}
	if pending, err := b.PendingOffers(ctx); err != nil || len(pending) != 0 {
		t.Errorf("pending offers of b: %+v, %v", pending, err)
	}
	if _, err := f.acd.Offer(ctx, want.ID+100); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("unknown offer: err = %v", err)
	}
}

// acdListen listens on the channels of the database at url.
func acdListen(t *testing.T, url string, channels ...string) <-chan *pq.Notification {
	t.Helper()
	l := pq.NewListener(url, 10*time.Millisecond, time.Second, nil)
	t.Cleanup(func() { l.Close() })
	for _, ch := range channels {
		if err := l.Listen(ch); err != nil {
			t.Fatal(err)
		}
	}
	return l.Notify
}

// next returns the next notification, failing after a generous wait.
func next(t *testing.T, notes <-chan *pq.Notification) *pq.Notification {
	t.Helper()
	select {
	case n := <-notes:
		if n == nil {
			t.Fatal("listener reconnected")
		}
		return n
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
	}
	return nil
}

// collect gathers the next n notifications, channel by channel.
func collect(t *testing.T, notes <-chan *pq.Notification, n int) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for range n {
		n := next(t, notes)
		got[n.Channel] = append(got[n.Channel], n.Extra)
	}
	return got
}

func TestACDNotifications(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	db, err := postgres.Connect(ctx, url)
	must(t, err)
	t.Cleanup(func() { db.Close() })
	f := acdFixtureOn(t, db)
	notes := acdListen(t, url, postgres.ChannelACD, postgres.ChannelAgent, postgres.OfferChannel("a"))
	agent := strconv.FormatInt(f.agent(t, map[string]int{"general": 3}), 10)
	id, _ := strconv.ParseInt(agent, 10, 64)
	for _, tc := range []struct {
		name string
		do   func() string // returns the offer id, if it makes one
		want map[string][]string
	}{
		{"login", func() string { _, _, err := f.acd.Login(ctx, id, "s"); must(t, err); return "" },
			map[string][]string{postgres.ChannelAgent: {agent}}},
		{"available: a round may find a call", func() string { _, err := f.acd.SetAvailable(ctx, id); must(t, err); return "" },
			map[string][]string{postgres.ChannelAgent: {agent}, postgres.ChannelACD: {""}}},
		{"a call waits", func() string { f.enter(t, "general", 0); return "" },
			map[string][]string{postgres.ChannelACD: {"general"}}},
		{"offer", func() string { return strconv.FormatInt(f.assign(t, 1)[0].ID, 10) },
			map[string][]string{postgres.ChannelAgent: {agent}, postgres.OfferChannel("a"): {"offer"}}},
		{"ring out: the call waits again", func() string {
			must(t, f.acd.OfferEnded(ctx, f.status(t, id).OfferID, hotline.OfferTimeout, "no answer"))
			return ""
		}, map[string][]string{postgres.ChannelAgent: {agent}, postgres.ChannelACD: {""}}},
	} {
		offer := tc.do()
		n := 0
		for ch, payloads := range tc.want {
			n += len(payloads)
			for i, p := range payloads {
				if p == "offer" {
					tc.want[ch][i] = offer
				}
			}
		}
		if got := collect(t, notes, n); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: notifications %v, want %v", tc.name, got, tc.want)
		}
	}
	select {
	case n := <-notes:
		t.Errorf("unexpected notification %+v", n)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestAssignConcurrently has several assigners of two instances hand out many calls to many
// agents at once while the agents' phones answer, ring out, reject or lose the caller, and
// checks that no agent was ever offered two calls at once and no call reached two agents.
func TestAssignConcurrently(t *testing.T) {
	const (
		agents    = 40
		calls     = 400
		assigners = 6
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	f := newACDFixture(t)
	f.exec(t, `UPDATE hotline.queues SET wrap_up_seconds = 0, disposition_required = false`)
	store := postgres.New(f.db, nil, nil) // the wall clock: the rounds really race
	instances := []*postgres.ACD{postgres.NewACD(store, "a"), postgres.NewACD(store, "b")}
	for _, a := range instances {
		must(t, a.Start(ctx))
	}
	queues := []string{"general", "insurance", "housing"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < agents; i++ {
		skills := map[string]int{queues[i%3]: 1 + rng.IntN(5)}
		if i%2 == 0 {
			skills[queues[(i+1)%3]] = 1 + rng.IntN(5)
		}
		id := f.agent(t, skills)
		f.ready(t, instances[i%2], id)
	}
	services := postgres.NewIVRServices(store)
	for i := 0; i < calls; i++ {
		call := f.call(t, instances[i%2].Instance())
		_, err := services.EnterQueue(ctx, call, queues[rng.IntN(3)], rng.IntN(3))
		must(t, err)
	}

	var (
		mu      sync.Mutex
		holding = map[int64]int64{} // agent → offer their phone rings for
		doubles []string
		wg      sync.WaitGroup
		errs    = make(chan error, assigners)
	)
	answered := func() int64 {
		var n int64
		if err := f.db.GetContext(ctx, &n, `SELECT count(*) FROM hotline.queue_entries WHERE outcome = 'answered'`); err != nil {
			return -1
		}
		return n
	}
	for w := 0; w < assigners; w++ {
		acd := postgres.NewACD(store, instances[w%2].Instance())
		rng := rand.New(rand.NewPCG(uint64(w), 7))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				offers, err := acd.Assign(ctx, 5)
				if err != nil {
					errs <- err
					return
				}
				if len(offers) == 0 {
					if answered() == calls {
						return
					}
					if err := acd.Heartbeat(ctx); err != nil {
						errs <- err
						return
					}
					time.Sleep(time.Millisecond)
					continue
				}
				mu.Lock()
				for _, o := range offers {
					if prev, ok := holding[o.AgentID]; ok {
						doubles = append(doubles, fmt.Sprintf("agent %d offered %d while ringing for %d", o.AgentID, o.ID, prev))
					}
					holding[o.AgentID] = o.ID
				}
				mu.Unlock()
				for _, o := range offers {
					// The phone's answer; the offer is forgotten before it ends, so that a
					// later offer to the agent is never mistaken for a double.
					mu.Lock()
					delete(holding, o.AgentID)
					mu.Unlock()
					var err error
					switch r := rng.IntN(10); {
					case r < 6:
						if err = acd.OfferAnswered(ctx, o.ID); err == nil {
							err = acd.ConversationEnded(ctx, o.ID)
						}
					case r < 9:
						outcome := []string{hotline.OfferTimeout, hotline.OfferRejected, hotline.OfferFailed}[r-6]
						if err = acd.OfferEnded(ctx, o.ID, outcome, "phone"); err == nil {
							_, err = acd.SetAvailable(ctx, o.AgentID)
						}
					default:
						err = acd.OfferEnded(ctx, o.ID, hotline.OfferCancelled, "caller hung up")
					}
					if err != nil {
						errs <- fmt.Errorf("offer %d: %w", o.ID, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if ctx.Err() != nil {
		t.Fatalf("only %d of %d calls answered in time", answered(), calls)
	}
	for _, d := range doubles {
		t.Error(d)
	}
	checkNoDoubleOffers(t, f.db)
	for id := int64(1); id <= int64(f.n)+1; id++ {
		if id != f.boss {
			f.checkChain(t, id)
		}
	}
	var offers int64
	must(t, f.db.Get(&offers, `SELECT count(*) FROM hotline.offers`))
	t.Logf("%d calls answered after %d offers", calls, offers)
}

// checkNoDoubleOffers checks that no call was answered by two agents and that each agent's
// offers each began after the one before had ended: every offer set its agent ringing from
// available, and no transition of the agent was lost.
func checkNoDoubleOffers(t testing.TB, db *sqlx.DB) {
	t.Helper()
	var twice []int64
	must(t, db.Select(&twice, `SELECT call_id FROM hotline.offers WHERE state = 'accepted'
		GROUP BY call_id HAVING count(*) > 1`))
	if len(twice) > 0 {
		t.Errorf("calls answered by two agents: %v", twice)
	}
	var bad []struct {
		Agent   int64 `db:"agent_id"`
		Offers  int64 `db:"offers"`
		Ringing int64 `db:"ringing"`
	}
	must(t, db.Select(&bad, `
		SELECT o.agent_id, o.n AS offers, COALESCE(l.n, 0) AS ringing
		FROM (SELECT agent_id, count(*) AS n FROM hotline.offers WHERE entry_id IS NOT NULL GROUP BY agent_id) o
		LEFT JOIN (SELECT agent_id, count(*) AS n FROM hotline.agent_state_log
		           WHERE state = 'ringing' AND previous = 'available' GROUP BY agent_id) l ON l.agent_id = o.agent_id
		WHERE o.n <> COALESCE(l.n, 0)`))
	for _, b := range bad {
		t.Errorf("agent %d: %d offers but rang %d times from available", b.Agent, b.Offers, b.Ringing)
	}
}
