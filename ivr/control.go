package ivr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
)

// Call-control actions an agent takes on the call they are talking on.
const (
	ActionHold     = "hold"     // the caller leaves the conversation and hears music; the agent silence
	ActionResume   = "resume"   // the caller comes back
	ActionMute     = "mute"     // the caller no longer hears the agent
	ActionUnmute   = "unmute"   // the caller hears the agent again
	ActionHangup   = "hangup"   // the agent leaves; the caller goes on in the flow (the survey)
	ActionDTMF     = "dtmf"     // digits played to the caller's side (an external IVR after a transfer)
	ActionTransfer = "transfer" // blind transfer: to a queue, an external number or a flow

	// Attended transfer: the caller waits on hold while the agent calls a third party, then
	// the agent completes the transfer (and leaves), cancels it (back to the caller) or
	// joins all three in a conference.
	ActionConsult         = "consult"
	ActionCompleteConsult = "complete"
	ActionCancelConsult   = "cancel_consult"
	ActionConference      = "conference"
)

// Transfer targets of ActionTransfer: exactly one is set.
type Transfer struct {
	// Queue puts the caller back in a queue, keeping their priority.
	Queue string
	// Number dials an external number through the dialplan context hotline-out.
	Number string
	// Flow takes the caller back into the IVR at a flow (insurance for a verification,
	// survey …); the flow continues afterwards as after the conversation.
	Flow string
	// Endpoint is a phone to consult (another agent's PJSIP/1002); consultations only.
	Endpoint string
}

// Command is a call-control request for a call in conversation with an agent.
type Command struct {
	Action string
	// AgentID is who asks: only the agent on the call may control it.
	AgentID  int64
	Digits   string
	Transfer Transfer
}

// CallState is what the agent desk shows of a call in conversation.
type CallState struct {
	CallID string `json:"call_id"`
	// AgentID is the agent talking with the caller.
	AgentID int64 `json:"agent_id"`
	Held    bool  `json:"held"`
	Muted   bool  `json:"muted"`
	// Consult is "" without a consultation, "ringing" while the third party rings, "talking"
	// once they answered, "conference" when all three talk.
	Consult string `json:"consult,omitempty"`
}

// command is a Command on its way to the call's goroutine with where its answer goes.
type command struct {
	Command
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
	transfer *Transfer
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
func (e *Engine) Control(ctx context.Context, callID string, cmd Command) error {
	if err := cmd.validate(); err != nil {
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
	case c.mailbox <- jobResult{value: &command{Command: cmd, reply: reply}}:
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

// CallState returns the state of a call in conversation on this engine.
func (e *Engine) CallState(callID string) (CallState, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := e.byCall[callID]
	if c == nil || c.talkingWith == 0 {
		return CallState{}, fmt.Errorf("call %s in conversation: %w", callID, hotline.ErrNotFound)
	}
	return c.talkState, nil
}

func (cmd Command) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s: %w", cmd.Action, fmt.Sprintf(format, args...), hotline.ErrInvalid)
	}
	switch cmd.Action {
	case ActionHold, ActionResume, ActionMute, ActionUnmute, ActionHangup,
		ActionCompleteConsult, ActionCancelConsult, ActionConference:
	case ActionConsult:
		t := cmd.Transfer
		if (t.Number == "") == (t.Endpoint == "") || t.Queue != "" || t.Flow != "" {
			return bad("exactly one of number and endpoint")
		}
		if t.Number != "" && !allDigits(t.Number, 3, 20) {
			return bad("number of 3 to 20 digits")
		}
	case ActionDTMF:
		if cmd.Digits == "" || len(cmd.Digits) > 32 {
			return bad("1 to 32 digits")
		}
		for _, d := range cmd.Digits {
			if !(d >= '0' && d <= '9' || d >= 'A' && d <= 'D' || d == '*' || d == '#') {
				return bad("digit %q", d)
			}
		}
	case ActionTransfer:
		t := cmd.Transfer
		n := 0
		for _, s := range []string{t.Queue, t.Number, t.Flow} {
			if s != "" {
				n++
			}
		}
		if n != 1 || t.Endpoint != "" {
			return bad("exactly one of queue, number and flow")
		}
		if t.Number != "" && !allDigits(t.Number, 3, 20) {
			return bad("number of 3 to 20 digits")
		}
	default:
		return bad("unknown action")
	}
	return nil
}

// allDigits reports whether s is min to max decimal digits.
func allDigits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for _, d := range s {
		if d < '0' || d > '9' {
			return false
		}
	}
	return true
}

