package arisim

import (
	"container/heap"
	"time"
)

// action is something the simulator does at a simulated time: the end of a
// DTMF digit or of a prompt, a phone that answers, a timeout.
type action struct {
	due   time.Time // wall clock
	seq   uint64    // orders actions due at the same instant
	f     func()
	index int // in Sim.due; -1 once run or stopped
}

// after runs f under s.mu after the simulated duration d. The returned
// action may be cancelled with s.stop.
//
// Pending actions wait in one queue, soonest first, under one clock timer
// (s.clock) set for the soonest: when it fires, its goroutine takes s.mu
// once and runs every action that is due, in the order they were due, then
// sets the clock for the next. So the digits of one DTMF request reach the
// hotline in order even when the process stalls, and ten thousand prompts
// ending in the same second wake one goroutine, not ten thousand that would
// queue on s.mu ahead of the REST requests.
func (s *Sim) after(d time.Duration, f func()) *action {
	if s.closed {
		return nil
	}
	a := &action{due: time.Now().Add(s.scale(d)), seq: s.actionSeq, f: f}
	s.actionSeq++
	heap.Push(&s.due, a)
	if a.index == 0 {
		s.setClock(a.due)
	}
	return a
}

// stop cancels a, even if it is due and waits for s.mu. The clock may still
// fire for it and find nothing to do.
func (s *Sim) stop(a *action) {
	if a == nil || a.index < 0 || s.closed {
		return
	}
	heap.Remove(&s.due, a.index)
	a.index = -1
}

// setClock makes the clock fire at due, or earlier if it already would.
func (s *Sim) setClock(due time.Time) {
	if !s.clockAt.IsZero() && !s.clockAt.After(due) {
		return
	}
	s.clockAt = due
	wait := time.Until(due)
	if s.clock == nil {
		s.clock = time.AfterFunc(wait, s.tick)
		return
	}
	s.clock.Reset(wait)
}

// tick runs what is due and sets the clock for the next action.
func (s *Sim) tick() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clockAt = time.Time{}
	s.runDue()
	if !s.closed && len(s.due) > 0 {
		s.setClock(s.due[0].due)
	}
}

// runDue runs the actions that are due, soonest first, including those
// they schedule that are already due. It runs under s.mu.
func (s *Sim) runDue() {
	now := time.Now()
	for !s.closed && len(s.due) > 0 && !s.due[0].due.After(now) {
		a := heap.Pop(&s.due).(*action)
		a.index = -1
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
