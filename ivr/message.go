package ivr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

// recordMessage records the caller after a beep until the terminator, the maximum length or
// a hang-up, and turns a non-empty recording into a work order. A caller who hangs up
// instead of pressing # still leaves the message: that is how most people end one.
func (c *call) recordMessage(n *flow.Record) (*flow.Exit, string, error) {
	if err := c.say(n.Prompts, false); err != nil {
		return nil, "", err
	}
	name := fmt.Sprintf("msg-%s-%d", c.id, c.seq)
	if err := c.inbox.Own(ari.RecordingRef(name)); err != nil {
		return nil, "", errHangup
	}
	defer c.inbox.Release(ari.RecordingRef(name))
	terminate := n.Terminator
	if terminate == "" {
		terminate = "none"
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	_, err := c.channel.Record(ctx, ari.RecordOptions{Name: name, Format: "wav", MaxDuration: n.MaxLength,
		Beep: n.Beep, TerminateOn: terminate, IfExists: ari.IfExistsOverwrite})
	cancel()
	if err != nil {
		c.log.Error("record message", "err", err)
		return n.OnError, "", nil
	}
	started := time.Now()
	c.keepKeys = false
	defer func() { c.keepKeys = true }()
	deadline := started.Add(n.MaxLength + c.e.cfg.PlaybackGrace)
	length := time.Duration(0)
	for {
		r, err := c.wait(deadline, nil)
		if err != nil {
			// Asterisk keeps what was recorded when the caller hangs up.
			if elapsed := time.Since(started); elapsed >= time.Second {
				c.saveMessage(n, name, elapsed)
			}
			return nil, "", err
		}
		if r.timeout {
			if c.stopRecording(name) {
				// Asterisk no longer knows the recording: its end was lost, what it wrote stays.
				length = time.Since(started)
				break
			}
			deadline = time.Now().Add(c.e.cfg.PlaybackGrace)
			continue
		}
		if f, ok := r.ev.(*ari.RecordingFinished); ok && f.Recording.Name == name {
			length = time.Duration(f.Recording.Duration) * time.Second
			if length == 0 {
				length = time.Since(started)
			}
			break
		}
		if f, ok := r.ev.(*ari.RecordingFailed); ok && f.Recording.Name == name {
			c.log.Error("message recording failed", "recording", name, "cause", f.Recording.Cause)
			return n.OnError, "", nil
		}
	}
	if length < time.Second {
		return n.OnFail, "", nil
	}
	if !c.saveMessage(n, name, length) {
		return n.OnError, "", nil
	}
	return n.Next, "", nil
}

// saveMessage stores a recorded message as a work order.
func (c *call) saveMessage(n *flow.Record, name string, length time.Duration) bool {
	m := hotline.Message{CallID: c.id, CallerNumber: c.caller, CitizenID: c.citizenID, Category: n.Category,
		RecordingName: name, Duration: length}
	if err := c.service(func(ctx context.Context) error { return c.e.cfg.Services.SaveMessage(ctx, m) }); err != nil {
		c.log.Error("save message", "recording", name, "err", err)
		return false
	}
	c.outcome = hotline.OutcomeMessage
	return true
}

// stopRecording asks Asterisk to stop a recording whose end is overdue; gone reports that
// Asterisk has no such live recording any more (404), so no RecordingFinished will come.
func (c *call) stopRecording(name string) (gone bool) {
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	defer cancel()
	err := c.conn.Client().LiveRecording(name).Stop(ctx)
	switch {
	case errors.Is(err, ari.ErrNotFound):
		c.log.Warn("recording ended without its RecordingFinished", "recording", name)
		return true
	case err != nil:
		c.log.Warn("stop recording", "recording", name, "err", err)
	}
	return false
}
