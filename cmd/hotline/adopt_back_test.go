package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// TestFencedControllerTakesItsApplicationBack freezes controller a (SIGSTOP) until b adopts
// its application and resumes its calls, then wakes it. a finds its application taken and
// waits, not ready, without touching b's calls; once those calls have ended b hands the
// application back, a connects to it again and serves the next caller — without a restart.
func TestFencedControllerTakesItsApplicationBack(t *testing.T) {
	r := startAdoptRig(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var callers []*adoptCaller
	for _, number := range []string{"13900030001", "13900030002"} {
		callers = append(callers, r.toMainMenu(ctx, number, "a", "menu"))
	}
	marks := []int{callers[0].count(), callers[1].count()}
	time.Sleep(300 * time.Millisecond) // the states are written within milliseconds of each move
	if err := r.procs["a"].Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	for i, c := range callers {
		if err := c.wait(ctx, "apology and the menu from b", func(h []string, _ bool) bool {
			return heardAfter(h, marks[i], "common/line_glitch") && heardAfter(h, marks[i]+1, "main/menu")
		}); err != nil {
			r.fail("%v", err)
		}
	}
	if err := r.procs["a"].Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(r.logs["a"].String(), "application lost to another controller") {
		if ctx.Err() != nil {
			r.fail("the woken controller did not notice it lost its application")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// While b still has calls on the application, a waits and says it is not ready.
	time.Sleep(2 * time.Second)
	if code := status(t, r.http["a"]+"/readyz"); code == http.StatusOK {
		r.fail("a says it is ready while b holds its application")
	}
	for _, c := range callers {
		if c.dropped {
			r.fail("a caller was dropped; heard %v", c.heardNow())
		}
		c.mu.Lock()
		c.hungUp = true
		c.mu.Unlock()
		c.call.Hangup()
		<-c.done
	}
	// The calls ended: b hands the application back and a connects to it again.
	handed := time.Now()
	if err := waitHTTP(ctx, r.http["a"]+"/readyz", time.Minute); err != nil {
		r.fail("a did not take its application back: %v", err)
	}
	t.Logf("a took its application back %v after b's last call on it ended", time.Since(handed).Round(100*time.Millisecond))
	resp, err := http.Get(r.http["b"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "hotline_ivr_application_leases_held 1\n") {
		r.fail("b holds more than its own application's lease after handing hotline-a back")
	}
	// The next caller of hotline-a is a's.
	call, err := r.sim.PlaceCall(ctx, arisim.CallOptions{Caller: "13900030003", Exten: "12345", Context: "in-a"})
	if err != nil {
		t.Fatal(err)
	}
	next := &adoptCaller{call: call, instance: "a", role: "menu", done: make(chan struct{})}
	go next.listen()
	if err := next.wait(ctx, "language menu", func(h []string, _ bool) bool { return slices.Contains(h, "common/language_choice") }); err != nil {
		r.fail("%v", err)
	}
	var instance string
	if err := r.db.Get(&instance, `SELECT COALESCE(instance_id, '') FROM hotline.calls WHERE caller_number = '13900030003'`); err != nil {
		t.Fatal(err)
	}
	if instance != "a" {
		r.fail("the next caller's call is %q's, want a's", instance)
	}
	next.mu.Lock()
	next.hungUp = true
	next.mu.Unlock()
	call.Hangup()
	<-next.done
}

// status returns the HTTP status of a GET of url.
func status(t *testing.T, url string) int {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
