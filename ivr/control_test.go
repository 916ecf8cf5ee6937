package ivr_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// talking returns a rig whose caller talks with agent 1 on PJSIP/1001.
func talking(t *testing.T) (*agentRig, *arisim.Call, string) {
	t.Helper()
	return talkingWith(t, map[string]arisim.PhoneBehaviour{"1001": {Mode: arisim.PhoneAnswer, AnswerAfter: time.Second}})
}

// talkingWith returns a rig with phones whose caller talks with agent 1 on PJSIP/1001: the
// agent's phone and the call's id.
func talkingWith(t *testing.T, phones map[string]arisim.PhoneBehaviour) (*agentRig, *arisim.Call, string) {
	t.Helper()
	a := startAgentRig(t, phones)
	a.offer(t, 1, "PJSIP/1001")
	phone := a.agentPhone(t, "PJSIP/1001")
	id := a.callID(t)
	waitFor(t, a.ctx, "the conversation", func() bool {
		_, err := a.h.Engine.CallState(id)
		return err == nil
	})
	return a, phone, id
}

func TestCallControlChecksState(t *testing.T) {
	a, _, id := talking(t)
	eng := a.h.Engine
	do := func(cmd hotline.CallCommand) error { return eng.Control(a.ctx, id, cmd) }
	tests := []struct {
		name string
		cmd  hotline.CallCommand
		want error // nil, or the sentinel the error must match
		held bool
	}{
		{"resume when not held", hotline.CallCommand{Action: hotline.ActionResume, AgentID: 1}, hotline.ErrConflict, false},
		{"another agent", hotline.CallCommand{Action: hotline.ActionHold, AgentID: 2}, hotline.ErrForbidden, false},
		{"unknown action", hotline.CallCommand{Action: "park", AgentID: 1}, hotline.ErrInvalid, false},
		{"bad digits", hotline.CallCommand{Action: hotline.ActionDTMF, AgentID: 1, Digits: "12x"}, hotline.ErrInvalid, false},
		{"two targets", hotline.CallCommand{Action: hotline.ActionTransfer, AgentID: 1, Transfer: hotline.TransferTarget{Queue: "health", Flow: "survey"}}, hotline.ErrInvalid, false},
		{"hold", hotline.CallCommand{Action: hotline.ActionHold, AgentID: 1}, nil, true},
		{"hold twice", hotline.CallCommand{Action: hotline.ActionHold, AgentID: 1}, hotline.ErrConflict, true},
		{"resume", hotline.CallCommand{Action: hotline.ActionResume, AgentID: 1}, nil, false},
		{"mute", hotline.CallCommand{Action: hotline.ActionMute, AgentID: 1}, nil, false},
		{"mute twice", hotline.CallCommand{Action: hotline.ActionMute, AgentID: 1}, hotline.ErrConflict, false},
		{"unmute", hotline.CallCommand{Action: hotline.ActionUnmute, AgentID: 1}, nil, false},
		{"dtmf", hotline.CallCommand{Action: hotline.ActionDTMF, AgentID: 1, Digits: "12#"}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := do(tt.cmd)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("Control: %v", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("Control = %v, want %v", err, tt.want)
			}
			st, err := eng.CallState(id)
			must(t, err)
			if st.Held != tt.held {
				t.Errorf("held = %v, want %v", st.Held, tt.held)
			}
		})
	}
	if err := eng.Control(a.ctx, "no-such-call", hotline.CallCommand{Action: hotline.ActionHold, AgentID: 1}); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("Control of an unknown call = %v, want ErrNotFound", err)
	}
	must(t, a.caller.Hangup())
}

func TestHoldPlaysMusicToTheCaller(t *testing.T) {
	a, _, id := talking(t)
	must(t, a.h.Engine.Control(a.ctx, id, hotline.CallCommand{Action: hotline.ActionHold, AgentID: 1}))
	must(t, a.h.Engine.Control(a.ctx, id, hotline.CallCommand{Action: hotline.ActionResume, AgentID: 1}))
	must(t, a.caller.Hangup())
	var types []string
	for _, e := range heardEvents(a.caller.Sim()) {
		types = append(types, e.Type)
	}
	// Bridged with the agent; on hold out of the bridge with music; back without a gap:
	// bridged again before the music stops.
	want := []string{"bridged", "unbridged", "moh", "bridged", "moh_stop"}
	if !isSubsequence(types, want) {
		t.Errorf("the caller experienced %v, want %v in this order", types, want)
	}
}

func TestAgentHangupCommandSendsCallerToSurvey(t *testing.T) {
	a, phone, id := talking(t)
	must(t, a.h.Engine.Control(a.ctx, id, hotline.CallCommand{Action: hotline.ActionHangup, AgentID: 1}))
	<-phone.Done()
	must(t, a.caller.Expect(a.ctx, "survey/ask"))
	if err := a.h.Engine.Control(a.ctx, id, hotline.CallCommand{Action: hotline.ActionHold, AgentID: 1}); !errors.Is(err, hotline.ErrConflict) {
		t.Errorf("hold after the conversation = %v, want ErrConflict", err)
	}
	must(t, a.caller.Hangup())
}

