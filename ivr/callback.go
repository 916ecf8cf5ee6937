package ivr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
)

// Callbacks records how each try of a callback went.
type Callbacks interface {
	// CallbackAttempted records one try: outcome is hotline.AttemptAnswered, AttemptNoAnswer,
	// AttemptBusy or AttemptFailed once the citizen was dialled, or "" when the agent did not
	// take the work (the callback goes back to waiting without using up a try). callID is the
	// outbound call's record ("" when none was made).
	CallbackAttempted(ctx context.Context, task hotline.CallbackTask, offerID, agentID int64, callID, outcome, cause string) error
}

// citizenRingTimeout is how long a citizen's phone rings on a callback.
const citizenRingTimeout = 30 * time.Second

// Callback carries out a callback the ACD offered to an agent: the agent's phone rings first;
// when they answer, the citizen is called with the hotline's number as caller ID, and the two
// are bridged (and recorded) when the citizen answers. It runs on its own and reports false
// when no Asterisk node is connected to place it.
func (e *Engine) Callback(ctx context.Context, o hotline.Offer, task hotline.CallbackTask) bool {
	var conn *ari.Conn
	e.mu.Lock()
	for _, cn := range e.conns {
		if cn.Health().Connected && (conn == nil || cn.Name() < conn.Name()) {
			conn = cn
		}
	}
	e.mu.Unlock()
	if conn == nil || e.cfg.Callbacks == nil || e.cfg.ACD == nil {
		return false
	}
	legID := ari.NewID()
	inbox := conn.Router().NewInbox(ari.ChannelRef(legID))
	cctx, cancel := context.WithCancel(e.ctx)
	id := ari.NewID()
	c := &call{
		// No caller channel: the legs are the agent's and the citizen's, both originated
		// here, so the call's own channel is a handle no event names.
		e: e, id: id, conn: conn, inbox: inbox, channel: conn.Client().Channel("callback-" + id),
		caller: task.Number, ctx: cctx, cancel: cancel, flows: e.flows.Load(), lang: e.cfg.Language,
		keepKeys: false, mailbox: make(chan jobResult, 1), queueID: o.QueueID,
	}
	c.log = e.cfg.Log.With("call_id", c.id, "channel_id", legID, "node_name", conn.Name(), "agent_id", o.AgentID,
		"callback_id", task.ID)
	e.mu.Lock()
	e.byCall[c.id] = c
	e.stats.Started++
	e.mu.Unlock()
	e.calls.Add(1)
	go func() {
		defer e.calls.Done()
		c.runCallback(o, task, legID)
		e.mu.Lock()
		delete(e.byCall, c.id)
		e.stats.Ended++
		e.stats.ByOutcome[c.outcome]++
		e.mu.Unlock()
	}()
	return true
}

