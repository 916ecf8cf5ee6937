package ivr

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

// transfer dials an external number (through the dialplan context "hotline-out") or an
// endpoint, and bridges the caller with it once it answers. The call stays in the
// controller until either side hangs up; Failed is taken when the far end does not answer.
func (c *call) transfer(n *flow.Transfer) (*flow.Exit, string, error) {
	if c.resuming && c.xfer != nil {
		c.resuming = false
		return nil, "", c.resumeTransfer()
	}
	if err := c.say(n.Prompts, false); err != nil {
		return nil, "", err
	}
	endpoint := n.Endpoint
	if endpoint == "" {
		endpoint = "Local/" + n.Number + "@hotline-out"
	}
	legID := ari.NewID()
	if err := c.inbox.Own(ari.ChannelRef(legID)); err != nil {
		return nil, "", errHangup
	}
	client := c.conn.Client()
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	_, err := client.Originate(ctx, ari.OriginateRequest{Endpoint: endpoint, App: c.conn.App(), AppArgs: []string{"transfer", c.id},
		CallerID: c.caller, Timeout: n.Timeout, ChannelID: legID})
	cancel()
	if err != nil {
		c.log.Warn("transfer: originate", "endpoint", endpoint, "err", err)
		return n.Failed, "", nil
	}
	// Wait for the far end to answer (it enters Stasis) or give up.
	deadline := time.Now().Add(n.Timeout + c.e.cfg.PlaybackGrace)
	for answered := false; !answered; {
		r, err := c.wait(deadline, nil)
		if err != nil {
			c.hangupLeg(legID)
			return nil, "", err
		}
		if r.timeout {
			c.hangupLeg(legID)
			return n.Failed, "", nil
		}
		switch ev := r.ev.(type) {
		case *ari.StasisStart:
			answered = ev.Channel.ID == legID
		case *ari.ChannelDestroyed:
			if ev.Channel.ID == legID {
				return n.Failed, "", nil
			}
		}
	}
	bridgeID := ari.NewID()
	_ = c.inbox.Own(ari.BridgeRef(bridgeID))
	ctx, cancel = context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	defer cancel()
	br, err := client.CreateBridge(ctx, ari.BridgeOptions{ID: bridgeID, Types: []string{ari.BridgeMixing}})
	if err == nil {
		err = client.Bridge(br.ID).AddChannel(ctx, c.channel.ID(), legID)
	}
	if err != nil {
		c.log.Error("transfer: bridge", "err", err)
		c.hangupLeg(legID)
		return n.Failed, "", nil
	}
	c.outcome = hotline.OutcomeTransferred
	return nil, "", c.talkThrough(legID, bridgeID)
}

// talkThrough keeps the caller in bridge bridgeID with the far end of a transfer, leg legID,
// until either leaves; nil when the far end left first. The bridge is destroyed after.
func (c *call) talkThrough(legID, bridgeID string) error {
	c.xfer = &savedTransfer{Leg: legID, Bridge: bridgeID}
	c.saveStateNow()
	leg := c.conn.Client().Channel(legID)
	defer c.destroyBridge(bridgeID)
	// The conversation: it ends when either side leaves. Their hang-ups come as events; a
	// quiet spell checks that both are still there, since an event lost with the websocket
	// would otherwise keep the caller in a bridge with nobody, forever.
	every := cmp.Or(c.e.cfg.TransferCheck, 15*time.Second)
	for {
		r, err := c.wait(time.Now().Add(every), nil)
		if err != nil {
			c.hangupLeg(legID)
			return err
		}
		if r.timeout {
			if gone(c.ctx, leg, c.e.cfg.RequestTimeout) {
				c.log.Warn("transfer: the far end is gone without a word")
				return nil
			}
			if gone(c.ctx, c.channel, c.e.cfg.RequestTimeout) {
				c.hangupLeg(legID)
				return errHangup
			}
			continue
		}
		switch ev := r.ev.(type) {
		case *ari.StasisEnd:
			if ev.Channel.ID == legID {
				return nil
			}
		case *ari.ChannelDestroyed:
			if ev.Channel.ID == legID {
				return nil
			}
		}
	}
}

// resumeTransfer takes over a transfer a lost controller left: the caller and the far end
// stay in their bridge and talk on; when the far end left meanwhile, the call ends as it
// would have.
func (c *call) resumeTransfer() error {
	t := c.xfer
	_ = c.inbox.Own(ari.ChannelRef(t.Leg))
	_ = c.inbox.Own(ari.BridgeRef(t.Bridge))
	if gone(c.ctx, c.conn.Client().Channel(t.Leg), c.e.cfg.RequestTimeout) {
		c.log.Info("transfer: the far end left while no controller listened")
		c.destroyBridge(t.Bridge)
		return nil
	}
	c.log.Info("transfer resumed")
	return c.talkThrough(t.Leg, t.Bridge)
}

// gone reports whether Asterisk says the channel no longer exists; a request that fails
// otherwise (the node slow) does not count.
func gone(ctx context.Context, ch *ari.ChannelHandle, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := ch.Get(ctx)
	return errors.Is(err, ari.ErrNotFound) || errors.Is(err, ari.ErrChannelGone)
}
