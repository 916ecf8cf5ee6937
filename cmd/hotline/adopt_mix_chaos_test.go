//go:build chaos

package main

import (
	"testing"
	"time"
)

// TestChaosKillInstanceMix is TestAdoptionOfEveryState under load: 288 calls on two
// controllers, one killed with kill -9 — 45 in each of the IVR's states (menu, collect, a
// bill's menu after its lookups, queue) and 12 in each state with an agent (talking, on hold,
// ringing, blind-transferred to a number, consultation ringing, consultation talking,
// conference, completed consultation, waiting for a named agent), with 120 agents.
func TestChaosKillInstanceMix(t *testing.T) {
	runAdoptionMix(t, mixLoad{Menu: 45, Collect: 45, Lookup: 45, Queue: 45, PerAgentState: 12, Timeout: 10 * time.Minute})
}
