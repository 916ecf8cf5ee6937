package flowtest

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// Caller is a simulated citizen on a call: it hears prompts and presses keys.
type Caller struct {
	call  *arisim.Call
	heard <-chan arisim.HeardEvent
	// Heard is every prompt id played to the caller so far, in order.
	Heard []string
	// Langs is the language of each prompt in Heard.
	Langs []string
	// Cut lists the prompts whose playback was stopped before its end (barge-in).
	Cut     []string
	playing map[string]string // playback id → the prompt it is playing
	ended   bool
	cursor  int // Heard[:cursor] has been matched by Expect
}

// Call places a call from number.
func (h *Harness) Call(ctx context.Context, number string) (*Caller, error) {
	c, err := h.Sim.PlaceCall(ctx, arisim.CallOptions{Caller: number, Exten: "12345"})
	if err != nil {
		return nil, err
	}
	return &Caller{call: c, heard: c.Heard()}, nil
}

// Sim returns the simulator's call.
func (c *Caller) Sim() *arisim.Call { return c.call }

// drain takes what the phone experienced until deadline or until pred holds.
func (c *Caller) drain(ctx context.Context, pred func() bool) error {
	for !pred() {
		select {
		case e := <-c.heard:
			c.note(e)
		case <-c.call.Done():
			c.takeRest()
			c.ended = true
			if pred() {
				return nil
			}
			return fmt.Errorf("call ended; heard %s", c.tail())
		case <-ctx.Done():
			return fmt.Errorf("%w; heard %s", ctx.Err(), c.tail())
		}
	}
	return nil
}

// takeRest records what was heard before the hang-up and is still buffered.
func (c *Caller) takeRest() {
	for {
		select {
		case e := <-c.heard:
			c.note(e)
		default:
			return
		}
	}
}

// note records one thing the phone experienced.
func (c *Caller) note(e arisim.HeardEvent) {
	switch e.Type {
	case "play":
		if id := PromptID(e.Media); id != "" {
			c.Heard = append(c.Heard, id)
			c.Langs = append(c.Langs, e.Lang)
			if c.playing == nil {
				c.playing = map[string]string{}
			}
			c.playing[e.PlaybackID] = id
		}
	case "stop":
		if id, ok := c.playing[e.PlaybackID]; ok {
			c.Cut = append(c.Cut, id)
		}
	case "hangup":
		c.ended = true
	}
}

// tail shows the last prompts heard, for error messages.
func (c *Caller) tail() string {
	from := max(0, len(c.Heard)-12)
	return "[" + strings.Join(c.Heard[from:], " ") + "]"
}

// Expect waits until the prompts ids have been heard in this order after what the previous
// Expect matched (other prompts may come between them).
func (c *Caller) Expect(ctx context.Context, ids ...string) error {
	for _, id := range ids {
		found := func() bool {
			for i := c.cursor; i < len(c.Heard); i++ {
				if c.Heard[i] == id {
					c.cursor = i + 1
					return true
				}
			}
			return false
		}
		if err := c.drain(ctx, found); err != nil {
			return fmt.Errorf("waiting for prompt %s: %w", id, err)
		}
	}
	return nil
}

// ExpectSeq waits for ids heard consecutively (e.g. the fragments of an amount).
func (c *Caller) ExpectSeq(ctx context.Context, ids ...string) error {
	found := func() bool {
		for i := c.cursor; i+len(ids) <= len(c.Heard); i++ {
			match := true
			for j, id := range ids {
				if c.Heard[i+j] != id {
					match = false
					break
				}
			}
			if match {
				c.cursor = i + len(ids)
				return true
			}
		}
		return false
	}
	if err := c.drain(ctx, found); err != nil {
		return fmt.Errorf("waiting for %s: %w", strings.Join(ids, " "), err)
	}
	return nil
}

// Press sends keys, gap apart.
func (c *Caller) Press(ctx context.Context, keys string, gap time.Duration) error {
	return c.call.Press(ctx, keys, gap)
}

// Hangup hangs up.
func (c *Caller) Hangup() error { return c.call.Hangup() }

// WaitEnd waits until the call is over.
func (c *Caller) WaitEnd(ctx context.Context) error {
	return c.drain(ctx, func() bool { return c.ended })
}

// Ended reports whether the call is over.
func (c *Caller) Ended() bool { return c.ended }

// over reports whether the call has ended, without waiting.
func (c *Caller) over() bool {
	select {
	case <-c.call.Done():
		return true
	default:
		return false
	}
}