// setTalking publishes who the caller is talking with (0: nobody) for Control.
func (c *call) setTalking(cv *conversation) {
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	if cv == nil {
		c.talkingWith = 0
		c.talkState = CallState{}
		return
	}
	c.talkingWith = cv.offer.AgentID
	c.talkState = CallState{CallID: c.id, AgentID: cv.offer.AgentID, Held: cv.held, Muted: cv.muted, Consult: cv.consult}
	if cv.agentGone {
		c.talkingWith = 0 // the agent left: their commands no longer apply
	}
}

// execute carries out a command in the call's goroutine.
func (c *call) execute(cv *conversation, cmd *command) error {
	client := c.conn.Client()
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	defer cancel()
	conflict := func(reason string) error { return fmt.Errorf("%s: %s: %w", cmd.Action, reason, hotline.ErrConflict) }
	var err error
	switch cmd.Action {
	case ActionConsult, ActionCompleteConsult, ActionCancelConsult, ActionConference:
		err = c.consultCommand(ctx, cv, cmd.Command)
		if errors.Is(err, hotline.ErrConflict) || errors.Is(err, hotline.ErrInvalid) {
			return err
		}
	case ActionHold, ActionResume:
		if cv.consult != "" {
			return conflict("a consultation is in progress")
		}
	}
	switch cmd.Action {
	case ActionHold:
		if cv.held {
			return conflict("the caller is already on hold")
		}
		if err = client.Bridge(cv.bridgeID).RemoveChannel(ctx, c.channel.ID()); err == nil {
			c.startMOH("")
			cv.held = true
		}
	case ActionResume:
		if !cv.held {
			return conflict("the caller is not on hold")
		}
		// Back in the bridge first, then the music stops: no gap of silence.
		if err = client.Bridge(cv.bridgeID).AddChannel(ctx, c.channel.ID()); err == nil {
			c.stopMOH()
			cv.held = false
		}
	case ActionMute:
		if cv.muted {
			return conflict("the agent is already muted")
		}
		if err = client.Channel(cv.legID).Mute(ctx, ari.DirectionIn); err == nil {
			cv.muted = true
		}
	case ActionUnmute:
		if !cv.muted {
			return conflict("the agent is not muted")
		}
		if err = client.Channel(cv.legID).Unmute(ctx, ari.DirectionIn); err == nil {
			cv.muted = false
		}
	case ActionDTMF:
		err = c.channel.SendDTMF(ctx, cmd.Digits, ari.DTMFOptions{})
	case ActionHangup:
		if err = client.Channel(cv.legID).Hangup(ctx, ari.HangupNormal); errors.Is(err, ari.ErrNotFound) {
			err = nil // the agent's phone hung up already
		}
	case ActionTransfer:
		if cv.consult != "" {
			return conflict("a consultation is in progress")
		}
		t := cmd.Transfer
		if t.Flow != "" && c.flows.lib.Flow(t.Flow) == nil {
			return fmt.Errorf("transfer: no flow %q: %w", t.Flow, hotline.ErrInvalid)
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
	c.setTalking(cv)
	return nil
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
			cmd.reply <- c.execute(cv, cmd)
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
			if ev.Channel.ID == cv.consultLeg {
				c.consultAnswered(cv)
			}
		case *ari.StasisEnd:
			gone = ev.Channel.ID
		case *ari.ChannelDestroyed:
			gone = ev.Channel.ID
		}
		switch {
		case gone == "":
		case gone == cv.legID && cv.consult == consultConference:
			// The agent leaves a conference: the caller goes on with the third party.
			cv.agentGone = true
			return errAgentGone
		case gone == cv.legID:
			c.consultAbandoned(cv, "agent hung up")
			return errAgentGone
		case gone == cv.consultLeg:
			c.consultGone(cv)
		}
	}
}
