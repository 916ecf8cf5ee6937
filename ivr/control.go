package ivr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
)

// command is a hotline.CallCommand on its way to the call's goroutine with where its answer goes.
type command struct {
	hotline.CallCommand
	reply chan error
}

// conversation is the state of a call bridged with an agent, touched only by its goroutine.
type conversation struct {
	offer    hotline.Offer
	legID    string
	bridgeID string
	held     bool
	muted    bool
	// transfer is set by a transfer command: converse returns and the queue node carries it out.
	transfer *hotline.TransferTarget
	// consultLeg is the third party's channel during a consultation; consult its state.
	consultLeg string
	consult    string
	// agentGone is set when the agent left a conference or completed a consultation: the
	// caller goes on with the third party.
	agentGone bool
}

// errTransferred ends a conversation that a blind transfer takes elsewhere.
var errTransferred = errors.New("transferred")

// Control carries out a call-control command on a call this engine owns and returns when it
// is done. Errors: hotline.ErrNotFound when the engine has no such call, hotline.ErrForbidden
// when the agent is not the one on the call, hotline.ErrConflict (with the reason) when the
// command does not fit the call's state, hotline.ErrInvalid for a malformed command. Nothing
// is half done: a command that fails leaves the call as it was, or ends it cleanly.
func (e *Engine) Control(ctx context.Context, callID string, cmd hotline.CallCommand) error {
	if err := cmd.Validate(); err != nil {
		return err
	}
	e.mu.Lock()
	c := e.byCall[callID]
	switch {
	case c == nil:
		e.mu.Unlock()
		return fmt.Errorf("call %s: %w", callID, hotline.ErrNotFound)
	case c.talkingWith == 0:
		e.mu.Unlock()
		return fmt.Errorf("call %s is not talking with an agent: %w", callID, hotline.ErrConflict)
	case c.talkingWith != cmd.AgentID:
		e.mu.Unlock()
		return fmt.Errorf("call %s is another agent's: %w", callID, hotline.ErrForbidden)
	}
	reply := make(chan error, 1)
	select {
	case c.mailbox <- jobResult{value: &command{CallCommand: cmd, reply: reply}}:
	default:
		e.mu.Unlock()
		return fmt.Errorf("call %s is busy with another command: %w", callID, hotline.ErrConflict)
	}
	e.mu.Unlock()
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// hotline.CallState returns the state of a call in conversation on this engine.
func (e *Engine) CallState(callID string) (hotline.CallState, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.byCall[callID]
	if c == nil || c.talkingWith == 0 {
		return hotline.CallState{}, fmt.Errorf("call %s in conversation: %w", callID, hotline.ErrNotFound)
	}
	return c.talkState, nil
}

// setTalking publishes who the caller is talking with (0: nobody) for Control, and persists
// the conversation's state for another controller.
func (c *call) setTalking(cv *conversation) {
	c.saveTalk(cv)
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	if cv == nil {
		c.talkingWith = 0
		c.talkState = hotline.CallState{}
		return
	}
	c.talkingWith = cv.offer.AgentID
	c.talkState = hotline.CallState{CallID: c.id, AgentID: cv.offer.AgentID, Held: cv.held, Muted: cv.muted, Consult: cv.consult}
	if cv.agentGone {
		c.talkingWith = 0 // the agent left: their commands no longer apply
	}
}

// saveTalk persists what changed in conversation cv: hold, mute, the third party, the agent
// gone. Nothing is written when nothing changed.
func (c *call) saveTalk(cv *conversation) {
	if c.updateTalk(cv) {
		c.saveStateNow()
	}
}

// saveTalkDurably is saveTalk that returns once the state is written (saveStateDurably).
func (c *call) saveTalkDurably(cv *conversation) {
	if c.updateTalk(cv) {
		c.saveStateDurably()
	}
}

// updateTalk copies conversation cv's state into the call's saved conversation and reports
// whether it changed.
func (c *call) updateTalk(cv *conversation) bool {
	t := c.talk
	if cv == nil || t == nil {
		return false
	}
	next := *t
	next.Held, next.Muted, next.ConsultLeg, next.Consult, next.AgentGone = cv.held, cv.muted, cv.consultLeg, cv.consult, cv.agentGone
	next.Transfer = cv.transfer
	if next == *t {
		return false
	}
	c.talk = &next
	return true
}

// execute carries out a command in the call's goroutine.
func (c *call) execute(cv *conversation, cmd *command) error {
	client := c.conn.Client()
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	defer cancel()
	conflict := func(reason string) error { return fmt.Errorf("%s: %s: %w", cmd.Action, reason, hotline.ErrConflict) }
	var err error
	switch cmd.Action {
	case hotline.ActionConsult, hotline.ActionCompleteConsult, hotline.ActionCancelConsult, hotline.ActionConference:
		err = c.consultCommand(ctx, cv, cmd.CallCommand)
		if errors.Is(err, hotline.ErrConflict) || errors.Is(err, hotline.ErrInvalid) {
			return err
		}
	case hotline.ActionHold, hotline.ActionResume:
		if cv.consult != "" {
			return conflict("a consultation is in progress")
		}
	}
	switch cmd.Action {
	case hotline.ActionHold:
		if cv.held {
			return conflict("the caller is already on hold")
		}
		if err = client.Bridge(cv.bridgeID).RemoveChannel(ctx, c.channel.ID()); err == nil {
			c.startMOH("")
			cv.held = true
		}
	case hotline.ActionResume:
		if !cv.held {
			return conflict("the caller is not on hold")
		}
		// Back in the bridge first, then the music stops: no gap of silence.
		if err = client.Bridge(cv.bridgeID).AddChannel(ctx, c.channel.ID()); err == nil {
			c.stopMOH()
			cv.held = false
		}
	case hotline.ActionMute:
		if cv.muted {
			return conflict("the agent is already muted")
		}
		if err = client.Channel(cv.legID).Mute(ctx, ari.DirectionIn); err == nil {
			cv.muted = true
		}
	case hotline.ActionUnmute:
		if !cv.muted {
			return conflict("the agent is not muted")
		}
		if err = client.Channel(cv.legID).Unmute(ctx, ari.DirectionIn); err == nil {
			cv.muted = false
		}
	case hotline.ActionDTMF:
		err = c.channel.SendDTMF(ctx, cmd.Digits, ari.DTMFOptions{})
	case hotline.ActionHangup:
		if err = client.Channel(cv.legID).Hangup(ctx, ari.HangupNormal); errors.Is(err, ari.ErrNotFound) {
			err = nil // the agent's phone hung up already
		}
	case hotline.ActionTransfer:
		if cv.consult != "" {
			return conflict("a consultation is in progress")
		}
		t := cmd.Transfer
		if t.Flow != "" && c.flows.lib.Flow(t.Flow) == nil {
			return fmt.Errorf("transfer: no flow %q: %w", t.Flow, hotline.ErrInvalid)
		}
		if t.Agent != 0 {
			if err := c.checkAgentTransfer(cv, t.Agent); err != nil {
				return err
			}
		}
		cv.transfer = &t
	}
	if err != nil {
		if errors.Is(err, ari.ErrChannelGone) || c.ctx.Err() != nil {
			return fmt.Errorf("%s: the call is ending: %w", cmd.Action, hotline.ErrConflict)
		}
		c.log.Warn("call control", "action", cmd.Action, "err", err)
		return fmt.Errorf("%s: %w", cmd.Action, err)
	}
	c.saveTalkDurably(cv) // before the agent hears that it was done
	c.setTalking(cv)
	return nil
}

// checkAgentTransfer asks the ACD whether the caller may be transferred to agent agentID;
// the refusal is the ACD's (hotline.ErrConflict with the reason, or ErrInvalid).
func (c *call) checkAgentTransfer(cv *conversation, agentID int64) error {
	at, ok := c.e.cfg.ACD.(AgentTransfers)
	if !ok {
		return fmt.Errorf("transfer: transfers to an agent are not available: %w", hotline.ErrConflict)
	}
	if cv.offer.EntryID == 0 {
		return fmt.Errorf("transfer: a callback cannot be transferred to an agent: %w", hotline.ErrConflict)
	}
	return c.service(func(ctx context.Context) error { return at.CheckTransferToAgent(ctx, cv.offer.ID, agentID) })
}

// recordControl writes a call-control action into the call's history (its IVR path), so
// that the journey shown to the next agent and the reports see holds and transfers; the
// number of an external transfer keeps only its last four digits.
func (c *call) recordControl(cmd hotline.CallCommand) {
	t := cmd.Transfer
	input := t.Queue + t.Flow + t.Endpoint
	if t.Agent != 0 {
		input = fmt.Sprintf("agent:%d", t.Agent)
	}
	if t.Number != "" {
		input = tail(t.Number)
	}
	if cmd.Action == hotline.ActionDTMF {
		input = mask(cmd.Digits, true) // what an agent keys for a caller may be a PIN
	}
	c.seq++
	now := time.Now()
	c.record(hotline.CallStep{CallID: c.id, Seq: c.seq, Flow: "desk", Node: cmd.Action, Kind: "control",
		EnteredAt: now, LeftAt: now, Exit: fmt.Sprintf("agent:%d", cmd.AgentID), Input: input})
}

// converse waits until the agent's leg or the caller leaves the conversation, carrying out
// the agent's commands meanwhile. It returns errAgentGone when the agent left,
// errTransferred after a blind transfer, the caller's hang-up otherwise.
func (c *call) converse(cv *conversation) error {
	c.setTalking(cv)
	defer c.setTalking(nil)
	for {
		r, err := c.wait(time.Time{}, c.mailbox)
		if err != nil {
			return err
		}
		if r.job != nil {
			cmd, ok := r.job.value.(*command)
			if !ok {
				// An offer for a call already talking: the ACD allows one at a time.
				c.offerEnded(r.job.value.(hotline.Offer), hotline.OfferCancelled, "call already with an agent")
				continue
			}
			err := c.execute(cv, cmd)
			if err == nil {
				c.recordControl(cmd.CallCommand)
			}
			cmd.reply <- err
			if cv.transfer != nil {
				return errTransferred
			}
			if cv.agentGone {
				return errAgentGone
			}
			continue
		}
		var gone string
		switch ev := r.ev.(type) {
		case *ari.StasisStart:
			if ev.Channel.ID == cv.consultLeg && cv.consult == consultRinging {
				c.consultAnswered(cv) // unless a resumed call found it answered already
			}
		case *ari.StasisEnd:
			gone = ev.Channel.ID
		case *ari.ChannelDestroyed:
			gone = ev.Channel.ID
		}
		switch {
		case gone == "":
		case gone == cv.legID:
			return c.agentLeft(cv)
		case gone == cv.consultLeg:
			c.consultGone(cv)
		}
	}
}

// agentLeft ends conversation cv whose agent hung up: from a conference the caller goes on
// with the third party; an unfinished consultation is abandoned.
func (c *call) agentLeft(cv *conversation) error {
	if cv.consult == consultConference {
		cv.agentGone = true
	} else {
		c.consultAbandoned(cv, "agent hung up")
	}
	return errAgentGone
}
