package ivr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

// ACD is the contact centre as the calls it offers see it. The ACD picks an agent for a
// waiting call and hands the offer to the engine that owns the call (Engine.Offer); the
// call rings the agent's phone, bridges the two and reports here how it went.
type ACD interface {
	// OfferAnswered records that the agent answered and was bridged with the caller.
	OfferAnswered(ctx context.Context, offerID int64) error
	// OfferEnded records an offer that did not connect: hotline.OfferTimeout, OfferRejected,
	// OfferFailed or OfferCancelled, with the cause (a Q.850 cause text or why it was cancelled).
	OfferEnded(ctx context.Context, offerID int64, outcome, cause string) error
	// ConversationEnded records the end of an answered offer's conversation: the agent
	// goes to wrap-up.
	ConversationEnded(ctx context.Context, offerID int64) error
}

// AgentTransfers is an ACD that carries out blind transfers to a named agent; the engine's
// ACD may implement it (*postgres.ACD does). Without it such a transfer is refused.
type AgentTransfers interface {
	// CheckTransferToAgent refuses, with hotline.ErrConflict and the reason, a transfer of the
	// caller of offer offerID to agent agentID: to the transferring agent, to one logged out,
	// without a phone or without the queue's skill; hotline.ErrInvalid for no such agent.
	CheckTransferToAgent(ctx context.Context, offerID, agentID int64) error
	// TransferToAgent puts the caller of offer offerID back in its queue, keeping priority and
	// place, reserved for agentID for reserve (0: the ACD's default), and returns the entry.
	TransferToAgent(ctx context.Context, offerID, agentID int64, reserve time.Duration) (hotline.QueueEntry, error)
}

// Offer hands an offer to the call it is for. It reports false when this engine has no such
// call waiting in a queue (it hung up, left the queue, or belongs to another instance); the
// ACD then ends the offer as cancelled.
func (e *Engine) Offer(ctx context.Context, o hotline.Offer) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.byCall[o.CallID]
	if c == nil || !c.queued {
		return false
	}
	select {
	case c.mailbox <- jobResult{value: o}:
		return true
	default:
		return false // an offer is already on its way: the database allows one per call
	}
}

// setQueued marks whether the call waits in a queue and can take offers. Leaving, it ends
// any offer that arrived meanwhile as cancelled.
func (c *call) setQueued(queued bool) {
	c.e.mu.Lock()
	c.queued = queued
	c.e.mu.Unlock()
	if queued {
		return
	}
	c.drainMailbox("caller left the queue")
}

// drainMailbox ends what reached the call too late: offers as cancelled, commands refused.
func (c *call) drainMailbox(why string) {
	for {
		select {
		case r := <-c.mailbox:
			switch v := r.value.(type) {
			case hotline.Offer:
				c.offerEnded(v, hotline.OfferCancelled, why)
			case *command:
				v.reply <- fmt.Errorf("%s: %s: %w", v.Action, why, hotline.ErrConflict)
			}
		default:
			return
		}
	}
}

// Q.850 causes an agent's phone ends a ring with.
const (
	causeUserBusy      = 17
	causeNoAnswer      = 19
	causeCallRejected  = 21
	causeNoUserRespond = 18
)

// errAgentGone ends a conversation when the agent's leg leaves; the flow goes on.
var errAgentGone = errors.New("agent left")

