// Package acd runs the contact centre's call distribution in each controller instance
// (`hotline serve`): it listens for waiting calls and free agents, runs assignment rounds, and
// hands the offers for this instance's calls to the engine that rings the agent's phone. The
// routing itself is done by the database, in one transaction per round (postgres.ACD), so that
// any number of instances can run a Dispatcher against one database.
package acd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// Router is the ACD as a dispatcher drives it. *postgres.ACD implements it.
type Router interface {
	// Instance is the controller instance the router works for.
	Instance() string
	// Start registers the instance, releasing what an earlier process of it left.
	Start(ctx context.Context) error
	// Heartbeat keeps the instance live.
	Heartbeat(ctx context.Context) error
	// Assign runs one assignment round of at most max offers and returns them.
	Assign(ctx context.Context, max int) ([]hotline.Offer, error)
	// Offer loads an offer.
	Offer(ctx context.Context, offerID int64) (hotline.Offer, error)
	// PendingOffers lists the pending offers for the calls of the instance.
	PendingOffers(ctx context.Context) ([]hotline.Offer, error)
	// OfferEnded records an offer that did not connect.
	OfferEnded(ctx context.Context, offerID int64, outcome, cause string) error
	// ExpireWrapUps ends the wrap-ups whose time is up.
	ExpireWrapUps(ctx context.Context) (int, error)
	// ReleaseDead releases what belongs to the instances silent for longer than lease.
	ReleaseDead(ctx context.Context, lease time.Duration) (int, error)
}

var _ Router = (*postgres.ACD)(nil)

// CallbackRouter is a Router that also dispatches callbacks, after the live calls of their
// queue. *postgres.ACD implements it.
type CallbackRouter interface {
	// AssignCallbacks offers up to max due callbacks and returns the offers and callbacks.
	AssignCallbacks(ctx context.Context, max int) ([]hotline.Offer, []hotline.CallbackTask, error)
	// OfferCallback returns the callback an offer is for; ok is false for a call's offer.
	OfferCallback(ctx context.Context, offerID int64) (task hotline.CallbackTask, ok bool, err error)
	// ReleaseOrphanedCallbacks puts back to waiting the callbacks a dead instance left assigned.
	ReleaseOrphanedCallbacks(ctx context.Context) (int, error)
}

var _ CallbackRouter = (*postgres.ACD)(nil)

// CallbackSink places the callbacks offered to the agents of this instance: the IVR engine
// rings the agent, then dials the citizen. Callback must not block; it reports false when
// no Asterisk node can place it, and the dispatcher ends the offer as failed.
type CallbackSink interface {
	Callback(ctx context.Context, o hotline.Offer, task hotline.CallbackTask) bool
}

// Sink takes the offers for the calls of this instance: the IVR engine, which rings the
// agent's phone and reports how it went to the ACD. Offer must not block. It reports false
// when the call is not (or no longer) waiting in a queue here; the dispatcher then ends the
// offer as cancelled, and the agent is free again. It may be called from several goroutines.
type Sink interface {
	Offer(ctx context.Context, o hotline.Offer) bool
}

// Defaults of Options.
const (
	DefaultTick  = time.Second
	DefaultBatch = 100
	// DefaultResync is how often the pending offers of the instance are read again, in case
	// a notification was lost; the listener's reconnection also triggers it.
	DefaultResync = 10 * time.Second
)

// Options tune a Dispatcher; zero values take the defaults.
type Options struct {
	// Lease is how long an instance may miss heartbeats before the others release its
	// agents and calls; postgres.DefaultLease (30 s). Give the Router the same.
	Lease time.Duration
	// Tick is the period of the housekeeping: heartbeat, wrap-up expiry, release of dead
	// instances, and a round for the calls whose priority rose with their wait.
	Tick time.Duration
	// Batch is the most offers one round makes; a round that makes that many is followed
	// by another at once.
	Batch int
	// Resync is the period of the safety read of pending offers.
	Resync time.Duration
	// Log receives what went wrong; nil discards it.
	Log *slog.Logger
}

// deliveredTTL is how long the dispatcher remembers that it handed an offer over; far longer
// than any ring (at most 120 s), so an offer still pending after it is handed over again and,
// if its call has gone, cancelled.
const deliveredTTL = 10 * time.Minute

