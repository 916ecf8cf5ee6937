package ivr

import (
	"context"
	"sync"
	"time"

	"github.com/foshan-hotline/hotline/ivr/ari"
)

// drainApology is what a caller still on the line at the end of a drain hears.
var drainApology = []string{"common/system_busy", "common/goodbye"}

// drainPoll is how often Drain looks whether the calls in progress have ended.
const drainPoll = 20 * time.Millisecond

// DrainResult is how a drain went.
type DrainResult struct {
	// InProgress is how many calls were in progress when the drain began.
	InProgress int
	// Finished is how many of them ended by themselves (or were handed over) before the
	// deadline; Ended how many were apologised to and hung up at the deadline.
	Finished, Ended int
	// Refused counts the new calls that arrived during the drain and heard the busy apology.
	Refused uint64
	Took    time.Duration
}

// SetHandover sets what Drain does at its deadline before apologising to the calls still in
// progress: hand the queued and bridged ones to another instance. The calls it hands over
// must have ended on this engine when it returns (they are not apologised to). nil, the
// default, hands over nothing.
func (e *Engine) SetHandover(f func(ctx context.Context)) {
	if f == nil {
		e.adm.handover.Store(nil)
		return
	}
	e.adm.handover.Store(&f)
}

// Draining reports whether the engine is draining: new calls hear the busy apology.
func (e *Engine) Draining() bool { return e.adm.draining.Load() }

// Drain stops taking new calls — each hears the busy apology and is hung up, recorded —
// and lets the calls in progress finish for up to timeout (or until ctx ends). Then it runs
// the handover (SetHandover), apologises to the callers still on the line and hangs them up;
// every call's record is written by the time Drain returns. The websockets must stay up
// while it runs: the calls need their events. Draining cannot be undone.
func (e *Engine) Drain(ctx context.Context, timeout time.Duration) DrainResult {
	start := time.Now()
	e.adm.draining.Store(true)
	refused0 := e.adm.drainedIn.Load()
	res := DrainResult{InProgress: e.Stats().Active}
	e.cfg.Log.Info("draining: new calls are refused", "calls", res.InProgress, "timeout", timeout)

	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(drainPoll)
	defer tick.Stop()
wait:
	for e.Stats().Active > 0 {
		select {
		case <-deadline.C:
			break wait
		case <-ctx.Done():
			break wait
		case <-tick.C:
		}
	}
	if e.Stats().Active > 0 {
		if h := e.adm.handover.Load(); h != nil {
			(*h)(ctx)
		}
	}
	left := e.activeCalls()
	res.Finished = max(0, res.InProgress-len(left))
	res.Ended = len(left)
	if len(left) > 0 {
		e.cfg.Log.Warn("draining: ending the calls still in progress", "calls", len(left))
		var wg sync.WaitGroup
		for _, c := range left {
			wg.Go(func() { e.endDrained(c) })
		}
		wg.Wait()
	}
	e.calls.Wait() // their records, and the refusals'
	res.Refused = e.adm.drainedIn.Load() - refused0
	res.Took = time.Since(start)
	e.cfg.Log.Info("drained", "finished", res.Finished, "ended", res.Ended, "refused", res.Refused, "took", res.Took)
	return res
}

// activeCalls returns the calls in progress.
func (e *Engine) activeCalls() []*call {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*call, 0, len(e.active))
	for _, c := range e.active {
		out = append(out, c)
	}
	return out
}

// endDrained apologises to a call's caller and ends the call: the apology is played on the
// channel from outside the call's goroutine, which is then stopped and ends the call as on a
// hang-up (hanging the channel up, ending its agent leg, writing its record).
func (e *Engine) endDrained(c *call) {
	defer c.cancel()
	segs, _ := e.voice.segments(drainApology, e.cfg.Language)
	for _, s := range segs {
		if !e.playDrained(c, s) {
			return
		}
	}
}

// playDrained plays one segment of the apology and waits until it has finished (after the
// playback the call may have had going), the channel is gone, or a bound passes; it reports
// whether to go on.
func (e *Engine) playDrained(c *call, s segment) bool {
	id := ari.NewID()
	in := c.conn.Router().NewInbox(ari.PlaybackRef(id))
	defer in.Close()
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.RequestTimeout)
	_, err := c.channel.Play(ctx, ari.PlayOptions{ID: id, Media: s.media, Lang: s.lang})
	cancel()
	if err != nil {
		c.log.Warn("draining: apology", "err", err)
		return false
	}
	// The call's own prompt, if one is playing, comes first: allow for a long one.
	ctx, cancel = context.WithTimeout(context.Background(), s.expected+e.cfg.PlaybackGrace+30*time.Second)
	defer cancel()
	for {
		ev, err := in.Next(ctx)
		if err != nil {
			return false
		}
		if f, ok := ev.(*ari.PlaybackFinished); ok && f.Playback.ID == id {
			return f.Playback.State == "done"
		}
	}
}
