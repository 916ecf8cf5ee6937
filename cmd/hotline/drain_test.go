package main

import (
	"context"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// TestSIGTERMDrainsAlone: a lone 'hotline serve' (shutdown.drain_timeout 1 s) gets SIGTERM
// while a caller waits in the main menu. No other instance takes the call, so once the drain
// runs out the caller hears the apology and goodbye, and the process exits cleanly with the
// call's record closed.
func TestSIGTERMDrainsAlone(t *testing.T) {
	r := startAdoptRigWith(t, false, nil, "a")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	call, err := r.sim.PlaceCall(ctx, arisim.CallOptions{Caller: "13900000001", Exten: "12345", Context: "in-a"})
	if err != nil {
		t.Fatal(err)
	}
	c := &adoptCaller{call: call, instance: "a", role: "menu", done: make(chan struct{})}
	go c.listen()
	if err := c.wait(ctx, "language menu", func(h []string, _ bool) bool { return slices.Contains(h, "common/language_choice") }); err != nil {
		t.Fatal(err)
	}
	if err := call.Press(ctx, "1", 0); err != nil {
		t.Fatal(err)
	}
	if err := c.wait(ctx, "main menu", func(h []string, _ bool) bool { return slices.Contains(h, "main/menu") }); err != nil {
		t.Fatal(err)
	}
	heard := c.count()

	start := time.Now()
	if err := r.procs["a"].Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := c.wait(ctx, "the apology", func(h []string, _ bool) bool {
		return heardAfter(h, heard, "common/system_busy") && heardAfter(h, heard, "common/goodbye")
	}); err != nil {
		r.fail("%v", err)
	}
	if took := time.Since(start); took < time.Second {
		t.Errorf("the caller was apologised to %v after SIGTERM, before the drain timeout (1 s)", took)
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		r.fail("the caller was not hung up")
	}
	if err := r.procs["a"].Wait(); err != nil {
		r.fail("hotline serve after SIGTERM: %v", err)
	}
	var open, total int
	if err := r.db.Get(&total, `SELECT count(*) FROM hotline.calls`); err != nil {
		t.Fatal(err)
	}
	if err := r.db.Get(&open, `SELECT count(*) FROM hotline.calls WHERE ended_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	if total != 1 || open != 0 {
		t.Errorf("%d calls recorded, %d still open; want 1 closed", total, open)
	}
}
