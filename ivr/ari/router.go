package ari

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// ErrInboxClosed is returned by Inbox methods after Close.
var ErrInboxClosed = errors.New("ari: inbox closed")

// RefKind is the kind of object an id names.
type RefKind uint8

// Kinds of ids a call can own.
const (
	KindChannel RefKind = iota + 1
	KindBridge
	KindPlayback
	KindRecording
)

// Ref names an object whose events a call wants: a channel, bridge, playback
// or (live) recording id.
type Ref struct {
	Kind RefKind
	ID   string
}

// ChannelRef names a channel id (snoop channels included).
func ChannelRef(id string) Ref { return Ref{KindChannel, id} }

// BridgeRef names a bridge id.
func BridgeRef(id string) Ref { return Ref{KindBridge, id} }

// PlaybackRef names a playback id.
func PlaybackRef(id string) Ref { return Ref{KindPlayback, id} }

// RecordingRef names a live recording (its name).
func RecordingRef(name string) Ref { return Ref{KindRecording, name} }

// Router delivers the events of one websocket to the inboxes of the calls
// that own the ids the events are about. Dispatch must be called from one
// goroutine (the websocket reader); it never blocks on an inbox: each inbox
// is an unbounded FIFO, so a slow call delays nobody but itself.
//
// An event goes to every distinct inbox owning one of its ids: its channels
// (StasisStart, Dial peer and caller, ...), bridge, playback or recording id,
// and for playbacks and recordings whose id is not owned, the owner of their
// target ("channel:ID" or "bridge:ID"). An event nobody owns goes to the
// fallback handler, never to the void.
type Router struct {
	node     string
	fallback func(Event)

	mu     sync.RWMutex
	owners map[Ref][]*Inbox

	inboxes  atomic.Int64
	routed   atomic.Uint64
	unowned  atomic.Uint64
	maxQueue atomic.Int64
}

// NewRouter returns a Router for events of the node called node. fallback
// receives the events nobody owns (above all StasisStart of new calls). It
// runs on the reader goroutine: it must not block, and to take a new call it
// creates an Inbox and owns the channel before returning, so that the next
// events of that channel reach the new inbox. A nil fallback discards them.
func NewRouter(node string, fallback func(Event)) *Router {
	if fallback == nil {
		fallback = func(Event) {}
	}
	return &Router{node: node, fallback: fallback, owners: make(map[Ref][]*Inbox)}
}

// Node returns the name of the node whose events the router delivers.
func (r *Router) Node() string { return r.node }

// RouterStats are counters of a Router.
type RouterStats struct {
	Inboxes  int64  // open inboxes
	Routed   uint64 // events delivered to at least one inbox
	Unowned  uint64 // events given to the fallback handler
	MaxQueue int64  // deepest inbox queue seen
}

// Stats returns the router's counters.
func (r *Router) Stats() RouterStats {
	return RouterStats{
		Inboxes:  r.inboxes.Load(),
		Routed:   r.routed.Load(),
		Unowned:  r.unowned.Load(),
		MaxQueue: r.maxQueue.Load(),
	}
}

// Dispatch delivers ev to its owners or to the fallback handler.
func (r *Router) Dispatch(ev Event) {
	rf := eventRefs(ev)
	var buf [4]*Inbox
	found := buf[:0] // on the stack unless an event has more than 4 owners
	add := func(ref Ref) {
		if ref.ID == "" {
			return
		}
		for _, in := range r.owners[ref] {
			if !slices.Contains(found, in) {
				found = append(found, in)
			}
		}
	}
	r.mu.RLock()
	for _, id := range rf.channels {
		add(ChannelRef(id))
	}
	add(BridgeRef(rf.bridge))
	add(PlaybackRef(rf.playback))
	add(RecordingRef(rf.recording))
	if len(found) == 0 && rf.target != "" {
		if kind, id, ok := strings.Cut(rf.target, ":"); ok {
			switch kind {
			case "channel":
				add(ChannelRef(id))
			case "bridge":
				add(BridgeRef(id))
			}
		}
	}
	r.mu.RUnlock()

	delivered := false
	for _, in := range found {
		if depth, ok := in.push(ev); ok {
			delivered = true
			if depth > r.maxQueue.Load() {
				r.maxQueue.Store(depth) // single writer: the reader goroutine
			}
		}
	}
	if delivered {
		r.routed.Add(1)
		return
	}
	r.unowned.Add(1)
	r.fallback(ev)
}

// Owns reports whether some open inbox owns ref.
func (r *Router) Owns(ref Ref) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.owners[ref]) > 0
}

// OwnedChannels returns the ids of the channels owned by open inboxes.
func (r *Router) OwnedChannels() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for ref := range r.owners {
		if ref.Kind == KindChannel {
			out = append(out, ref.ID)
		}
	}
	return out
}