func TestBlindTransfers(t *testing.T) {
	t.Run("to a queue keeps waiting", func(t *testing.T) {
		a, phone, id := talking(t)
		must(t, a.h.Engine.Control(a.ctx, id, hotline.CallCommand{Action: hotline.ActionTransfer, AgentID: 1, Transfer: hotline.TransferTarget{Queue: "health"}}))
		<-phone.Done()
		waitFor(t, a.ctx, "the caller to queue again", func() bool {
			a.svc.mu.Lock()
			defer a.svc.mu.Unlock()
			return slices.Equal(a.svc.Queued, []string{"general", "health"})
		})
		if got, want := a.acd.seen(), []string{"answered 1", "conversation 1"}; !slices.Equal(got, want) {
			t.Errorf("ACD heard %v, want %v", got, want)
		}
		must(t, a.caller.Hangup())
	})
	t.Run("to a flow", func(t *testing.T) {
		a, phone, id := talking(t)
		must(t, a.h.Engine.Control(a.ctx, id, hotline.CallCommand{Action: hotline.ActionTransfer, AgentID: 1, Transfer: hotline.TransferTarget{Flow: "insurance"}}))
		<-phone.Done()
		must(t, a.caller.Expect(a.ctx, "insurance/intro"))
		must(t, a.caller.Hangup())
	})
	t.Run("to a number that is busy", func(t *testing.T) {
		a, phone, id := talking(t)
		a.h.Sim.SetNumber("075712345678", arisim.PhoneBehaviour{Mode: arisim.PhoneBusy})
		must(t, a.h.Engine.Control(a.ctx, id, hotline.CallCommand{Action: hotline.ActionTransfer, AgentID: 1, Transfer: hotline.TransferTarget{Number: "075712345678"}}))
		<-phone.Done()
		// The dial through hotline-out fails: the caller goes on as after the conversation.
		must(t, a.caller.Expect(a.ctx, "survey/ask"))
		must(t, a.caller.Hangup())
	})
	t.Run("to a number that answers", func(t *testing.T) {
		a, phone, id := talking(t)
		a.h.Sim.SetNumber("075712345679", arisim.PhoneBehaviour{Mode: arisim.PhoneAnswer, AnswerAfter: time.Second})
		must(t, a.h.Engine.Control(a.ctx, id, hotline.CallCommand{Action: hotline.ActionTransfer, AgentID: 1, Transfer: hotline.TransferTarget{Number: "075712345679"}}))
		<-phone.Done()
		var far *arisim.Call
		waitFor(t, a.ctx, "the outside phone", func() bool {
			for _, c := range a.h.Sim.Calls() {
				if c.Kind == "outbound" && c.Exten == "075712345679" && c.State == "up" {
					far, _ = a.h.Sim.Call(c.ID)
					return far != nil
				}
			}
			return false
		})
		if got := far.Info().Caller; got != "13800138000" {
			t.Errorf("the outside phone shows %q, want the caller's number", got)
		}
		heard(t, a.ctx, far, "bridged")
		// The far end hangs up: a caller transferred out is done with the hotline.
		must(t, far.Hangup())
		must(t, a.caller.WaitEnd(a.ctx))
		if slices.Contains(a.caller.Heard, "survey/ask") {
			t.Error("the caller transferred out came back to the survey")
		}
	})
	t.Run("to an unknown flow", func(t *testing.T) {
		a, _, id := talking(t)
		err := a.h.Engine.Control(a.ctx, id, hotline.CallCommand{Action: hotline.ActionTransfer, AgentID: 1, Transfer: hotline.TransferTarget{Flow: "nope"}})
		if !errors.Is(err, hotline.ErrInvalid) {
			t.Errorf("transfer to an unknown flow = %v, want ErrInvalid", err)
		}
		if _, err := a.h.Engine.CallState(id); err != nil {
			t.Errorf("the conversation ended after a refused transfer: %v", err)
		}
		must(t, a.caller.Hangup())
	})
}

// heardEvents takes what the phone experienced so far without blocking.
func heardEvents(c *arisim.Call) []arisim.HeardEvent {
	var out []arisim.HeardEvent
	for {
		select {
		case e := <-c.Heard():
			out = append(out, e)
		case <-time.After(200 * time.Millisecond):
			return out
		}
	}
}

// isSubsequence reports whether want appears in got in order.
func isSubsequence(got, want []string) bool {
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	return i == len(want)
}

func TestCallControlIsInTheCallHistory(t *testing.T) {
	a, _, id := talking(t)
	a.h.Sim.SetNumber("075712345678", arisim.PhoneBehaviour{Mode: arisim.PhoneBusy}) // the transfer fails
	must(t, a.h.Engine.Control(a.ctx, id, hotline.CallCommand{Action: hotline.ActionHold, AgentID: 1}))
	must(t, a.h.Engine.Control(a.ctx, id, hotline.CallCommand{Action: hotline.ActionResume, AgentID: 1}))
	must(t, a.h.Engine.Control(a.ctx, id, hotline.CallCommand{Action: hotline.ActionDTMF, AgentID: 1, Digits: "123456"}))
	must(t, a.h.Engine.Control(a.ctx, id, hotline.CallCommand{Action: hotline.ActionTransfer, AgentID: 1,
		Transfer: hotline.TransferTarget{Number: "075712345678"}}))
	must(t, a.caller.Expect(a.ctx, "survey/ask"))
	must(t, a.caller.Hangup())
	a.h.Engine.Wait()
	_, steps, _ := a.rec.only(t)
	var got []string
	for _, s := range steps {
		if s.Kind == "control" {
			got = append(got, s.Node+" "+s.Input+" "+s.Exit)
		}
	}
	want := []string{"hold  agent:1", "resume  agent:1", "dtmf ***(6) agent:1", "transfer …5678 agent:1"}
	if !slices.Equal(got, want) {
		t.Errorf("control steps = %q, want %q", got, want)
	}
}
