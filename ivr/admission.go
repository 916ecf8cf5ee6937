package ivr

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
)

// OutcomeOverload is the outcome of a call refused because the controller had as many calls
// as Limits.MaxCalls allows: the caller heard the busy apology and was hung up.
const OutcomeOverload = "overload"

// Prompts of a refused call: the lines are busy, call again later.
const busyPrompt = "common/lines_busy"

// strayGrace is how long a leg that entered Stasis for a call (StasisStart with arguments)
// may stay unclaimed before it is hung up: the call that asked for it owns it before
// originating, so only a leg whose call gave up on it (its originate timed out on this side
// after Asterisk made it) or whose call ended stays unclaimed.
const strayGrace = 2 * time.Second

// minApologies is the fewest busy apologies spoken at once before further callers beyond
// the limit hear the busy tone instead (MaxCalls/4 when that is more).
const minApologies = 20

// degradedLookupTimeout caps a lookup's wait while the controller is above Limits.SoftCalls.
const degradedLookupTimeout = time.Second

// Limits are how many calls the controller serves at once.
type Limits struct {
	// MaxCalls is the hard limit: a call arriving while this many are in progress hears the
	// busy apology and is hung up (outcome overload); while more than MaxCalls/4 (at least
	// 20) apologies are being spoken, it is hung up unanswered with the busy tone instead.
	// 0 means no limit.
	MaxCalls int
	// SoftCalls is where degradation starts: above it, queue position and wait announcements
	// are skipped and lookups wait at most a second, so that the database and the data
	// sources serve the calls already in progress. 0 means 80 % of MaxCalls.
	SoftCalls int
}

// admission is the engine's door: the limits, whether it is draining, and its counters.
type admission struct {
	max, soft atomic.Int64
	draining  atomic.Bool
	refusing  atomic.Int64  // refusals being spoken now
	rejected  atomic.Uint64 // calls refused for overload
	busyTone  atomic.Uint64 // of which turned away with the busy tone, unanswered
	drainedIn atomic.Uint64 // calls refused while draining
	degraded  atomic.Uint64 // announcements skipped and lookups cut short
	strays    atomic.Uint64 // unclaimed legs hung up
	handover  atomic.Pointer[func(context.Context)]
}

// SetLimits sets how many calls the engine serves at once; it may be changed at any time.
func (e *Engine) SetLimits(l Limits) {
	soft := l.SoftCalls
	if soft <= 0 && l.MaxCalls > 0 {
		soft = max(1, l.MaxCalls*8/10)
	}
	e.adm.max.Store(int64(max(0, l.MaxCalls)))
	e.adm.soft.Store(int64(max(0, soft)))
}

// Limits returns the limits in force (SoftCalls filled in).
func (e *Engine) Limits() Limits {
	return Limits{MaxCalls: int(e.adm.max.Load()), SoftCalls: int(e.adm.soft.Load())}
}

// AdmissionStats are the counters of the engine's door.
type AdmissionStats struct {
	// Rejected counts calls refused for overload; DrainRefused those refused while draining.
	Rejected, DrainRefused uint64
	// BusyTone counts the calls of Rejected and DrainRefused turned away unanswered with the
	// busy tone, when so many apologies were being spoken that another would have loaded
	// Asterisk further.
	BusyTone uint64
	// Degraded counts queue announcements skipped and lookups cut short above SoftCalls.
	Degraded uint64
	// Strays counts legs left in Stasis by calls that gave up on them, hung up.
	Strays uint64
	// Refusing is how many refusals are being spoken now.
	Refusing int64
	Draining bool
}

// Admission returns the counters of the engine's door.
func (e *Engine) Admission() AdmissionStats {
	return AdmissionStats{Rejected: e.adm.rejected.Load(), DrainRefused: e.adm.drainedIn.Load(), BusyTone: e.adm.busyTone.Load(),
		Degraded: e.adm.degraded.Load(), Strays: e.adm.strays.Load(), Refusing: e.adm.refusing.Load(),
		Draining: e.adm.draining.Load()}
}

// admit decides whether a new call is served; it reports false, having started its refusal,
// when the engine is draining or full. It runs on the websocket reader and does not block.
func (e *Engine) admit(conn *ari.Conn, inbox *ari.Inbox, ch ari.Channel) bool {
	if e.adm.draining.Load() {
		e.adm.drainedIn.Add(1)
		if e.adm.refusing.Load() >= minApologies {
			e.adm.busyTone.Add(1)
			e.turnAway(conn, inbox, ch)
			return false
		}
		e.refuse(conn, inbox, ch, OutcomeOverload)
		return false
	}
	limit := e.adm.max.Load()
	if limit <= 0 {
		return true
	}
	e.mu.Lock()
	n := int64(len(e.active))
	e.mu.Unlock()
	if n < limit {
		return true
	}
	e.adm.rejected.Add(1)
	if e.adm.refusing.Load() >= max(minApologies, limit/4) {
		// A flood: speaking the apology to everyone would cost Asterisk as much as serving
		// them. The callers beyond hear the busy tone instead.
		e.adm.busyTone.Add(1)
		e.turnAway(conn, inbox, ch)
		return false
	}
	e.refuse(conn, inbox, ch, OutcomeOverload)
	return false
}

