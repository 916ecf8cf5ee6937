package arisim

import (
	"slices"
	"testing"
	"time"
)

// TestActionsRunInDueOrder stalls the simulator (its lock held, as a
// loaded machine would delay the timers' goroutines) while actions fall
// due: they must still run in the order they were due, as the digits of a
// DTMF request must reach the hotline in order.
func TestActionsRunInDueOrder(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	var ran, want []int
	s.mu.Lock()
	for i := range 20 {
		s.after(time.Duration(i)*time.Millisecond, func() { ran = append(ran, i) })
		want = append(want, i)
	}
	stopped := s.after(5*time.Millisecond, func() { ran = append(ran, -1) })
	time.Sleep(50 * time.Millisecond) // every timer fires meanwhile
	s.stop(stopped)                   // too late for its timer, not for its action
	s.mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		n := len(ran)
		s.mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // a stopped action that would still run
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Equal(ran, want) {
		t.Errorf("actions ran in the order %v, want %v", ran, want)
	}
}

// TestEarlierActionMovesTheClock schedules an action sooner than the one
// the clock is set for: it must run when it is due, not with the later one.
func TestEarlierActionMovesTheClock(t *testing.T) {
	s := New(Options{Speed: 1})
	defer s.Close()
	ran := make(chan string, 2)
	s.mu.Lock()
	s.after(2*time.Second, func() { ran <- "late" })
	start := time.Now()
	s.after(20*time.Millisecond, func() { ran <- "soon" })
	s.mu.Unlock()
	select {
	case got := <-ran:
		if got != "soon" {
			t.Fatalf("first action to run: %q", got)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("the sooner action ran after %v, with the later one", took)
		}
	case <-time.After(time.Second):
		t.Fatal("the sooner action did not run within a second: the clock waits for the later one")
	}
}
