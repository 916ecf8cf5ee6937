package ivr_test

import (
	"slices"
	"testing"
	"time"
)

// TestTerminatorAfterFullInputIsNotTheNextTry keys an 11-digit number that is not a mobile and
// then # as the prompt asks: the # belongs to that input, so the re-prompt takes the next
// number instead of counting the # as an empty try.
func TestTerminatorAfterFullInputIsNotTheNextTry(t *testing.T) {
	tests := []struct {
		name string
		gap  time.Duration // simulated time between keys; the simulator runs 20 times faster
	}{
		{"keys at once", 0},
		{"keys at a human pace", 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startRig(t, billData)
			c, ctx := r.call(t, "13800138000")
			toMainMenu(t, c, ctx)
			must(t, c.Press(ctx, "0", 0))
			must(t, c.Expect(ctx, "agent/leave_hint"))
			must(t, c.Press(ctx, "#", 0))
			must(t, c.Expect(ctx, "agent/leave_menu"))
			must(t, c.Press(ctx, "2", 0))
			must(t, c.Expect(ctx, "agent/callback_number"))
			must(t, c.Press(ctx, "2", 0))
			must(t, c.Expect(ctx, "agent/enter_callback_number"))
			must(t, c.Press(ctx, "12345678901#", tt.gap))
			must(t, c.Expect(ctx, "common/invalid_input", "agent/enter_callback_number"))
			must(t, c.Press(ctx, "13912345678", 0))
			must(t, c.Expect(ctx, "agent/callback_saved"))
			must(t, c.WaitEnd(ctx))
			r.h.Engine.Wait()
			invalid := 0
			for _, id := range c.Heard {
				if id == "common/invalid_input" {
					invalid++
				}
			}
			if invalid != 1 {
				t.Errorf("heard common/invalid_input %d times, want 1: %v", invalid, c.Heard)
			}
			if got, want := r.svc.Callbacks, []string{"13912345678"}; !slices.Equal(got, want) {
				t.Errorf("callbacks = %v, want %v", got, want)
			}
		})
	}
}
