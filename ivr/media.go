package ivr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/foshan-hotline/hotline/ivr/ari"
)

// errHangup ends a call's flow when the caller hung up or the channel left Stasis.
var errHangup = errors.New("caller hung up")

// errShutdown ends a call's flow when the controller stops.
var errShutdown = errors.New("controller shutting down")

// typeAhead is how many keys a call keeps for the next menu or collect.
const typeAhead = 32

// waitResult is what one wait of a call produced: an event, the end of its deadline, or the
// value of a background job (a lookup).
type waitResult struct {
	ev      ari.Event
	timeout bool
	job     *jobResult
}

// jobResult is the outcome of work the call runs beside its event loop.
type jobResult struct {
	value any
	err   error
}

// wait returns the call's next event, or timeout at deadline (zero: none), or the result of
// job (nil: none). DTMF and hang-up are absorbed on the way: digits go to the type-ahead
// buffer, a hang-up returns errHangup.
func (c *call) wait(deadline time.Time, job <-chan jobResult) (waitResult, error) {
	var timer <-chan time.Time
	if !deadline.IsZero() {
		d := time.Until(deadline)
		if d <= 0 {
			return waitResult{timeout: true}, nil
		}
		if c.timer == nil {
			c.timer = time.NewTimer(d)
		} else {
			c.timer.Reset(d)
		}
		defer c.timer.Stop()
		timer = c.timer.C
	}
	for {
		if ev, ok := c.inbox.TryNext(); ok {
			if err := c.absorb(ev); err != nil {
				return waitResult{}, err
			}
			return waitResult{ev: ev}, nil
		}
		select {
		case <-c.inbox.Ready():
		case r := <-job:
			return waitResult{job: &r}, nil
		case <-timer:
			return waitResult{timeout: true}, nil
		case <-c.ctx.Done():
			return waitResult{}, c.gone()
		case <-c.inbox.Done():
			return waitResult{}, c.gone()
		}
	}
}

// gone says why the call's events stopped: the controller is stopping, or the channel is.
func (c *call) gone() error {
	if c.e.ctx.Err() != nil {
		return errShutdown
	}
	return errHangup
}

// absorb applies what every event means to the call whatever it waits for.
func (c *call) absorb(ev ari.Event) error {
	switch e := ev.(type) {
	case *ari.ChannelDtmfReceived:
		if e.Channel.ID != c.channel.ID() {
			return nil
		}
		c.lastKeyAt = e.Received
		if c.lastKeyAt.IsZero() {
			c.lastKeyAt = time.Now()
		}
		c.keyPending, c.lookedUp = true, false
		if spare := c.spareTerm; spare != "" {
			c.spareTerm = ""
			if e.Digit == spare && c.lastKeyAt.Before(c.spareUntil) {
				return nil
			}
		}
		if c.keepKeys && len(c.keys) < typeAhead {
			c.keys = append(c.keys, e.Digit...)
		}
	case *ari.StasisEnd:
		if e.Channel.ID == c.channel.ID() {
			c.hungUp = true
		}
	case *ari.ChannelHangupRequest:
		if e.Channel.ID == c.channel.ID() {
			c.hungUp = true
		}
	case *ari.ChannelDestroyed:
		if e.Channel.ID == c.channel.ID() {
			c.hungUp = true
		}
	}
	if c.hungUp {
		return errHangup
	}
	return nil
}

// takeKey returns the oldest buffered key, or "".
func (c *call) takeKey() string {
	if len(c.keys) == 0 {
		return ""
	}
	k := string(c.keys[0])
	c.keys = c.keys[1:]
	return k
}

// playback is a prompt list being played on the channel.
type playback struct {
	id       string
	deadline time.Time // the watchdog's: expected length plus a grace period
	// unanswered marks a play request Asterisk did not answer within RequestTimeout: the
	// caller misses the prompt and the call goes on rather than failing.
	unanswered bool
}

