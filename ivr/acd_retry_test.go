package ivr_test

import (
	"slices"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// TestOfferAnsweredIsRetried: the database fails the first two writes of an answered offer
// (a moment of overload); the write is tried again until it is recorded, so that the ACD
// knows the agent talks, and the conversation's end follows it.
func TestOfferAnsweredIsRetried(t *testing.T) {
	a := startAgentRig(t, map[string]arisim.PhoneBehaviour{"1001": {Mode: arisim.PhoneAnswer, AnswerAfter: time.Second}})
	a.acd.mu.Lock()
	a.acd.failAnswers = 2
	a.acd.mu.Unlock()
	a.offer(t, 1, "PJSIP/1001")
	phone := a.agentPhone(t, "PJSIP/1001")
	waitFor(t, a.ctx, "the offer to be recorded answered", func() bool { return slices.Contains(a.acd.seen(), "answered 1") })
	must(t, phone.Hangup())
	must(t, a.caller.Expect(a.ctx, "survey/ask"))
	if got, want := a.acd.seen(), []string{"answered 1", "conversation 1"}; !slices.Equal(got, want) {
		t.Errorf("ACD heard %v, want %v", got, want)
	}
}
