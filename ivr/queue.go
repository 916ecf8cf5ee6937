package ivr

import (
	"context"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/speech"
)

// queue waits in a skill's queue with music on hold, announcing the position and estimated
// wait every AnnounceEvery. LeaveKey leaves for a message or a callback; MaxWait overflows.
// The ACD offers the call to agents (Engine.Offer): their phone rings while the caller keeps
// the music, and the one who answers is bridged with the caller. An offer that fails leaves
// the caller waiting at their place. When the agent hangs up first the flow goes on by the
// Answered exit.
func (c *call) queue(n *flow.Queue) (*flow.Exit, string, error) {
	if x, in, err, ok := c.resumeQueue(n); ok {
		return x, in, err
	}
	if err := c.say(n.Prompts, true); err != nil {
		return nil, "", err
	}
	var entry hotline.QueueEntry
	err := c.service(func(ctx context.Context) (err error) {
		entry, err = c.e.cfg.Services.EnterQueue(ctx, c.id, n.Queue, n.Priority)
		return err
	})
	if err != nil {
		c.log.Error("enter queue", "queue", n.Queue, "err", err)
		return n.Overflow, "", nil
	}
	return c.waitInQueue(n, entry)
}

// waitInQueue is the caller's wait as queue node n in the queue entry: music, announcements,
// the ACD's offers, the conversation with the agent who answers, leaving.
func (c *call) waitInQueue(n *flow.Queue, entry hotline.QueueEntry) (*flow.Exit, string, error) {
	c.inQueue(entry)
	c.queueID = n.Queue
	var offers <-chan jobResult
	if c.e.cfg.ACD != nil {
		offers = c.mailbox
		c.setQueued(true)
	}
	leave := func(outcome string) {
		c.setQueued(false)
		if err := c.service(func(ctx context.Context) error { return c.e.cfg.Services.LeaveQueue(ctx, entry, outcome) }); err != nil {
			c.log.Error("leave queue", "queue", n.Queue, "err", err)
		}
	}
	giveUp := time.Now().Add(n.MaxWait)
	nextAnnounce := time.Now().Add(n.AnnounceEvery)
	for {
		if k := c.takeKey(); k != "" && k == n.LeaveKey && n.Leave != nil {
			c.stopMOH()
			leave(hotline.QueueMessage)
			return n.Leave, k, nil
		}
		c.startMOH(n.MOH)
		deadline := nextAnnounce
		if giveUp.Before(deadline) {
			deadline = giveUp
		}
		r, err := c.wait(deadline, offers)
		if err != nil {
			leave(hotline.QueueAbandoned)
			c.outcome = hotline.OutcomeAbandoned
			return nil, "", err
		}
		if r.job != nil {
			o, ok := r.job.value.(hotline.Offer)
			if !ok {
				continue // a command for a conversation that has ended: drained as refused
			}
			if o.ID == c.staleOffer {
				// Cancelled on resume already (ending it again changes nothing, or completes a
				// cancel the database missed): ringing the agent again would connect a call
				// the ACD does not count, and leave the agent shown free while talking.
				c.offerEnded(o, hotline.OfferCancelled, "cancelled on resume; handed over late")
				continue
			}
			connected, tr, err := c.connectAgent(n, o)
			if connected {
				if err != nil {
					return nil, "", err
				}
				if tr != nil {
					return c.transferTo(n, o, tr)
				}
				return n.Answered, "", nil
			}
			if err != nil {
				leave(hotline.QueueAbandoned)
				c.outcome = hotline.OutcomeAbandoned
				return nil, "", err
			}
			c.startMOH(n.MOH)
			continue
		}
		if !r.timeout {
			continue
		}
		if !time.Now().Before(giveUp) {
			c.stopMOH()
			leave(hotline.QueueOverflow)
			c.outcome = hotline.OutcomeOverflow
			return n.Overflow, "", nil
		}
		nextAnnounce = time.Now().Add(n.AnnounceEvery)
		c.stopMOH()
		if err := c.announce(entry); err != nil {
			leave(hotline.QueueAbandoned)
			c.outcome = hotline.OutcomeAbandoned
			return nil, "", err
		}
	}
}

