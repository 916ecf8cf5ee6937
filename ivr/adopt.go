package ivr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

// Calls outlive their controller. Each Stasis application is served by the controller
// instance holding its lease (Leases); the holder renews it every Renew. Every call persists
// where it is (StateStore) as it moves, under the lease's epoch. When a holder dies, another
// instance takes the application over once the lease has been expired for Grace: it opens a
// websocket for the application on each node, which Asterisk answers by sending the old one
// ApplicationReplaced, and the reconciliation of that connection resumes the calls the
// application still has from their saved state (resume). A controller that lost an
// application (its lease moved on, or ApplicationReplaced) stops acting on its calls at once:
// no ARI request, no record (fencing).

// Leases are the leases of Stasis applications held by this instance. *postgres.Leases
// implements it.
type Leases interface {
	// Acquire takes the lease of app if nobody else holds it or it expired more than grace
	// ago; home marks the instance's own application.
	Acquire(ctx context.Context, app string, ttl, grace time.Duration, home bool) (epoch int64, ok bool, err error)
	// Renew extends a lease held at epoch; held is false when another instance took it over,
	// wanted true when the instance whose own application it is asks for it back.
	Renew(ctx context.Context, app string, epoch int64, ttl time.Duration) (held, wanted bool, err error)
	// Release gives a lease up at once.
	Release(ctx context.Context, app string, epoch int64) error
	// Expired lists the applications of other instances whose lease expired more than grace ago.
	Expired(ctx context.Context, grace time.Duration) ([]string, error)
	// LiveHolders lists the other instances holding a live lease.
	LiveHolders(ctx context.Context) ([]string, error)
}

// StateStore keeps the calls' states. *postgres.CallStates implements it.
type StateStore interface {
	// SaveState queues a call's state, made under the lease of app at epoch; it never blocks.
	SaveState(callID, app string, epoch int64, node, channel string, state []byte)
	// DropState queues the deletion of an ended call's state.
	DropState(callID, app string, epoch int64)
	// LoadStates returns the states of the calls of app on node, by channel id.
	LoadStates(ctx context.Context, app, node string) (map[string][]byte, error)
	// AdoptCalls makes the calls this instance's under the lease of app at epoch and returns
	// their pending offers.
	AdoptCalls(ctx context.Context, app string, epoch int64, callIDs []string) ([]int64, error)
}

// stateWaiter is a StateStore that can also save a state and wait until it is written.
type stateWaiter interface {
	SaveStateWait(ctx context.Context, callID, app string, epoch int64, node, channel string, state []byte) error
}

// Failover configures leases and adoption; see SetFailover.
type Failover struct {
	Leases Leases
	States StateStore
	// TTL is how long a lease lasts without renewal (3 s); Renew how often it is renewed
	// (1 s); Grace how long an expired lease waits before another instance takes it (2 s),
	// so that a holder that lost the database for a moment renews first.
	TTL, Renew, Grace time.Duration
	// Adopt makes the instance take over the applications of instances that died; without it
	// the instance only holds its own.
	Adopt bool
}

// failover is the engine's side of leases and adoption.
type failover struct {
	cfg     Failover
	e       *Engine
	cluster *ari.Cluster
	ctx     context.Context

	// failedAt is when the database last failed a renewal: leases of others expired during an
	// outage all instances saw are left to their holders for a while after it.
	failedAt time.Time

	mu      sync.Mutex
	held    map[string]int64         // app → epoch
	okAt    map[string]time.Time     // app → when its lease was last acquired or renewed
	ready   map[string]chan struct{} // own apps → closed once held
	adopted map[string]context.CancelFunc
	conns   map[liveKey]*ari.Conn // adopted connections by node and app
}

