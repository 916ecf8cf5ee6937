package arisim

import (
	"container/heap"
	"time"
)

// action is something the simulator does at a simulated time: the end of a
// DTMF digit or of a prompt, a phone that answers, a timeout.
type action struct {
	timer *time.Timer
	due   time.Time // wall clock
	seq   uint64    // orders actions due at the same instant
	f     func()
	index int // in Sim.due
}

// after runs f under s.mu after the simulated duration d. The returned
// timer may be stopped with s.stop.
//
// Actions run in the order they are due, whichever of their timers fires
// first: when the process stalls (a loaded machine), several timers fire
// at once and their goroutines take s.mu in any order, so each one runs
// every action that is due, soonest first. Otherwise the digits of one
// DTMF request could reach the hotline out of order.
func (s *Sim) after(d time.Duration, f func()) *time.Timer {
	if s.closed {
		return nil
	}
	wait := s.scale(d)
	a := &action{due: time.Now().Add(wait), seq: s.actionSeq, f: f}
	s.actionSeq++
	// The due time is taken before the timer starts, so the timer never
	// fires before its action is due.
	a.timer = time.AfterFunc(wait, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.runDue()
	})
	s.timers[a.timer] = a
	heap.Push(&s.due, a)
	return a.timer
}

// stop cancels the action of t, even if t has fired and waits for s.mu.
func (s *Sim) stop(t *time.Timer) {
	if t == nil {
		return
	}
	t.Stop()
	if a := s.timers[t]; a != nil {
		delete(s.timers, t)
		heap.Remove(&s.due, a.index)
	}
}

// runDue runs the actions that are due, soonest first, including those
// they schedule that are already due. It runs under s.mu.
func (s *Sim) runDue() {
	now := time.Now()
	for !s.closed && len(s.due) > 0 && !s.due[0].due.After(now) {
		a := heap.Pop(&s.due).(*action)
		delete(s.timers, a.timer)
		a.timer.Stop()
		a.f()
	}
}

// actionQueue is a heap of actions, soonest first.
type actionQueue []*action

func (q actionQueue) Len() int { return len(q) }

func (q actionQueue) Less(i, j int) bool {
	if !q[i].due.Equal(q[j].due) {
		return q[i].due.Before(q[j].due)
	}
	return q[i].seq < q[j].seq
}

func (q actionQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}

func (q *actionQueue) Push(x any) {
	a := x.(*action)
	a.index = len(*q)
	*q = append(*q, a)
}

func (q *actionQueue) Pop() any {
	old := *q
	a := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return a
}
