package ivr_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
)

// fakeACD records what the calls report about their offers.
type fakeACD struct {
	mu     sync.Mutex
	events []string
	// failAnswers makes that many OfferAnswered calls fail as a slow database would.
	failAnswers int
	// ended are offers the ACD ended already: their answer is refused.
	ended map[int64]bool
}

func (f *fakeACD) note(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, fmt.Sprintf(format, args...))
	return nil
}

func (f *fakeACD) OfferAnswered(ctx context.Context, offerID int64) error {
	f.mu.Lock()
	if f.failAnswers > 0 {
		f.failAnswers--
		f.mu.Unlock()
		return fmt.Errorf("offer answered: offer %d: %w", offerID, context.DeadlineExceeded)
	}
	if f.ended[offerID] {
		f.mu.Unlock()
		return fmt.Errorf("offer answered: offer %d: offer ended as cancelled: %w", offerID, hotline.ErrConflict)
	}
	f.mu.Unlock()
	return f.note("answered %d", offerID)
}

func (f *fakeACD) OfferEnded(ctx context.Context, offerID int64, outcome, cause string) error {
	return f.note("ended %d %s", offerID, outcome)
}

func (f *fakeACD) ConversationEnded(ctx context.Context, offerID int64) error {
	return f.note("conversation %d", offerID)
}

func (f *fakeACD) seen() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// agentRig is a caller waiting in the general queue and simulated agent phones.
type agentRig struct {
	*rig
	acd    *fakeACD
	caller *flowtest.Caller
	ctx    context.Context
}

func startAgentRig(t *testing.T, phones map[string]arisim.PhoneBehaviour) *agentRig {
	t.Helper()
	cfg := shipped(t)
	rec, svc, acd := newMemRecorder(), &fakeServices{}, &fakeACD{}
	cfg.Sources, cfg.Services, cfg.Recorder, cfg.ACD = &fakeSources{LookupFunc: billData}, svc, rec, acd
	r := startRigWith(t, cfg, rec, svc)
	for res, b := range phones {
		r.h.Sim.SetEndpoint(arisim.EndpointConfig{Technology: "PJSIP", Resource: res, Registered: true, Behaviour: b})
	}
	c, ctx := r.call(t, "13800138000")
	toMainMenu(t, c, ctx)
	must(t, c.Press(ctx, "0", 0))
	must(t, c.Expect(ctx, "common/transfer_agent", "agent/leave_hint"))
	waitFor(t, ctx, "the caller to enter the queue", func() bool {
		r.svc.mu.Lock()
		defer r.svc.mu.Unlock()
		return len(r.svc.Queued) == 1
	})
	return &agentRig{rig: r, acd: acd, caller: c, ctx: ctx}
}

func (a *agentRig) offer(t *testing.T, id int64, endpoint string) {
	t.Helper()
	o := hotline.Offer{ID: id, CallID: a.callID(t), AgentID: id, QueueID: "general", Endpoint: endpoint, RingTimeout: 5 * time.Second}
	// The call takes offers once its queue entry is written; retry briefly until then.
	waitFor(t, a.ctx, "the call to take the offer", func() bool { return a.h.Engine.Offer(a.ctx, o) })
}

func (a *agentRig) callID(t *testing.T) string {
	a.rec.mu.Lock()
	defer a.rec.mu.Unlock()
	for id := range a.rec.calls {
		return id
	}
	t.Fatal("no call recorded")
	return ""
}

// agentPhone returns the simulator's call of the agent's phone once it rings.
func (a *agentRig) agentPhone(t *testing.T, endpoint string) *arisim.Call {
	t.Helper()
	var id string
	waitFor(t, a.ctx, "the agent's phone to ring", func() bool {
		for _, ci := range a.h.Sim.Calls() {
			if ci.Kind == "agent" && ci.Endpoint == endpoint {
				id = ci.ID
				return true
			}
		}
		return false
	})
	c, err := a.h.Sim.Call(id)
	must(t, err)
	return c
}

// TestAgentAnswersThenHangsUpCallerGoesToSurvey: the agent hangs up, the caller answers the
// survey, and the call's end record carries the answer.
func TestAgentAnswersThenHangsUpCallerGoesToSurvey(t *testing.T) {
	a := startAgentRig(t, map[string]arisim.PhoneBehaviour{"1001": {Mode: arisim.PhoneAnswer, AnswerAfter: 2 * time.Second}})
	a.offer(t, 1, "PJSIP/1001")
	phone := a.agentPhone(t, "PJSIP/1001")
	waitFor(t, a.ctx, "the offer to be answered", func() bool { return slices.Contains(a.acd.seen(), "answered 1") })
	must(t, phone.Hangup())
	must(t, a.caller.Expect(a.ctx, "survey/ask"))
	if got, want := a.acd.seen(), []string{"answered 1", "conversation 1"}; !slices.Equal(got, want) {
		t.Errorf("ACD heard %v, want %v", got, want)
	}
	must(t, a.caller.Press(a.ctx, "4", 0)) // 不满意: a follow-up
	must(t, a.caller.Expect(a.ctx, "survey/follow_up"))
	must(t, a.caller.Hangup())
	must(t, a.caller.WaitEnd(a.ctx))
	a.h.Engine.Wait()
	_, _, end := a.rec.only(t)
	if end.Outcome != hotline.OutcomeAgent || end.AgentID != 1 {
		t.Errorf("call ended as %q with agent %d, want %q with agent 1", end.Outcome, end.AgentID, hotline.OutcomeAgent)
	}
	// The answer is saved at once, and carried by the end record, which the call log writes
	// whatever the database did meanwhile.
	if end.Survey != 4 || end.SurveyAt.IsZero() || !end.FollowUp || !slices.Equal(a.svc.Surveys, []int{4}) {
		t.Errorf("end carries survey %d at %v, follow-up %v; saved %v; want 4, a time, a follow-up, [4]",
			end.Survey, end.SurveyAt, end.FollowUp, a.svc.Surveys)
	}
	if got := a.svc.Left; len(got) != 0 {
		t.Errorf("the call left its queue as %v: an answered entry is closed by the ACD", got)
	}
}

