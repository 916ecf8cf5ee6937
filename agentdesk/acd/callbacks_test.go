package acd_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk/acd"
	"github.com/foshan-hotline/hotline/postgres"
)

// callbackPhones is a sink that answers calls at once and places callbacks the way the IVR
// engine does: the agent answers, the citizen's phone does what script says for each try,
// and the conversation (if any) ends at once.
type callbackPhones struct {
	acd   *postgres.ACD
	store *postgres.Store

	mu     sync.Mutex
	script []string // outcomes of the tries, in turn
	seen   []string // what was offered, in order
}

func (p *callbackPhones) note(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, s)
}

func (p *callbackPhones) offered() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.seen)
}

func (p *callbackPhones) Offer(ctx context.Context, o hotline.Offer) bool {
	p.note("call")
	go func() {
		ctx := context.WithoutCancel(ctx)
		_ = p.acd.OfferAnswered(ctx, o.ID)
		_ = p.acd.ConversationEnded(ctx, o.ID)
	}()
	return true
}

func (p *callbackPhones) Callback(ctx context.Context, o hotline.Offer, task hotline.CallbackTask) bool {
	p.mu.Lock()
	outcome := hotline.AttemptAnswered
	if len(p.script) > 0 {
		outcome, p.script = p.script[0], p.script[1:]
	}
	p.seen = append(p.seen, fmt.Sprintf("callback %s try %d", task.Number, task.Attempt))
	p.mu.Unlock()
	go func() {
		ctx := context.WithoutCancel(ctx)
		if outcome == "" { // the agent does not take it
			_ = p.acd.OfferEnded(ctx, o.ID, hotline.OfferRejected, "busy")
			_ = p.store.CallbackAttempted(ctx, task, o.ID, o.AgentID, "", "", "agent did not answer")
			return
		}
		for _, err := range []error{p.acd.OfferAnswered(ctx, o.ID),
			p.store.CallbackAttempted(ctx, task, o.ID, o.AgentID, "", outcome, ""),
			p.acd.ConversationEnded(ctx, o.ID)} {
			if err != nil {
				p.note("error: " + err.Error())
			}
		}
	}()
	return true
}

var _ acd.CallbackSink = (*callbackPhones)(nil)

func (c *centre) newCallback(t testing.TB, number string) int64 {
	t.Helper()
	var id int64
	if err := c.db.Get(&id, `INSERT INTO hotline.callbacks (number, queue_id) VALUES ($1, 'general') RETURNING id`, number); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestCallbacksGoAfterLiveCallsOfTheirQueue(t *testing.T) {
	c := newCentre(t)
	a := postgres.NewACD(c.store, "a")
	p := &callbackPhones{acd: a, store: c.store}
	c.run(t, a, p, acd.Options{Tick: 100 * time.Millisecond})

	// A callback and a live call wait in general before an agent is free: the call first.
	cb := c.newCallback(t, "13900000001")
	call := c.newCall(t, "a")
	if _, err := c.ivr.EnterQueue(context.Background(), call, "general", 0); err != nil {
		t.Fatal(err)
	}
	c.addAgents(t, 1, a)
	eventually(t, func() bool {
		return c.count(t, `SELECT count(*) FROM hotline.callbacks WHERE id = $1 AND status = 'done'`, cb) == 1
	})
	if got, want := p.offered(), []string{"call", "callback 13900000001 try 1"}; !slices.Equal(got, want) {
		t.Errorf("offered %q, want %q", got, want)
	}
	if n := c.count(t, `SELECT count(*) FROM hotline.callback_attempts WHERE callback_id = $1 AND outcome = 'answered' AND attempt = 1`, cb); n != 1 {
		t.Errorf("%d answered attempts recorded, want 1", n)
	}
	if n := c.count(t, `SELECT count(*) FROM hotline.offers WHERE callback_id = $1 AND state = 'accepted'`, cb); n != 1 {
		t.Errorf("%d accepted offers of the callback, want 1", n)
	}
}

func TestCallbackTriesThenFails(t *testing.T) {
	c := newCentre(t)
	c.store.SetCallbackSpacing(100 * time.Millisecond)
	a := postgres.NewACD(c.store, "a")
	// The agent declines once (no try used), then the citizen does not answer, is busy, does
	// not answer: three tries, and the callback has failed.
	p := &callbackPhones{acd: a, store: c.store, script: []string{"", hotline.AttemptNoAnswer, hotline.AttemptBusy, hotline.AttemptNoAnswer}}
	c.run(t, a, p, acd.Options{Tick: 100 * time.Millisecond})
	agent := c.addAgents(t, 1, a)[0]
	cb := c.newCallback(t, "13900000002")
	eventually(t, func() bool {
		if st, err := a.Status(context.Background(), agent); err == nil && st.State == hotline.AgentMissed {
			_, _ = a.SetAvailable(context.Background(), agent) // back after declining
		}
		return c.count(t, `SELECT count(*) FROM hotline.callbacks WHERE id = $1 AND status = 'failed'`, cb) == 1
	})
	var got []string
	if err := c.db.Select(&got, `SELECT attempt || ' ' || outcome FROM hotline.callback_attempts WHERE callback_id = $1 ORDER BY attempt`, cb); err != nil {
		t.Fatal(err)
	}
	if want := []string{"1 no_answer", "2 busy", "3 no_answer"}; !slices.Equal(got, want) {
		t.Errorf("attempts %q, want %q", got, want)
	}
	for _, s := range p.offered() {
		if strings.HasPrefix(s, "error") {
			t.Error(s)
		}
	}
	if got, want := p.offered(), []string{"callback 13900000002 try 1", "callback 13900000002 try 1", "callback 13900000002 try 2", "callback 13900000002 try 3"}; !slices.Equal(got, want) {
		t.Errorf("offered %q, want %q", got, want)
	}
	// Failed: never offered again.
	time.Sleep(300 * time.Millisecond)
	if n := len(p.offered()); n != 4 {
		t.Errorf("offered %d times, want 4", n)
	}
}

func TestCallbackLeftAssignedByADeadInstanceWaitsAgain(t *testing.T) {
	c := newCentre(t)
	a := postgres.NewACD(c.store, "a")
	p := &callbackPhones{acd: a, store: c.store}
	// Assigned by an instance that died before it rang anyone: no live offer.
	cb := c.newCallback(t, "13900000003")
	c.exec(t, `UPDATE hotline.callbacks SET status = 'assigned' WHERE id = $1`, cb)
	c.run(t, a, p, acd.Options{Tick: 100 * time.Millisecond})
	c.addAgents(t, 1, a)
	eventually(t, func() bool {
		return c.count(t, `SELECT count(*) FROM hotline.callbacks WHERE id = $1 AND status = 'done'`, cb) == 1
	})
	if got, want := p.offered(), []string{"callback 13900000003 try 1"}; !slices.Equal(got, want) {
		t.Errorf("offered %q, want %q", got, want)
	}
}
