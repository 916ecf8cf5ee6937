package ivr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
)

// Consultation states (CallState.Consult).
const (
	consultRinging    = "ringing"
	consultTalking    = "talking"
	consultConference = "conference"
)

// consultRingTimeout is how long a consulted party may ring.
const consultRingTimeout = 30 * time.Second

// consultCommand starts, completes, cancels or turns into a conference an attended transfer.
// During a consultation the caller is out of the bridge with music on hold, and the agent
// talks with the third party in the call's bridge.
func (c *call) consultCommand(ctx context.Context, cv *conversation, cmd hotline.CallCommand) error {
	client := c.conn.Client()
	bridge := client.Bridge(cv.bridgeID)
	conflict := func(reason string) error { return fmt.Errorf("%s: %s: %w", cmd.Action, reason, hotline.ErrConflict) }
	switch cmd.Action {
	case hotline.ActionConsult:
		if cv.consult != "" {
			return conflict("a consultation is in progress")
		}
		if !cv.held {
			if err := bridge.RemoveChannel(ctx, c.channel.ID()); err != nil {
				return err
			}
			c.startMOH("")
			cv.held = true
		}
		endpoint := cmd.Transfer.Endpoint
		if endpoint == "" {
			endpoint = "Local/" + cmd.Transfer.Number + "@hotline-out"
		}
		legID := ari.NewID()
		if err := c.inbox.Own(ari.ChannelRef(legID)); err != nil {
			return c.gone()
		}
		_, err := client.Originate(ctx, ari.OriginateRequest{Endpoint: endpoint, App: c.conn.App(),
			AppArgs: []string{"consult", c.id}, CallerID: fmt.Sprintf("%q <%s>", cv.offer.QueueID, c.caller),
			Timeout: consultRingTimeout, ChannelID: legID})
		if err != nil {
			c.inbox.Release(ari.ChannelRef(legID))
			return fmt.Errorf("consult %s: %w", endpoint, err)
		}
		cv.consultLeg, cv.consult = legID, consultRinging
	case hotline.ActionCancelConsult:
		if cv.consult == "" || cv.consult == consultConference {
			return conflict("no consultation to cancel")
		}
		c.hangupLeg(cv.consultLeg)
		cv.consultLeg, cv.consult = "", ""
		return c.rejoin(ctx, cv)
	case hotline.ActionCompleteConsult:
		if cv.consult != consultTalking {
			return conflict("the consulted party has not answered")
		}
		if err := c.rejoin(ctx, cv); err != nil {
			return err
		}
		cv.consult, cv.agentGone = consultConference, true
		c.saveTalkDurably(cv) // an adopter keeps the caller with the third party
		c.hangupLeg(cv.legID)
	case hotline.ActionConference:
		if cv.consult != consultTalking {
			return conflict("the consulted party has not answered")
		}
		if err := c.rejoin(ctx, cv); err != nil {
			return err
		}
		cv.consult = consultConference
	}
	return nil
}

// rejoin brings a held caller back into the bridge before the music stops.
func (c *call) rejoin(ctx context.Context, cv *conversation) error {
	if !cv.held {
		return nil
	}
	if err := c.conn.Client().Bridge(cv.bridgeID).AddChannel(ctx, c.channel.ID()); err != nil {
		return err
	}
	c.stopMOH()
	cv.held = false
	return nil
}

// consultAnswered puts the third party who answered in the bridge with the agent.
func (c *call) consultAnswered(cv *conversation) {
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	defer cancel()
	if err := c.conn.Client().Bridge(cv.bridgeID).AddChannel(ctx, cv.consultLeg); err != nil {
		c.log.Warn("consult: bridge the third party", "err", err)
		c.hangupLeg(cv.consultLeg)
		cv.consultLeg, cv.consult = "", ""
	} else {
		cv.consult = consultTalking
	}
	c.setTalking(cv)
}

// consultGone handles the third party leaving: before answering or during the consultation
// the caller stays on hold for the agent to take back; in a conference the caller and the
// agent go on.
func (c *call) consultGone(cv *conversation) {
	c.inbox.Release(ari.ChannelRef(cv.consultLeg))
	cv.consultLeg, cv.consult = "", ""
	c.setTalking(cv)
}

// consultAbandoned ends a consultation the agent left without completing it: the third party
// is hung up and the caller comes back from hold to go on in the flow.
func (c *call) consultAbandoned(cv *conversation, why string) {
	if cv.consultLeg == "" {
		return
	}
	c.log.Info("consultation abandoned", "why", why)
	c.hangupLeg(cv.consultLeg)
	cv.consultLeg, cv.consult = "", ""
}

// withThirdParty keeps the caller with the third party of a completed consultation or of a
// conference the agent left, until one of them leaves. A nil error means the third party left
// first and the caller goes on in the flow.
func (c *call) withThirdParty(cv *conversation) error {
	c.outcome = hotline.OutcomeTransferred
	for {
		r, err := c.wait(time.Time{}, c.mailbox)
		if err != nil {
			c.hangupLeg(cv.consultLeg)
			return err
		}
		if r.job != nil {
			c.drainMailbox("the agent left the call")
			if cmd, ok := r.job.value.(*command); ok {
				cmd.reply <- fmt.Errorf("%s: the agent left the call: %w", cmd.Action, hotline.ErrConflict)
			}
			continue
		}
		switch ev := r.ev.(type) {
		case *ari.StasisEnd:
			if ev.Channel.ID == cv.consultLeg {
				return nil
			}
		case *ari.ChannelDestroyed:
			if ev.Channel.ID == cv.consultLeg {
				return nil
			}
		}
	}
}

// hangupLeg hangs up a channel the call created; one already gone is fine.
func (c *call) hangupLeg(id string) {
	if id == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), c.e.cfg.RequestTimeout)
	defer cancel()
	if err := c.conn.Client().Channel(id).Hangup(ctx, ari.HangupNormal); err != nil && !errors.Is(err, ari.ErrNotFound) {
		c.log.Warn("hang up leg", "channel_id", id, "err", err)
	}
}
