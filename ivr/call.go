package ivr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

// call is one caller's session; only its own goroutine touches it.
type call struct {
	e       *Engine
	id      string
	conn    *ari.Conn
	inbox   *ari.Inbox
	channel *ari.ChannelHandle
	caller  string
	called  string
	log     *slog.Logger
	ctx     context.Context
	cancel  context.CancelFunc
	flows   *pinned
	// lost is set, by reconciliation, when the node no longer has the call's channel.
	lost atomic.Bool
	// fenced is set when another controller took the call's application over: the call stops
	// at once, touching neither the channel nor the records, which are the new owner's now.
	fenced atomic.Bool
	// resumed is the saved state of a call adopted from another controller, nil for a new one.
	resumed *savedCall
	// resuming is set until the node a resumed call was in has run again.
	resuming bool
	// node is the node running.
	node    flow.Node
	started time.Time

	lang        string
	keys        []byte
	keepKeys    bool
	hungUp      bool
	lastKeyAt   time.Time
	keyPending  bool   // a key came and no prompt has been started since
	lookedUp    bool   // a lookup ran since the last key
	detail      string // the running step's detail, set by the node (lookupDetail …)
	playStarted time.Time
	timer       *time.Timer // wait's, reused: one per call rather than one per wait

	// spareTerm is the terminator of an input that ended at its maximum length: pressed
	// before spareUntil it belongs to that input, not to what comes next.
	spareTerm  string
	spareUntil time.Time

	stack     []*frame
	verified  bool
	verifiedC flow.Citizen
	citizenID int64
	seq       int
	nodes     int
	answered  time.Time
	outcome   string
	queueID   string
	followUp  bool
	moh       bool
	agentID   int64

	// surveyLevel is the caller's satisfaction answer (0: none), given at surveyAt.
	surveyLevel int
	surveyAt    time.Time

	// queued is set while the call waits in a queue and takes offers, talkingWith (the
	// agent) and talkState while it is in conversation and takes commands; both under e.mu.
	// mailbox delivers offers and commands to the call's goroutine.
	queued      bool
	talkingWith int64
	talkState   hotline.CallState
	mailbox     chan jobResult

	// What another controller needs to resume the call (callstate.go): the failed tries of the
	// verify node in progress, the queue entry, the offer ringing, the conversation, the
	// transfer the caller talks through.
	verifyFailures int
	entry          *hotline.QueueEntry
	ringing        *savedOffer
	talk           *savedTalk
	xfer           *savedTransfer
	// staleOffer is the offer that rang for the lost controller, cancelled on resume: the
	// adopter's ACD may still hand it over from a list read before the cancel.
	staleOffer int64
}

// frame is one run of one flow: its variables and where to go on return.
type frame struct {
	flow   *flow.Flow
	vars   map[string]any
	resume *flow.Exit // the calling subflow node's exit; nil at top level
	// resumeRef names resume as "node/exit" of the calling flow, for the saved state.
	resumeRef string
}

// startCall runs a call in its own goroutine. orphan marks a channel found in the
// application after a reconnect, which is ended politely rather than served from the start
// of a flow it may have half done.
func (e *Engine) startCall(conn *ari.Conn, inbox *ari.Inbox, ch ari.Channel, orphan bool) {
	e.launch(conn, inbox, ch, orphan, nil)
}

