package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

func TestReleaseDead(t *testing.T) {
	ctx := context.Background()
	f := newACDFixture(t)
	b := postgres.NewACD(f.store, "b")
	must(t, b.Start(ctx))
	// in sets up an agent logged in on instance, in a state, for a call of callOn.
	in := func(on *postgres.ACD, state hotline.AgentState, callOn string) int64 {
		skill := f.skill(t)
		id := f.agent(t, map[string]int{skill: 3})
		f.ready(t, on, id)
		if state == hotline.AgentAvailable {
			return id
		}
		f.enterOn(t, callOn, skill, 0)
		o := f.assign(t, 1)[0]
		if state == hotline.AgentRinging {
			return id
		}
		must(t, f.acd.OfferAnswered(ctx, o.ID))
		if state == hotline.AgentWrapUp {
			must(t, f.acd.ConversationEnded(ctx, o.ID))
		}
		return id
	}
	idleOnB := in(b, hotline.AgentAvailable, "")
	ringingOnBForA := in(b, hotline.AgentRinging, "a")
	ringingOnAForB := in(f.acd, hotline.AgentRinging, "b")
	idleBefore := f.status(t, ringingOnAForB).IdleSince
	talkingOnAForB := in(f.acd, hotline.AgentTalking, "b")
	wrapUpOnB := in(b, hotline.AgentWrapUp, "a")
	idleOnA := in(f.acd, hotline.AgentAvailable, "")
	waiting := f.enterOn(t, "b", "housing", 0)
	lostOffer := f.status(t, ringingOnAForB).OfferID

	// b stops; a goes on.
	f.clock.Advance(20 * time.Second)
	must(t, f.acd.Heartbeat(ctx))
	n, err := f.acd.ReleaseDead(ctx, 30*time.Second)
	must(t, err)
	if n != 0 {
		t.Fatalf("released %d agents of a live instance", n)
	}
	f.clock.Advance(11 * time.Second)
	must(t, f.acd.Heartbeat(ctx))
	n, err = f.acd.ReleaseDead(ctx, 30*time.Second)
	must(t, err)
	if n != 4 {
		t.Errorf("released %d agents, want 4", n)
	}
	for _, tc := range []struct {
		name  string
		agent int64
		want  hotline.AgentState
	}{
		{"logged in on b", idleOnB, hotline.AgentOffline},
		{"logged in on b, ringing for a's call", ringingOnBForA, hotline.AgentRinging},
		{"ringing for b's call", ringingOnAForB, hotline.AgentAvailable},
		{"talking on b's call", talkingOnAForB, hotline.AgentWrapUp},
		{"logged in on b, in wrap-up", wrapUpOnB, hotline.AgentOffline},
		{"logged in on a", idleOnA, hotline.AgentAvailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st := f.status(t, tc.agent); st.State != tc.want {
				t.Errorf("state %s, want %s", st.State, tc.want)
			}
			f.checkChain(t, tc.agent)
		})
	}
	if st := f.status(t, ringingOnAForB); !st.IdleSince.Equal(idleBefore) {
		t.Errorf("released from a ring: idle since %v, want %v as before", st.IdleSince, idleBefore)
	}
	rows := f.log(t, idleOnB)
	if last := rows[len(rows)-1]; last.Cause != "instance_lost" {
		t.Errorf("logged out by %q, want instance_lost", last.Cause)
	}
	var offer struct {
		State string `db:"state"`
		Cause string `db:"cause"`
	}
	must(t, f.db.Get(&offer, `SELECT state, cause FROM hotline.offers WHERE id = $1`, lostOffer))
	if offer.State != hotline.OfferCancelled || offer.Cause != "instance_lost" {
		t.Errorf("offer of b's call: %+v", offer)
	}
	var outcome string
	must(t, f.db.Get(&outcome, `SELECT outcome FROM hotline.queue_entries WHERE id = $1`, waiting.ID))
	if outcome != hotline.QueueLost {
		t.Errorf("b's waiting call: outcome %q, want lost", outcome)
	}

	// The agent still ringing for a's call is released when the ring ends.
	st := f.status(t, ringingOnBForA)
	must(t, f.acd.OfferEnded(ctx, st.OfferID, hotline.OfferTimeout, "no answer"))
	n, err = f.acd.ReleaseDead(ctx, 30*time.Second)
	must(t, err)
	if n != 1 {
		t.Errorf("released %d, want 1", n)
	}
	if st := f.status(t, ringingOnBForA); st.State != hotline.AgentOffline {
		t.Errorf("state %s, want offline", st.State)
	}
	// Nothing is left to release.
	if n, err := f.acd.ReleaseDead(ctx, 30*time.Second); err != nil || n != 0 {
		t.Errorf("released %d more, err %v", n, err)
	}
	// b's own view: it does not release itself, though its heartbeat is stale.
	if n, err := b.ReleaseDead(ctx, 10*time.Second); err != nil || n != 0 {
		t.Errorf("b released %d of a's, err %v", n, err)
	}
}

func TestStartReleasesWhatAnEarlierProcessLeft(t *testing.T) {
	ctx := context.Background()
	f := newACDFixture(t)
	ringing := f.agent(t, map[string]int{"general": 3})
	f.ready(t, f.acd, ringing)
	idle := f.status(t, ringing).IdleSince
	f.enter(t, "general", 0)
	waiting := f.enter(t, "insurance", 0)
	o := f.assign(t, 1)[0]
	f.clock.Advance(5 * time.Second)

	restarted := postgres.NewACD(f.store, "a")
	must(t, restarted.Start(ctx))
	st := f.status(t, ringing)
	if st.State != hotline.AgentAvailable || !st.IdleSince.Equal(idle) || st.Session == "" {
		t.Errorf("agent %+v: want available, idle as before, still logged in", st)
	}
	var states []string
	must(t, f.db.Select(&states, `SELECT COALESCE(o.state, '') || '/' || COALESCE(e.outcome, '')
		FROM hotline.queue_entries e LEFT JOIN hotline.offers o ON o.id = e.offer_id
		WHERE e.id IN ($1, $2) ORDER BY e.id`, o.EntryID, waiting.ID))
	if got, want := fmt.Sprint(states), "[cancelled/lost /lost]"; got != want {
		t.Errorf("offer/outcome %s, want %s", got, want)
	}
}