// NewInbox returns an empty inbox owning refs. Own more ids at any time, and
// always before sending the request that creates them.
func (r *Router) NewInbox(refs ...Ref) *Inbox {
	in := &Inbox{r: r, ready: make(chan struct{}, 1), done: make(chan struct{})}
	r.inboxes.Add(1)
	_ = in.Own(refs...) // cannot fail on an open inbox
	return in
}

// Inbox is the ordered, unbounded event queue of one call. Its methods are
// safe for concurrent use; events are normally consumed by the call's single
// goroutine with Next.
type Inbox struct {
	r     *Router
	ready chan struct{} // holds a token while events may be queued
	done  chan struct{} // closed by Close

	mu     sync.Mutex
	queue  []Event
	head   int
	closed bool
	refs   []Ref
}

// Node returns the name of the node the inbox's call is bound to.
func (in *Inbox) Node() string { return in.r.node }

// Own makes the inbox receive the events about refs. Several inboxes may own
// the same id (a supervisor listening to a bridge); each gets the events.
func (in *Inbox) Own(refs ...Ref) error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return ErrInboxClosed
	}
	in.r.mu.Lock()
	defer in.r.mu.Unlock()
	for _, ref := range refs {
		if ref.ID == "" || containsRef(in.refs, ref) {
			continue
		}
		in.refs = append(in.refs, ref)
		in.r.owners[ref] = append(in.r.owners[ref], in)
	}
	return nil
}

// Release stops the inbox receiving events about refs.
func (in *Inbox) Release(refs ...Ref) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.r.mu.Lock()
	defer in.r.mu.Unlock()
	for _, ref := range refs {
		for i, have := range in.refs {
			if have == ref {
				in.refs = append(in.refs[:i], in.refs[i+1:]...)
				in.r.unlink(ref, in)
				break
			}
		}
	}
}

// Refs returns the ids the inbox owns.
func (in *Inbox) Refs() []Ref {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]Ref(nil), in.refs...)
}

// unlink removes in from the owners of ref; r.mu must be held.
func (r *Router) unlink(ref Ref, in *Inbox) {
	list := r.owners[ref]
	for i, o := range list {
		if o == in {
			list = append(list[:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(r.owners, ref)
	} else {
		r.owners[ref] = list
	}
}

func containsRef(refs []Ref, ref Ref) bool {
	for _, r := range refs {
		if r == ref {
			return true
		}
	}
	return false
}

// push appends ev and signals the consumer; it reports the queue depth and
// false when the inbox is closed.
func (in *Inbox) push(ev Event) (int64, bool) {
	in.mu.Lock()
	if in.closed {
		in.mu.Unlock()
		return 0, false
	}
	if len(in.queue) == cap(in.queue) && in.head > 0 {
		// Reuse the consumed prefix instead of growing forever.
		n := copy(in.queue, in.queue[in.head:])
		clear(in.queue[n:])
		in.queue = in.queue[:n]
		in.head = 0
	}
	in.queue = append(in.queue, ev)
	depth := int64(len(in.queue) - in.head)
	in.mu.Unlock()
	select {
	case in.ready <- struct{}{}:
	default:
	}
	return depth, true
}

// TryNext returns the oldest queued event without waiting.
func (in *Inbox) TryNext() (Event, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.head == len(in.queue) {
		return nil, false
	}
	ev := in.queue[in.head]
	in.queue[in.head] = nil
	in.head++
	if in.head == len(in.queue) {
		in.queue, in.head = in.queue[:0], 0
	} else {
		// Keep the token: more events are queued.
		select {
		case in.ready <- struct{}{}:
		default:
		}
	}
	return ev, true
}

// Ready returns a channel that receives a value when events may be queued;
// use it in a select together with TryNext.
func (in *Inbox) Ready() <-chan struct{} { return in.ready }

// Done returns a channel closed when the inbox is closed.
func (in *Inbox) Done() <-chan struct{} { return in.done }

// Len returns the number of queued events.
func (in *Inbox) Len() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.queue) - in.head
}

// Next returns the oldest queued event, waiting for one until ctx ends or
// the inbox is closed.
func (in *Inbox) Next(ctx context.Context) (Event, error) {
	for {
		if ev, ok := in.TryNext(); ok {
			return ev, nil
		}
		select {
		case <-in.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-in.done:
			if ev, ok := in.TryNext(); ok {
				return ev, nil
			}
			return nil, ErrInboxClosed
		}
	}
}

// Close releases every id the inbox owns and discards queued events. Events
// about those ids then go to the router's fallback handler. Close is
// idempotent; call it when the call ends.
func (in *Inbox) Close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		return
	}
	in.closed = true
	in.r.mu.Lock()
	for _, ref := range in.refs {
		in.r.unlink(ref, in)
	}
	in.r.mu.Unlock()
	in.refs = nil
	clear(in.queue)
	in.queue, in.head = nil, 0
	close(in.done)
	in.r.inboxes.Add(-1)
}
