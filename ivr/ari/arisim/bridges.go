package arisim

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// bridge is an ARI (stasis) bridge. helpers are the internal announcer and
// recorder channels, visible only in BRIDGEPEER.
type bridge struct {
	id, name  string
	typ       string // mixing or holding
	tech      string
	created   time.Time
	members   []*channel
	helpers   []string
	announcer string
	mohHelper string
	moh       bool
	recorder  string
	subs      map[*app]int
	plays     []*playback
}

func (b *bridge) json() bridgeJSON {
	ids := make([]string, len(b.members))
	for i, m := range b.members {
		ids[i] = m.id
	}
	return bridgeJSON{ID: b.id, Technology: b.tech, BridgeType: b.typ, BridgeClass: "stasis",
		Creator: "Stasis", Name: b.name, Channels: ids, CreationTime: formatTS(b.created), VideoMode: "talker"}
}

func (b *bridge) subList() []*app {
	out := make([]*app, 0, len(b.subs))
	for a, n := range b.subs {
		if n > 0 {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func (s *Sim) createBridge(id, types, name string) (*bridge, *apiError) {
	if id != "" && s.bridges[id] != nil {
		return nil, errBridgeExists(id)
	}
	typ, tech := "mixing", "simple_bridge"
	for _, t := range strings.Split(types, ",") {
		switch strings.TrimSpace(t) {
		case "", "mixing", "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label":
		case "holding":
			typ, tech = "holding", "holding_bridge"
		default:
			return nil, errBridgeCreate
		}
	}
	if id == "" {
		id = newUUID()
	}
	b := &bridge{id: id, name: name, typ: typ, tech: tech, created: s.now(), subs: map[*app]int{}}
	s.bridges[id] = b
	return b, nil
}

// peerValue is BRIDGEPEER for member m: the other participants' names.
func (b *bridge) peerValue(m *channel) string {
	var names []string
	for _, o := range b.members {
		if o != m {
			names = append(names, o.name)
		}
	}
	names = append(names, b.helpers...)
	sort.Strings(names)
	return strings.Join(names, ",")
}

// peerValueMembers names the other real channels of the bridge.
func (b *bridge) peerValueMembers(m *channel) string {
	var names []string
	for _, o := range b.members {
		if o != m {
			names = append(names, o.name)
		}
	}
	return strings.Join(names, ",")
}

// updatePeers reports changed, non-empty BRIDGEPEER values (Asterisk
// clears the variable only when a channel leaves the bridge).
func (s *Sim) updatePeers(b *bridge) {
	if b.typ != "mixing" {
		return
	}
	for _, m := range b.members {
		v := b.peerValue(m)
		if v == "" {
			m.peerStale = true // alone: the old value stays, silently
			continue
		}
		if v != m.bridgePeer || m.peerStale {
			m.peerStale = false
			m.bridgePeer = v
			s.setVar(m, "BRIDGEPEER", v, true)
		}
	}
}

func (s *Sim) addToBridge(b *bridge, ch *channel) {
	if ch.bridge == b {
		return
	}
	if ch.bridge != nil {
		s.leaveBridge(ch, true)
	}
	b.members = append(b.members, ch)
	ch.bridge = b
	s.subscribeBridge(b, ch.stasis)
	s.emitBridge(b, &ev{typ: "ChannelEnteredBridge", body: []kv{{"bridge", b.json()}, {"channel", ch.json()}}})
	s.updatePeers(b)
	if b.typ == "mixing" && len(b.members) == 2 {
		for _, m := range b.members {
			other := b.peerValueMembers(m)
			if other != m.connPeer {
				m.connPeer = other
				s.emitChan(m, &ev{typ: "ChannelConnectedLine", body: []kv{{"channel", m.json()}}})
			}
		}
	}
	s.heardBridge(b)
}

// leaveBridge takes ch out of its bridge. Only a departure requested
// through ARI drops the application's bridge subscription: after a hangup
// inside, the application still receives BridgeDestroyed.
func (s *Sim) leaveBridge(ch *channel, viaARI bool) {
	b := ch.bridge
	if i := slices.Index(b.members, ch); i >= 0 {
		b.members = slices.Delete(b.members, i, i+1)
	}
	ch.bridge = nil
	if ch.bridgePeer != "" {
		ch.bridgePeer = ""
		s.setVar(ch, "BRIDGEPEER", "", true)
	}
	s.emitBridge(b, &ev{typ: "ChannelLeftBridge", body: []kv{{"bridge", b.json()}, {"channel", ch.json()}}})
	if viaARI {
		s.unsubscribeBridge(b, ch.stasis)
	}
	s.updatePeers(b)
	s.callEvent(ch, HeardEvent{Type: "unbridged"})
	s.heardBridge(b)
}

func (s *Sim) destroyBridge(b *bridge) {
	for len(b.members) > 0 {
		s.leaveBridge(b.members[0], true)
	}
	q := b.plays
	b.plays = nil
	for _, p := range q {
		s.stop(p.timer)
		s.unregister(p)
	}
	s.stopRecordingsOf("bridge:"+b.id, false)
	s.emitBridge(b, &ev{typ: "BridgeDestroyed", body: []kv{{"bridge", b.json()}}})
	for a := range b.subs {
		delete(a.bridges, b)
		s.gcApp(a)
	}
	b.subs = map[*app]int{}
	delete(s.bridges, b.id)
}

func (s *Sim) addHelper(b *bridge, prefix string) string {
	name := prefix + s.nextLocalHex() + ";2"
	b.helpers = append(b.helpers, name)
	s.updatePeers(b)
	return name
}

func (s *Sim) removeHelper(b *bridge, name string) {
	if i := slices.Index(b.helpers, name); i >= 0 {
		b.helpers = slices.Delete(b.helpers, i, i+1)
		s.updatePeers(b)
	}
}

func (s *Sim) enqueueBridge(b *bridge, p *playback) {
	p.br = b
	s.register(p)
	if b.announcer == "" && b.typ == "mixing" {
		b.announcer = s.addHelper(b, "Announcer/ARI-")
	}
	b.plays = append(b.plays, p)
	if len(b.plays) == 1 {
		s.startNext(&b.plays)
	}
}

func (s *Sim) announcerDone(b *bridge) {
	if b.announcer != "" {
		s.removeHelper(b, b.announcer)
		b.announcer = ""
	}
}

func (s *Sim) bridgeIn(r *req) (*bridge, *apiError) {
	b := s.bridges[r.vars["bridgeId"]]
	if b == nil {
		return nil, errBridgeNotFound
	}
	return b, nil
}

func withBridge(f func(s *Sim, b *bridge, r *req) resp) handlerFunc {
	return func(s *Sim, r *req) resp {
		b, err := s.bridgeIn(r)
		if err != nil {
			return fail(err)
		}
		return f(s, b, r)
	}
}

// channelsParam resolves the "channel" list of add/removeChannel.
func (s *Sim) channelsParam(r *req) ([]*channel, *apiError) {
	ids := r.p.list("channel")
	if len(ids) == 0 {
		return nil, errMissingChannel
	}
	out := make([]*channel, 0, len(ids))
	for _, id := range ids {
		ch := s.channels[id]
		if ch == nil {
			return nil, errAddChannelNotFound
		}
		out = append(out, ch)
	}
	return out, nil
}

func init() {
	handle("GET", "bridges", func(s *Sim, r *req) resp {
		bs := make([]*bridge, 0, len(s.bridges))
		for _, b := range s.bridges {
			bs = append(bs, b)
		}
		sort.Slice(bs, func(i, j int) bool { return bs[i].created.Before(bs[j].created) })
		out := make([]bridgeJSON, len(bs))
		for i, b := range bs {
			out[i] = b.json()
		}
		return ok(out)
	})
	create := func(s *Sim, r *req) resp {
		id := r.vars["bridgeId"]
		if id == "" {
			id = r.p.get("bridgeId")
		}
		b, err := s.createBridge(id, r.p.get("type"), r.p.get("name"))
		if err != nil {
			return fail(err)
		}
		return ok(b.json())
	}
	handle("POST", "bridges", create)
	handle("POST", "bridges/{bridgeId}", create)
	handle("GET", "bridges/{bridgeId}", withBridge(func(s *Sim, b *bridge, r *req) resp { return ok(b.json()) }))
	handle("DELETE", "bridges/{bridgeId}", withBridge(func(s *Sim, b *bridge, r *req) resp {
		s.destroyBridge(b)
		return noContent()
	}))
	handle("POST", "bridges/{bridgeId}/addChannel", withBridge(func(s *Sim, b *bridge, r *req) resp {
		chs, err := s.channelsParam(r)
		if err != nil {
			return fail(err)
		}
		for _, ch := range chs {
			if ch.stasis == nil {
				return fail(errChannelNotInStasis)
			}
		}
		for _, ch := range chs {
			s.addToBridge(b, ch)
		}
		return noContent()
	}))
	handle("POST", "bridges/{bridgeId}/removeChannel", withBridge(func(s *Sim, b *bridge, r *req) resp {
		chs, err := s.channelsParam(r)
		if err != nil {
			return fail(err)
		}
		for _, ch := range chs {
			if ch.bridge != b {
				return fail(errNotInBridge)
			}
		}
		for _, ch := range chs {
			s.leaveBridge(ch, true)
		}
		return noContent()
	}))
	handle("POST", "bridges/{bridgeId}/moh", withBridge(func(s *Sim, b *bridge, r *req) resp {
		if !b.moh {
			b.moh = true
			if b.typ == "mixing" {
				b.mohHelper = s.addHelper(b, "Announcer/ARI_MOH-")
			}
			s.heardBridge(b)
		}
		return noContent()
	}))
	handle("DELETE", "bridges/{bridgeId}/moh", withBridge(func(s *Sim, b *bridge, r *req) resp {
		if !b.moh {
			return fail(errNoMusic)
		}
		b.moh = false
		if b.mohHelper != "" {
			s.removeHelper(b, b.mohHelper)
			b.mohHelper = ""
		}
		s.heardBridge(b)
		return noContent()
	}))
	play := withBridge(func(s *Sim, b *bridge, r *req) resp {
		p, err := s.playRequest(r, "bridge:"+b.id, "en")
		if err != nil {
			return fail(err)
		}
		out := p.json()
		s.enqueueBridge(b, p)
		return created(out, "/ari/playbacks/"+p.id)
	})
	handle("POST", "bridges/{bridgeId}/play", play)
	handle("POST", "bridges/{bridgeId}/play/{playbackId}", play)
}