// startPlay starts playing media (already resolved URIs, one language) on the channel.
func (c *call) startPlay(media []string, lang string, expected time.Duration) (*playback, error) {
	id := ari.NewID()
	if err := c.inbox.Own(ari.PlaybackRef(id)); err != nil {
		return nil, c.gone()
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	defer cancel()
	c.playStarted = time.Now()
	if c.keyPending {
		c.keyPending = false
		c.e.keyToPlay.observe(c.playStarted.Sub(c.lastKeyAt), c.lookedUp)
	}
	if _, err := c.channel.Play(ctx, ari.PlayOptions{ID: id, Media: media, Lang: lang}); err != nil {
		return c.playFailed(id, media, err)
	}
	return &playback{id: id, deadline: time.Now().Add(expected + c.e.cfg.PlaybackGrace)}, nil
}

// playFailed says what a play request that failed means for the call: the call is gone, or
// Asterisk was too slow (the call goes on without the prompt), or an error.
func (c *call) playFailed(id string, media []string, err error) (*playback, error) {
	c.inbox.Release(ari.PlaybackRef(id))
	if c.ctx.Err() != nil {
		return nil, c.gone()
	}
	if errors.Is(err, ari.ErrChannelGone) {
		return nil, errHangup
	}
	if errors.Is(err, context.DeadlineExceeded) {
		c.log.Warn("play: Asterisk did not answer in time; going on without the prompt", "media", media, "err", err)
		return &playback{id: id, unanswered: true}, nil
	}
	return nil, fmt.Errorf("play: %w", err)
}

// stopPlay stops a playback the call goes on waiting for (the watchdog's, a filler's that
// outlived the lookup's time): its PlaybackFinished still comes and is awaited.
func (c *call) stopPlay(p *playback) {
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	defer cancel()
	if err := c.conn.Client().Playback(p.id).Stop(ctx); err != nil && !errors.Is(err, ari.ErrNotFound) {
		c.log.Warn("stop playback", "playback_id", p.id, "err", err)
	}
}

// cutPlay stops a playback the call no longer waits for (the caller answered it, or the lookup
// it filled has come back) and goes on at once. Asterisk plays a channel's playbacks one after
// another, so a prompt asked for next starts as soon as this one has stopped, whichever request
// arrives first; the stop is sent beside the call rather than in its way, and the stopped
// playback's PlaybackFinished, when it comes, is an event the call does not wait for.
func (c *call) cutPlay(p *playback) {
	if p.unanswered {
		return
	}
	c.inbox.Release(ari.PlaybackRef(p.id))
	h, ctx, log, timeout := c.conn.Client().Playback(p.id), c.ctx, c.log, c.e.cfg.RequestTimeout
	go func() {
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := h.Stop(ctx); err != nil && !errors.Is(err, ari.ErrNotFound) && ctx.Err() == nil {
			log.Warn("stop playback", "playback_id", p.id, "err", err)
		}
	}()
}

// isFinished reports whether ev ends playback p.
func isFinished(ev ari.Event, p *playback) bool {
	f, ok := ev.(*ari.PlaybackFinished)
	return ok && f.Playback.ID == p.id
}

// awaitPlay waits for p to finish. With bargeIn, a key stops it (and is kept) and the call goes
// on without waiting for its end. The watchdog stops a playback that outlives its deadline:
// some bad media never report their end.
func (c *call) awaitPlay(p *playback, bargeIn bool) error {
	if p.unanswered {
		return nil
	}
	defer c.inbox.Release(ari.PlaybackRef(p.id))
	stopped := false
	deadline := p.deadline
	for {
		r, err := c.wait(deadline, nil)
		if err != nil {
			return err
		}
		switch {
		case r.timeout && !stopped:
			c.log.Warn("playback watchdog: no end reported, stopping it", "playback_id", p.id)
			c.stopPlay(p)
			stopped, deadline = true, time.Now().Add(c.e.cfg.PlaybackGrace)
		case r.timeout:
			return nil // stopped and still silent: go on rather than wait forever
		case isFinished(r.ev, p):
			return nil
		case bargeIn && !stopped && len(c.keys) > 0:
			c.cutPlay(p)
			return nil
		}
	}
}
