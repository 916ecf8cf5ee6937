package ivr_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// connectedCallbacks is fakeCallbacks that also hears when the citizen answered.
type connectedCallbacks struct {
	fakeCallbacks
	mu     sync.Mutex
	callID string
}

func (f *connectedCallbacks) CallbackConnected(ctx context.Context, offerID int64, callID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.callID = callID
	return nil
}

func (f *connectedCallbacks) connected() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.callID
}

// TestCallbackControl: once the citizen answers a callback, the engine names the call (for
// the agent's desk) and takes the agent's commands on it: mute, unmute and DTMF work, hold
// and transfers are refused with a reason, another agent is refused, and hang-up ends it.
func TestCallbackControl(t *testing.T) {
	cfg := shipped(t)
	rec, svc := newMemRecorder(), &fakeServices{}
	acd, cb := &fakeACD{}, &connectedCallbacks{}
	cfg.Sources, cfg.Services, cfg.Recorder, cfg.ACD, cfg.Callbacks = &fakeSources{LookupFunc: billData}, svc, rec, acd, cb
	cfg.HotlineNumber = "12345"
	r := &callbackRig{rig: startRigWith(t, cfg, rec, svc), acd: acd, cb: &cb.fakeCallbacks}
	r.h.Sim.SetEndpoint(arisim.EndpointConfig{Technology: "PJSIP", Resource: "1001", Registered: true,
		Behaviour: arisim.PhoneBehaviour{Mode: arisim.PhoneAnswer}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	r.ctx = ctx
	r.h.Sim.SetNumber("13900000009", arisim.PhoneBehaviour{Mode: arisim.PhoneAnswer, AnswerAfter: 500 * time.Millisecond})
	r.place(t, "13900000009")
	agent := r.phone(t, "agent")
	citizen := r.phone(t, "outbound")
	heard(t, ctx, citizen, "bridged")
	waitFor(t, ctx, "the call named", func() bool { return cb.connected() != "" })
	id := cb.connected()
	control := func(cmd hotline.CallCommand) error {
		if cmd.AgentID == 0 {
			cmd.AgentID = 1
		}
		return r.h.Engine.Control(ctx, id, cmd)
	}
	waitFor(t, ctx, "the conversation taking commands", func() bool {
		st, err := r.h.Engine.CallState(id)
		return err == nil && st.AgentID == 1
	})

	for _, cmd := range []hotline.CallCommand{
		{Action: hotline.ActionHold},
		{Action: hotline.ActionResume},
		{Action: hotline.ActionTransfer, Transfer: hotline.TransferTarget{Queue: "general"}},
		{Action: hotline.ActionConsult, Transfer: hotline.TransferTarget{Number: "075512345"}},
		{Action: hotline.ActionUnmute},
	} {
		if err := control(cmd); !errors.Is(err, hotline.ErrConflict) {
			t.Errorf("%s on a callback: %v, want a conflict", cmd.Action, err)
		}
	}
	if err := control(hotline.CallCommand{Action: hotline.ActionMute, AgentID: 2}); !errors.Is(err, hotline.ErrForbidden) {
		t.Errorf("another agent mutes: %v, want forbidden", err)
	}
	must(t, control(hotline.CallCommand{Action: hotline.ActionMute}))
	if st, err := r.h.Engine.CallState(id); err != nil || !st.Muted {
		t.Errorf("after mute: %+v %v", st, err)
	}
	if err := control(hotline.CallCommand{Action: hotline.ActionMute}); !errors.Is(err, hotline.ErrConflict) {
		t.Errorf("mute twice: %v, want a conflict", err)
	}
	must(t, control(hotline.CallCommand{Action: hotline.ActionUnmute}))
	must(t, control(hotline.CallCommand{Action: hotline.ActionDTMF, Digits: "1"}))
	must(t, control(hotline.CallCommand{Action: hotline.ActionHangup}))
	<-agent.Done()
	<-citizen.Done()
	waitFor(t, ctx, "the conversation's end", func() bool {
		for _, s := range acd.seen() {
			if s == "conversation 1" {
				return true
			}
		}
		return false
	})
	if _, err := r.h.Engine.CallState(id); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("after hang-up the call still takes commands: %v", err)
	}
}
