package arisim

import (
	"slices"
	"strings"
)

// spying is what a Snoop channel does with the audio of the channel it is on. Directions are
// Asterisk's, seen from the spied channel: "in" is the audio read from it (what its far party
// says), "out" the audio written to it (what its far party hears).
type spying struct {
	target       *channel
	spy, whisper string
}

// Errors of POST /channels/{id}/snoop, as chan_snoop's ARI resource words them.
var (
	errSnoopSpy       = errMsg(400, "Invalid direction specified for spy")
	errSnoopWhisper   = errMsg(400, "Invalid direction specified for whisper")
	errSnoopDirection = errMsg(400, "Direction must be specified for at least spy or whisper")
	errSnoopApp       = errMsg(400, "Application name is required")
)

// snoopDirection parses a spy or whisper direction; absent means none.
func snoopDirection(v string) (string, bool) {
	switch v {
	case "":
		return "none", true
	case "none", "in", "out", "both":
		return v, true
	}
	return "", false
}

// snoop implements POST /channels/{id}/snoop[/{snoopId}]: a Snoop channel, Up at once, placed
// in the app with StasisStart (its response comes after that event, as recorded). Like a
// dialplan channel it gets StasisEnd but no ChannelDestroyed; it hangs up with the channel
// it spies on.
func (s *Sim) snoop(r *req) resp {
	spy, okSpy := snoopDirection(r.p.get("spy"))
	if !okSpy {
		return fail(errSnoopSpy)
	}
	whisper, okWhisper := snoopDirection(r.p.get("whisper"))
	if !okWhisper {
		return fail(errSnoopWhisper)
	}
	if spy == "none" && whisper == "none" {
		return fail(errSnoopDirection)
	}
	appName := r.p.get("app")
	if appName == "" {
		return fail(errSnoopApp)
	}
	target := s.channels[r.vars["channelId"]]
	if target == nil {
		return fail(errProvidedChannel)
	}
	id := r.vars["snoopId"]
	if id == "" {
		id = r.p.get("snoopId")
	}
	if id == "" {
		id = s.newUniqueID()
	} else if s.channels[id] != nil {
		return fail(errChannelExists)
	}
	sn := s.newChannel(id, "Snoop/"+target.id+"-"+s.nextSnoopHex(), "Up")
	sn.dp = dialplanJSON{Context: "default", Exten: "s", Priority: 1}
	sn.spying = &spying{target: target, spy: spy, whisper: whisper}
	out := sn.json()
	args := r.p.list("appArgs")
	sn.dp.AppName, sn.dp.AppData = "Stasis", strings.Join(append([]string{appName}, args...), ",")
	target.snoops = append(target.snoops, sn)
	if !s.enterStasis(sn, appName, args, false) {
		s.hangup(sn, reqSilent, 16)
	}
	return ok(out)
}

func init() {
	handle("POST", "channels/{channelId}/snoop", func(s *Sim, r *req) resp { return s.snoop(r) })
	handle("POST", "channels/{channelId}/snoop/{snoopId}", func(s *Sim, r *req) resp { return s.snoop(r) })
}

// Hears returns the ids of the calls whose voices the phone's user hears now, sorted: the
// parties mixed in the bridges its channel is in, and what snoop channels spy on or whisper
// into other channels. Tests use it to check who hears whom.
func (c *Call) Hears() []string {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.ended {
		return nil
	}
	a := audio{seen: map[audioKey]bool{}, voices: map[*Call]bool{}}
	a.written(c.heardCh)
	var out []string
	for v := range a.voices {
		if v != c && !v.ended {
			out = append(out, v.info.ID)
		}
	}
	slices.Sort(out)
	return out
}

// audio walks the flow of voices between channels; seen stops it going round in circles
// (a whisper goes back to the channel it is spied from).
type audio struct {
	seen   map[audioKey]bool
	voices map[*Call]bool
}

type audioKey struct {
	ch      *channel
	written bool
}

func (a *audio) visit(ch *channel, written bool) bool {
	k := audioKey{ch, written}
	if ch == nil || ch.hungup || a.seen[k] {
		return false
	}
	a.seen[k] = true
	return true
}

// read collects the voices in the audio read from ch: its phone's user, what a snoop spies
// on, and what is whispered into it inwards.
func (a *audio) read(ch *channel) {
	if !a.visit(ch, false) {
		return
	}
	if ch.call != nil && ch.call.heardCh == ch {
		a.voices[ch.call] = true
	}
	if sp := ch.spying; sp != nil {
		if sp.spy == "in" || sp.spy == "both" {
			a.read(sp.target)
		}
		if sp.spy == "out" || sp.spy == "both" {
			a.written(sp.target)
		}
	}
	for _, sn := range ch.snoops {
		if w := sn.spying.whisper; w == "in" || w == "both" {
			a.written(sn)
		}
	}
}

// written collects the voices in the audio written to ch: the other members of its mixing
// bridge and what is whispered into it outwards.
func (a *audio) written(ch *channel) {
	if !a.visit(ch, true) {
		return
	}
	if b := ch.bridge; b != nil && b.typ == "mixing" {
		for _, m := range b.members {
			if m != ch {
				a.read(m)
			}
		}
	}
	for _, sn := range ch.snoops {
		if w := sn.spying.whisper; w == "out" || w == "both" {
			a.written(sn)
		}
	}
}
