package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// talkingOn puts a new call in queue with priority, offers it to agent (the only one
// available) and has them answer: the call is in conversation. It returns the offer and the
// entry.
func (f *acdFixture) talkingOn(t *testing.T, agent int64, queue string, priority int) (hotline.Offer, hotline.QueueEntry) {
	t.Helper()
	f.ready(t, f.acd, agent)
	e := f.enter(t, queue, priority)
	offers := f.assign(t, 1)
	if len(offers) != 1 || offers[0].AgentID != agent || offers[0].EntryID != e.ID {
		t.Fatalf("offers %+v, want entry %d to agent %d", offers, e.ID, agent)
	}
	must(t, f.acd.OfferAnswered(context.Background(), offers[0].ID))
	return offers[0], e
}

// reservedForPaused has an agent transfer their call to a named agent who is paused, for
// reserve (0: the default): it returns the reserved entry and the named agent.
func (f *acdFixture) reservedForPaused(t *testing.T, reserve time.Duration) (hotline.QueueEntry, int64) {
	t.Helper()
	ctx := context.Background()
	from := f.agent(t, map[string]int{"general": 3})
	o, _ := f.talkingOn(t, from, "general", 0)
	target := f.agent(t, map[string]int{"general": 3})
	f.ready(t, f.acd, target)
	_, err := f.acd.Pause(ctx, target, "break")
	must(t, err)
	e, err := f.acd.TransferToAgent(ctx, o.ID, target, reserve)
	must(t, err)
	must(t, f.acd.ConversationEnded(ctx, o.ID))
	return e, target
}

// transferEntry is a queue entry as TransferToAgent makes it.
type transferEntry struct {
	CallID       string        `db:"call_id"`
	Queue        string        `db:"queue_id"`
	Priority     int           `db:"priority"`
	EnteredAt    time.Time     `db:"entered_at"`
	WaitingSince time.Time     `db:"waiting_since"`
	Target       int64         `db:"target_agent_id"`
	Until        time.Time     `db:"target_until"`
	From         sql.NullInt64 `db:"transferred_from"`
}

func (f *acdFixture) transferEntry(t *testing.T, id int64) transferEntry {
	t.Helper()
	var e transferEntry
	must(t, f.db.Get(&e, `SELECT call_id::text AS call_id, queue_id, priority, entered_at, waiting_since,
		target_agent_id, target_until, transferred_from FROM hotline.queue_entries WHERE id = $1`, id))
	return e
}

// TestTransferToAgentReserves: a call an agent transfers to a named agent goes back into its
// queue with its priority and first entry time, and is offered to that agent alone, before
// older calls; when nobody takes it within the reservation (twice the ring timeout by
// default) it is offered to anyone in the queue.
func TestTransferToAgentReserves(t *testing.T) {
	ctx := context.Background()
	f := newACDFixture(t)
	from := f.agent(t, map[string]int{"general": 3})
	o, first := f.talkingOn(t, from, "general", 4)
	firstEntered := f.clock.Now()
	target := f.agent(t, map[string]int{"general": 2})
	other := f.agent(t, map[string]int{"general": 5})
	f.ready(t, f.acd, target)
	_, err := f.acd.Pause(ctx, target, "meal")
	must(t, err)
	f.ready(t, f.acd, other) // idle longer than the target will be, and more skilled

	f.clock.Advance(time.Minute)
	must(t, f.acd.Heartbeat(ctx))
	must(t, f.acd.CheckTransferToAgent(ctx, o.ID, target))
	e, err := f.acd.TransferToAgent(ctx, o.ID, target, 0)
	must(t, err)
	must(t, f.acd.ConversationEnded(ctx, o.ID))
	if st := f.status(t, from); st.State != hotline.AgentWrapUp {
		t.Errorf("the transferring agent is %s, want wrap_up", st.State)
	}
	got := f.transferEntry(t, e.ID)
	if got.CallID != o.CallID || got.Queue != "general" || got.Priority != 4 || !got.WaitingSince.Equal(firstEntered) ||
		!got.EnteredAt.Equal(f.clock.Now()) || got.Target != target || !got.Until.Equal(f.clock.Now().Add(30*time.Second)) ||
		got.From.Int64 != first.ID {
		t.Errorf("the transferred entry %+v: want the call's, priority 4, waiting since %v, reserved for %d until +30 s, from entry %d",
			got, firstEntered, target, first.ID)
	}

	// While it is reserved for a paused agent, the others are not offered it.
	f.clock.Advance(29 * time.Second)
	if offers := f.assign(t, 5); len(offers) != 0 {
		t.Fatalf("while reserved for a paused agent: offers %+v, want none", offers)
	}
	if st := f.status(t, other); st.State != hotline.AgentAvailable {
		t.Errorf("the other agent is %s", st.State)
	}
	// The reservation lapses: anyone in the queue, by the queue's strategy.
	f.clock.Advance(time.Second)
	offers := f.assign(t, 5)
	if len(offers) != 1 || offers[0].EntryID != e.ID || offers[0].AgentID != other {
		t.Fatalf("after the reservation: offers %+v, want entry %d to agent %d", offers, e.ID, other)
	}
	f.checkChain(t, other)
}

