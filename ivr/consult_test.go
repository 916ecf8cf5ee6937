package ivr_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// consulting returns a rig whose caller talks with agent 1 (PJSIP/1001), with a second phone
// PJSIP/1002 that answers and a busy one PJSIP/1003.
func consulting(t *testing.T) (*agentRig, *arisim.Call, string) {
	t.Helper()
	return talkingWith(t, map[string]arisim.PhoneBehaviour{
		"1001": {Mode: arisim.PhoneAnswer, AnswerAfter: time.Second},
		"1002": {Mode: arisim.PhoneAnswer, AnswerAfter: time.Second},
		"1003": {Mode: arisim.PhoneBusy},
	})
}

func (a *agentRig) do(t *testing.T, id string, cmd hotline.CallCommand) error {
	t.Helper()
	cmd.AgentID = 1
	return a.h.Engine.Control(a.ctx, id, cmd)
}

func (a *agentRig) waitConsult(t *testing.T, id, want string) {
	t.Helper()
	waitFor(t, a.ctx, "consultation "+want, func() bool {
		st, err := a.h.Engine.CallState(id)
		return err == nil && st.Consult == want
	})
}

var consult1002 = hotline.CallCommand{Action: hotline.ActionConsult, Transfer: hotline.TransferTarget{Endpoint: "PJSIP/1002"}}

func TestConsultThenComplete(t *testing.T) {
	a, agent, id := consulting(t)
	must(t, a.do(t, id, consult1002))
	if err := a.do(t, id, hotline.CallCommand{Action: hotline.ActionCompleteConsult}); !errors.Is(err, hotline.ErrConflict) {
		t.Errorf("complete before the third party answered = %v, want ErrConflict", err)
	}
	if err := a.do(t, id, hotline.CallCommand{Action: hotline.ActionHold}); !errors.Is(err, hotline.ErrConflict) {
		t.Errorf("hold during a consultation = %v, want ErrConflict", err)
	}
	third := a.agentPhone(t, "PJSIP/1002")
	a.waitConsult(t, id, "talking")
	must(t, a.do(t, id, hotline.CallCommand{Action: hotline.ActionCompleteConsult}))
	<-agent.Done() // the first agent left
	waitFor(t, a.ctx, "the first agent's wrap-up", func() bool { return slices.Contains(a.acd.seen(), "conversation 1") })
	if a.caller.Ended() {
		t.Fatal("the caller was cut off by the transfer")
	}
	must(t, third.Hangup())
	must(t, a.caller.Expect(a.ctx, "survey/ask"))
	must(t, a.caller.Hangup())
	a.h.Engine.Wait()
	if got, want := a.acd.seen(), []string{"answered 1", "conversation 1"}; !slices.Equal(got, want) {
		t.Errorf("ACD heard %v, want %v", got, want)
	}
}

func TestConsultThenCancel(t *testing.T) {
	a, agent, id := consulting(t)
	must(t, a.do(t, id, consult1002))
	third := a.agentPhone(t, "PJSIP/1002")
	a.waitConsult(t, id, "talking")
	must(t, a.do(t, id, hotline.CallCommand{Action: hotline.ActionCancelConsult}))
	<-third.Done()
	st, err := a.h.Engine.CallState(id)
	must(t, err)
	if st.Held || st.Consult != "" {
		t.Errorf("after cancel the call is %+v, want the caller back with the agent", st)
	}
	must(t, agent.Hangup())
	must(t, a.caller.Expect(a.ctx, "survey/ask"))
	must(t, a.caller.Hangup())
}

func TestConferenceThenAgentLeaves(t *testing.T) {
	a, agent, id := consulting(t)
	must(t, a.do(t, id, consult1002))
	third := a.agentPhone(t, "PJSIP/1002")
	a.waitConsult(t, id, "talking")
	must(t, a.do(t, id, hotline.CallCommand{Action: hotline.ActionConference}))
	st, err := a.h.Engine.CallState(id)
	must(t, err)
	if st.Held || st.Consult != "conference" {
		t.Errorf("in conference the call is %+v", st)
	}
	must(t, agent.Hangup())
	waitFor(t, a.ctx, "the agent's wrap-up", func() bool { return slices.Contains(a.acd.seen(), "conversation 1") })
	if a.caller.Ended() {
		t.Fatal("the caller was cut off when the agent left the conference")
	}
	must(t, third.Hangup())
	must(t, a.caller.Expect(a.ctx, "survey/ask"))
	must(t, a.caller.Hangup())
}

func TestConsultBusyThenResume(t *testing.T) {
	a, _, id := consulting(t)
	must(t, a.do(t, id, hotline.CallCommand{Action: hotline.ActionConsult, Transfer: hotline.TransferTarget{Endpoint: "PJSIP/1003"}}))
	a.waitConsult(t, id, "")
	st, err := a.h.Engine.CallState(id)
	must(t, err)
	if !st.Held {
		t.Fatalf("after a failed consultation the caller is %+v, want still on hold", st)
	}
	must(t, a.do(t, id, hotline.CallCommand{Action: hotline.ActionResume}))
	must(t, a.caller.Hangup())
}

func TestCallerHangsUpDuringConsultation(t *testing.T) {
	a, agent, id := consulting(t)
	must(t, a.do(t, id, consult1002))
	third := a.agentPhone(t, "PJSIP/1002")
	a.waitConsult(t, id, "talking")
	must(t, a.caller.Hangup())
	for _, p := range []*arisim.Call{agent, third} {
		select {
		case <-p.Done():
		case <-a.ctx.Done():
			t.Fatal("a leg outlived the caller")
		}
	}
	a.h.Engine.Wait()
}