// turnAway hangs up a call the engine does not serve without answering it, with cause 17
// (user busy): the caller hears the busy tone. It is recorded with outcome overload.
func (e *Engine) turnAway(conn *ari.Conn, inbox *ari.Inbox, ch ari.Channel) {
	e.calls.Add(1)
	go func() {
		defer e.calls.Done()
		defer inbox.Close()
		id, started := ari.NewID(), time.Now()
		log := e.cfg.Log.With("call_id", id, "channel_id", ch.ID, "node_name", conn.Name())
		store := func(f func(ctx context.Context) error) {
			ctx, cancel := context.WithTimeout(context.Background(), e.cfg.StoreTimeout)
			defer cancel()
			if err := f(ctx); err != nil {
				log.Error("record a call turned away", "err", err)
			}
		}
		store(func(ctx context.Context) error {
			return e.cfg.Recorder.StartCall(ctx, hotline.CallRecord{ID: id, Node: conn.Name(), ChannelID: ch.ID,
				CallerNumber: ch.Caller.Number, Language: e.cfg.Language, StartedAt: started, Instance: e.cfg.Instance})
		})
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.RequestTimeout)
		err := conn.Client().Channel(ch.ID).HangupCode(ctx, causeUserBusy)
		cancel()
		if err != nil && !errors.Is(err, ari.ErrNotFound) && !errors.Is(err, ari.ErrChannelGone) {
			log.Warn("turn a call away", "err", err)
		}
		store(func(ctx context.Context) error {
			return e.cfg.Recorder.EndCall(ctx, hotline.CallEnd{CallID: id, EndedAt: time.Now(), Outcome: OutcomeOverload, Language: e.cfg.Language})
		})
		e.mu.Lock()
		e.stats.ByOutcome[OutcomeOverload]++
		e.mu.Unlock()
	}()
}

// degraded reports whether the engine is above its soft limit, counting the degradation.
func (e *Engine) degraded() bool {
	soft := e.adm.soft.Load()
	if soft <= 0 {
		return false
	}
	e.mu.Lock()
	n := int64(len(e.active))
	e.mu.Unlock()
	if n <= soft {
		return false
	}
	e.adm.degraded.Add(1)
	return true
}

// lookupTimeout is how long a lookup may take now: its own timeout, cut short while degraded.
func (e *Engine) lookupTimeout(d time.Duration) time.Duration {
	if d > degradedLookupTimeout && e.degraded() {
		return degradedLookupTimeout
	}
	return d
}

// refuse answers a call the engine does not serve with the busy apology, hangs it up and
// records it with outcome. It is cheap: no flow runs, and the call is not one of the active
// calls the limits count.
func (e *Engine) refuse(conn *ari.Conn, inbox *ari.Inbox, ch ari.Channel, outcome string) {
	ctx, cancel := context.WithCancel(e.ctx)
	c := &call{
		e: e, id: ari.NewID(), conn: conn, inbox: inbox, channel: conn.Client().Channel(ch.ID),
		caller: ch.Caller.Number, called: ch.Dialplan.Exten, ctx: ctx, cancel: cancel,
		flows: e.flowsFor(ch.Caller.Number), lang: e.cfg.Language, keepKeys: true, mailbox: make(chan jobResult, 1),
	}
	c.log = e.cfg.Log.With("call_id", c.id, "channel_id", ch.ID, "node_name", conn.Name())
	e.adm.refusing.Add(1)
	e.calls.Add(1)
	go func() {
		defer e.calls.Done()
		defer e.adm.refusing.Add(-1)
		defer cancel()
		defer inbox.Close()
		rec := hotline.CallRecord{ID: c.id, Node: conn.Name(), ChannelID: ch.ID, CallerNumber: c.caller,
			Language: c.lang, FlowVersionID: c.flows.versions[e.cfg.Entry], StartedAt: time.Now(), Instance: e.cfg.Instance}
		if err := c.store(func(ctx context.Context) error { return e.cfg.Recorder.StartCall(ctx, rec) }); err != nil {
			c.log.Error("record call start", "err", err)
		}
		c.outcome = outcome
		err := c.sayBusy()
		if errors.Is(err, errHangup) {
			err = nil // the caller did not wait for the end of the apology
		}
		c.finish(err)
		if c.outcome != outcome { // finish took an error for the call's
			c.log.Warn("refusal", "outcome", c.outcome)
		}
		e.mu.Lock()
		e.stats.ByOutcome[c.outcome]++
		e.mu.Unlock()
	}()
}

// sayBusy answers the channel and plays the busy apology.
func (c *call) sayBusy() error {
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	err := c.channel.Answer(ctx)
	cancel()
	if err != nil {
		if errors.Is(err, ari.ErrChannelGone) {
			return errHangup
		}
		return err
	}
	c.answered = time.Now()
	return c.sayIDs([]string{busyPrompt}, false)
}

// strayLeg hangs up, after strayGrace, a leg that entered Stasis for a call (its StasisStart
// has arguments) unless a call has claimed it by then. It runs on the websocket reader and
// does not block.
func (e *Engine) strayLeg(conn *ari.Conn, ch ari.Channel) {
	time.AfterFunc(strayGrace, func() {
		if conn.Router().Owns(ari.ChannelRef(ch.ID)) {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.RequestTimeout)
		defer cancel()
		err := conn.Client().Channel(ch.ID).Hangup(ctx, ari.HangupNormal)
		if errors.Is(err, ari.ErrNotFound) || errors.Is(err, ari.ErrChannelGone) {
			return // it went by itself
		}
		if err != nil {
			e.cfg.Log.Warn("hang up a leg no call claimed", "channel_id", ch.ID, "node_name", conn.Name(), "err", err)
			return
		}
		e.adm.strays.Add(1)
		e.cfg.Log.Warn("hung up a leg no call claimed", "channel_id", ch.ID, "channel", ch.Name, "node_name", conn.Name())
	})
}
