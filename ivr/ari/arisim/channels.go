package arisim

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// channel is one simulated Asterisk channel. Optional state lives in
// pointers and nil maps so an idle channel stays small.
type channel struct {
	id, name  string
	seq       uint64
	state     string
	caller    callerJSON
	connected callerJSON
	dp        dialplanJSON
	created   time.Time
	lang      string
	vars      map[string]string
	subs      []sub

	peer *channel // the other Local half
	half int      // 1 or 2 for Local halves

	stasis         *app
	stasisDialplan bool // entered through the dialplan's Stasis()

	// Originate / dial state of the outgoing (;1 or phone) side.
	dialing    bool
	dialString string
	timedOut   bool
	origApp    string
	origArgs   []string
	origCtx    string
	origExten  string
	origPrio   int
	progressed bool
	created2   bool // created by /channels/create, not yet dialed
	quietPeer  bool // the far half goes away without a hangup request
	connPeer   string
	peerStale  bool

	timeout    *action
	phoneTimer *action

	bridge     *bridge
	bridgePeer string
	plays      []*playback
	dtmfFree   time.Time
	hungup     bool
	fallback   bool
	pending    func() // command waiting for the current playback to end
	snoops     []*channel
	spying     *spying // set on a Snoop channel
	ep         *endpoint
	// dialee is the outside phone a Dial() of this ;2 half rings; dialedBy is the reverse.
	dialee, dialedBy *channel
	call             *Call
	moh, hold        bool
}

func (s *Sim) newChannel(id, name, state string) *channel {
	s.chanSeq++
	ch := &channel{id: id, name: name, seq: s.chanSeq, state: state, created: s.now(), lang: "en"}
	s.channels[id] = ch
	s.announceChannel(ch)
	return ch
}

// announceChannel sends ChannelCreated to subscribeAll applications.
func (s *Sim) announceChannel(ch *channel) {
	e := &ev{typ: "ChannelCreated", body: []kv{{"channel", ch.json()}}, ts: s.now()}
	s.emitAll(e, nil)
}

func (ch *channel) json() channelJSON {
	return channelJSON{ID: ch.id, Name: ch.name, State: ch.state, Caller: ch.caller,
		Connected: ch.connected, Dialplan: ch.dp, CreationTime: formatTS(ch.created), Language: ch.lang}
}

// emitDial reports a Dial event about the dialed (outgoing) channel.
func (s *Sim) emitDial(peer *channel, status, dialstring string) {
	s.emitChan(peer, &ev{typ: "Dial", body: []kv{{"dialstatus", status}, {"forward", ""},
		{"dialstring", dialstring}, {"peer", peer.json()}}})
}

func (s *Sim) setState(ch *channel, state string) {
	if ch.state == state {
		return
	}
	ch.state = state
	s.emitChan(ch, &ev{typ: "ChannelStateChange", body: []kv{{"channel", ch.json()}}})
}

// setVar sets a channel variable and reports ChannelVarset; an empty
// value unsets it.
func (s *Sim) setVar(ch *channel, name, value string, report bool) {
	if value == "" {
		if _, had := ch.vars[name]; had {
			delete(ch.vars, name)
		} else if name != "STASISSTATUS" && name != "BRIDGEPEER" {
			return
		}
	} else {
		if ch.vars == nil {
			ch.vars = make(map[string]string, 2)
		}
		ch.vars[name] = value
	}
	if report {
		s.emitChan(ch, &ev{typ: "ChannelVarset", pre: []kv{{"variable", name}, {"value", value}},
			body: []kv{{"channel", ch.json()}}})
	}
}

// readVar evaluates a variable or dialplan function on ch.
func (ch *channel) readVar(name string) (string, *apiError) {
	if fn, arg, isFn := strings.Cut(name, "("); isFn {
		arg = strings.TrimSuffix(arg, ")")
		switch strings.ToUpper(fn) + "/" + strings.ToLower(arg) {
		case "CALLERID/num":
			return ch.caller.Number, nil
		case "CALLERID/name":
			return ch.caller.Name, nil
		case "CONNECTEDLINE/num":
			return ch.connected.Number, nil
		case "CONNECTEDLINE/name":
			return ch.connected.Name, nil
		case "CHANNEL/name":
			return ch.name, nil
		case "CHANNEL/language":
			return ch.lang, nil
		case "CHANNEL/state":
			return ch.state, nil
		case "CHANNEL/uniqueid":
			return ch.id, nil
		}
		return "", errBadFunction
	}
	v, found := ch.vars[name]
	if !found || v == "" {
		return "", errVarNotFound
	}
	return v, nil
}