// transferTo carries out the blind transfer of the caller by the agent of offer o: into
// another queue with the same priority, to a named agent, out to an external number, or back
// into the IVR at a flow; afterwards the flow goes on as after the conversation (the queue's
// answered exit).
func (c *call) transferTo(n *flow.Queue, o hotline.Offer, t *hotline.TransferTarget) (*flow.Exit, string, error) {
	switch {
	case t.Agent != 0:
		return c.transferToAgent(n, o, t)
	case t.Queue != "":
		q := *n
		q.Queue = t.Queue
		q.Prompts = flow.Prompts{{Kind: flow.ItemPrompt, ID: "common/transfer_agent"}}
		return c.queue(&q)
	case t.Number != "":
		x, _, err := c.transfer(&flow.Transfer{Number: t.Number, Timeout: 30 * time.Second, Failed: n.Answered})
		if err == nil && x == nil {
			c.outcome = hotline.OutcomeTransferred
		}
		return x, "", err
	default:
		sub := c.flows.lib.Flow(t.Flow)
		c.push(sub, n.Answered)
		return &flow.Exit{Name: "transfer", To: sub.Start}, "", nil
	}
}

// transferToAgent carries out a blind transfer to a named agent: the caller hears that they
// are transferred and waits again in the queue of the call (offer o's), keeping priority and
// place, reserved for the agent for a while (the ACD's TransferToAgent), then for anyone in
// the queue. When the ACD cannot make the reservation the caller waits as an ordinary caller
// of the queue.
func (c *call) transferToAgent(n *flow.Queue, o hotline.Offer, t *hotline.TransferTarget) (*flow.Exit, string, error) {
	q := *n
	if o.QueueID != "" {
		q.Queue = o.QueueID
	}
	q.Prompts = flow.Prompts{{Kind: flow.ItemPrompt, ID: "common/transfer_agent"}}
	at, ok := c.e.cfg.ACD.(AgentTransfers)
	if !ok {
		return c.queue(&q)
	}
	if err := c.say(q.Prompts, true); err != nil {
		return nil, "", err
	}
	var entry hotline.QueueEntry
	err := c.service(func(ctx context.Context) (err error) {
		entry, err = at.TransferToAgent(ctx, o.ID, t.Agent, time.Duration(t.Reserve)*time.Second)
		return err
	})
	if err != nil {
		c.log.Error("transfer to agent: reserve the call", "to_agent", t.Agent, "queue", q.Queue, "err", err)
		q.Prompts = nil
		return c.queue(&q)
	}
	return c.waitInQueue(&q, entry)
}

// announce tells the caller their position and estimated wait.
func (c *call) announce(entry hotline.QueueEntry) error {
	if c.e.degraded() {
		return nil // overloaded: the database serves the calls, not the announcements
	}
	var pos int
	var wait time.Duration
	if err := c.service(func(ctx context.Context) (err error) {
		pos, wait, err = c.e.cfg.Services.QueueStatus(ctx, entry)
		return err
	}); err != nil {
		c.log.Warn("queue status", "err", err)
		return nil
	}
	lang := speech.Lang(c.lang)
	var ids []string
	if pos <= 1 {
		ids = []string{"queue/next_in_line"}
	} else {
		ids = append(ids, "queue/ahead")
		for _, f := range speech.Quantity(int64(pos-1), "unit/wei", lang) {
			ids = append(ids, string(f))
		}
		minutes := int64((wait + time.Minute - 1) / time.Minute)
		ids = append(ids, "queue/estimated_wait")
		for _, f := range speech.Quantity(max(minutes, 1), "unit/minutes", lang) {
			ids = append(ids, string(f))
		}
	}
	return c.sayIDs(ids, true)
}

// startMOH plays music on hold on the channel; it produces no event, so the call remembers.
func (c *call) startMOH(class string) {
	if c.moh {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	defer cancel()
	if err := c.channel.StartMOH(ctx, class); err != nil {
		c.log.Warn("music on hold", "err", err)
		return
	}
	c.moh = true
}

func (c *call) stopMOH() {
	if !c.moh {
		return
	}
	c.moh = false
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	defer cancel()
	if err := c.channel.StopMOH(ctx); err != nil {
		c.log.Warn("stop music on hold", "err", err)
	}
}
