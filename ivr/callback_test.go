package ivr_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// fakeCallbacks records the tries of callbacks.
type fakeCallbacks struct {
	mu       sync.Mutex
	attempts []string
}

func (f *fakeCallbacks) CallbackAttempted(ctx context.Context, task hotline.CallbackTask, offerID, agentID int64, callID, outcome, cause string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	placed := "no call"
	if callID != "" {
		placed = "call"
	}
	f.attempts = append(f.attempts, fmt.Sprintf("callback %d offer %d agent %d %s %q", task.ID, offerID, agentID, placed, outcome))
	return nil
}

func (f *fakeCallbacks) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.attempts)
}

// callbackRig is an engine with simulated agent phone PJSIP/1001 placing callbacks.
type callbackRig struct {
	*rig
	acd *fakeACD
	cb  *fakeCallbacks
	ctx context.Context
}

func startCallbackRig(t *testing.T, agent arisim.PhoneBehaviour) *callbackRig {
	t.Helper()
	cfg := shipped(t)
	rec, svc := newMemRecorder(), &fakeServices{}
	r := &callbackRig{acd: &fakeACD{}, cb: &fakeCallbacks{}}
	cfg.Sources, cfg.Services, cfg.Recorder, cfg.ACD, cfg.Callbacks = &fakeSources{LookupFunc: billData}, svc, rec, r.acd, r.cb
	cfg.HotlineNumber = "12345"
	r.rig = startRigWith(t, cfg, rec, svc)
	r.h.Sim.SetEndpoint(arisim.EndpointConfig{Technology: "PJSIP", Resource: "1001", Registered: true, Behaviour: agent})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	r.ctx = ctx
	return r
}

// place starts callback 7 to number, offered to agent 1 as offer 1.
func (r *callbackRig) place(t *testing.T, number string) {
	t.Helper()
	o := hotline.Offer{ID: 1, AgentID: 1, QueueID: "general", Endpoint: "PJSIP/1001", RingTimeout: 15 * time.Second}
	if !r.h.Engine.Callback(r.ctx, o, hotline.CallbackTask{ID: 7, Number: number, Attempt: 1}) {
		t.Fatal("Callback = false with a connected node")
	}
}

