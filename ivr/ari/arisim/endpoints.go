package arisim

import (
	"slices"
	"sort"
	"time"
)

// Phone modes: what a registered phone does when it is called.
const (
	// PhoneAnswer rings, then answers after AnswerAfter.
	PhoneAnswer = "answer"
	// PhoneBusy rejects the call (cause 17, user busy).
	PhoneBusy = "busy"
	// PhoneNoAnswer rings until the caller gives up.
	PhoneNoAnswer = "noanswer"
	// PhoneManual rings until the control API answers or rejects it.
	PhoneManual = "manual"
	// PhoneReject rings, then declines the call (cause 21, call rejected) after AnswerAfter.
	PhoneReject = "reject"
)

// PhoneBehaviour says how a simulated phone reacts to a call.
type PhoneBehaviour struct {
	// Mode is PhoneAnswer (default), PhoneBusy, PhoneNoAnswer or PhoneManual.
	Mode string `json:"mode"`
	// RingAfter is the delay before the phone rings (default 100 ms).
	RingAfter time.Duration `json:"-"`
	// AnswerAfter is the delay before an answering phone answers.
	AnswerAfter time.Duration `json:"-"`
}

// EndpointConfig is one configured SIP or PJSIP phone.
type EndpointConfig struct {
	// Technology is "SIP" or "PJSIP".
	Technology string
	// Resource is the endpoint name, e.g. the agent extension "1001".
	Resource string
	// Registered phones can be called; unregistered ones give
	// 500 {"error":"Allocation failed"} on originate.
	Registered bool
	// Behaviour is what the phone does when called.
	Behaviour PhoneBehaviour
}

// DefaultEndpoints are the endpoints of the recorded Asterisk: SIP tester,
// 1001, 1002 and 1003, none registered.
func DefaultEndpoints() []EndpointConfig {
	var out []EndpointConfig
	for _, r := range []string{"tester", "1001", "1002", "1003"} {
		out = append(out, EndpointConfig{Technology: "SIP", Resource: r})
	}
	return out
}

type endpoint struct {
	cfg   EndpointConfig
	order int
	chans []*channel
}

func newEndpoint(c EndpointConfig, order int) *endpoint {
	return &endpoint{cfg: c, order: order}
}

func (e *endpoint) removeChannel(ch *channel) {
	if i := slices.Index(e.chans, ch); i >= 0 {
		e.chans = slices.Delete(e.chans, i, i+1)
	}
}

func (e *endpoint) json() endpointJSON {
	ids := make([]string, len(e.chans))
	for i, c := range e.chans {
		ids[i] = c.id
	}
	state := "unknown"
	if e.cfg.Registered {
		state = "online"
	}
	return endpointJSON{Technology: e.cfg.Technology, Resource: e.cfg.Resource, State: state, ChannelIDs: ids}
}

// phoneChannel allocates the channel of a call to a registered phone.
func (s *Sim) phoneChannel(ep *endpoint, o origOpts) *channel {
	id := o.id1
	if id == "" {
		id = s.newUniqueID()
	}
	ch := s.newChannel(id, ep.cfg.Technology+"/"+ep.cfg.Resource+"-"+s.nextLocalHex(), "Down")
	ch.dp = dialplanJSON{Context: "default", Exten: "s", Priority: 1, AppName: "AppDial2", AppData: "(Outgoing Line)"}
	ch.ep = ep
	ep.chans = append(ep.chans, ch)
	ch.origApp, ch.origArgs = o.app, o.args
	if o.app == "" {
		ch.origCtx, ch.origExten, ch.origPrio = o.ctx, o.exten, o.prio
	}
	if o.hasCID {
		ch.caller = o.callerID
	}
	if a := s.apps[o.app]; a != nil {
		s.subscribe(ch, a)
	}
	for _, k := range sortedKeys(o.vars) {
		s.writeVar(ch, k, o.vars[k])
	}
	s.newAgentCall(ch)
	return ch
}

// dial starts calling a phone channel: Dial events and the phone's
// configured behaviour.
func (s *Sim) dial(ch *channel, dialString string, timeout time.Duration) {
	ch.dialing, ch.dialString = true, dialString
	s.emitDial(ch, "", dialString)
	if timeout > 0 {
		ch.timeout = s.after(timeout, func() {
			if !ch.hungup && ch.state != "Up" {
				ch.timedOut = true
				s.hangup(ch, reqSilent, 19)
			}
		})
	}
	b := ch.ep.cfg.Behaviour
	ringAfter := b.RingAfter
	if ringAfter <= 0 {
		ringAfter = 100 * time.Millisecond
	}
	ch.phoneTimer = s.after(ringAfter, func() {
		if ch.hungup {
			return
		}
		switch b.Mode {
		case PhoneBusy:
			s.emitDial(ch, "BUSY", ch.dialString)
			ch.dialing = false
			s.hangup(ch, reqPeer(17), 17)
			return
		}
		s.setState(ch, "Ringing")
		s.emitDial(ch, "RINGING", ch.dialString)
		s.callEvent(ch, HeardEvent{Type: "ringing"})
		switch b.Mode {
		case PhoneAnswer, "":
			ch.phoneTimer = s.after(b.AnswerAfter, func() { s.phoneAnswer(ch) })
		case PhoneReject:
			ch.phoneTimer = s.after(b.AnswerAfter, func() {
				if !ch.hungup && ch.state != "Up" {
					s.emitDial(ch, "BUSY", ch.dialString)
					ch.dialing = false
					s.hangup(ch, reqPeer(21), 21)
				}
			})
		}
	})
}

// phoneAnswer is the far end of a phone channel answering.
func (s *Sim) phoneAnswer(ch *channel) {
	if ch.hungup || ch.state == "Up" {
		return
	}
	s.setState(ch, "Up")
	s.farAnswered(ch)
	if d := ch.dialedBy; d != nil && !d.hungup {
		s.answer(d) // Dial() answers the ;2 half, and so the ;1 half
	}
}

func init() {
	handle("GET", "endpoints", func(s *Sim, r *req) resp {
		return ok(s.endpointList(""))
	})
	handle("GET", "endpoints/{tech}", func(s *Sim, r *req) resp {
		l := s.endpointList(r.vars["tech"])
		if len(l) == 0 {
			return fail(errEndpointNotFound)
		}
		return ok(l)
	})
	handle("GET", "endpoints/{tech}/{resource}", func(s *Sim, r *req) resp {
		ep := s.endpoints[r.vars["tech"]+"/"+r.vars["resource"]]
		if ep == nil {
			return fail(errEndpointNotFound)
		}
		return ok(ep.json())
	})
	handle("PUT", "endpoints/sendMessage", func(s *Sim, r *req) resp { return noContent() })
	handle("GET", "deviceStates", func(s *Sim, r *req) resp { return ok([]any{}) })
	handle("GET", "mailboxes", func(s *Sim, r *req) resp { return ok([]any{}) })
}

func (s *Sim) endpointList(tech string) []endpointJSON {
	eps := make([]*endpoint, 0, len(s.endpoints))
	for _, e := range s.endpoints {
		if tech == "" || e.cfg.Technology == tech {
			eps = append(eps, e)
		}
	}
	sort.Slice(eps, func(i, j int) bool { return eps[i].order < eps[j].order })
	out := make([]endpointJSON, len(eps))
	for i, e := range eps {
		out[i] = e.json()
	}
	return out
}
