package arisim

import (
	"strings"
)

// Context is what a dialplan context runs for its extensions.
type Context struct {
	// App is the Stasis application the extension enters.
	App string
	// AppArgs are passed to Stasis() after the application name.
	AppArgs []string
	// Pattern selects the extensions that exist: "_X." means two or more
	// digits (Asterisk's pattern), anything else is one literal extension.
	Pattern string
	// SetCallerID runs Set(CALLERID(num)=${EXTEN}) before Stasis().
	SetCallerID bool
	// Fallback is played when Stasis() fails (no application connected)
	// before Hangup(); empty means hang up at once.
	Fallback []string
	// Dial makes the context dial out instead of entering Stasis:
	// Dial(PJSIP/${EXTEN}@carrier,60) then Hangup(), reaching the outside
	// phone of the number (Sim.SetNumber); see numbers.go.
	Dial bool
}

// DefaultDialplan is the dialplan of the recorded Asterisk, plus a spoken
// fallback when the hotline application is not connected:
//
//	[hotline-in]  exten => _X.,1,Set(CALLERID(num)=${EXTEN}) same => n,Stasis(hotline) same => n,Hangup()
//	[caller-side] exten => s,1,Stasis(caller) same => n,Hangup()
//	[hotline-out] exten => _X.,1,Dial(PJSIP/${EXTEN}@carrier,60) same => n,Hangup()
//
// hotline-out reaches the outside phones of numbers (Sim.SetNumber), as the hotline's own
// dialplan (asterisk/extensions.conf) reaches the carrier.
func DefaultDialplan() map[string]Context {
	return map[string]Context{
		"hotline-in":  {App: "hotline", Pattern: "_X.", SetCallerID: true, Fallback: []string{"sound:ss-noservice"}},
		"caller-side": {App: "caller", Pattern: "s"},
		"hotline-out": {Pattern: "_X.", Dial: true},
	}
}

func (c Context) matches(exten string) bool {
	if c.Pattern == "_X." {
		if len(exten) < 2 {
			return false
		}
		for _, r := range exten {
			if r < '0' || r > '9' {
				return false
			}
		}
		return true
	}
	return exten == c.Pattern
}

// hangupReq describes the ChannelHangupRequest event of a hangup, if any.
type hangupReq struct {
	emit  bool
	cause int
	soft  bool
}

var (
	reqARI    = hangupReq{emit: true, cause: 32, soft: true}
	reqSilent = hangupReq{}
)

func reqPeer(cause int) hangupReq { return hangupReq{emit: true, cause: cause} }

// runDialplan executes ctx,exten from priority prio on ch.
func (s *Sim) runDialplan(ch *channel, ctxName, exten string, prio int) {
	c, found := s.dialp[ctxName]
	if !found || !c.matches(exten) {
		s.hangup(ch, reqSilent, 0)
		return
	}
	ch.dp.Context, ch.dp.Exten = ctxName, exten
	if c.Dial {
		s.dialOut(ch, c, exten)
		return
	}
	step := 1
	if c.SetCallerID {
		if prio <= step {
			ch.dp.Priority, ch.dp.AppName, ch.dp.AppData = step, "Set", "CALLERID(num)="+exten
			s.emitChan(ch, &ev{typ: "ChannelDialplan", body: []kv{{"dialplan_app", "Set"},
				{"dialplan_app_data", ch.dp.AppData}, {"channel", ch.json()}}})
			ch.caller.Number = exten
			s.emitChan(ch, &ev{typ: "ChannelCallerId", body: []kv{{"caller_presentation", 0},
				{"caller_presentation_txt", "Presentation Allowed, Not Screened"}, {"channel", ch.json()}}})
		}
		step++
	}
	if prio <= step {
		data := strings.Join(append([]string{c.App}, c.AppArgs...), ",")
		ch.dp.Priority, ch.dp.AppName, ch.dp.AppData = step, "Stasis", data
		s.emitChan(ch, &ev{typ: "ChannelDialplan", body: []kv{{"dialplan_app", "Stasis"},
			{"dialplan_app_data", data}, {"channel", ch.json()}}})
		if s.enterStasis(ch, c.App, c.AppArgs, true) {
			return
		}
		s.dialplanFallback(ch, c, step)
		return
	}
	s.dialplanHangup(ch, step+1)
}