// launch runs a call, new or resumed from saved (then id is the saved call's).
func (e *Engine) launch(conn *ari.Conn, inbox *ari.Inbox, ch ari.Channel, orphan bool, saved *adoptee) {
	ctx, cancel := context.WithCancel(e.ctx)
	c := &call{
		e: e, id: ari.NewID(), conn: conn, inbox: inbox, channel: conn.Client().Channel(ch.ID),
		caller: ch.Caller.Number, called: ch.Dialplan.Exten, ctx: ctx, cancel: cancel,
		flows: e.flowsFor(ch.Caller.Number), lang: e.cfg.Language, keepKeys: true, mailbox: make(chan jobResult, 1),
	}
	if saved != nil {
		c.id, c.resumed = saved.id, saved.state
		// A call that waited in a queue (its agent's phone maybe ringing) takes offers at once:
		// it goes on waiting where it was.
		s := saved.state
		c.queued = s.Entry != nil && s.Talk == nil && s.Transfer == nil
	}
	c.log = e.cfg.Log.With("call_id", c.id, "channel_id", ch.ID, "node_name", conn.Name())
	key := liveKey{conn.Name(), ch.ID}
	e.mu.Lock()
	e.active[key] = c
	e.byCall[c.id] = c
	e.stats.Started++
	e.mu.Unlock()
	e.calls.Add(1)
	go func() {
		defer e.calls.Done()
		c.run(orphan)
		e.mu.Lock()
		delete(e.active, key)
		delete(e.byCall, c.id)
		e.stats.Ended++
		e.stats.ByOutcome[c.outcome]++
		e.mu.Unlock()
	}()
}

// run is the call's life: record, answer, run the entry flow, end.
func (c *call) run(orphan bool) {
	defer c.cancel()
	defer c.inbox.Close()
	c.started = time.Now()
	if c.resumed != nil {
		c.started = c.resumed.Started
	}
	c.recordStart()
	c.finish(c.serve(orphan))
}

// recordStart writes the call's record. Without it the call still gets served: a caller must
// not pay for a database outage with dead air.
//
// Like enter and leave, it keeps its records off the frames that stay on the call's stack
// while the call waits: see Client.send in package ari.
func (c *call) recordStart() {
	rec := hotline.CallRecord{ID: c.id, Node: c.conn.Name(), ChannelID: c.channel.ID(), CallerNumber: c.caller,
		Language: c.lang, FlowVersionID: c.flows.versions[c.e.cfg.Entry], StartedAt: c.started, Instance: c.e.cfg.Instance}
	if err := c.store(func(ctx context.Context) error { return c.e.cfg.Recorder.StartCall(ctx, rec) }); err != nil {
		c.log.Error("record call start", "err", err)
	}
}

