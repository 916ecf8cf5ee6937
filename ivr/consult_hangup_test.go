package ivr_test

import (
	"errors"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// consultingManual is consulting with PJSIP/1004, a phone that rings until it is answered.
func consultingManual(t *testing.T) (*agentRig, *arisim.Call, string) {
	t.Helper()
	return talkingWith(t, map[string]arisim.PhoneBehaviour{
		"1001": {Mode: arisim.PhoneAnswer, AnswerAfter: time.Second},
		"1002": {Mode: arisim.PhoneAnswer, AnswerAfter: time.Second},
		"1004": {Mode: arisim.PhoneManual},
	})
}

var consult1004 = hotline.CallCommand{Action: hotline.ActionConsult, Transfer: hotline.TransferTarget{Endpoint: "PJSIP/1004"}}

func ended(t *testing.T, a *agentRig, calls ...*arisim.Call) {
	t.Helper()
	for _, c := range calls {
		select {
		case <-c.Done():
		case <-a.ctx.Done():
			t.Fatalf("call %s outlived the step", c.ID())
		}
	}
}

func TestAgentHangsUpWhileConsultedPhoneRings(t *testing.T) {
	a, agent, id := consultingManual(t)
	must(t, a.do(t, id, consult1004))
	third := a.agentPhone(t, "PJSIP/1004")
	a.waitConsult(t, id, "ringing")
	must(t, agent.Hangup())
	ended(t, a, third)
	must(t, a.caller.Expect(a.ctx, "survey/ask"))
	must(t, a.caller.Hangup())
}

func TestCallerHangsUpWhileConsultedPhoneRings(t *testing.T) {
	a, agent, id := consultingManual(t)
	must(t, a.do(t, id, consult1004))
	third := a.agentPhone(t, "PJSIP/1004")
	a.waitConsult(t, id, "ringing")
	must(t, a.caller.Hangup())
	ended(t, a, agent, third)
	a.h.Engine.Wait()
}

func TestAgentHangsUpDuringConsultation(t *testing.T) {
	a, agent, id := consulting(t)
	must(t, a.do(t, id, consult1002))
	third := a.agentPhone(t, "PJSIP/1002")
	a.waitConsult(t, id, "talking")
	must(t, agent.Hangup())
	ended(t, a, third)
	must(t, a.caller.Expect(a.ctx, "survey/ask"))
	must(t, a.caller.Hangup())
}

func TestConsultedPartyHangsUp(t *testing.T) {
	a, agent, id := consulting(t)
	must(t, a.do(t, id, consult1002))
	third := a.agentPhone(t, "PJSIP/1002")
	a.waitConsult(t, id, "talking")
	must(t, third.Hangup())
	a.waitConsult(t, id, "")
	st, err := a.h.Engine.CallState(id)
	must(t, err)
	if !st.Held {
		t.Fatalf("after the consulted party left the caller is %+v, want on hold for the agent", st)
	}
	must(t, a.do(t, id, hotline.CallCommand{Action: hotline.ActionResume}))
	must(t, agent.Hangup())
	must(t, a.caller.Expect(a.ctx, "survey/ask"))
	must(t, a.caller.Hangup())
}

func TestConsultedPartyLeavesConference(t *testing.T) {
	a, agent, id := consulting(t)
	must(t, a.do(t, id, consult1002))
	third := a.agentPhone(t, "PJSIP/1002")
	a.waitConsult(t, id, "talking")
	must(t, a.do(t, id, hotline.CallCommand{Action: hotline.ActionConference}))
	must(t, third.Hangup())
	a.waitConsult(t, id, "")
	st, err := a.h.Engine.CallState(id)
	must(t, err)
	if st.Held {
		t.Fatalf("after the third party left the conference the caller is %+v, want talking with the agent", st)
	}
	must(t, agent.Hangup())
	must(t, a.caller.Expect(a.ctx, "survey/ask"))
	must(t, a.caller.Hangup())
}

func TestCallerLeavesConference(t *testing.T) {
	a, agent, id := consulting(t)
	must(t, a.do(t, id, consult1002))
	third := a.agentPhone(t, "PJSIP/1002")
	a.waitConsult(t, id, "talking")
	must(t, a.do(t, id, hotline.CallCommand{Action: hotline.ActionConference}))
	must(t, a.caller.Hangup())
	ended(t, a, agent, third)
	a.h.Engine.Wait()
}

func TestCallerHangsUpAfterCompletedTransfer(t *testing.T) {
	a, agent, id := consulting(t)
	must(t, a.do(t, id, consult1002))
	third := a.agentPhone(t, "PJSIP/1002")
	a.waitConsult(t, id, "talking")
	must(t, a.do(t, id, hotline.CallCommand{Action: hotline.ActionCompleteConsult}))
	ended(t, a, agent)
	must(t, a.caller.Hangup())
	ended(t, a, third)
	a.h.Engine.Wait()
}

func TestConsultCommandsCheckState(t *testing.T) {
	a, _, id := consultingManual(t)
	conflict := func(name string, cmd hotline.CallCommand) {
		t.Helper()
		if err := a.do(t, id, cmd); !errors.Is(err, hotline.ErrConflict) {
			t.Errorf("%s = %v, want ErrConflict", name, err)
		}
	}
	conflict("unmute when not muted", hotline.CallCommand{Action: hotline.ActionUnmute})
	conflict("cancel without a consultation", hotline.CallCommand{Action: hotline.ActionCancelConsult})
	conflict("complete without a consultation", hotline.CallCommand{Action: hotline.ActionCompleteConsult})
	conflict("conference without a consultation", hotline.CallCommand{Action: hotline.ActionConference})
	must(t, a.do(t, id, consult1004))
	third := a.agentPhone(t, "PJSIP/1004")
	a.waitConsult(t, id, "ringing")
	conflict("consult twice", consult1002)
	conflict("conference while it rings", hotline.CallCommand{Action: hotline.ActionConference})
	conflict("resume during a consultation", hotline.CallCommand{Action: hotline.ActionResume})
	must(t, third.Answer())
	a.waitConsult(t, id, "talking")
	must(t, a.do(t, id, hotline.CallCommand{Action: hotline.ActionConference}))
	conflict("cancel a conference", hotline.CallCommand{Action: hotline.ActionCancelConsult})
	conflict("conference twice", hotline.CallCommand{Action: hotline.ActionConference})
	conflict("hold in a conference", hotline.CallCommand{Action: hotline.ActionHold})
	must(t, a.caller.Hangup())
}
