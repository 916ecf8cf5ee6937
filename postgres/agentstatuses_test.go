package postgres_test

import (
	"context"
	"testing"

	"github.com/foshan-hotline/hotline"
)

// TestAgentStatuses checks that the states of many agents read together are those read one
// by one, and that agents who never logged in, and unknown ones, have none.
func TestAgentStatuses(t *testing.T) {
	f := newACDFixture(t)
	ctx := context.Background()
	byState := map[hotline.AgentState]int64{}
	for _, st := range []hotline.AgentState{hotline.AgentPaused, hotline.AgentAvailable, hotline.AgentRinging,
		hotline.AgentTalking, hotline.AgentWrapUp, hotline.AgentMissed} {
		byState[st] = f.into(t, st)
	}
	never := f.into(t, hotline.AgentOffline)
	ids := []int64{never, never + 1000}
	for _, id := range byState {
		ids = append(ids, id)
	}
	got, err := f.acd.Statuses(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(byState) {
		t.Errorf("%d states for %d agents who logged in: %+v", len(got), len(byState), got)
	}
	for state, id := range byState {
		if want := f.status(t, id); got[id] != want || got[id].State != state {
			t.Errorf("agent in %s: read together %+v, alone %+v", state, got[id], want)
		}
	}
	if st, ok := got[never]; ok {
		t.Errorf("an agent who never logged in has a state: %+v", st)
	}
	if none, err := f.acd.Statuses(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("no agents: %v, %v", none, err)
	}
}
