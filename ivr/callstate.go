package ivr

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

// savedCall is what another controller instance needs to resume a call: where it is in its
// flows and what it has done. Sensitive inputs are never in it (their variables are left out;
// a PIN never reaches a variable). The row lives as long as the call.
type savedCall struct {
	ID       string           `json:"id"`
	Caller   string           `json:"caller"`
	Called   string           `json:"called"`
	Lang     string           `json:"lang"`
	Started  time.Time        `json:"started"`
	Answered time.Time        `json:"answered"`
	Draft    bool             `json:"draft,omitempty"`
	Versions map[string]int64 `json:"versions,omitempty"`
	Stack    []savedFrame     `json:"stack"`
	// Node is the node of the top frame the call is in.
	Node  string `json:"node"`
	Seq   int    `json:"seq"`
	Nodes int    `json:"nodes"`

	Verified  bool          `json:"verified,omitempty"`
	VerifiedC *flow.Citizen `json:"verified_citizen,omitempty"`
	CitizenID int64         `json:"citizen_id,omitempty"`
	// VerifyFailures counts the failed tries of the verify node the call is in.
	VerifyFailures int    `json:"verify_failures,omitempty"`
	Outcome        string `json:"outcome,omitempty"`
	QueueID        string `json:"queue_id,omitempty"`
	FollowUp       bool   `json:"follow_up,omitempty"`
	AgentID        int64  `json:"agent_id,omitempty"`
	// Survey is the caller's satisfaction answer and when it was given, for the call's end
	// record (which saves it again if the immediate save failed).
	Survey   int       `json:"survey,omitempty"`
	SurveyAt time.Time `json:"survey_at,omitzero"`

	// Entry is the queue entry the call waits in, with its original entry time kept by the row.
	Entry *hotline.QueueEntry `json:"entry,omitempty"`
	// Offer is an agent's phone ringing for the call: its leg.
	Offer *savedOffer `json:"offer,omitempty"`
	// Talk is the conversation with an agent: the bridge, the agent's leg, the recording.
	Talk *savedTalk `json:"talk,omitempty"`
	// Transfer is the caller talking through a transfer to a number or an endpoint (a flow's
	// transfer node, or an agent's blind transfer to a number).
	Transfer *savedTransfer `json:"transfer,omitempty"`
}

// savedFrame is one run of one flow.
type savedFrame struct {
	Flow string    `json:"flow"`
	Vars savedVars `json:"vars,omitempty"`
	// Resume is where the calling flow goes on: "node/exit" of the calling flow.
	Resume string `json:"resume,omitempty"`
}

// savedVars are a frame's variables other than the built-in ones, the sensitive ones and those
// at their zero value: written from their values, read back as json.RawMessage for restore to
// decode into each variable's type.
type savedVars map[string]any

func (v *savedVars) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*v = make(savedVars, len(raw))
	for name, r := range raw {
		(*v)[name] = r
	}
	return nil
}

type savedOffer struct {
	Offer hotline.Offer `json:"offer"`
	Leg   string        `json:"leg"`
}

type savedTalk struct {
	Offer       hotline.Offer `json:"offer"`
	Leg         string        `json:"leg"`
	Bridge      string        `json:"bridge"`
	RecordingAt time.Time     `json:"recording_at,omitempty"`
	// Held and Muted are the agent's hold and mute; ConsultLeg and Consult the third party of
	// an attended transfer or a conference and where it stands (consultRinging …); AgentGone
	// that the agent left the caller with the third party.
	Held       bool   `json:"held,omitempty"`
	Muted      bool   `json:"muted,omitempty"`
	ConsultLeg string `json:"consult_leg,omitempty"`
	Consult    string `json:"consult,omitempty"`
	AgentGone  bool   `json:"agent_gone,omitempty"`
	// Transfer is the agent's blind transfer, acknowledged and not yet carried out: an
	// adopter carries it out.
	Transfer *hotline.TransferTarget `json:"transfer,omitempty"`
}

// savedTransfer is the far end's leg of a transfer and the bridge the caller talks in.
type savedTransfer struct {
	Leg    string `json:"leg"`
	Bridge string `json:"bridge"`
}

