package arisim

import (
	"strings"
	"time"
)

// origOpts are the parameters of an originate or create request.
type origOpts struct {
	id1, id2 string
	app      string
	args     []string
	ctx      string
	exten    string
	prio     int
	callerID callerJSON
	hasCID   bool
	timeout  time.Duration
	vars     map[string]string
}

func parseCallerID(v string) callerJSON {
	v = strings.TrimSpace(v)
	if i := strings.Index(v, "<"); i >= 0 {
		num := strings.TrimSuffix(strings.TrimSpace(v[i+1:]), ">")
		return callerJSON{Name: strings.Trim(strings.TrimSpace(v[:i]), `"`), Number: num}
	}
	return callerJSON{Number: v}
}

func (s *Sim) idTaken(ids ...string) bool {
	for _, id := range ids {
		if id != "" && s.channels[id] != nil {
			return true
		}
	}
	return false
}

// originate implements POST /channels and POST /channels/{channelId}.
func (s *Sim) originate(r *req) resp {
	endpoint := r.p.get("endpoint")
	if endpoint == "" {
		return fail(errEndpointRequired)
	}
	o := origOpts{id1: r.vars["channelId"], id2: r.p.get("otherChannelId"), app: r.p.get("app"),
		args: r.p.list("appArgs"), ctx: r.p.get("context"), exten: r.p.get("extension"),
		prio: r.p.intParam("priority", 1), vars: r.p.variables()}
	if o.id1 == "" {
		o.id1 = r.p.get("channelId")
	}
	if o.app == "" && o.exten == "" {
		return fail(errAppOrExten)
	}
	if o.app == "" && o.ctx == "" {
		o.ctx = "default"
	}
	if cid := r.p.get("callerId"); cid != "" {
		o.callerID, o.hasCID = parseCallerID(cid), true
	}
	o.timeout = s.opts.OriginateTimeout
	if r.p.has("timeout") {
		if t := r.p.intParam("timeout", 30); t > 0 {
			o.timeout = time.Duration(t) * time.Second
		} else {
			o.timeout = 0
		}
	}
	if s.idTaken(o.id1, o.id2) {
		return fail(errChannelExists)
	}
	tech, res, found := strings.Cut(endpoint, "/")
	if !found || tech == "" || res == "" {
		return fail(errInvalidEndpoint)
	}
	switch strings.ToUpper(tech) {
	case "LOCAL":
		exten, ctxName, _ := strings.Cut(res, "@")
		if ctxName == "" {
			ctxName = "default"
		}
		return ok(s.originateLocal(exten, ctxName, o))
	default:
		ep := s.endpoints[tech+"/"+res]
		if ep == nil || !ep.cfg.Registered {
			return fail(errAllocation)
		}
		ch := s.phoneChannel(ep, o)
		out := ch.json()
		s.dial(ch, res, o.timeout)
		return ok(out)
	}
}

// originateLocal creates a Local channel pair: ;1 is returned and dials,
// ;2 runs the dialplan at exten@ctx.
func (s *Sim) originateLocal(exten, ctxName string, o origOpts) channelJSON {
	c1, c2 := s.localPair(exten, ctxName, o)
	c1.dialing, c1.dialString = true, exten+"@"+ctxName
	c2.state = "Ring"
	s.channels[c2.id] = c2
	s.announceChannel(c2)
	if a := s.apps[o.app]; a != nil {
		s.subscribe(c1, a)
		s.subscribe(c2, a)
	}
	for _, k := range sortedKeys(o.vars) {
		if err := s.writeVar(c1, k, o.vars[k]); err != nil {
			s.log.Debug("originate variable not set", "variable", k)
		}
	}
	out := c1.json()
	if o.hasCID {
		c2.caller = o.callerID
		s.emitChan(c2, &ev{typ: "ChannelCallerId", body: []kv{{"caller_presentation", 0},
			{"caller_presentation_txt", "Presentation Allowed, Not Screened"}, {"channel", c2.json()}}})
		s.emitChan(c2, &ev{typ: "ChannelConnectedLine", body: []kv{{"channel", c2.json()}}})
	}
	if c, found := s.dialp[ctxName]; !found || !c.matches(exten) {
		// No such extension: both halves are destroyed at once.
		c1.dialing, c2.quietPeer = false, true
		s.hangup(c2, reqSilent, 0)
		return out
	}
	s.emitDial(c1, "", c1.dialString)
	if o.timeout > 0 {
		c1.timeout = s.after(o.timeout, func() {
			if !c1.hungup && c1.state != "Up" {
				c1.timedOut = true
				s.hangup(c1, reqSilent, 19)
			}
		})
	}
	s.runDialplan(c2, ctxName, exten, 1)
	return out
}