// enterStasis runs Stasis(name,args) on ch; false when the application
// has no websocket (STASISSTATUS=FAILED).
func (s *Sim) enterStasis(ch *channel, name string, args []string, fromDialplan bool) bool {
	s.setVar(ch, "STASISSTATUS", "", true)
	a := s.activeApp(name)
	if a == nil {
		s.setVar(ch, "STASISSTATUS", "FAILED", true)
		s.log.Warn("Stasis app doesn't exist or is not active", "app", name, "channel_id", ch.id)
		return false
	}
	ch.stasis = a
	ch.stasisDialplan = fromDialplan
	s.subscribe(ch, a)
	if args == nil {
		args = []string{}
	}
	e := &ev{typ: "StasisStart", body: []kv{{"args", args}, {"channel", ch.json()}}}
	e.ts = s.now()
	s.deliver(a, e)
	s.callEvent(ch, HeardEvent{Type: "stasis", App: name})
	return true
}

// leaveStasis emits StasisEnd and drops the Stasis subscription.
func (s *Sim) leaveStasis(ch *channel) {
	a := ch.stasis
	if a == nil {
		return
	}
	ch.stasis = nil
	e := &ev{typ: "StasisEnd", body: []kv{{"channel", ch.json()}}}
	e.ts = s.now()
	s.deliver(a, e)
	s.unsubscribe(ch, a)
}

// dialplanFallback plays the context's fallback, then hangs up.
func (s *Sim) dialplanFallback(ch *channel, c Context, step int) {
	if len(c.Fallback) == 0 {
		s.dialplanHangup(ch, step+1)
		return
	}
	ch.dp.Priority, ch.dp.AppName, ch.dp.AppData = step+1, "Playback", strings.Join(c.Fallback, "&")
	s.emitChan(ch, &ev{typ: "ChannelDialplan", body: []kv{{"dialplan_app", "Playback"},
		{"dialplan_app_data", ch.dp.AppData}, {"channel", ch.json()}}})
	ch.fallback = true
	pb := s.newPlayback("", c.Fallback, ch.lang, "channel:"+ch.id)
	pb.internal = true
	s.enqueueChannel(ch, pb)
}

// dialplanHangup runs Hangup() at priority prio.
func (s *Sim) dialplanHangup(ch *channel, prio int) {
	if ch.hungup {
		return
	}
	ch.dp.Priority, ch.dp.AppName, ch.dp.AppData = prio, "Hangup", ""
	s.emitChan(ch, &ev{typ: "ChannelDialplan", body: []kv{{"dialplan_app", "Hangup"},
		{"dialplan_app_data", ""}, {"channel", ch.json()}}})
	s.hangup(ch, hangupReq{emit: true, cause: 16, soft: true}, 16)
}

// afterStasis continues the dialplan of a channel that left Stasis
// through a hangup: STASISSTATUS=SUCCESS and, for dialplan channels, the
// soft hangup of the Hangup() that follows.
func (s *Sim) afterStasis(ch *channel, wasDialplan bool) {
	s.setVar(ch, "STASISSTATUS", "SUCCESS", true)
	if wasDialplan {
		s.emitChan(ch, hangupEvent(ch, hangupReq{emit: true, cause: 16, soft: true}))
	}
}

func hangupEvent(ch *channel, hr hangupReq) *ev {
	pre := []kv{{"cause", hr.cause}}
	if hr.soft {
		pre = append(pre, kv{"soft", true})
	}
	return &ev{typ: "ChannelHangupRequest", pre: pre, body: []kv{{"channel", ch.json()}}}
}