// Dispatcher distributes calls for one controller instance; see the package doc.
type Dispatcher struct {
	r    Router
	sink Sink
	url  string
	o    Options
	log  *slog.Logger
	kick chan struct{}

	mu        sync.Mutex
	delivered map[int64]time.Time // offer id → when handed to the sink
	failing   map[string]bool     // housekeeping steps whose last attempt failed
}

// New returns the dispatcher of router's instance on the database at url (for its
// listener), handing offers to sink.
func New(router Router, sink Sink, url string, o Options) *Dispatcher {
	if o.Lease <= 0 {
		o.Lease = postgres.DefaultLease
	}
	if o.Tick <= 0 {
		o.Tick = DefaultTick
	}
	if o.Batch <= 0 {
		o.Batch = DefaultBatch
	}
	if o.Resync <= 0 {
		o.Resync = DefaultResync
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{r: router, sink: sink, url: url, o: o, log: log.With("instance", router.Instance()),
		kick: make(chan struct{}, 1), delivered: map[int64]time.Time{}, failing: map[string]bool{}}
}

// Run distributes calls until ctx ends; it returns an error only when it cannot start
// (the instance cannot be registered or the listener cannot listen).
func (d *Dispatcher) Run(ctx context.Context) error {
	if err := postgres.ValidInstance(d.r.Instance()); err != nil {
		return err
	}
	if err := d.r.Start(ctx); err != nil {
		return err
	}
	l := pq.NewListener(d.url, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			d.log.Warn("acd listener", "event", ev, "err", err)
		}
	})
	defer l.Close()
	offers := postgres.OfferChannel(d.r.Instance())
	for _, ch := range []string{postgres.ChannelACD, offers} {
		if err := l.Listen(ch); err != nil {
			return fmt.Errorf("acd: listen %s: %w", ch, err)
		}
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.assigner(ctx)
	}()
	defer wg.Wait()

	d.resync(ctx)
	tick := time.NewTicker(d.o.Tick)
	defer tick.Stop()
	resync := time.NewTicker(d.o.Resync)
	defer resync.Stop()
	ping := time.NewTicker(time.Minute)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-l.Notify:
			switch {
			case n == nil: // reconnected: what was announced meanwhile is in the tables
				d.resync(ctx)
			case n.Channel == postgres.ChannelACD:
				d.Kick()
			case n.Channel == offers:
				id, err := strconv.ParseInt(n.Extra, 10, 64)
				if err != nil {
					d.log.Warn("acd: offer notification", "payload", n.Extra)
					continue
				}
				d.deliverID(ctx, id)
			}
		case <-tick.C:
			d.housekeep(ctx)
		case <-resync.C:
			d.resync(ctx)
		case <-ping.C:
			go l.Ping() // notices a dead connection that no notification would reveal
		}
	}
}

// Kick asks for an assignment round; rounds asked for while one runs are run once after it.
func (d *Dispatcher) Kick() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// assigner runs the rounds asked for, one at a time, until ctx ends.
func (d *Dispatcher) assigner(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
		}
		for ctx.Err() == nil {
			offers, err := d.r.Assign(ctx, d.o.Batch)
			d.result("assign", err)
			if err != nil {
				break
			}
			for _, o := range offers {
				if o.Instance == d.r.Instance() {
					d.deliver(ctx, o) // sooner than through our own notification
				}
			}
			if len(offers) < d.o.Batch {
				d.assignCallbacks(ctx, d.o.Batch-len(offers))
				break
			}
		}
	}
}

// assignCallbacks offers due callbacks once the round has offered every call it could.
func (d *Dispatcher) assignCallbacks(ctx context.Context, max int) {
	cr, ok := d.r.(CallbackRouter)
	if !ok {
		return
	}
	if _, ok := d.sink.(CallbackSink); !ok {
		return
	}
	offers, tasks, err := cr.AssignCallbacks(ctx, max)
	d.result("assign callbacks", err)
	for i, o := range offers {
		if o.Instance == d.r.Instance() {
			d.deliverCallback(ctx, o, tasks[i])
		}
	}
}