// phone waits for the simulated call of kind (agent, outbound) and returns it.
func (r *callbackRig) phone(t *testing.T, kind string) *arisim.Call {
	t.Helper()
	var id string
	waitFor(t, r.ctx, "a call of kind "+kind, func() bool {
		for _, c := range r.h.Sim.Calls() {
			if c.Kind == kind {
				id = c.ID
				return true
			}
		}
		return false
	})
	c, err := r.h.Sim.Call(id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (r *callbackRig) attempts(t *testing.T, want ...string) {
	t.Helper()
	waitFor(t, r.ctx, fmt.Sprintf("attempts %q", want), func() bool { return len(r.cb.seen()) >= len(want) })
	if got := r.cb.seen(); !slices.Equal(got, want) {
		t.Errorf("attempts = %q, want %q", got, want)
	}
}

func heard(t *testing.T, ctx context.Context, c *arisim.Call, typ string) {
	t.Helper()
	for {
		select {
		case e := <-c.Heard():
			if e.Type == typ {
				return
			}
		case <-ctx.Done():
			t.Fatalf("call %s: waiting for %s: %v", c.ID(), typ, ctx.Err())
		}
	}
}

func TestCallbackAnswered(t *testing.T) {
	r := startCallbackRig(t, arisim.PhoneBehaviour{Mode: arisim.PhoneManual})
	r.h.Sim.SetNumber("13900000001", arisim.PhoneBehaviour{Mode: arisim.PhoneAnswer, AnswerAfter: time.Second})
	r.place(t, "13900000001")

	// The agent's phone rings first, with the citizen's number; the citizen is not called yet.
	agent := r.phone(t, "agent")
	if got := agent.Info().Caller; got != "13900000001" {
		t.Errorf("agent's phone shows %q, want the citizen's number", got)
	}
	heard(t, r.ctx, agent, "ringing")
	for _, c := range r.h.Sim.Calls() {
		if c.Kind == "outbound" {
			t.Fatal("the citizen is called before the agent answered")
		}
	}
	must(t, agent.Answer())

	// Then the citizen, with the hotline's number, through hotline-out; both are bridged.
	citizen := r.phone(t, "outbound")
	if info := citizen.Info(); info.Caller != "12345" || info.Exten != "13900000001" || info.Endpoint != "PJSIP/13900000001@carrier" {
		t.Errorf("outbound call = %+v, want caller ID 12345 dialling 13900000001 through the carrier", info)
	}
	heard(t, r.ctx, citizen, "answered")
	heard(t, r.ctx, citizen, "bridged")
	heard(t, r.ctx, agent, "bridged")
	r.attempts(t, `callback 7 offer 1 agent 1 call "answered"`)

	must(t, citizen.Hangup())
	<-agent.Done()
	waitFor(t, r.ctx, "the conversation's end", func() bool { return slices.Contains(r.acd.seen(), "conversation 1") })
	if got := r.acd.seen(); !slices.Equal(got, []string{"answered 1", "conversation 1"}) {
		t.Errorf("ACD saw %q", got)
	}
	if len(r.h.Sim.Calls()) != 0 {
		t.Errorf("calls left: %+v", r.h.Sim.Calls())
	}
}

func TestCallbackCitizenNotReached(t *testing.T) {
	for _, tc := range []struct {
		name    string
		phone   arisim.PhoneBehaviour
		outcome string
	}{
		{"no answer", arisim.PhoneBehaviour{Mode: arisim.PhoneNoAnswer}, hotline.AttemptNoAnswer},
		{"busy", arisim.PhoneBehaviour{Mode: arisim.PhoneBusy, RingAfter: 10 * time.Second}, hotline.AttemptBusy},
		{"rejected", arisim.PhoneBehaviour{Mode: arisim.PhoneReject, AnswerAfter: 10 * time.Second}, hotline.AttemptBusy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startCallbackRig(t, arisim.PhoneBehaviour{Mode: arisim.PhoneAnswer})
			r.h.Sim.SetNumber("13900000002", tc.phone)
			r.place(t, "13900000002")
			agent := r.phone(t, "agent")
			citizen := r.phone(t, "outbound")
			heard(t, r.ctx, citizen, "hangup")
			<-agent.Done()
			r.attempts(t, fmt.Sprintf(`callback 7 offer 1 agent 1 call %q`, tc.outcome))
			waitFor(t, r.ctx, "the conversation's end", func() bool { return slices.Contains(r.acd.seen(), "conversation 1") })
		})
	}
}

func TestCallbackCitizenHangsUpWhileRinging(t *testing.T) {
	r := startCallbackRig(t, arisim.PhoneBehaviour{Mode: arisim.PhoneAnswer})
	r.h.Sim.SetNumber("13900000003", arisim.PhoneBehaviour{Mode: arisim.PhoneManual})
	r.place(t, "13900000003")
	agent := r.phone(t, "agent")
	citizen := r.phone(t, "outbound")
	heard(t, r.ctx, citizen, "ringing")
	must(t, citizen.Reject())
	<-agent.Done()
	r.attempts(t, `callback 7 offer 1 agent 1 call "busy"`)
}

func TestCallbackAgentDoesNotTakeIt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		phone   arisim.PhoneBehaviour
		outcome string
	}{
		{"busy", arisim.PhoneBehaviour{Mode: arisim.PhoneBusy}, hotline.OfferRejected},
		{"rejects", arisim.PhoneBehaviour{Mode: arisim.PhoneReject}, hotline.OfferRejected},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := startCallbackRig(t, tc.phone)
			r.h.Sim.SetNumber("13900000004", arisim.PhoneBehaviour{Mode: arisim.PhoneAnswer})
			r.place(t, "13900000004")
			// The callback goes back to waiting without using up a try; no citizen is called.
			r.attempts(t, `callback 7 offer 1 agent 1 no call ""`)
			if got := r.acd.seen(); !slices.Equal(got, []string{"ended 1 " + tc.outcome}) {
				t.Errorf("ACD saw %q", got)
			}
			for _, c := range r.h.Sim.Calls() {
				if c.Kind == "outbound" {
					t.Errorf("the citizen was called: %+v", c)
				}
			}
		})
	}
}