// hidden returns the variables of f that must not be persisted: those sensitive collect nodes
// read into. (A PIN never reaches a variable: verify nodes keep it to themselves.)
func (e *Engine) hidden(f *flow.Flow) map[string]bool {
	if v, ok := e.hiddenVars.Load(f); ok {
		return v.(map[string]bool)
	}
	out := map[string]bool{}
	for _, n := range f.Nodes {
		if c, ok := n.(*flow.Collect); ok && c.Sensitive && c.Into != nil {
			out[c.Into.Name] = true
		}
	}
	e.hiddenVars.Store(f, out)
	return out
}

// snapshot is the call's state at node n.
func (c *call) snapshot(n flow.Node) *savedCall {
	s := &savedCall{ID: c.id, Caller: c.caller, Called: c.called, Lang: c.lang, Started: c.started, Answered: c.answered,
		Draft: c.flows == c.e.drafts.Load(), Versions: c.flows.versions, Node: n.ID(), Seq: c.seq, Nodes: c.nodes,
		Verified: c.verified, CitizenID: c.citizenID, VerifyFailures: c.verifyFailures, Outcome: c.outcome,
		QueueID: c.queueID, FollowUp: c.followUp, AgentID: c.agentID, Entry: c.entry, Offer: c.ringing, Talk: c.talk,
		Transfer: c.xfer, Survey: c.surveyLevel, SurveyAt: c.surveyAt}
	if c.verified {
		v := c.verifiedC
		s.VerifiedC = &v
	}
	s.Stack = make([]savedFrame, 0, len(c.stack))
	for _, fr := range c.stack {
		hide := c.e.hidden(fr.flow)
		sf := savedFrame{Flow: fr.flow.Name, Resume: fr.resumeRef, Vars: savedVars{}}
		for k, v := range fr.vars {
			if fv := fr.flow.Var(k); fv == nil || fv.Builtin || hide[k] || v == nil || reflect.ValueOf(v).IsZero() {
				continue // a fresh run has it, or it must not be kept
			}
			sf.Vars[k] = v
		}
		s.Stack = append(s.Stack, sf)
	}
	return s
}

// saveState persists where the call is, without waiting: on entering each node, and when it
// enters a queue, rings an agent or talks to one.
func (c *call) saveState(n flow.Node) {
	if app, epoch, b := c.encodeState(n); b != nil {
		c.e.fo.cfg.States.SaveState(c.id, app, epoch, c.conn.Name(), c.channel.ID(), b)
	}
}

// ackStateWait bounds how long an agent's command waits for the call's state to be written.
const ackStateWait = 2 * time.Second

// saveStateDurably persists where the call is and returns once it is written, for a change
// acknowledged to someone (an agent's command): a controller that dies right after the reply
// leaves the call to its adopter as the agent left it. It waits at most ackStateWait (the
// store timeout if shorter), well within the 5 s a command given through another instance
// is waited for; the write goes on after that.
func (c *call) saveStateDurably() {
	w, ok := c.e.fo.states().(stateWaiter)
	if !ok {
		c.saveStateNow()
		return
	}
	app, epoch, b := c.encodeState(c.node)
	if b == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), min(ackStateWait, c.e.cfg.StoreTimeout))
	defer cancel()
	if err := w.SaveStateWait(ctx, c.id, app, epoch, c.conn.Name(), c.channel.ID(), b); err != nil {
		c.log.Warn("call state not written before the reply", "err", err)
	}
}

// encodeSnapshot is a call's state as saved. (Not segmentio/encoding/json, though it is
// faster: it writes a time.Duration as text, which the standard decoder cannot read back.)
func encodeSnapshot(s *savedCall) ([]byte, error) { return json.Marshal(s) }

// encodeState is the call's state at node n as saved, with the application and lease epoch
// it is saved under; nil without failover, when fenced or without the lease.
func (c *call) encodeState(n flow.Node) (app string, epoch int64, state []byte) {
	fo := c.e.fo
	if fo == nil || c.fenced.Load() || n == nil {
		return "", 0, nil
	}
	app = c.conn.App()
	if epoch = fo.epoch(app); epoch == 0 {
		return "", 0, nil
	}
	b, err := encodeSnapshot(c.snapshot(n))
	if err != nil {
		c.log.Error("call state", "err", err)
		return "", 0, nil
	}
	return app, epoch, b
}