// localPair allocates both halves; ;2 is not registered yet.
func (s *Sim) localPair(exten, ctxName string, o origOpts) (*channel, *channel) {
	hex := s.nextLocalHex()
	id1, id2 := o.id1, o.id2
	if id1 == "" {
		id1 = s.newUniqueID()
	}
	if id2 == "" {
		id2 = s.newUniqueID()
	}
	base := "Local/" + exten + "@" + ctxName + "-" + hex
	c1 := s.newChannel(id1, base+";1", "Down")
	c1.half = 1
	c1.dp = dialplanJSON{Context: ctxName, Exten: exten, Priority: 1, AppName: "AppDial2", AppData: "(Outgoing Line)"}
	s.chanSeq++
	c2 := &channel{id: id2, name: base + ";2", seq: s.chanSeq, state: "Down", created: s.now(), lang: "en", half: 2}
	c2.dp = dialplanJSON{Context: ctxName, Exten: exten, Priority: 1}
	c1.peer, c2.peer = c2, c1
	c1.origApp, c1.origArgs = o.app, o.args
	if o.app == "" {
		c1.origCtx, c1.origExten, c1.origPrio = o.ctx, o.exten, o.prio
	}
	return c1, c2
}

// create implements POST /channels/create.
func (s *Sim) create(r *req) resp {
	endpoint := r.p.get("endpoint")
	if endpoint == "" {
		return fail(errEndpointRequired)
	}
	o := origOpts{id1: r.p.get("channelId"), id2: r.p.get("otherChannelId"), app: r.p.get("app"),
		args: r.p.list("appArgs"), vars: r.p.variables()}
	if s.idTaken(o.id1, o.id2) {
		return fail(errChannelExists)
	}
	tech, res, found := strings.Cut(endpoint, "/")
	if !found || tech == "" || res == "" {
		return fail(errInvalidEndpoint)
	}
	var ch *channel
	if strings.EqualFold(tech, "Local") {
		exten, ctxName, _ := strings.Cut(res, "@")
		if ctxName == "" {
			ctxName = "default"
		}
		o2 := o
		o2.app = ""
		c1, _ := s.localPair(exten, ctxName, o2)
		c1.dp.AppName, c1.dp.AppData = "", ""
		c1.dialString = exten + "@" + ctxName
		ch = c1
	} else {
		ep := s.endpoints[tech+"/"+res]
		if ep == nil || !ep.cfg.Registered {
			return fail(errChannelExists)
		}
		o2 := o
		o2.app = ""
		ch = s.phoneChannel(ep, o2)
		ch.dp.AppName, ch.dp.AppData = "", ""
		ch.dialString = res
	}
	ch.created2 = true
	for _, k := range sortedKeys(o.vars) {
		s.writeVar(ch, k, o.vars[k])
	}
	out := ch.json()
	if o.app == "" {
		s.hangup(ch, reqSilent, 16)
		return ok(out)
	}
	if a := s.apps[o.app]; a != nil {
		s.subscribe(ch, a)
	}
	data := strings.Join(append([]string{o.app}, o.args...), ",")
	ch.dp.AppName, ch.dp.AppData = "Stasis", data
	s.emitChan(ch, &ev{typ: "ChannelDialplan", body: []kv{{"dialplan_app", "Stasis"},
		{"dialplan_app_data", data}, {"channel", ch.json()}}})
	if !s.enterStasis(ch, o.app, o.args, false) {
		s.hangup(ch, reqSilent, 16)
	}
	return ok(out)
}

// dialCreated implements POST /channels/{id}/dial.
func (s *Sim) dialCreated(ch *channel, r *req) resp {
	if ch.state != "Down" || !ch.created2 {
		return fail(errNotDown)
	}
	ch.created2 = false
	timeout := time.Duration(r.p.intParam("timeout", 0)) * time.Second
	if ch.ep != nil {
		s.dial(ch, ch.dialString, timeout)
		return noContent()
	}
	c2 := ch.peer
	c, found := s.dialp[c2.dp.Context]
	if !found || !c.matches(c2.dp.Exten) {
		s.hangup(ch, reqSilent, 16)
		return noContent()
	}
	ch.dialing = true
	s.emitDial(ch, "", ch.dialString)
	c2.state = "Ring"
	s.channels[c2.id] = c2
	if timeout > 0 {
		ch.timeout = s.after(timeout, func() {
			if !ch.hungup && ch.dialing {
				ch.timedOut = true
				s.hangup(ch, reqARI, 19)
			}
		})
	}
	s.runDialplan(c2, c2.dp.Context, c2.dp.Exten, 1)
	return noContent()
}

func init() {
	handle("POST", "channels", func(s *Sim, r *req) resp { return s.originate(r) })
	handle("POST", "channels/{channelId}", func(s *Sim, r *req) resp { return s.originate(r) })
	handle("POST", "channels/create", func(s *Sim, r *req) resp { return s.create(r) })
	handle("POST", "channels/{channelId}/dial", func(s *Sim, r *req) resp {
		ch, err := s.chanIn(r)
		if err != nil {
			return fail(err)
		}
		return s.dialCreated(ch, r)
	})
}
