package arisim

import (
	"slices"
	"sort"
	"strings"
)

// app is a Stasis application: a name, the socket that currently owns it
// and the channels and bridges it is subscribed to (reference counted, as
// Asterisk counts subscriptions).
type app struct {
	name    string
	sock    *socket
	chans   map[*channel]int
	bridges map[*bridge]int
	all     bool
}

// sub is one application's subscription count on a channel.
type sub struct {
	a *app
	n int
}

func (s *Sim) getApp(name string) *app {
	a := s.apps[name]
	if a == nil {
		a = &app{name: name, chans: map[*channel]int{}, bridges: map[*bridge]int{}}
		s.apps[name] = a
	}
	return a
}

// activeApp returns the application if a websocket currently owns it.
func (s *Sim) activeApp(name string) *app {
	a := s.apps[name]
	if a == nil || a.sock == nil {
		return nil
	}
	return a
}

func (s *Sim) gcApp(a *app) {
	if a.sock == nil && len(a.chans) == 0 && len(a.bridges) == 0 && s.apps[a.name] == a {
		delete(s.apps, a.name)
	}
}

func (s *Sim) subscribe(ch *channel, a *app) {
	if a == nil {
		return
	}
	for i := range ch.subs {
		if ch.subs[i].a == a {
			ch.subs[i].n++
			a.chans[ch]++
			return
		}
	}
	ch.subs = append(ch.subs, sub{a: a, n: 1})
	a.chans[ch]++
}

func (s *Sim) unsubscribe(ch *channel, a *app) {
	if a == nil {
		return
	}
	for i := range ch.subs {
		if ch.subs[i].a != a {
			continue
		}
		ch.subs[i].n--
		a.chans[ch]--
		if ch.subs[i].n <= 0 {
			ch.subs = slices.Delete(ch.subs, i, i+1)
			delete(a.chans, ch)
			s.gcApp(a)
		}
		return
	}
}

// unsubscribeAll drops every subscription on a destroyed channel.
func (s *Sim) unsubscribeAll(ch *channel) {
	for _, x := range ch.subs {
		delete(x.a.chans, ch)
		s.gcApp(x.a)
	}
	ch.subs = nil
}

func (s *Sim) subscribeBridge(b *bridge, a *app) {
	if a == nil {
		return
	}
	b.subs[a]++
	a.bridges[b]++
}

func (s *Sim) unsubscribeBridge(b *bridge, a *app) {
	if a == nil || b.subs[a] == 0 {
		return
	}
	b.subs[a]--
	a.bridges[b]--
	if b.subs[a] <= 0 {
		delete(b.subs, a)
		delete(a.bridges, b)
		s.gcApp(a)
	}
}

// deliver encodes e for application a and queues it on a's socket.
func (s *Sim) deliver(a *app, e *ev) {
	if a == nil || a.sock == nil || s.lost(e) {
		return
	}
	if e.ts.IsZero() {
		e.ts = s.now()
	}
	a.sock.push(e, a.name, s.astID)
}

// emitChan sends a channel event to every application subscribed to ch.
func (s *Sim) emitChan(ch *channel, e *ev) {
	e.ts = s.now()
	seen := 0
	for _, x := range ch.subs {
		if x.n > 0 {
			s.deliver(x.a, e)
			seen++
		}
	}
	s.emitAll(e, ch.subs)
}

// emitAll delivers to subscribeAll applications not already served.
func (s *Sim) emitAll(e *ev, served []sub) {
	for _, a := range s.apps {
		if !a.all || a.sock == nil {
			continue
		}
		dup := false
		for _, x := range served {
			if x.a == a {
				dup = true
			}
		}
		if !dup {
			s.deliver(a, e)
		}
	}
}

// emitBridge sends an event to the applications subscribed to b.
func (s *Sim) emitBridge(b *bridge, e *ev) {
	e.ts = s.now()
	for _, a := range b.subList() {
		s.deliver(a, e)
	}
}

func (a *app) json() applicationJSON {
	chs := make([]*channel, 0, len(a.chans))
	for c := range a.chans {
		chs = append(chs, c)
	}
	sort.Slice(chs, func(i, j int) bool { return chs[i].seq < chs[j].seq })
	ids := make([]string, len(chs))
	for i, c := range chs {
		ids[i] = c.id
	}
	bids := make([]string, 0, len(a.bridges))
	for b := range a.bridges {
		bids = append(bids, b.id)
	}
	sort.Strings(bids)
	return applicationJSON{Name: a.name, ChannelIDs: ids, BridgeIDs: bids,
		EndpointIDs: []string{}, DeviceNames: []string{}, EventsAllowed: []any{}, EventsDisallowed: []any{}}
}

func init() {
	handle("GET", "applications", func(s *Sim, r *req) resp {
		names := make([]string, 0, len(s.apps))
		for n := range s.apps {
			names = append(names, n)
		}
		sort.Strings(names)
		out := make([]applicationJSON, 0, len(names))
		for _, n := range names {
			out = append(out, s.apps[n].json())
		}
		return ok(out)
	})
	handle("GET", "applications/{app}", func(s *Sim, r *req) resp {
		a := s.apps[r.vars["app"]]
		if a == nil {
			return fail(errAppNotFound)
		}
		return ok(a.json())
	})
	handle("POST", "applications/{app}/subscription", func(s *Sim, r *req) resp {
		return s.subscription(r, true)
	})
	handle("DELETE", "applications/{app}/subscription", func(s *Sim, r *req) resp {
		return s.subscription(r, false)
	})
	handle("POST", "applications/{app}/eventFilter", func(s *Sim, r *req) resp {
		a := s.apps[r.vars["app"]]
		if a == nil {
			return fail(errAppNotFound)
		}
		return ok(a.json())
	})
}

func (s *Sim) subscription(r *req, add bool) resp {
	a := s.apps[r.vars["app"]]
	if a == nil {
		return fail(errAppNotFound)
	}
	srcs := r.p.list("eventSource")
	if len(srcs) == 0 {
		return fail(errMsg(400, "Missing parameter eventSource"))
	}
	type op struct {
		ch *channel
		b  *bridge
	}
	var ops []op
	for _, src := range srcs {
		scheme, id, found := strings.Cut(src, ":")
		if !found {
			return fail(errBadSourceScheme)
		}
		switch scheme {
		case "channel":
			ch := s.channels[id]
			if ch == nil {
				return fail(errNoEventSource)
			}
			ops = append(ops, op{ch: ch})
		case "bridge":
			b := s.bridges[id]
			if b == nil {
				return fail(errNoEventSource)
			}
			ops = append(ops, op{b: b})
		case "endpoint", "deviceState":
			// Accepted; endpoint and device state events are not modelled.
		default:
			return fail(errBadSourceScheme)
		}
	}
	for _, o := range ops {
		switch {
		case o.ch != nil && add:
			s.subscribe(o.ch, a)
		case o.ch != nil:
			s.unsubscribe(o.ch, a)
		case o.b != nil && add:
			s.subscribeBridge(o.b, a)
		case o.b != nil:
			s.unsubscribeBridge(o.b, a)
		}
	}
	return ok(a.json())
}