// runCallback is the life of a callback call; see Engine.Callback.
func (c *call) runCallback(o hotline.Offer, task hotline.CallbackTask, legID string) {
	defer c.cancel()
	defer c.inbox.Close()
	client := c.conn.Client()
	attempted := func(callID, outcome, cause string) {
		if err := c.service(func(ctx context.Context) error {
			return c.e.cfg.Callbacks.CallbackAttempted(ctx, task, o.ID, o.AgentID, callID, outcome, cause)
		}); err != nil {
			c.log.Error("record callback attempt", "err", err)
		}
	}

	// The agent first: their phone rings with the citizen's number.
	ring := o.RingTimeout
	if ring <= 0 {
		ring = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	_, err := client.Originate(ctx, ari.OriginateRequest{Endpoint: o.Endpoint, App: c.conn.App(),
		AppArgs: []string{"callback", c.id}, CallerID: fmt.Sprintf("%q <%s>", "回拨", task.Number),
		Timeout: ring, ChannelID: legID})
	cancel()
	if err != nil {
		c.log.Warn("callback: ring agent", "err", err)
		c.offerEnded(o, hotline.OfferFailed, err.Error())
		attempted("", "", "agent phone failed")
		return
	}
	if outcome, cause, ok := c.awaitAnswer(legID, ring); !ok {
		c.offerEnded(o, outcome, cause)
		attempted("", "", "agent did not answer")
		return
	}
	if err := c.retryACD(func(ctx context.Context) error { return c.e.cfg.ACD.OfferAnswered(ctx, o.ID) }); err != nil {
		c.log.Error("record offer answered", "err", err)
	}
	defer func() {
		if err := c.retryACD(func(ctx context.Context) error { return c.e.cfg.ACD.ConversationEnded(ctx, o.ID) }); err != nil {
			c.log.Error("record conversation end", "err", err)
		}
	}()
	c.agentID, c.answered, c.outcome = o.AgentID, time.Now(), hotline.OutcomeCallback

	// The call's record exists before anything refers to it (recording, attempt).
	rec := hotline.CallRecord{ID: c.id, Node: c.conn.Name(), ChannelID: legID, CallerNumber: task.Number,
		Language: c.lang, StartedAt: time.Now(), Instance: c.e.cfg.Instance}
	if err := c.store(func(ctx context.Context) error { return c.e.cfg.Recorder.StartCall(ctx, rec) }); err != nil {
		c.log.Error("record callback call", "err", err)
	}
	defer c.finishCallback()

	// The citizen, with the hotline's number; the agent hears ringing meanwhile.
	citizenID := ari.NewID()
	if err := c.inbox.Own(ari.ChannelRef(citizenID)); err != nil {
		attempted(c.id, hotline.AttemptFailed, "agent gone")
		return
	}
	ctx, cancel = context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	_ = client.Channel(legID).Ring(ctx)
	_, err = client.Originate(ctx, ari.OriginateRequest{Endpoint: "Local/" + task.Number + "@hotline-out",
		App: c.conn.App(), AppArgs: []string{"callback-citizen", c.id}, CallerID: c.e.cfg.HotlineNumber,
		Timeout: citizenRingTimeout, ChannelID: citizenID})
	cancel()
	if err != nil {
		c.log.Warn("callback: dial citizen", "err", err)
		c.hangupLeg(legID)
		attempted(c.id, hotline.AttemptFailed, err.Error())
		return
	}
	outcome, cause, ok := c.awaitAnswer(citizenID, citizenRingTimeout)
	if !ok {
		c.hangupLeg(legID)
		attempted(c.id, attemptOutcome(outcome, cause), cause)
		return
	}
	attempted(c.id, hotline.AttemptAnswered, "")
	if cc, ok := c.e.cfg.Callbacks.(CallbacksConnected); ok {
		if err := c.service(func(ctx context.Context) error { return cc.CallbackConnected(ctx, o.ID, c.id) }); err != nil {
			c.log.Error("record callback connected", "err", err)
		}
	}

	bridgeID := ari.NewID()
	_ = c.inbox.Own(ari.BridgeRef(bridgeID))
	ctx, cancel = context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	_, err = client.CreateBridge(ctx, ari.BridgeOptions{ID: bridgeID, Types: []string{ari.BridgeMixing}, Name: "callback-" + c.id})
	if err == nil {
		err = client.Bridge(bridgeID).AddChannel(ctx, legID, citizenID)
	}
	cancel()
	if err == nil {
		stop := c.recordConversation(bridgeID, o)
		c.talkCallback(o.AgentID, legID, citizenID)
		stop()
	} else {
		c.log.Error("callback: bridge", "err", err)
	}
	ctx, cancel = context.WithTimeout(context.WithoutCancel(c.ctx), c.e.cfg.RequestTimeout)
	if err := client.Bridge(bridgeID).Destroy(ctx); err != nil && !errors.Is(err, ari.ErrNotFound) {
		c.log.Warn("destroy bridge", "err", err)
	}
	cancel()
	c.hangupLeg(citizenID)
	c.hangupLeg(legID)
}

// awaitAnswer waits for an originated leg to enter Stasis (answered) or to end; outcome is
// the offer outcome of a leg that did not answer, with its cause.
func (c *call) awaitAnswer(legID string, ring time.Duration) (outcome, cause string, ok bool) {
	deadline := time.Now().Add(ring + c.e.cfg.PlaybackGrace)
	for {
		r, err := c.wait(deadline, nil)
		if err != nil {
			c.hangupLeg(legID)
			return hotline.OfferCancelled, "controller stopping", false
		}
		if r.timeout {
			c.hangupLeg(legID)
			return hotline.OfferTimeout, "no answer", false
		}
		switch ev := r.ev.(type) {
		case *ari.StasisStart:
			if ev.Channel.ID == legID {
				return "", "", true
			}
		case *ari.ChannelDestroyed:
			if ev.Channel.ID == legID {
				return ringOutcome(ev.Cause), ev.CauseTxt, false
			}
		}
	}
}

// CallbacksConnected is a Callbacks that also records when the citizen answered, so that the
// agent's desk shows the call and addresses its controls to it (*postgres.Store does).
type CallbacksConnected interface {
	CallbackConnected(ctx context.Context, offerID int64, callID string) error
}

// talkCallback is the conversation of a callback: agentID on legID with the citizen on
// citizenID, until either leaves. It takes the agent's commands: hang up, mute, unmute and
// DTMF to the citizen; hold and the transfers are refused (the citizen's leg is a call the
// hotline placed, with no queue or flow to hold or send them to).
func (c *call) talkCallback(agentID int64, legID, citizenID string) {
	st := hotline.CallState{CallID: c.id, AgentID: agentID}
	publish := func(talking bool) {
		c.e.mu.Lock()
		defer c.e.mu.Unlock()
		if !talking {
			c.talkingWith, c.talkState = 0, hotline.CallState{}
			return
		}
		c.talkingWith, c.talkState = agentID, st
	}
	publish(true)
	defer publish(false)
	client := c.conn.Client()
	for {
		r, err := c.wait(time.Time{}, c.mailbox)
		if err != nil {
			return
		}
		if r.job != nil {
			cmd, ok := r.job.value.(*command)
			if !ok {
				continue
			}
			err := c.callbackCommand(client, cmd.CallCommand, legID, citizenID, &st)
			if err == nil {
				publish(true)
			}
			cmd.reply <- err
			continue
		}
		switch ev := r.ev.(type) {
		case *ari.StasisEnd:
			if ev.Channel.ID == legID || ev.Channel.ID == citizenID {
				return
			}
		case *ari.ChannelDestroyed:
			if ev.Channel.ID == legID || ev.Channel.ID == citizenID {
				return
			}
		}
	}
}

// callbackCommand carries out an agent's command on a callback's conversation.
func (c *call) callbackCommand(client *ari.Client, cmd hotline.CallCommand, legID, citizenID string, st *hotline.CallState) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	defer cancel()
	conflict := func(reason string) error { return fmt.Errorf("%s: %s: %w", cmd.Action, reason, hotline.ErrConflict) }
	var err error
	switch cmd.Action {
	case hotline.ActionHangup:
		if err = client.Channel(legID).Hangup(ctx, ari.HangupNormal); errors.Is(err, ari.ErrNotFound) {
			err = nil
		}
	case hotline.ActionMute:
		if st.Muted {
			return conflict("the agent is already muted")
		}
		if err = client.Channel(legID).Mute(ctx, ari.DirectionIn); err == nil {
			st.Muted = true
		}
	case hotline.ActionUnmute:
		if !st.Muted {
			return conflict("the agent is not muted")
		}
		if err = client.Channel(legID).Unmute(ctx, ari.DirectionIn); err == nil {
			st.Muted = false
		}
	case hotline.ActionDTMF:
		err = client.Channel(citizenID).SendDTMF(ctx, cmd.Digits, ari.DTMFOptions{})
	case hotline.ActionHold, hotline.ActionResume:
		return conflict("a callback cannot be held: the hotline called the citizen, there is no queue to hold them in")
	default:
		return conflict("a callback cannot be transferred or conferenced: the hotline called the citizen, hang up and create a work order instead")
	}
	if err != nil {
		if errors.Is(err, ari.ErrChannelGone) || c.ctx.Err() != nil {
			return fmt.Errorf("%s: the call is ending: %w", cmd.Action, hotline.ErrConflict)
		}
		return fmt.Errorf("%s: %w", cmd.Action, err)
	}
	return nil
}

// attemptOutcome turns how the citizen's phone ended a ring into an attempt outcome.
func attemptOutcome(offerOutcome, cause string) string {
	switch offerOutcome {
	case hotline.OfferRejected:
		return hotline.AttemptBusy
	case hotline.OfferTimeout:
		return hotline.AttemptNoAnswer
	}
	return hotline.AttemptFailed
}

// finishCallback completes the callback call's record.
func (c *call) finishCallback() {
	end := hotline.CallEnd{CallID: c.id, EndedAt: time.Now(), AnsweredAt: c.answered, Outcome: c.outcome,
		Language: c.lang, QueueID: c.queueID, AgentID: c.agentID}
	if err := c.store(func(ctx context.Context) error { return c.e.cfg.Recorder.EndCall(ctx, end) }); err != nil {
		c.log.Error("record callback call end", "err", err)
	}
}