// dropState forgets an ended call's state.
func (c *call) dropState() {
	fo := c.e.fo
	if fo == nil || c.fenced.Load() {
		return
	}
	app := c.conn.App()
	if epoch := fo.epoch(app); epoch != 0 {
		fo.cfg.States.DropState(c.id, app, epoch)
	}
}

// resumeRefOf names where a flow run started from the current top frame goes on when it
// returns: "node/exit" in the calling flow.
func (c *call) resumeRefOf(x *flow.Exit) string {
	if x == nil || len(c.stack) == 0 {
		return ""
	}
	for _, n := range c.top().flow.Nodes {
		for _, nx := range n.Exits() {
			if nx == x {
				return n.ID() + "/" + nx.Name
			}
		}
	}
	return ""
}

// restore puts a saved state back into a fresh call; the node returned is where it goes on.
func (c *call) restore(s *savedCall) (flow.Node, error) {
	c.caller, c.called, c.lang, c.started, c.answered = s.Caller, s.Called, s.Lang, s.Started, s.Answered
	c.seq, c.nodes = s.Seq-1, s.Nodes-1
	c.verified, c.citizenID, c.verifyFailures = s.Verified, s.CitizenID, s.VerifyFailures
	if s.VerifiedC != nil {
		c.verifiedC = *s.VerifiedC
	}
	c.outcome, c.queueID, c.followUp, c.agentID = s.Outcome, s.QueueID, s.FollowUp, s.AgentID
	c.entry, c.ringing, c.talk, c.xfer = s.Entry, s.Offer, s.Talk, s.Transfer
	c.surveyLevel, c.surveyAt = s.Survey, s.SurveyAt
	if s.Draft {
		if d := c.e.drafts.Load(); d != nil {
			c.flows = d
		}
	}
	if len(s.Stack) == 0 {
		return nil, fmt.Errorf("saved call without a flow")
	}
	c.stack = nil
	for i, sf := range s.Stack {
		f := c.flows.lib.Flow(sf.Flow)
		if f == nil {
			return nil, fmt.Errorf("saved call in flow %q, which is not published here", sf.Flow)
		}
		if v, ok := s.Versions[sf.Flow]; ok && v != c.flows.versions[sf.Flow] {
			c.log.Warn("resuming on another version of the flow", "flow", sf.Flow, "saved", v, "here", c.flows.versions[sf.Flow])
		}
		var resume *flow.Exit
		if i > 0 && sf.Resume != "" {
			resume = exitByRef(c.top().flow, sf.Resume)
			if resume == nil {
				return nil, fmt.Errorf("flow %q has no exit %s to return to", c.top().flow.Name, sf.Resume)
			}
		}
		c.stack = append(c.stack, &frame{flow: f, vars: f.NewEnv(), resume: resume, resumeRef: sf.Resume})
		fr := c.top()
		for name, saved := range sf.Vars {
			v := f.Var(name)
			raw, ok := saved.(json.RawMessage)
			if v == nil || v.Builtin || !ok {
				continue
			}
			p := reflect.New(v.Type.Go)
			if err := json.Unmarshal(raw, p.Interface()); err != nil {
				return nil, fmt.Errorf("variable %s of flow %s: %w", name, f.Name, err)
			}
			fr.vars[name] = p.Elem().Interface()
		}
	}
	n := c.top().flow.Node(s.Node)
	if n == nil {
		return nil, fmt.Errorf("flow %q has no node %q", c.top().flow.Name, s.Node)
	}
	return n, nil
}

// exitByRef finds the exit "node/exit" of f.
func exitByRef(f *flow.Flow, ref string) *flow.Exit {
	for _, n := range f.Nodes {
		for _, x := range n.Exits() {
			if n.ID()+"/"+x.Name == ref {
				return x
			}
		}
	}
	return nil
}