// writeVar sets a variable or a settable function.
func (s *Sim) writeVar(ch *channel, name, value string) *apiError {
	if fn, arg, isFn := strings.Cut(name, "("); isFn {
		arg = strings.TrimSuffix(arg, ")")
		switch strings.ToUpper(fn) + "/" + strings.ToLower(arg) {
		case "CALLERID/num":
			ch.caller.Number = value
		case "CALLERID/name":
			ch.caller.Name = value
		case "CHANNEL/language":
			ch.lang = value
		default:
			return errBadFunction
		}
		s.setVar(ch, name, value, true)
		return nil
	}
	s.setVar(ch, name, value, true)
	return nil
}

// chanIn returns the channel in path variable channelId.
func (s *Sim) chanIn(r *req) (*channel, *apiError) {
	ch := s.channels[r.vars["channelId"]]
	if ch == nil {
		return nil, errChannelNotFound
	}
	return ch, nil
}

// stasisChan returns the channel if it is in a Stasis application.
func (s *Sim) stasisChan(r *req) (*channel, *apiError) {
	ch, err := s.chanIn(r)
	if err != nil {
		return nil, err
	}
	if ch.stasis == nil {
		return nil, errNotInStasis
	}
	return ch, nil
}

// withStasis wraps a handler that needs a channel in Stasis.
func withStasis(f func(s *Sim, ch *channel, r *req) resp) handlerFunc {
	return func(s *Sim, r *req) resp {
		ch, err := s.stasisChan(r)
		if err != nil {
			return fail(err)
		}
		return f(s, ch, r)
	}
}

func (s *Sim) answer(ch *channel) {
	if ch.state == "Up" {
		return
	}
	s.setState(ch, "Up")
	s.callEvent(ch, HeardEvent{Type: "answered"})
	if p := ch.peer; p != nil && p.state != "Up" && !p.hungup {
		s.setState(p, "Up")
		s.farAnswered(p)
	}
}

// farAnswered runs on the outgoing side once its callee answered.
func (s *Sim) farAnswered(p *channel) {
	s.stop(p.timeout)
	if p.dialing {
		ds := p.dialString
		if p.stasis != nil {
			ds = ""
		}
		s.emitDial(p, "ANSWER", ds)
		p.dialing = false
	}
	s.callEvent(p, HeardEvent{Type: "answered"})
	switch {
	case p.stasis != nil:
	case p.origApp != "":
		data := strings.Join(append([]string{p.origApp}, p.origArgs...), ",")
		p.dp.AppName, p.dp.AppData = "Stasis", data
		if !s.enterStasis(p, p.origApp, p.origArgs, false) {
			s.hangup(p, hangupReq{emit: true, cause: 16, soft: true}, 16)
		}
	case p.origCtx != "":
		s.runDialplan(p, p.origCtx, p.origExten, p.origPrio)
	}
}

func (s *Sim) ring(ch *channel) {
	p := ch.peer
	if p == nil || p.state == "Up" || p.hungup {
		return
	}
	s.setState(p, "Ringing")
	if p.dialing {
		ds := p.dialString
		if p.stasis != nil {
			ds = ""
		}
		s.emitDial(p, "RINGING", ds)
	}
}

// progress reports early media to the dialing side once.
func (s *Sim) progress(ch *channel) {
	p := ch.peer
	if p == nil || p.progressed || p.state == "Up" || !p.dialing {
		return
	}
	p.progressed = true
	s.emitDial(p, "PROGRESS", p.dialString)
}