// TestTransferToAgentFirst: the agent a call is reserved for is offered it before the older,
// higher-priority calls they could take, even when another agent has been idle longer.
func TestTransferToAgentFirst(t *testing.T) {
	ctx := context.Background()
	f := newACDFixture(t)
	from := f.agent(t, map[string]int{"general": 3})
	o, _ := f.talkingOn(t, from, "general", 0)
	older := f.enter(t, "general", 9) // nobody is available for it yet
	idle := f.agent(t, map[string]int{"general": 3})
	f.ready(t, f.acd, idle)
	_, err := f.acd.Pause(ctx, idle, "break")
	must(t, err)
	target := f.agent(t, map[string]int{"general": 3})
	f.ready(t, f.acd, target)
	_, err = f.acd.Pause(ctx, target, "break")
	must(t, err)
	f.clock.Advance(10 * time.Second)
	e, err := f.acd.TransferToAgent(ctx, o.ID, target, 2*time.Minute)
	must(t, err)
	if got := f.transferEntry(t, e.ID); !got.Until.Equal(f.clock.Now().Add(2 * time.Minute)) {
		t.Errorf("reserved until %v, want the transfer's 2 minutes", got.Until)
	}
	must(t, f.acd.ConversationEnded(ctx, o.ID))

	_, err = f.acd.SetAvailable(ctx, idle)
	must(t, err)
	f.clock.Advance(time.Second)
	_, err = f.acd.SetAvailable(ctx, target)
	must(t, err)
	offers := f.assign(t, 5)
	byEntry := map[int64]int64{}
	for _, o := range offers {
		byEntry[o.EntryID] = o.AgentID
	}
	if len(offers) != 2 || byEntry[e.ID] != target || byEntry[older.ID] != idle {
		t.Fatalf("offers %+v: want the transferred call to agent %d, the older one to agent %d", offers, target, idle)
	}

	// The target rejects it: the reservation lapses at once and the next agent free gets it.
	var mine int64
	for _, o := range offers {
		if o.EntryID == e.ID {
			mine = o.ID
		}
	}
	f.clock.Advance(5 * time.Second)
	must(t, f.acd.OfferEnded(ctx, mine, hotline.OfferRejected, "call rejected"))
	if got := f.transferEntry(t, e.ID); !got.Until.Equal(f.clock.Now()) {
		t.Errorf("after the rejection reserved until %v, want now", got.Until)
	}
	third := f.agent(t, map[string]int{"general": 1})
	f.ready(t, f.acd, third)
	offers = f.assign(t, 5)
	if len(offers) != 1 || offers[0].EntryID != e.ID || offers[0].AgentID != third {
		t.Fatalf("after the target rejected it: offers %+v, want entry %d to agent %d", offers, e.ID, third)
	}
}

// TestTransferToAgentCancelledKeepsTheReservation: an offer to the target cancelled (the call
// was not ready for it) leaves the reservation, unlike one the agent missed.
func TestTransferToAgentCancelledKeepsTheReservation(t *testing.T) {
	ctx := context.Background()
	f := newACDFixture(t)
	from := f.agent(t, map[string]int{"general": 3})
	o, _ := f.talkingOn(t, from, "general", 0)
	target := f.agent(t, map[string]int{"general": 3})
	other := f.agent(t, map[string]int{"general": 3})
	f.ready(t, f.acd, other)
	f.ready(t, f.acd, target)
	e, err := f.acd.TransferToAgent(ctx, o.ID, target, 0)
	must(t, err)
	must(t, f.acd.ConversationEnded(ctx, o.ID))
	offers := f.assign(t, 5)
	if len(offers) != 1 || offers[0].AgentID != target {
		t.Fatalf("offers %+v, want one to agent %d", offers, target)
	}
	must(t, f.acd.OfferEnded(ctx, offers[0].ID, hotline.OfferCancelled, "caller left the queue"))
	if offers := f.assign(t, 5); len(offers) != 1 || offers[0].AgentID != target || offers[0].EntryID != e.ID {
		t.Fatalf("after a cancelled offer: offers %+v, want the target again", offers)
	}
	if st := f.status(t, other); st.State != hotline.AgentAvailable {
		t.Errorf("the other agent is %s, want available", st.State)
	}
}