// deliverCallback hands a callback offer to the sink once.
func (d *Dispatcher) deliverCallback(ctx context.Context, o hotline.Offer, task hotline.CallbackTask) {
	d.mu.Lock()
	_, done := d.delivered[o.ID]
	if !done {
		d.delivered[o.ID] = time.Now()
	}
	d.mu.Unlock()
	cs, ok := d.sink.(CallbackSink)
	if done || ok && cs.Callback(ctx, o, task) {
		return
	}
	err := d.r.OfferEnded(ctx, o.ID, hotline.OfferCancelled, "no Asterisk node to place the callback on instance "+d.r.Instance())
	if err != nil && !errors.Is(err, hotline.ErrConflict) && ctx.Err() == nil {
		d.log.Error("acd: cancel callback offer", "offer_id", o.ID, "callback_id", task.ID, "err", err)
	}
}

// housekeep runs the periodic work: heartbeat, wrap-up expiry, release of dead instances,
// and a round for the calls whose priority has risen.
func (d *Dispatcher) housekeep(ctx context.Context) {
	d.result("heartbeat", d.r.Heartbeat(ctx))
	_, err := d.r.ExpireWrapUps(ctx)
	d.result("expire wrap-ups", err)
	if cr, ok := d.r.(CallbackRouter); ok {
		_, err := cr.ReleaseOrphanedCallbacks(ctx)
		d.result("release orphaned callbacks", err)
	}
	n, err := d.r.ReleaseDead(ctx, d.o.Lease)
	d.result("release dead instances", err)
	if n > 0 {
		d.log.Warn("agents of silent instances released", "agents", n, "lease", d.o.Lease)
	}
	d.Kick()
}

// resync hands over the pending offers that may have been missed, forgets the offers handed
// over long ago, and asks for a round.
func (d *Dispatcher) resync(ctx context.Context) {
	d.mu.Lock()
	for id, at := range d.delivered {
		if time.Since(at) > deliveredTTL {
			delete(d.delivered, id)
		}
	}
	d.mu.Unlock()
	pending, err := d.r.PendingOffers(ctx)
	d.result("pending offers", err)
	for _, o := range pending {
		d.deliver(ctx, o)
	}
	d.Kick()
}

// deliverID loads an announced offer and hands it over.
func (d *Dispatcher) deliverID(ctx context.Context, id int64) {
	d.mu.Lock()
	_, done := d.delivered[id]
	d.mu.Unlock()
	if done {
		return
	}
	o, err := d.r.Offer(ctx, id)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Error("acd: load offer", "offer_id", id, "err", err)
		}
		return
	}
	d.deliver(ctx, o)
}

// deliver hands a pending offer to the sink once; if the sink has no such call waiting, the
// offer ends as cancelled.
func (d *Dispatcher) deliver(ctx context.Context, o hotline.Offer) {
	if o.State != hotline.OfferPending {
		return
	}
	d.mu.Lock()
	_, done := d.delivered[o.ID]
	if !done {
		d.delivered[o.ID] = time.Now()
	}
	d.mu.Unlock()
	if done {
		return
	}
	if o.CallID == "" {
		// A callback's offer, loaded from its notification or the resync.
		if cr, ok := d.r.(CallbackRouter); ok {
			task, isCallback, err := cr.OfferCallback(ctx, o.ID)
			if err == nil && isCallback {
				d.mu.Lock()
				delete(d.delivered, o.ID)
				d.mu.Unlock()
				d.deliverCallback(ctx, o, task)
				return
			}
		}
	}
	if d.sink.Offer(ctx, o) {
		return
	}
	err := d.r.OfferEnded(ctx, o.ID, hotline.OfferCancelled, "the call is not waiting on instance "+d.r.Instance())
	if err != nil && !errors.Is(err, hotline.ErrConflict) && ctx.Err() == nil {
		d.log.Error("acd: cancel offer", "offer_id", o.ID, "call_id", o.CallID, "agent_id", o.AgentID, "err", err)
	}
}

// result logs the first failure of a step and its recovery, not every failed attempt.
func (d *Dispatcher) result(step string, err error) {
	if errors.Is(err, context.Canceled) {
		return // stopping
	}
	d.mu.Lock()
	was := d.failing[step]
	d.failing[step] = err != nil
	d.mu.Unlock()
	switch {
	case err != nil && !was:
		d.log.Error("acd: "+step, "err", err)
	case err == nil && was:
		d.log.Info("acd: " + step + " works again")
	}
}