// serve answers and runs the entry flow; the returned error says why the flow stopped.
func (c *call) serve(orphan bool) error {
	if c.resumed != nil {
		return c.resume()
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	err := c.channel.Answer(ctx)
	cancel()
	if err != nil {
		if errors.Is(err, ari.ErrChannelGone) {
			return errHangup
		}
		return fmt.Errorf("answer: %w", err)
	}
	c.answered = time.Now()
	if orphan {
		c.log.Warn("ending a call found without its controller")
		c.outcome = hotline.OutcomeError
		return c.sayIDs([]string{"common/system_busy", "common/goodbye"}, false)
	}
	return c.runFlows(c.flows.lib.Flow(c.e.cfg.Entry))
}

// errRunaway ends a call that ran more than MaxNodes nodes.
var errRunaway = errors.New("runaway flow: node limit reached")

// runFlows executes nodes from the start of f until a hangup node, a return at top level,
// the caller hanging up or an error.
func (c *call) runFlows(f *flow.Flow) error {
	c.push(f, nil)
	return c.runFrom(f.Start)
}

// runFrom executes nodes from node on, in the flow run on top of the stack.
func (c *call) runFrom(node flow.Node) error {
	for node != nil {
		c.nodes++
		if c.nodes > c.e.cfg.MaxNodes {
			return errRunaway
		}
		next, err := c.step(node)
		if err != nil {
			return err
		}
		node = next
	}
	return nil
}

// step runs one node with its record: entered, then left by an exit, and returns the next
// node (nil when the call is over).
func (c *call) step(n flow.Node) (flow.Node, error) {
	at := c.enter(n)
	exit, input, err := c.exec(n)
	if c.fenced.Load() {
		return nil, errFenced
	}
	c.leave(n, at, exit, input, err)
	if err != nil || exit == nil {
		return nil, err
	}
	return c.follow(exit)
}

// stepEntry is what the record of a step keeps from its entry: its number, its flow (a
// subflow node's step ends in the flow it was entered from) and its time.
type stepEntry struct {
	seq     int
	flow    string
	entered time.Time
}

// enter records that the call entered node n.
func (c *call) enter(n flow.Node) stepEntry {
	c.seq++
	c.node = n
	c.saveState(n)
	at := stepEntry{seq: c.seq, flow: c.top().flow.Name, entered: time.Now()}
	c.record(hotline.CallStep{CallID: c.id, Seq: at.seq, Flow: at.flow, Node: n.ID(), Kind: string(n.Kind()), EnteredAt: at.entered})
	c.detail = ""
	return at
}

// leave records that the call left node n (entered at) by exit, or by err, and forgets
// what only that node's run needed saving.
func (c *call) leave(n flow.Node, at stepEntry, exit *flow.Exit, input string, err error) {
	c.resuming, c.verifyFailures = false, 0
	c.entry, c.ringing, c.talk, c.xfer = nil, nil, nil, nil
	st := hotline.CallStep{CallID: c.id, Seq: at.seq, Flow: at.flow, Node: n.ID(), Kind: string(n.Kind()),
		EnteredAt: at.entered, LeftAt: time.Now(), Input: input, Detail: c.detail}
	switch {
	case c.lost.Load():
		c.log.Warn("call lost with its Asterisk node", "err", err)
		c.outcome = hotline.OutcomeNodeLost
	case errors.Is(err, errHangup):
		st.Exit = "hangup"
	case errors.Is(err, errShutdown):
		st.Exit = "shutdown"
	case err != nil:
		st.Exit = "error"
	case exit != nil:
		st.Exit = exit.Name
	}
	c.record(st)
}

// follow moves along an exit; a nil target ends the flow run (a return).
func (c *call) follow(x *flow.Exit) (flow.Node, error) {
	if x.To == nil {
		return nil, fmt.Errorf("exit %s of a validated flow leads nowhere", x.Name)
	}
	return x.To, nil
}

// ret ends the current flow run: the calling flow continues after its subflow node, a
// top-level flow ends the call.
func (c *call) ret() (*flow.Exit, error) {
	fr := c.pop()
	if fr.resume == nil || len(c.stack) == 0 {
		return nil, nil
	}
	return fr.resume, nil
}

func (c *call) push(f *flow.Flow, resume *flow.Exit) {
	vars := f.NewEnv()
	ref := c.resumeRefOf(resume)
	c.stack = append(c.stack, &frame{flow: f, vars: vars, resume: resume, resumeRef: ref})
}

func (c *call) pop() *frame {
	fr := c.stack[len(c.stack)-1]
	c.stack = c.stack[:len(c.stack)-1]
	return fr
}

func (c *call) top() *frame { return c.stack[len(c.stack)-1] }

// env returns the current flow run's variables with the call's built-ins filled in.
func (c *call) env() map[string]any {
	v := c.top().vars
	v["caller"], v["called"], v["language"] = c.caller, c.called, c.lang
	v["verified"], v["verified_citizen"] = c.verified, c.verifiedC
	return v
}

// record writes a step of the IVR path; a failure is logged, the call goes on.
func (c *call) record(st hotline.CallStep) {
	if err := c.store(func(ctx context.Context) error { return c.e.cfg.Recorder.Step(ctx, st) }); err != nil {
		c.log.Error("record step", "flow", st.Flow, "node", st.Node, "err", err)
	}
}

// store runs a write with the store timeout, detached from the call's own context so that
// the record of a call that just hung up is still written.
func (c *call) store(f func(ctx context.Context) error) error {
	if c.fenced.Load() {
		return errFenced
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), c.e.cfg.StoreTimeout)
	defer cancel()
	return f(ctx)
}