func TestFailedOffersKeepTheCallerWaiting(t *testing.T) {
	a := startAgentRig(t, map[string]arisim.PhoneBehaviour{
		"1001": {Mode: arisim.PhoneBusy},
		"1002": {Mode: arisim.PhoneNoAnswer},
		"1003": {Mode: arisim.PhoneAnswer, AnswerAfter: time.Second},
	})
	a.offer(t, 1, "PJSIP/1001")
	waitFor(t, a.ctx, "the busy phone to reject", func() bool { return slices.Contains(a.acd.seen(), "ended 1 rejected") })
	a.offer(t, 2, "PJSIP/1002")
	waitFor(t, a.ctx, "the phone to ring out", func() bool { return slices.Contains(a.acd.seen(), "ended 2 timeout") })
	a.offer(t, 3, "PJSIP/404") // no such endpoint
	waitFor(t, a.ctx, "the missing phone to fail", func() bool { return slices.Contains(a.acd.seen(), "ended 3 failed") })
	a.offer(t, 4, "PJSIP/1003")
	waitFor(t, a.ctx, "the third agent to answer", func() bool { return slices.Contains(a.acd.seen(), "answered 4") })
	if a.caller.Ended() {
		t.Fatal("the caller was cut off by the failed offers")
	}
	// The caller hangs up while talking: the agent's leg is hung up, the conversation ends.
	phone := a.agentPhone(t, "PJSIP/1003")
	must(t, a.caller.Hangup())
	select {
	case <-phone.Done():
	case <-a.ctx.Done():
		t.Fatal("the agent's phone was not hung up after the caller left")
	}
	a.h.Engine.Wait()
	if got, want := a.acd.seen(), []string{"ended 1 rejected", "ended 2 timeout", "ended 3 failed", "answered 4", "conversation 4"}; !slices.Equal(got, want) {
		t.Errorf("ACD heard %v, want %v", got, want)
	}
}

// TestAnswerOfAnEndedOfferLetsTheAgentGo: an agent answers an offer the ACD ended meanwhile
// (here: its answer is refused as a conflict): the ACD counts that agent free, so the agent's
// phone is hung up and the caller waits on, in the queue, for the next offer.
func TestAnswerOfAnEndedOfferLetsTheAgentGo(t *testing.T) {
	a := startAgentRig(t, map[string]arisim.PhoneBehaviour{
		"1001": {Mode: arisim.PhoneAnswer, AnswerAfter: time.Second},
		"1002": {Mode: arisim.PhoneAnswer, AnswerAfter: time.Second},
	})
	a.acd.mu.Lock()
	a.acd.ended = map[int64]bool{1: true}
	a.acd.mu.Unlock()
	a.offer(t, 1, "PJSIP/1001")
	select {
	case <-a.agentPhone(t, "PJSIP/1001").Done():
	case <-a.ctx.Done():
		t.Fatal("the agent of the ended offer was not let go")
	}
	if a.caller.Ended() {
		t.Fatal("the caller was cut off")
	}
	a.offer(t, 2, "PJSIP/1002")
	waitFor(t, a.ctx, "the next agent to answer", func() bool { return slices.Contains(a.acd.seen(), "answered 2") })
	must(t, a.caller.Hangup())
	a.h.Engine.Wait()
	if got, want := a.acd.seen(), []string{"answered 2", "conversation 2"}; !slices.Equal(got, want) {
		t.Errorf("ACD heard %v, want %v (nothing of the ended offer: it is the ACD's already)", got, want)
	}
	if _, _, end := a.rec.only(t); end.Outcome != hotline.OutcomeAgent || end.AgentID != 2 {
		t.Errorf("call ended as %q with agent %d, want %q with agent 2", end.Outcome, end.AgentID, hotline.OutcomeAgent)
	}
}