// hangup ends ch: the hangup request event, failed playbacks, bridge
// departure, StasisEnd, the far Local half and ChannelDestroyed.
func (s *Sim) hangup(ch *channel, hr hangupReq, cause int) {
	if ch.hungup {
		return
	}
	ch.hungup = true
	s.stop(ch.timeout)
	s.stop(ch.phoneTimer)
	if hr.emit {
		s.emitChan(ch, hangupEvent(ch, hr))
	}
	s.failPlaybacks(ch)
	s.stopRecordingsOf("channel:"+ch.id, true)
	if ch.bridge != nil {
		s.leaveBridge(ch, false)
	}
	if ch.stasis != nil {
		wasDialplan := ch.stasisDialplan
		s.leaveStasis(ch)
		s.afterStasis(ch, wasDialplan)
	}
	if ch.dialing && ch.state != "Up" && !ch.timedOut {
		s.emitDial(ch, "NOANSWER", ch.dialString)
	}
	for _, sn := range ch.snoops {
		s.hangup(sn, reqPeer(16), 16)
	}
	if ch.dialee != nil && !ch.dialee.hungup {
		s.hangup(ch.dialee, reqPeer(16), 16)
	}
	if p := ch.peer; p != nil && !p.hungup {
		hr := reqPeer(cause)
		if ch.quietPeer {
			hr = reqSilent
		}
		s.hangup(p, hr, cause)
	}
	if ch.half == 1 {
		ch.dp.AppName, ch.dp.AppData = "AppDial2", "(Outgoing Line)"
	} else if ch.half == 2 {
		ch.dp.AppName, ch.dp.AppData = "", ""
	}
	s.emitChan(ch, &ev{typ: "ChannelDestroyed", body: []kv{{"cause", cause},
		{"cause_txt", causeText(cause)}, {"channel", ch.json()}}})
	s.unsubscribeAll(ch)
	delete(s.channels, ch.id)
	if ch.ep != nil {
		ch.ep.removeChannel(ch)
	}
	s.callHungup(ch, cause)
	if ch.dialedBy != nil {
		s.dialOutEnded(ch, cause)
	}
}

// continueDialplan implements POST /channels/{id}/continue.
func (s *Sim) continueDialplan(ch *channel, ctxName, exten string, prio int) {
	wasDialplan := ch.stasisDialplan
	s.leaveStasis(ch)
	s.setVar(ch, "STASISSTATUS", "SUCCESS", true)
	if ctxName == "" && exten == "" && prio <= 0 {
		if wasDialplan {
			s.dialplanHangup(ch, ch.dp.Priority+1)
		} else {
			s.hangup(ch, hangupReq{emit: true, cause: 16, soft: true}, 16)
		}
		return
	}
	if ctxName == "" {
		ctxName = ch.dp.Context
	}
	if exten == "" {
		exten = ch.dp.Exten
	}
	if prio <= 0 {
		prio = 1
	}
	if _, found := s.dialp[ctxName]; !found {
		s.hangup(ch, hangupReq{emit: true, cause: 16, soft: true}, 0)
		return
	}
	s.runDialplan(ch, ctxName, exten, prio)
}

// moveChannel implements POST /channels/{id}/move.
func (s *Sim) moveChannel(ch *channel, appName string, args []string) {
	if args == nil {
		args = []string{}
	}
	if s.activeApp(appName) == nil {
		e := &ev{typ: "ApplicationMoveFailed", body: []kv{{"channel", ch.json()},
			{"destination", appName}, {"args", args}}}
		e.ts = s.now()
		s.deliver(ch.stasis, e)
		return
	}
	wasDialplan := ch.stasisDialplan
	s.leaveStasis(ch)
	s.enterStasisQuiet(ch, appName, args, wasDialplan)
}

// enterStasisQuiet enters Stasis without the STASISSTATUS variable (a
// move keeps the channel inside Stasis()).
func (s *Sim) enterStasisQuiet(ch *channel, name string, args []string, fromDialplan bool) {
	a := s.activeApp(name)
	if a == nil {
		return
	}
	ch.stasis = a
	ch.stasisDialplan = fromDialplan
	s.subscribe(ch, a)
	e := &ev{typ: "StasisStart", body: []kv{{"args", args}, {"channel", ch.json()}}}
	e.ts = s.now()
	s.deliver(a, e)
}