// SetFailover makes the engine hold its applications under leases, persist its calls' states
// and, with f.Adopt, take over the applications of dead instances. Call it before Run.
func (e *Engine) SetFailover(f Failover) error {
	if f.Leases == nil || f.States == nil {
		return errors.New("ivr: failover needs Leases and States")
	}
	if f.TTL <= 0 {
		f.TTL = 3 * time.Second
	}
	if f.Renew <= 0 {
		f.Renew = time.Second
	}
	if f.Grace < 0 {
		f.Grace = 0
	}
	if f.Renew >= f.TTL {
		return fmt.Errorf("ivr: failover renewal every %v must be shorter than the lease's %v", f.Renew, f.TTL)
	}
	e.fo = &failover{cfg: f, e: e, held: map[string]int64{}, okAt: map[string]time.Time{}, ready: map[string]chan struct{}{},
		adopted: map[string]context.CancelFunc{}, conns: map[liveKey]*ari.Conn{}}
	return nil
}

// epoch returns the epoch app is held at, 0 when it is not held.
func (f *failover) epoch(app string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held[app]
}

// start gates the cluster's connections on their leases and keeps the leases.
func (f *failover) start(ctx context.Context, cluster *ari.Cluster) {
	f.ctx, f.cluster = ctx, cluster
	f.mu.Lock()
	for _, c := range cluster.Conns() {
		if f.ready[c.App()] == nil {
			f.ready[c.App()] = make(chan struct{})
		}
	}
	f.mu.Unlock()
	cluster.SetGate(f.gate)
	for _, c := range cluster.Conns() {
		c.Client().SetGuard(f.guard(c.App()))
	}
	go f.run(ctx)
}