func init() {
	handle("GET", "channels", func(s *Sim, r *req) resp {
		chs := make([]*channel, 0, len(s.channels))
		for _, c := range s.channels {
			chs = append(chs, c)
		}
		sort.Slice(chs, func(i, j int) bool { return chs[i].seq < chs[j].seq })
		out := make([]channelJSON, len(chs))
		for i, c := range chs {
			out[i] = c.json()
		}
		return ok(out)
	})
	handle("GET", "channels/{channelId}", func(s *Sim, r *req) resp {
		ch, err := s.chanIn(r)
		if err != nil {
			return fail(err)
		}
		return ok(ch.json())
	})
	handle("DELETE", "channels/{channelId}", func(s *Sim, r *req) resp {
		ch, err := s.chanIn(r)
		if err != nil {
			return fail(err)
		}
		cause := 16
		if r.p.has("reason_code") {
			n, cerr := strconv.Atoi(r.p.get("reason_code"))
			if cerr != nil {
				return fail(errBadReasonCode)
			}
			cause = n
		} else if r.p.has("reason") {
			c, found := hangupReasons[r.p.get("reason")]
			if !found {
				return fail(errBadReason)
			}
			cause = c
		}
		s.hangup(ch, reqARI, cause)
		return noContent()
	})
	handle("POST", "channels/{channelId}/answer", withStasis(func(s *Sim, ch *channel, r *req) resp {
		s.answer(ch)
		return noContent()
	}))
	handle("POST", "channels/{channelId}/ring", withStasis(func(s *Sim, ch *channel, r *req) resp {
		s.ring(ch)
		return noContent()
	}))
	handle("DELETE", "channels/{channelId}/ring", withStasis(func(s *Sim, ch *channel, r *req) resp {
		return noContent()
	}))
	handle("POST", "channels/{channelId}/progress", withStasis(func(s *Sim, ch *channel, r *req) resp {
		s.progress(ch)
		return noContent()
	}))
	flag := func(set func(s *Sim, ch *channel, on bool)) (handlerFunc, handlerFunc) {
		return withStasis(func(s *Sim, ch *channel, r *req) resp { set(s, ch, true); return noContent() }),
			withStasis(func(s *Sim, ch *channel, r *req) resp { set(s, ch, false); return noContent() })
	}
	on, off := flag(func(s *Sim, ch *channel, v bool) {
		ch.hold = v
		s.callEvent(ch, HeardEvent{Type: map[bool]string{true: "hold", false: "unhold"}[v]})
	})
	handle("POST", "channels/{channelId}/hold", on)
	handle("DELETE", "channels/{channelId}/hold", off)
	on, off = flag(func(s *Sim, ch *channel, v bool) {
		ch.moh = v
		s.callEvent(ch, HeardEvent{Type: map[bool]string{true: "moh", false: "moh_stop"}[v]})
	})
	handle("POST", "channels/{channelId}/moh", on)
	handle("DELETE", "channels/{channelId}/moh", off)
	on, off = flag(func(*Sim, *channel, bool) {})
	handle("POST", "channels/{channelId}/mute", on)
	handle("DELETE", "channels/{channelId}/mute", off)
	handle("POST", "channels/{channelId}/silence", on)
	handle("DELETE", "channels/{channelId}/silence", off)
	handle("GET", "channels/{channelId}/variable", func(s *Sim, r *req) resp {
		name := r.p.get("variable")
		if name == "" {
			return fail(errVarRequired)
		}
		ch := s.channels[r.vars["channelId"]]
		if ch == nil {
			return fail(errProvidedChannel)
		}
		v, err := ch.readVar(name)
		if err != nil {
			return fail(err)
		}
		return ok(valueJSON{Value: v})
	})
	handle("POST", "channels/{channelId}/variable", func(s *Sim, r *req) resp {
		name := r.p.get("variable")
		if name == "" {
			return fail(errVarRequired)
		}
		ch, err := s.chanIn(r)
		if err != nil {
			return fail(err)
		}
		if err := s.writeVar(ch, name, r.p.get("value")); err != nil {
			return fail(err)
		}
		return noContent()
	})
	handle("GET", "channels/{channelId}/variables", func(s *Sim, r *req) resp {
		names := r.p.list("variables")
		if len(names) == 0 {
			return fail(errMissingVariables)
		}
		ch := s.channels[r.vars["channelId"]]
		if ch == nil {
			return fail(errProvidedChannel)
		}
		out := map[string]string{}
		for _, n := range names {
			v, err := ch.readVar(n)
			if err != nil {
				return fail(err)
			}
			out[n] = v
		}
		return ok(map[string]any{"variables": out})
	})
	handle("POST", "channels/{channelId}/variables", func(s *Sim, r *req) resp {
		ch, err := s.chanIn(r)
		if err != nil {
			return fail(err)
		}
		vs := r.p.variables()
		if vs == nil {
			return fail(errMissingVariables)
		}
		for _, k := range sortedKeys(vs) {
			if err := s.writeVar(ch, k, vs[k]); err != nil {
				return fail(err)
			}
		}
		return noContent()
	})
	handle("POST", "channels/{channelId}/continue", withStasis(func(s *Sim, ch *channel, r *req) resp {
		if lbl := r.p.get("label"); lbl != "" {
			return fail(errLabelNotFound)
		}
		ctxName, exten, prio := r.p.get("context"), r.p.get("extension"), r.p.intParam("priority", 0)
		s.whenIdle(ch, func() { s.continueDialplan(ch, ctxName, exten, prio) })
		return noContent()
	}))
	handle("POST", "channels/{channelId}/move", withStasis(func(s *Sim, ch *channel, r *req) resp {
		appName := r.p.get("app")
		if appName == "" {
			return fail(errMissingApp)
		}
		args := r.p.list("appArgs")
		s.whenIdle(ch, func() { s.moveChannel(ch, appName, args) })
		return noContent()
	}))
	handle("POST", "channels/{channelId}/redirect", withStasis(func(s *Sim, ch *channel, r *req) resp {
		if r.p.get("endpoint") == "" {
			return fail(errEndpointRequired)
		}
		return noContent()
	}))
}

// whenIdle runs f now, or once the channel's current playback ended
// (Asterisk serializes commands on a channel).
func (s *Sim) whenIdle(ch *channel, f func()) {
	if len(ch.plays) == 0 {
		f()
		return
	}
	prev := ch.pending
	ch.pending = func() {
		if prev != nil {
			prev()
		}
		if !ch.hungup {
			f()
		}
	}
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