// connectAgent rings the agent of an offer while the caller keeps hearing music on hold, and
// on answer bridges the two until one of them leaves. connected reports whether the agent
// answered; with it, a nil error means the agent hung up first and the flow goes on by the
// queue's answered exit, unless the agent transferred the caller (tr).
func (c *call) connectAgent(n *flow.Queue, o hotline.Offer) (connected bool, tr *hotline.TransferTarget, err error) {
	log := c.log.With("agent_id", o.AgentID, "offer_id", o.ID)
	client := c.conn.Client()
	legID := ari.NewID()
	if err := c.inbox.Own(ari.ChannelRef(legID)); err != nil {
		c.offerEnded(o, hotline.OfferCancelled, "caller gone")
		return false, nil, errHangup
	}
	leg := client.Channel(legID)
	hangupLeg := func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), c.e.cfg.RequestTimeout)
		defer cancel()
		if err := leg.Hangup(ctx, ari.HangupNormal); err != nil && !errors.Is(err, ari.ErrNotFound) {
			log.Warn("hang up agent leg", "err", err)
		}
	}
	ring := o.RingTimeout
	if ring <= 0 {
		ring = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	_, err = client.Originate(ctx, ari.OriginateRequest{Endpoint: o.Endpoint, App: c.conn.App(),
		AppArgs: []string{"agent", c.id}, CallerID: fmt.Sprintf("%q <%s>", o.QueueID, c.caller),
		Timeout: ring, ChannelID: legID})
	cancel()
	if err != nil {
		c.inbox.Release(ari.ChannelRef(legID))
		log.Warn("ring agent", "endpoint", o.Endpoint, "err", err)
		if c.ctx.Err() != nil {
			c.offerEnded(o, hotline.OfferCancelled, "caller gone")
			return false, nil, c.gone()
		}
		c.offerEnded(o, hotline.OfferFailed, err.Error())
		return false, nil, nil
	}

	c.ringingAgent(o, legID)
	// Ringing: the agent answers (the leg enters Stasis), declines, or rings out.
	deadline := time.Now().Add(ring + c.e.cfg.PlaybackGrace)
	for answered := false; !answered; {
		r, err := c.wait(deadline, nil)
		if err != nil {
			hangupLeg()
			c.offerEnded(o, hotline.OfferCancelled, "caller hung up while the agent's phone rang")
			return false, nil, err
		}
		if r.timeout {
			hangupLeg()
			c.offerEnded(o, hotline.OfferTimeout, "no answer")
			return false, nil, nil
		}
		switch ev := r.ev.(type) {
		case *ari.StasisStart:
			answered = ev.Channel.ID == legID
		case *ari.ChannelDestroyed:
			if ev.Channel.ID == legID {
				c.inbox.Release(ari.ChannelRef(legID))
				c.offerEnded(o, ringOutcome(ev.Cause), ev.CauseTxt)
				return false, nil, nil
			}
		}
	}

	if o.Whisper != "" {
		if err := c.whisper(leg, o.Whisper); err != nil {
			if errors.Is(err, errAgentGone) {
				c.offerEnded(o, hotline.OfferRejected, "agent hung up during the whisper")
				return false, nil, nil
			}
			hangupLeg()
			c.offerEnded(o, hotline.OfferCancelled, "caller hung up during the whisper")
			return false, nil, err
		}
	}

	bridgeID := ari.NewID()
	_ = c.inbox.Own(ari.BridgeRef(bridgeID))
	ctx, cancel = context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	_, err = client.CreateBridge(ctx, ari.BridgeOptions{ID: bridgeID, Types: []string{ari.BridgeMixing}, Name: "call-" + c.id})
	if err == nil {
		err = client.Bridge(bridgeID).AddChannel(ctx, c.channel.ID(), legID)
	}
	cancel()
	if err != nil {
		log.Error("bridge caller and agent", "err", err)
		hangupLeg()
		c.destroyBridge(bridgeID)
		if c.ctx.Err() != nil || errors.Is(err, ari.ErrChannelGone) {
			c.offerEnded(o, hotline.OfferCancelled, "caller gone")
			return false, nil, errHangup
		}
		c.offerEnded(o, hotline.OfferFailed, "bridge: "+err.Error())
		return false, nil, nil
	}
	// The caller is in the bridge with the agent: the music stops with no gap of silence.
	c.stopMOH()
	stopRecording := c.recordConversation(bridgeID, o)
	agentBefore, outcomeBefore := c.agentID, c.outcome
	c.talkingAgent(o, legID, bridgeID)
	if err := c.retryACD(func(ctx context.Context) error { return c.e.cfg.ACD.OfferAnswered(ctx, o.ID) }); err != nil {
		if errors.Is(err, hotline.ErrConflict) && c.entry != nil {
			// The ACD ended the offer before the answer reached it (cancelled, rung out): it
			// counts the agent free, so the two must not talk. The caller waits on.
			log.Warn("agent answered an offer the ACD had ended; agent let go, caller waits on", "err", err)
			stopRecording()
			hangupLeg()
			c.destroyBridge(bridgeID)
			c.agentID, c.outcome = agentBefore, outcomeBefore
			c.inQueue(*c.entry)
			return false, nil, nil
		}
		log.Error("record offer answered", "err", err)
	}
	log.Info("caller connected to agent", "queue", n.Queue)

	c.setQueued(false) // the ACD closed the queue entry as answered
	cv := &conversation{offer: o, legID: legID, bridgeID: bridgeID}
	err = c.talkTo(cv, nil, stopRecording)
	switch {
	case errors.Is(err, errAgentGone):
		return true, nil, nil
	case errors.Is(err, errTransferred):
		log.Info("caller transferred", "queue", cv.transfer.Queue, "to_agent", cv.transfer.Agent, "flow", cv.transfer.Flow,
			"number_tail", tail(cv.transfer.Number))
		return true, cv.transfer, nil
	}
	return true, nil, err
}