// guard holds the requests of app's calls while the instance cannot tell whether the lease is
// still its own: its last renewal is older than the lease and no renewal failed lately (the
// process was frozen — paused, swapped out — rather than cut off the database, during which
// nobody can take the lease over). The renewal that follows releases them, or the loss of the
// lease fences them.
func (f *failover) guard(app string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		for waited := false; ; waited = true {
			f.mu.Lock()
			_, held := f.held[app]
			ok, failed := f.okAt[app], f.failedAt
			f.mu.Unlock()
			if !held && waited {
				return ari.ErrFenced // the renewal found the lease taken over
			}
			if !held || time.Since(ok) <= f.cfg.TTL || time.Since(failed) < 2*f.cfg.Renew+f.cfg.TTL {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
}

// gate holds a connection to one of the instance's own applications until its lease is held.
func (f *failover) gate(ctx context.Context, app string) error {
	f.mu.Lock()
	ch := f.ready[app]
	f.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run keeps the leases until ctx ends, then releases them.
func (f *failover) run(ctx context.Context) {
	t := time.NewTicker(f.cfg.Renew)
	defer t.Stop()
	for {
		f.tick(ctx)
		select {
		case <-ctx.Done():
			// Once the calls have ended the applications are free for another instance at once.
			f.e.calls.Wait()
			rctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			f.mu.Lock()
			held := f.held
			f.held = map[string]int64{}
			f.mu.Unlock()
			for app, ep := range held {
				if err := f.cfg.Leases.Release(rctx, app, ep); err != nil {
					f.e.cfg.Log.Warn("release lease", "app", app, "err", err)
				}
			}
			return
		case <-t.C:
		}
	}
}

// tick renews the leases held, takes the instance's own applications when they are free and
// adopts those of dead instances.
func (f *failover) tick(ctx context.Context) {
	log := f.e.cfg.Log
	rctx, cancel := context.WithTimeout(ctx, f.cfg.Renew)
	defer cancel()
	f.mu.Lock()
	held := make(map[string]int64, len(f.held))
	for app, ep := range f.held {
		held[app] = ep
	}
	var own []string
	for app, ch := range f.ready {
		if !isClosed(ch) {
			own = append(own, app)
		}
	}
	f.mu.Unlock()
	for app, ep := range held {
		ok, wanted, err := f.cfg.Leases.Renew(rctx, app, ep, f.cfg.TTL)
		switch {
		case err != nil:
			// The database is away: nobody else can take the lease meanwhile either.
			log.Warn("lease not renewed", "app", app, "err", err)
			f.mu.Lock()
			f.failedAt = time.Now()
			f.mu.Unlock()
		case !ok:
			f.lost(app, ep, "lease taken over")
		default:
			f.mu.Lock()
			f.okAt[app] = time.Now()
			f.mu.Unlock()
			if wanted {
				f.handBack(rctx, app, ep)
			}
		}
	}
	for _, app := range own {
		ep, ok, err := f.cfg.Leases.Acquire(rctx, app, f.cfg.TTL, f.cfg.Grace, true)
		if err != nil || !ok {
			if err != nil {
				log.Warn("lease not acquired", "app", app, "err", err)
			}
			continue
		}
		f.mu.Lock()
		f.held[app], f.okAt[app] = ep, time.Now()
		f.mu.Unlock()
		for _, c := range f.cluster.Conns() {
			if c.App() == app {
				c.Client().Unfence() // fenced when an earlier lease was lost
			}
		}
		f.mu.Lock()
		close(f.ready[app])
		f.mu.Unlock()
		log.Info("application lease acquired", "app", app, "epoch", ep)
	}
	// After a database outage every lease has run out: their holders renew them first.
	f.mu.Lock()
	failedAt := f.failedAt
	f.mu.Unlock()
	if !f.cfg.Adopt || time.Since(failedAt) < f.cfg.TTL+f.cfg.Grace {
		return
	}
	apps, err := f.cfg.Leases.Expired(rctx, f.cfg.Grace)
	if err != nil {
		log.Warn("expired leases", "err", err)
		return
	}
	for _, app := range apps {
		f.mu.Lock()
		_, mine := f.held[app]
		_, own := f.ready[app]
		f.mu.Unlock()
		if mine || own {
			continue
		}
		ep, ok, err := f.cfg.Leases.Acquire(rctx, app, f.cfg.TTL, f.cfg.Grace, false)
		if err != nil || !ok {
			continue
		}
		f.adopt(app, ep)
	}
}

// isClosed reports whether ch is closed.
func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// handBack gives an adopted application back to its own instance, which asked for it, once
// no call is left on it here.
func (f *failover) handBack(ctx context.Context, app string, epoch int64) {
	f.mu.Lock()
	cancel, adopted := f.adopted[app]
	f.mu.Unlock()
	if !adopted || f.e.callsOf(app) > 0 {
		return
	}
	f.mu.Lock()
	delete(f.held, app)
	delete(f.adopted, app)
	for k := range f.conns {
		if k.channel == app {
			delete(f.conns, k)
		}
	}
	f.mu.Unlock()
	cancel()
	if err := f.cfg.Leases.Release(ctx, app, epoch); err != nil {
		f.e.cfg.Log.Warn("hand application back", "app", app, "err", err)
		return
	}
	f.e.cfg.Log.Info("adopted application handed back to its instance", "app", app)
}

// callsOf counts the calls on app.
func (e *Engine) callsOf(app string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.active {
		if c.conn.App() == app {
			n++
		}
	}
	return n
}

// adopt connects to app on every node; the connections' reconciliation resumes its calls.
func (f *failover) adopt(app string, epoch int64) {
	actx, cancel := context.WithCancel(f.ctx)
	conns, err := f.cluster.Adopt(actx, app)
	if err != nil {
		cancel()
		f.e.cfg.Log.Error("adopt application", "app", app, "err", err)
		return
	}
	f.mu.Lock()
	f.held[app], f.okAt[app] = epoch, time.Now()
	f.adopted[app] = cancel
	for _, c := range conns {
		f.conns[liveKey{c.Name(), app}] = c
		c.Client().SetGuard(f.guard(app))
	}
	f.mu.Unlock()
	f.e.mu.Lock()
	f.e.stats.Adoptions++
	f.e.mu.Unlock()
	f.e.cfg.Log.Warn("adopting the application of a lost controller", "app", app, "epoch", epoch)
}

// lost stops acting on app held at epoch: its lease moved on or Asterisk gave it to another
// connection. The calls stop where they are, leaving channels, bridges and records alone.
func (f *failover) lost(app string, epoch int64, why string) {
	f.mu.Lock()
	if ep, ok := f.held[app]; !ok || (epoch != 0 && ep != epoch) {
		f.mu.Unlock()
		return
	}
	var fenced []*ari.Conn
	for k, c := range f.conns {
		if k.channel == app {
			fenced = append(fenced, c)
		}
	}
	f.mu.Unlock()
	f.e.cfg.Log.Error("application lost to another controller: its calls are left to it", "app", app, "epoch", epoch, "why", why)
	// Fenced first, then forgotten: a request held by the guard meanwhile fails rather than
	// going out once the lease is no longer held.
	for _, c := range f.cluster.Conns() {
		if c.App() == app {
			fenced = append(fenced, c)
		}
	}
	for _, c := range fenced {
		c.Client().Fence()
	}
	f.e.fenceCalls(app)
	f.mu.Lock()
	delete(f.held, app)
	ch, own := f.ready[app]
	if own && isClosed(ch) {
		// The instance's own application: its connections wait for the lease, which the
		// renewals ask back for (the adopter hands it back once it has no call left on it).
		f.ready[app] = make(chan struct{})
	}
	cancel := f.adopted[app]
	delete(f.adopted, app)
	for k := range f.conns {
		if k.channel == app {
			delete(f.conns, k)
		}
	}
	f.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if own {
		for _, c := range f.cluster.Conns() {
			if c.App() == app {
				c.Reconnect() // still connected when the lease went without ApplicationReplaced
			}
		}
	}
}

// fenceCalls stops the calls of app without a word: another controller has them.
func (e *Engine) fenceCalls(app string) {
	e.mu.Lock()
	var calls []*call
	for _, c := range e.active {
		if c.conn.App() == app {
			calls = append(calls, c)
		}
	}
	e.stats.Fenced += uint64(len(calls))
	e.mu.Unlock()
	for _, c := range calls {
		c.fenced.Store(true)
		c.cancel()
	}
}

// LeaseLost is told by the state store that a write under app's lease at epoch was refused:
// another instance holds the application now.
func (e *Engine) LeaseLost(app string, epoch int64) {
	if e.fo != nil {
		e.fo.lost(app, epoch, "call state refused at an old epoch")
	}
}

// HandOff gives every application this instance holds to another live instance without
// hanging up a caller: the calls stop where they are, their states are written (flush), and
// the leases are released, so that the other instance takes the applications over at its
// next renewal and resumes the calls. It returns how many calls were handed off, none when no
// other instance holds a live lease (nobody would take them). The calls handed off have ended
// on this engine when it returns.
func (e *Engine) HandOff(ctx context.Context, flush func(context.Context) error) (int, error) {
	f := e.fo
	if f == nil {
		return 0, nil
	}
	others, err := f.cfg.Leases.LiveHolders(ctx)
	if err != nil || len(others) == 0 {
		return 0, err
	}
	f.mu.Lock()
	held := make(map[string]int64, len(f.held))
	for app, ep := range f.held {
		held[app] = ep
	}
	f.mu.Unlock()
	n := 0
	for app := range held {
		n += e.callsOf(app)
		e.fenceCalls(app)
	}
	// The calls stop at once: their goroutines only return.
	for app := range held {
		for e.callsOf(app) > 0 && ctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if flush != nil {
		if err := flush(ctx); err != nil {
			return n, err
		}
	}
	var errs []error
	for app, ep := range held {
		f.mu.Lock()
		delete(f.held, app)
		f.mu.Unlock()
		for _, c := range f.cluster.Conns() {
			if c.App() == app {
				c.Client().Fence()
			}
		}
		if err := f.cfg.Leases.Release(ctx, app, ep); err != nil {
			errs = append(errs, err)
		}
	}
	e.cfg.Log.Warn("calls handed off to another instance", "calls", n, "to", others)
	return n, errors.Join(errs...)
}

// conn returns the adopted connection to app on node, or nil.
func (f *failover) conn(node, app string) *ari.Conn {
	if f == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns[liveKey{node, app}]
}

// adoptee is a channel of an adopted application with its call's saved state.
type adoptee struct {
	id    string
	ch    ari.Channel
	state *savedCall
}

// resumable splits the channels reconciliation found without an owner: those whose call has a
// saved state are resumed; the agents' legs of those calls go with them (a ringing one is
// hung up: the offer is made again); the rest are orphans, ended politely.
//
// gone are the saved calls whose channel is no longer there: the caller hung up while no
// controller was listening. Their records are closed.
func (e *Engine) resumable(ctx context.Context, r ari.Reconciliation, conn *ari.Conn) (resume, gone []adoptee, orphans []ari.Channel) {
	f := e.fo
	if f == nil {
		return nil, nil, r.Unowned
	}
	epoch := f.epoch(r.App)
	if epoch == 0 {
		return nil, nil, r.Unowned
	}
	states, err := f.cfg.States.LoadStates(ctx, r.App, r.Node)
	if err != nil {
		e.cfg.Log.Error("resume calls: saved states not read", "app", r.App, "node", r.Node, "err", err)
		return nil, nil, r.Unowned
	}
	unowned := map[string]bool{}
	for _, ch := range r.Unowned {
		unowned[ch.ID] = true
	}
	for chID, raw := range states {
		if unowned[chID] || conn.Router().Owns(ari.ChannelRef(chID)) {
			continue
		}
		var s savedCall
		if err := json.Unmarshal(raw, &s); err != nil {
			continue
		}
		e.mu.Lock()
		_, live := e.byCall[s.ID]
		e.mu.Unlock()
		if !live {
			gone = append(gone, adoptee{id: s.ID, ch: ari.Channel{ID: chID}, state: &s})
		}
	}
	legs := map[string]bool{}
	for _, a := range gone {
		for _, id := range a.state.legs() {
			legs[id] = true
		}
	}
	for _, ch := range r.Unowned {
		raw, ok := states[ch.ID]
		if !ok {
			continue
		}
		var s savedCall
		if err := json.Unmarshal(raw, &s); err != nil {
			e.cfg.Log.Error("resume call: saved state unreadable", "channel_id", ch.ID, "err", err)
			continue
		}
		resume = append(resume, adoptee{id: s.ID, ch: ch, state: &s})
		for _, id := range s.legs() {
			legs[id] = true
		}
	}
	// The other half of a Local channel among the legs (a transfer's or a consultation's to a
	// number) goes with it.
	pairs := map[string]bool{}
	for _, ch := range r.Unowned {
		if p, ok := ari.LocalPair(ch.Name); ok && legs[ch.ID] {
			pairs[p] = true
		}
	}
	for _, ch := range r.Unowned {
		p, local := ari.LocalPair(ch.Name)
		if _, ok := states[ch.ID]; ok || legs[ch.ID] || local && pairs[p] {
			continue
		}
		orphans = append(orphans, ch)
	}
	return resume, gone, orphans
}

// legs are the channels the call made: the agent's phone ringing or talking, the third party
// of a consultation, the far end of a transfer.
func (s *savedCall) legs() []string {
	var out []string
	if s.Offer != nil {
		out = append(out, s.Offer.Leg)
	}
	if s.Talk != nil {
		out = append(out, s.Talk.Leg, s.Talk.ConsultLeg)
	}
	if s.Transfer != nil {
		out = append(out, s.Transfer.Leg)
	}
	return slices.DeleteFunc(out, func(id string) bool { return id == "" })
}

// hangupRinging hangs up the agent's leg of an offer that rang for the lost controller.
func (c *call) hangupRinging() {
	r := c.ringing
	c.ringing = nil
	if r == nil {
		return
	}
	c.staleOffer = r.Offer.ID
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	defer cancel()
	if err := c.conn.Client().Channel(r.Leg).Hangup(ctx, ari.HangupNormal); err != nil &&
		!errors.Is(err, ari.ErrNotFound) && !errors.Is(err, ari.ErrChannelGone) {
		c.log.Warn("hang up the leg of an offer", "err", err)
	}
	if c.e.cfg.ACD != nil {
		c.offerEnded(r.Offer, hotline.OfferCancelled, "controller changed while the agent's phone rang")
	}
}

// resume goes on with a call adopted from a lost controller, at the node it was in: a caller
// waiting in a queue keeps waiting at their place, one talking to an agent stays bridged; any
// other hears a short apology and the node starts again, without repeating a verification
// passed and keeping the failed tries of one in progress.
func (c *call) resume() error {
	node, err := c.restore(c.resumed)
	if err != nil {
		c.log.Error("call not resumed; ending it politely", "err", err)
		c.outcome = hotline.OutcomeError
		return c.sayIDs([]string{"common/system_busy", "common/goodbye"}, false)
	}
	c.log.Warn("call resumed after its controller was lost", "flow", c.top().flow.Name, "node", node.ID())
	c.resuming = true
	c.hangupRinging()
	switch {
	case c.xfer != nil || c.talk != nil:
		// Talking, to an agent or through a transfer: the conversation goes on, not a word.
	case c.entry != nil:
		// The music a waiting caller hears is the channel's: it went on without a controller.
		c.moh = true
	default:
		if err := c.sayIDs([]string{"common/line_glitch"}, false); err != nil {
			return err
		}
	}
	return c.runFrom(node)
}

// resumeQueue goes on with a call resumed in queue node n: waiting at its place (the same
// entry, so the same entry time), or talking to the agent. ok is false for any other call.
func (c *call) resumeQueue(n *flow.Queue) (x *flow.Exit, input string, err error, ok bool) {
	if !c.resuming {
		return nil, "", nil, false
	}
	switch {
	case c.xfer != nil:
		c.resuming = false
		return nil, "", c.resumeTransfer(), true
	case c.talk != nil:
		x, input, err = c.resumeTalk(n)
		return x, input, err, true
	case c.entry != nil:
		// The entry may be of another queue the agent transferred the caller to.
		q := *n
		q.Queue = c.entry.Queue
		c.resuming = false
		x, input, err = c.waitInQueue(&q, *c.entry)
		return x, input, err, true
	}
	return nil, "", nil, false
}

// inQueue persists the queue entry the call waits in.
func (c *call) inQueue(entry hotline.QueueEntry) {
	c.entry, c.talk, c.ringing = &entry, nil, nil
	c.saveStateNow()
}

// saveStateNow persists the call's state and asks for it to be written without waiting for
// the next batch: a call that entered a queue or reached an agent is worth the write.
func (c *call) saveStateNow() {
	c.saveState(c.node)
	if f, ok := c.e.fo.states().(interface{ Flush() }); ok {
		f.Flush()
	}
}

// states returns the state store, nil without failover.
func (f *failover) states() StateStore {
	if f == nil {
		return nil
	}
	return f.cfg.States
}

// ringingAgent and talkingAgent persist an offer ringing and a conversation.
func (c *call) ringingAgent(o hotline.Offer, leg string) {
	c.ringing = &savedOffer{Offer: o, Leg: leg}
	c.saveStateNow()
}

func (c *call) talkingAgent(o hotline.Offer, leg, bridge string) {
	c.agentID, c.outcome = o.AgentID, hotline.OutcomeAgent
	c.ringing, c.talk = nil, &savedTalk{Offer: o, Leg: leg, Bridge: bridge, RecordingAt: time.Now()}
	c.saveStateNow()
}

// resumeTalk takes over a conversation a lost controller left: the caller and the agent stay
// in their bridge, which is recorded still, with the caller on hold, a third party ringing,
// consulted or in conference as they were; call control goes on from here. A blind transfer
// the agent was told was done is carried out.
func (c *call) resumeTalk(n *flow.Queue) (*flow.Exit, string, error) {
	t := c.talk
	c.resuming = false
	cv := &conversation{offer: t.Offer, legID: t.Leg, bridgeID: t.Bridge, held: t.Held, muted: t.Muted,
		consultLeg: t.ConsultLeg, consult: t.Consult, agentGone: t.AgentGone}
	c.moh = cv.held // a held caller's music is the channel's: it went on without a controller
	for _, id := range []string{t.Leg, t.ConsultLeg} {
		if id != "" {
			_ = c.inbox.Own(ari.ChannelRef(id))
		}
	}
	_ = c.inbox.Own(ari.BridgeRef(t.Bridge))
	ended := c.catchUp(cv)
	if t.Transfer != nil {
		// The agent's blind transfer was acknowledged before the controller was lost: it is
		// carried out now, whether or not the agent has hung up since.
		cv.transfer, ended = t.Transfer, errTransferred
	}
	if ended == nil {
		c.log.Info("conversation resumed", "agent_id", t.Offer.AgentID, "offer_id", t.Offer.ID, "held", cv.held, "consult", cv.consult)
	}
	rec := hotline.Recording{CallID: c.id, AgentID: t.Offer.AgentID, Kind: hotline.RecordingConversation, Node: c.conn.Name(),
		Name: fmt.Sprintf("conv-%s-%d", c.id, t.Offer.ID), Format: "wav", StartedAt: t.RecordingAt}
	stopRecording := func() {
		if c.e.cfg.Recordings == nil || rec.StartedAt.IsZero() {
			return
		}
		rec.Duration = time.Since(rec.StartedAt)
		if err := c.store(func(ctx context.Context) error { return c.e.cfg.Recordings.Recording(ctx, rec) }); err != nil {
			c.log.Error("save recording", "recording", rec.Name, "err", err)
		}
	}
	err := c.talkTo(cv, ended, stopRecording)
	switch {
	case errors.Is(err, errAgentGone):
		return n.Answered, "", nil
	case errors.Is(err, errTransferred):
		return c.transferTo(n, t.Offer, cv.transfer)
	}
	return nil, "", err
}

// catchUp brings resumed conversation cv up to date with what happened while no controller
// listened: a third party who answered is bridged (unless already), one who left is gone;
// an agent who hung up ends the conversation as a hang-up heard would have (errAgentGone).
func (c *call) catchUp(cv *conversation) error {
	client := c.conn.Client()
	get := func(id string) (*ari.Channel, bool) {
		ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
		defer cancel()
		ch, err := client.Channel(id).Get(ctx)
		return ch, !errors.Is(err, ari.ErrNotFound) && !errors.Is(err, ari.ErrChannelGone)
	}
	if cv.consultLeg != "" {
		ch, there := get(cv.consultLeg)
		switch {
		case !there:
			c.consultGone(cv)
		case cv.consult == consultRinging && ch != nil && ch.State == "Up" && ch.Dialplan.AppName == "Stasis":
			// Answered and in the application; one answered but not yet there sends its
			// StasisStart to the call, which owns the leg already.
			ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
			br, err := client.Bridge(cv.bridgeID).Get(ctx)
			cancel()
			if err == nil && slices.Contains(br.Channels, cv.consultLeg) {
				cv.consult = consultTalking
				c.setTalking(cv)
			} else {
				c.consultAnswered(cv)
			}
		}
	}
	if cv.agentGone {
		return errAgentGone
	}
	if _, there := get(cv.legID); !there {
		return c.agentLeft(cv)
	}
	return nil
}

// closeGone ends a call whose caller hung up while no controller listened: the channels it
// made are hung up and its bridges destroyed, its queue entry is left as abandoned, its
// conversation ended, its row ended as a hang-up.
func (e *Engine) closeGone(client *ari.Client, app string, epoch int64, a adoptee) {
	s := a.state
	rctx, rcancel := context.WithTimeout(context.Background(), e.cfg.RequestTimeout)
	for _, id := range s.legs() {
		if err := client.Channel(id).Hangup(rctx, ari.HangupNormal); err != nil && !errors.Is(err, ari.ErrNotFound) {
			e.cfg.Log.Warn("hang up a lost call's leg", "call_id", a.id, "channel_id", id, "err", err)
		}
	}
	if s.Talk != nil {
		_ = client.Bridge(s.Talk.Bridge).Destroy(rctx)
	}
	if s.Transfer != nil {
		_ = client.Bridge(s.Transfer.Bridge).Destroy(rctx)
	}
	rcancel()
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.StoreTimeout)
	defer cancel()
	outcome := s.Outcome
	if s.Entry != nil {
		outcome = hotline.OutcomeAbandoned
		if err := e.cfg.Services.LeaveQueue(ctx, *s.Entry, hotline.QueueAbandoned); err != nil {
			e.cfg.Log.Warn("close a lost call's queue entry", "call_id", a.id, "err", err)
		}
	}
	if s.Talk != nil && e.cfg.ACD != nil {
		if err := e.cfg.ACD.ConversationEnded(ctx, s.Talk.Offer.ID); err != nil {
			e.cfg.Log.Warn("end a lost call's conversation", "call_id", a.id, "err", err)
		}
	}
	if outcome == "" || outcome == hotline.OutcomeSelfServed {
		outcome = hotline.OutcomeHangup
	}
	end := hotline.CallEnd{CallID: a.id, EndedAt: time.Now(), AnsweredAt: s.Answered, Outcome: outcome, Language: s.Lang,
		CitizenID: s.CitizenID, QueueID: s.QueueID, AgentID: s.AgentID, FollowUp: s.FollowUp}
	if err := e.cfg.Recorder.EndCall(ctx, end); err != nil {
		e.cfg.Log.Warn("close a lost call's record", "call_id", a.id, "err", err)
	}
	e.fo.cfg.States.DropState(a.id, app, epoch)
	e.cfg.Log.Info("call that ended while its controller was lost closed", "call_id", a.id, "outcome", outcome)
}

// errFenced stops a call whose application another controller took over.
var errFenced = errors.New("application taken over by another controller")

// adoptResumed makes the calls to resume this instance's in the database, cancels the offers
// that were pending for them, and starts them.
func (e *Engine) adoptResumed(ctx context.Context, r ari.Reconciliation, conn *ari.Conn, calls, gone []adoptee) {
	f := e.fo
	epoch := f.epoch(r.App)
	var ids []string
	for _, a := range append(append([]adoptee(nil), calls...), gone...) {
		ids = append(ids, a.id)
	}
	offers, err := f.cfg.States.AdoptCalls(ctx, r.App, epoch, ids)
	if err != nil {
		e.cfg.Log.Error("calls not adopted", "app", r.App, "node", r.Node, "err", err)
		return
	}
	// The calls first, then their offers cancelled: a call that waited in a queue takes an
	// offer from the moment it is launched, so that the agent a cancelled ring frees is
	// offered the oldest call again, not a newer one that was ready sooner.
	for _, a := range calls {
		inbox := conn.Router().NewInbox(ari.ChannelRef(a.ch.ID))
		e.mu.Lock()
		e.stats.Resumed++
		e.mu.Unlock()
		e.launch(conn, inbox, a.ch, false, &a)
	}
	if e.cfg.ACD != nil {
		for _, id := range offers {
			if err := e.cfg.ACD.OfferEnded(ctx, id, hotline.OfferCancelled, "controller lost while the agent's phone rang"); err != nil {
				e.cfg.Log.Warn("cancel offer of an adopted call", "offer_id", id, "err", err)
			}
		}
	}
	for _, a := range gone {
		e.closeGone(conn.Client(), r.App, epoch, a)
	}
	e.cfg.Log.Warn("calls resumed", "app", r.App, "node", r.Node, "calls", len(calls))
}

var (
	adoptionsDesc = prometheus.NewDesc("hotline_ivr_applications_adopted_total",
		"Stasis applications taken over from instances whose lease ran out.", nil, nil)
	resumedDesc = prometheus.NewDesc("hotline_ivr_calls_resumed_total",
		"Calls resumed from their saved state after their controller was lost.", nil, nil)
	fencedDesc = prometheus.NewDesc("hotline_ivr_calls_fenced_total",
		"Calls left to the instance that took their application over (or handed off to it).", nil, nil)
	leasesDesc = prometheus.NewDesc("hotline_ivr_application_leases_held",
		"Stasis applications whose lease this instance holds.", nil, nil)
)

// FailoverCollector returns the counters of adoption and fencing, for a prometheus.Registerer.
func (e *Engine) FailoverCollector() prometheus.Collector { return failoverCollector{e} }

type failoverCollector struct{ e *Engine }

func (c failoverCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c failoverCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.e.Stats()
	ch <- prometheus.MustNewConstMetric(adoptionsDesc, prometheus.CounterValue, float64(st.Adoptions))
	ch <- prometheus.MustNewConstMetric(resumedDesc, prometheus.CounterValue, float64(st.Resumed))
	ch <- prometheus.MustNewConstMetric(fencedDesc, prometheus.CounterValue, float64(st.Fenced))
	held := 0
	if f := c.e.fo; f != nil {
		f.mu.Lock()
		held = len(f.held)
		f.mu.Unlock()
	}
	ch <- prometheus.MustNewConstMetric(leasesDesc, prometheus.GaugeValue, float64(held))
}