// acdRetryFor bounds how long an agent's state change is tried again (retryACD).
const acdRetryFor = 30 * time.Second

// retryACD records a change of an agent's state that must not be lost (an offer answered, a
// conversation ended: both idempotent), trying again with back-off from 100 ms to 2 s while
// the database fails for up to acdRetryFor. A refusal for the data (hotline.ErrConflict,
// ErrNotFound, ErrInvalid) is not tried again. Without it, a database slow for a moment left
// an agent who talks shown as ringing, and taking no call after.
func (c *call) retryACD(f func(ctx context.Context) error) error {
	deadline := time.Now().Add(acdRetryFor)
	wait := 100 * time.Millisecond
	for {
		err := c.store(f)
		if err == nil || errors.Is(err, errFenced) || errors.Is(err, hotline.ErrConflict) ||
			errors.Is(err, hotline.ErrNotFound) || errors.Is(err, hotline.ErrInvalid) || time.Now().Add(wait).After(deadline) {
			return err
		}
		c.log.Warn("agent state not recorded; trying again", "err", err, "in", wait)
		time.Sleep(wait)
		wait = min(2*wait, 2*time.Second)
	}
}

// finish ends the call whatever stopped its flow: an apology for errors, hang-up of the
// channel if it is still there, and the completed record.
func (c *call) finish(err error) {
	if c.fenced.Load() || errors.Is(err, errFenced) {
		c.log.Warn("call left to the controller that took its application over")
		return
	}
	switch {
	case errors.Is(err, errHangup):
		if c.outcome == "" {
			c.outcome = hotline.OutcomeHangup
		}
	case errors.Is(err, errShutdown):
		c.log.Warn("call ended by the controller stopping")
		c.outcome = hotline.OutcomeError
	case errors.Is(err, errRunaway):
		c.e.mu.Lock()
		c.e.stats.Runaway++
		c.e.mu.Unlock()
		c.log.Error("call ended by the runaway guard", "nodes", c.nodes, "flow", c.top().flow.Name)
		c.outcome = hotline.OutcomeError
		c.apologize()
	case err != nil:
		c.log.Error("call failed", "err", err)
		c.outcome = hotline.OutcomeError
		c.apologize()
	case c.outcome == "":
		c.outcome = hotline.OutcomeSelfServed
	}
	if !c.hungUp {
		// Detached: a call ended by the controller stopping must still leave Stasis.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), c.e.cfg.RequestTimeout)
		if err := c.channel.Hangup(ctx, ari.HangupNormal); err != nil && !errors.Is(err, ari.ErrChannelGone) && !errors.Is(err, ari.ErrNotFound) {
			c.log.Warn("hang up", "err", err)
		}
		cancel()
	}
	c.setQueued(false) // an offer still in the mailbox (a resumed call that never waited again) is ended
	end := hotline.CallEnd{CallID: c.id, EndedAt: time.Now(), AnsweredAt: c.answered, Outcome: c.outcome,
		Language: c.lang, CitizenID: c.citizenID, QueueID: c.queueID, AgentID: c.agentID, FollowUp: c.followUp,
		Survey: c.surveyLevel, SurveyAt: c.surveyAt}
	if err := c.store(func(ctx context.Context) error { return c.e.cfg.Recorder.EndCall(ctx, end) }); err != nil {
		c.log.Error("record call end", "err", err)
	}
	c.dropState()
	c.log.Info("call ended", "outcome", c.outcome, "nodes", c.nodes)
}

// apologize tells a caller still on the line that the system failed, then goodbye.
func (c *call) apologize() {
	if c.hungUp || c.ctx.Err() != nil {
		return
	}
	if err := c.sayIDs([]string{"common/system_busy", "common/goodbye"}, false); err != nil && !errors.Is(err, errHangup) {
		c.log.Warn("apology", "err", err)
	}
}