func TestCallerHangsUpWhileAgentRings(t *testing.T) {
	a := startAgentRig(t, map[string]arisim.PhoneBehaviour{"1001": {Mode: arisim.PhoneManual}})
	a.offer(t, 7, "PJSIP/1001")
	phone := a.agentPhone(t, "PJSIP/1001")
	must(t, a.caller.Hangup())
	select {
	case <-phone.Done():
	case <-a.ctx.Done():
		t.Fatal("the agent's phone kept ringing after the caller hung up")
	}
	a.h.Engine.Wait()
	if got, want := a.acd.seen(), []string{"ended 7 cancelled"}; !slices.Equal(got, want) {
		t.Errorf("ACD heard %v, want %v", got, want)
	}
	if got, want := a.svc.Left, []string{hotline.QueueAbandoned}; !slices.Equal(got, want) {
		t.Errorf("left the queue as %v, want %v", got, want)
	}
	if a.h.Engine.Offer(a.ctx, hotline.Offer{ID: 8, CallID: a.callID(t)}) {
		t.Error("an ended call took an offer")
	}
}

// memRecordings keeps recording rows in memory and serves them as all expired.
type memRecordings struct {
	mu      sync.Mutex
	rows    map[string]hotline.Recording
	deleted []int64
}

func (m *memRecordings) Recording(ctx context.Context, r hotline.Recording) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.rows == nil {
		m.rows = map[string]hotline.Recording{}
	}
	r.ID = int64(len(m.rows) + 1)
	if old, ok := m.rows[r.Name]; ok {
		r.ID = old.ID
	}
	m.rows[r.Name] = r
	return nil
}

func (m *memRecordings) ExpiredRecordings(ctx context.Context, kind string, before time.Time, limit int) ([]hotline.Recording, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []hotline.Recording
	for _, r := range m.rows {
		if r.Kind == kind && !slices.Contains(m.deleted, r.ID) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *memRecordings) DeleteRecording(ctx context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.deleted = append(m.deleted, id)
	return nil
}

func TestConversationIsRecordedAndPurged(t *testing.T) {
	cfg := shipped(t)
	rec, svc, acd, recs := newMemRecorder(), &fakeServices{}, &fakeACD{}, &memRecordings{}
	cfg.Sources, cfg.Services, cfg.Recorder, cfg.ACD, cfg.Recordings = &fakeSources{LookupFunc: billData}, svc, rec, acd, recs
	r := startRigWith(t, cfg, rec, svc)
	r.h.Sim.SetEndpoint(arisim.EndpointConfig{Technology: "PJSIP", Resource: "1001", Registered: true,
		Behaviour: arisim.PhoneBehaviour{Mode: arisim.PhoneAnswer, AnswerAfter: time.Second}})
	c, ctx := r.call(t, "13800138000")
	toMainMenu(t, c, ctx)
	must(t, c.Press(ctx, "0", 0))
	must(t, c.Expect(ctx, "agent/leave_hint"))
	a := &agentRig{rig: r, acd: acd, caller: c, ctx: ctx}
	a.offer(t, 5, "PJSIP/1001")
	phone := a.agentPhone(t, "PJSIP/1001")
	waitFor(t, ctx, "the conversation", func() bool { return slices.Contains(acd.seen(), "answered 5") })
	time.Sleep(300 * time.Millisecond) // talk
	must(t, phone.Hangup())
	must(t, c.Expect(ctx, "survey/ask"))
	must(t, c.Hangup())
	r.h.Engine.Wait()

	recs.mu.Lock()
	var got hotline.Recording
	for _, v := range recs.rows {
		got = v
	}
	n := len(recs.rows)
	recs.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d recordings saved, want 1", n)
	}
	if got.Kind != hotline.RecordingConversation || got.AgentID != 5 || got.Node != "sim" || got.Duration < 200*time.Millisecond {
		t.Errorf("recording = %+v, want a conversation of agent 5 on node sim of at least 200ms", got)
	}
	stored := func() bool {
		list, err := r.h.Cluster.Conns()[0].Client().ListStoredRecordings(ctx)
		must(t, err)
		return slices.ContainsFunc(list, func(s ari.StoredRecording) bool { return s.Name == got.Name })
	}
	if !stored() {
		t.Fatalf("recording %s is not stored on the node", got.Name)
	}
	// The desk plays it: the file comes from its node, or from any node when the row names
	// none; one that no node has is not found.
	for _, node := range []string{got.Node, ""} {
		rec := got
		rec.Node = node
		audio, err := r.h.Engine.RecordingAudio(ctx, rec)
		must(t, err)
		data, _ := io.ReadAll(audio)
		if len(data) < 44 || string(data[:4]) != "RIFF" {
			t.Errorf("audio of %s (node %q): %d bytes, want a WAV file", got.Name, node, len(data))
		}
	}
	missing := got
	missing.Name = "no-such-recording"
	if _, err := r.h.Engine.RecordingAudio(ctx, missing); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("a recording no node has: %v", err)
	}
	deleted, err := r.h.Engine.PurgeRecordings(ctx, recs, hotline.RecordingConversation, 24*time.Hour)
	must(t, err)
	if deleted != 1 || stored() {
		t.Errorf("purge deleted %d, file still stored: %v", deleted, stored())
	}
}