// TestTransferToAgentCallerHangsUp: a caller who hangs up while the call is reserved leaves
// the queue; nobody is offered the call, not even the agent it was for.
func TestTransferToAgentCallerHangsUp(t *testing.T) {
	ctx := context.Background()
	f := newACDFixture(t)
	e, target := f.reservedForPaused(t, 0)
	f.clock.Advance(3 * time.Second)
	must(t, f.ivr.LeaveQueue(ctx, e, hotline.QueueAbandoned))
	_, err := f.acd.SetAvailable(ctx, target)
	must(t, err)
	if offers := f.assign(t, 5); len(offers) != 0 {
		t.Fatalf("after the caller hung up: offers %+v", offers)
	}
	f.clock.Advance(time.Minute) // past the reservation too
	if offers := f.assign(t, 5); len(offers) != 0 {
		t.Fatalf("after the caller hung up and the reservation: offers %+v", offers)
	}
	if st := f.status(t, target); st.State != hotline.AgentAvailable {
		t.Errorf("the target is %s, want available", st.State)
	}
	if n := f.int(t, `SELECT count(*) FROM hotline.queue_entries WHERE id = $1 AND outcome = 'abandoned'`, e.ID); n != 1 {
		t.Errorf("the reserved entry is not closed as abandoned")
	}
}

// TestCheckTransferToAgent: the refusals of a transfer to a named agent.
func TestCheckTransferToAgent(t *testing.T) {
	ctx := context.Background()
	f := newACDFixture(t)
	from := f.agent(t, map[string]int{"general": 3})
	o, _ := f.talkingOn(t, from, "general", 0)
	loggedOut := f.agent(t, map[string]int{"general": 3})
	unskilled := f.agent(t, map[string]int{"insurance": 5})
	f.ready(t, f.acd, unskilled)
	phoneless := f.user(t, "nophone", hotline.RoleAgent, "", map[string]int{"general": 3})
	_, _, err := f.acd.Login(ctx, phoneless, "session-nophone")
	must(t, err)
	gone := f.agent(t, map[string]int{"general": 3})
	f.exec(t, `UPDATE hotline.agents SET active = false WHERE id = $1`, gone)
	busy := f.agent(t, map[string]int{"general": 3})
	f.ready(t, f.acd, busy)
	_, err = f.acd.Pause(ctx, busy, "meeting")
	must(t, err)
	// An agent whose session's instance stopped is logged out in all but name.
	elsewhere := f.agent(t, map[string]int{"general": 3})
	b := postgres.NewACD(f.store, "b")
	must(t, b.Start(ctx))
	f.ready(t, b, elsewhere)
	f.exec(t, `UPDATE hotline.instances SET heartbeat_at = $1 WHERE id = 'b'`, f.clock.Now().Add(-time.Hour))

	for _, tc := range []struct {
		name   string
		agent  int64
		want   error
		reason string
	}{
		{"yourself", from, hotline.ErrConflict, postgres.ReasonTransferSelf},
		{"logged out", loggedOut, hotline.ErrConflict, postgres.ReasonTransferLoggedOut},
		{"on a dead instance", elsewhere, hotline.ErrConflict, postgres.ReasonTransferLoggedOut},
		{"without the skill", unskilled, hotline.ErrConflict, postgres.ReasonTransferNoSkill},
		{"without a phone", phoneless, hotline.ErrConflict, postgres.ReasonTransferNoPhone},
		{"deactivated", gone, hotline.ErrInvalid, "no such agent"},
		{"unknown", 99999, hotline.ErrInvalid, "no such agent"},
		{"paused", busy, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := f.acd.CheckTransferToAgent(ctx, o.ID, tc.agent)
			if !errors.Is(err, tc.want) || (err != nil) != (tc.want != nil) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("err %v, want the reason %q", err, tc.reason)
			}
		})
	}
	if err := f.acd.CheckTransferToAgent(ctx, o.ID+100, busy); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("an unknown offer: %v, want not found", err)
	}
}

// TestTransferToAgentNotTakenByAnotherCall: an agent who becomes available while an
// assignment round is under way (its waiting calls read without the call reserved for them,
// since they were not available yet) is not offered an ordinary call instead: the reserved
// call is theirs, in the next round.
func TestTransferToAgentNotTakenByAnotherCall(t *testing.T) {
	ctx := context.Background()
	f := newACDFixture(t)
	reserved, target := f.reservedForPaused(t, 2*time.Minute)
	ordinary := f.enter(t, "general", 9)
	// A round starts for the ordinary call (another agent is available, then taken); the
	// target becomes available after the round read its candidates.
	other := f.agent(t, map[string]int{"general": 1})
	f.ready(t, f.acd, other)
	postgres.SetCandidatesRead(f.acd, func() {
		postgres.SetCandidatesRead(f.acd, nil)
		_, err := f.acd.Pause(ctx, other, "break")
		must(t, err)
		_, err = f.acd.SetAvailable(ctx, target)
		must(t, err)
	})
	if offers := f.assign(t, 5); len(offers) != 0 {
		t.Fatalf("offers %+v in the round that read its candidates before the target was available: want none", offers)
	}
	offers := f.assign(t, 5)
	if len(offers) != 1 || offers[0].EntryID != reserved.ID || offers[0].AgentID != target {
		t.Fatalf("next round: offers %+v, want the reserved entry %d to agent %d (not entry %d)", offers, reserved.ID, target, ordinary.ID)
	}
}