// talkTo runs conversation cv until it ends (the agent or the caller leaves, or the agent
// transfers the caller) and cleans up after it: the recording stopped, the third party of an
// unfinished consultation hung up, the bridge destroyed, the agent's leg hung up unless the
// agent left, the conversation's end recorded. A caller whom the agent left with a third
// party (an attended transfer completed, a conference left) talks on with them first, the
// agent free meanwhile. ended, when not nil, is how the conversation ended already (a resumed
// call whose agent left while no controller listened); converse is not run then.
//
// It returns errAgentGone when the agent (or the third party after them) left, errTransferred
// after a blind transfer, the caller's hang-up or another error otherwise.
func (c *call) talkTo(cv *conversation, ended error, stopRecording func()) error {
	log := c.log.With("agent_id", cv.offer.AgentID, "offer_id", cv.offer.ID)
	conversationEnded := func() {
		if c.e.cfg.ACD == nil {
			return
		}
		if err := c.retryACD(func(ctx context.Context) error { return c.e.cfg.ACD.ConversationEnded(ctx, cv.offer.ID) }); err != nil {
			log.Error("record conversation end", "err", err)
		}
	}
	err := ended
	if err == nil {
		err = c.converse(cv)
	}
	if errors.Is(err, errAgentGone) && cv.agentGone && cv.consultLeg != "" {
		conversationEnded()
		conversationEnded = func() {}
		c.outcome = hotline.OutcomeTransferred
		c.updateTalk(cv)
		c.saveStateNow()
		err = c.withThirdParty(cv)
		if err == nil {
			err = errAgentGone
		}
	}
	if c.fenced.Load() {
		return errFenced
	}
	c.drainMailbox("the conversation ended")
	stopRecording()
	if cv.held && !errors.Is(err, errTransferred) {
		c.stopMOH()
	}
	c.hangupLeg(cv.consultLeg)
	c.destroyBridge(cv.bridgeID)
	if !errors.Is(err, errAgentGone) {
		c.hangupLeg(cv.legID)
	}
	conversationEnded()
	c.talk = nil
	return err
}

// destroyBridge destroys a bridge the call made; one already gone is fine.
func (c *call) destroyBridge(id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), c.e.cfg.RequestTimeout)
	defer cancel()
	if err := c.conn.Client().Bridge(id).Destroy(ctx); err != nil && !errors.Is(err, ari.ErrNotFound) {
		c.log.Warn("destroy bridge", "bridge_id", id, "err", err)
	}
	c.inbox.Release(ari.BridgeRef(id))
}

// tail is the last four digits of a number, for logs.
func tail(number string) string {
	if len(number) <= 4 {
		return number
	}
	return "…" + number[len(number)-4:]
}

// whisper plays a prompt to the agent alone before the caller joins; errAgentGone when the
// agent hangs up meanwhile.
func (c *call) whisper(leg *ari.ChannelHandle, prompt string) error {
	segs, missing := c.e.voice.segments([]string{prompt}, c.e.cfg.Language)
	if len(missing) > 0 || len(segs) == 0 {
		c.log.Warn("whisper prompt missing", "prompt", prompt)
		return nil
	}
	id := ari.NewID()
	if err := c.inbox.Own(ari.PlaybackRef(id)); err != nil {
		return c.gone()
	}
	defer c.inbox.Release(ari.PlaybackRef(id))
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	_, err := leg.Play(ctx, ari.PlayOptions{ID: id, Media: segs[0].media, Lang: segs[0].lang})
	cancel()
	if err != nil {
		if errors.Is(err, ari.ErrChannelGone) {
			return errAgentGone
		}
		c.log.Warn("whisper", "err", err)
		return nil
	}
	deadline := time.Now().Add(segs[0].expected + c.e.cfg.PlaybackGrace)
	for {
		r, err := c.wait(deadline, nil)
		if err != nil {
			return err
		}
		if r.timeout {
			return nil
		}
		switch ev := r.ev.(type) {
		case *ari.PlaybackFinished:
			if ev.Playback.ID == id {
				return nil
			}
		case *ari.ChannelDestroyed:
			if ev.Channel.ID == leg.ID() {
				return errAgentGone
			}
		case *ari.StasisEnd:
			if ev.Channel.ID == leg.ID() {
				return errAgentGone
			}
		}
	}
}

// ringOutcome classifies how an agent's phone ended a ring that was not answered.
func ringOutcome(cause int) string {
	switch cause {
	case causeUserBusy, causeCallRejected:
		return hotline.OfferRejected
	case causeNoAnswer, causeNoUserRespond:
		return hotline.OfferTimeout
	}
	return hotline.OfferFailed
}

// offerEnded reports an offer that did not connect.
func (c *call) offerEnded(o hotline.Offer, outcome, cause string) {
	c.log.Info("offer ended", "agent_id", o.AgentID, "offer_id", o.ID, "outcome", outcome, "cause", cause)
	if err := c.service(func(ctx context.Context) error { return c.e.cfg.ACD.OfferEnded(ctx, o.ID, outcome, cause) }); err != nil {
		c.log.Error("record offer end", "offer_id", o.ID, "err", err)
	}
}
