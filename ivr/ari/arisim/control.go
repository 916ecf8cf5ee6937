package arisim

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
)

// HeardEvent is something a simulated phone experienced: what its user
// hears (play, stop, moh, bridged) and what happens to the call.
type HeardEvent struct {
	// Type is one of placed, incoming, ringing, answered, stasis, play,
	// stop, moh, moh_stop, hold, unhold, bridged, unbridged, dtmf (a key the
	// phone received), key (the caller's key reached the hotline), hangup.
	Type       string    `json:"type"`
	CallID     string    `json:"call_id"`
	Media      string    `json:"media,omitempty"`
	Lang       string    `json:"lang,omitempty"`
	File       string    `json:"file,omitempty"`
	URL        string    `json:"url,omitempty"`
	DurationMS int64     `json:"duration_ms,omitempty"`
	PlaybackID string    `json:"playback_id,omitempty"`
	Digit      string    `json:"digit,omitempty"`
	Cause      int       `json:"cause,omitempty"`
	Peer       string    `json:"peer,omitempty"`
	App        string    `json:"app,omitempty"`
	Time       time.Time `json:"time"`
}

// CallInfo describes a simulated call for listings.
type CallInfo struct {
	ID       string `json:"id"`
	Kind     string `json:"kind"`
	Caller   string `json:"caller,omitempty"`
	Exten    string `json:"exten,omitempty"`
	Endpoint string `json:"endpoint,omitempty"`
	// ChannelID is the channel ARI applications control (the ;2 half of
	// a citizen call, the phone channel of an agent call).
	ChannelID string `json:"channel_id"`
	State     string `json:"state"`
}

// Call is one simulated phone: a citizen calling in (PlaceCall) or an
// agent phone called by an application.
type Call struct {
	s       *Sim
	info    CallInfo
	phone   *channel // the channel the phone's user acts on
	heardCh *channel // the channel whose audio the user hears
	heard   chan HeardEvent
	keep    int          // the capacity of heard
	early   []HeardEvent // events before the first Heard call (at most keep)
	done    chan struct{}
	once    sync.Once
	dropped int
	ended   bool
	flags   map[string]bool
}

// ErrCallEnded is returned when acting on a call that has hung up.
var ErrCallEnded = errors.New("arisim: call ended")

// ErrNoSuchCall is returned for an unknown call id.
var ErrNoSuchCall = errors.New("arisim: no such call")

// CallOptions describes a citizen call placed with PlaceCall.
type CallOptions struct {
	// Caller is the calling number, e.g. "13800138000".
	Caller string `json:"caller"`
	// Exten is the number dialled; informational.
	Exten string `json:"exten"`
	// Context is the dialplan context entered; default "hotline-in".
	Context string `json:"context"`
	// Lang sets the channel language (CHANNEL(language)); default "en".
	Lang string `json:"lang"`
	// HeardBuffer bounds the events Heard keeps for a reader that falls behind; default 256.
	// Thousands of calls whose reader keeps up can take a small one.
	HeardBuffer int `json:"-"`
}

// ID returns the call's id in the control API.
func (c *Call) ID() string { return c.info.ID }

// ChannelID returns the id of the channel the application controls.
func (c *Call) ChannelID() string { return c.info.ChannelID }

// Heard delivers what the phone experiences, in order (the channel is
// created on first use to keep idle calls small; earlier events are kept
// for it). Events beyond its buffer (CallOptions.HeardBuffer) are dropped,
// never blocking the simulator.
func (c *Call) Heard() <-chan HeardEvent {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if c.heard == nil {
		c.heard = make(chan HeardEvent, c.keep)
		for _, e := range c.early {
			c.heard <- e
		}
		c.early = nil
	}
	return c.heard
}

// Done is closed when the call has hung up.
func (c *Call) Done() <-chan struct{} { return c.done }

// Info returns the call's current description.
func (c *Call) Info() CallInfo {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.info
}

// PlaceCall makes a citizen call arrive: a Local channel pair whose ;2
// half runs the dialplan (Set(CALLERID(num)), Stasis(hotline)).
func (s *Sim) PlaceCall(ctx context.Context, o CallOptions) (*Call, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.Caller == "" {
		return nil, errors.New("arisim: caller number required")
	}
	if o.Context == "" {
		o.Context = "hotline-in"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	c1, c2 := s.localPair(o.Caller, o.Context, origOpts{})
	c1.dialing, c1.dialString = true, o.Caller+"@"+o.Context
	c2.state = "Ring"
	if o.Lang != "" {
		c1.lang, c2.lang = o.Lang, o.Lang
	}
	s.channels[c2.id] = c2
	c := s.newCall("citizen", c1, c2)
	if o.HeardBuffer > 0 {
		c.keep = o.HeardBuffer
	}
	c.info.Caller, c.info.Exten = o.Caller, o.Exten
	c.emit(HeardEvent{Type: "placed"})
	s.runDialplan(c2, o.Context, o.Caller, 1)
	return c, nil
}

func (s *Sim) newCall(kind string, phone, heard *channel) *Call {
	s.callSeq++
	c := &Call{s: s, phone: phone, heardCh: heard, keep: 256, done: make(chan struct{}), flags: map[string]bool{}}
	c.info = CallInfo{ID: "call-" + strconv.FormatUint(s.callSeq, 10), Kind: kind, ChannelID: heard.id, State: "ringing"}
	phone.call, heard.call = c, c
	s.calls[c.info.ID] = c
	return c
}

func (s *Sim) newAgentCall(ch *channel) {
	c := s.newCall("agent", ch, ch)
	c.info.Endpoint = ch.ep.cfg.Technology + "/" + ch.ep.cfg.Resource
	c.info.Caller = ch.caller.Number
	c.emit(HeardEvent{Type: "incoming"})
}

// emit records an event for the call's readers; called with s.mu held.
func (c *Call) emit(e HeardEvent) {
	e.CallID = c.info.ID
	if e.Time.IsZero() {
		e.Time = c.s.now()
	}
	switch {
	case c.heard != nil:
		select {
		case c.heard <- e:
		default:
			c.dropped++
		}
	case len(c.early) < c.keep:
		c.early = append(c.early, e)
	default:
		c.dropped++
	}
	for w := range c.s.watchers {
		if w.callID == "" || w.callID == c.info.ID {
			w.send(e)
		}
	}
}

// callEvent reports e to the call owning ch, if the event concerns what
// that side of the call experiences.
func (s *Sim) callEvent(ch *channel, e HeardEvent) {
	c := ch.call
	if c == nil || c.ended {
		return
	}
	switch e.Type {
	case "dtmf":
		if ch != c.phone {
			// The caller's own key reaching the hotline's channel: when it did is what
			// key-to-prompt latencies are measured from.
			e.Type = "key"
		}
	case "answered", "ringing", "stasis":
		if c.flags[e.Type] {
			return
		}
		c.flags[e.Type] = true
		if e.Type == "answered" {
			c.info.State = "up"
		}
	default:
		if ch != c.heardCh {
			return
		}
	}
	c.emit(e)
}

func (s *Sim) callHungup(ch *channel, cause int) {
	c := ch.call
	if c == nil || c.ended {
		return
	}
	c.ended = true
	c.info.State = "hungup"
	c.emit(HeardEvent{Type: "hangup", Cause: cause})
	delete(s.calls, c.info.ID)
	c.once.Do(func() { close(c.done) })
}

func (s *Sim) heardPlay(p *playback, m media) {
	e := HeardEvent{Type: "play", Media: m.uri, Lang: m.lang, URL: m.url,
		DurationMS: m.dur.Milliseconds(), PlaybackID: p.id}
	if m.file != "" {
		e.File = filepath.Base(m.file)
	}
	s.heardOn(p, e)
}

func (s *Sim) heardStop(p *playback) {
	s.heardOn(p, HeardEvent{Type: "stop", PlaybackID: p.id})
}

func (s *Sim) heardOn(p *playback, e HeardEvent) {
	if p.ch != nil {
		s.callEvent(p.ch, e)
		return
	}
	if p.br != nil {
		for _, m := range p.br.members {
			s.callEvent(m, e)
		}
	}
}

func (s *Sim) heardBridge(b *bridge) {
	for _, m := range b.members {
		typ := "bridged"
		s.callEvent(m, HeardEvent{Type: typ, Peer: b.peerValue(m)})
		if b.moh {
			s.callEvent(m, HeardEvent{Type: "moh"})
		}
	}
}

func (s *Sim) callByID(id string) (*Call, error) {
	c := s.calls[id]
	if c == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchCall, id)
	}
	return c, nil
}

// Call returns a live call by id.
func (s *Sim) Call(id string) (*Call, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callByID(id)
}

// Calls lists the live calls, oldest first.
func (s *Sim) Calls() []CallInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CallInfo, 0, len(s.calls))
	for _, c := range s.calls {
		out = append(out, c.info)
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(out[i].ID[5:])
		b, _ := strconv.Atoi(out[j].ID[5:])
		return a < b
	})
	return out
}

// Press sends DTMF from the phone: each digit lasts 100 ms and gap
// separates digits (0 means Asterisk's 100 ms). It returns once the digits
// are queued; they arrive as ChannelDtmfReceived events over time.
func (c *Call) Press(ctx context.Context, digits string, gap time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ended || c.phone.hungup {
		return ErrCallEnded
	}
	if gap <= 0 {
		gap = dtmfDefBetween
	}
	ph := c.phone
	s.sendDTMF(ph, digits, 0, gap, dtmfMinDuration, func(d string, dur time.Duration) {
		if ph.peer != nil {
			s.receiveDTMF(ph.peer, d, dur, true)
		} else {
			s.receiveDTMF(ph, d, dur, true)
		}
	})
	return nil
}

// Hangup hangs up from the phone side (normal clearing).
func (c *Call) Hangup() error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ended || c.phone.hungup {
		return ErrCallEnded
	}
	s.hangup(c.phone, reqPeer(16), 16)
	return nil
}

// Answer answers a ringing agent phone (PhoneManual mode).
func (c *Call) Answer() error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ended || c.phone.hungup {
		return ErrCallEnded
	}
	s.stop(c.phone.phoneTimer)
	s.phoneAnswer(c.phone)
	return nil
}

// Reject declines a ringing agent phone as busy.
func (c *Call) Reject() error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ended || c.phone.hungup {
		return ErrCallEnded
	}
	if c.phone.dialing {
		s.emitDial(c.phone, "BUSY", c.phone.dialString)
		c.phone.dialing = false
	}
	s.hangup(c.phone, reqPeer(17), 17)
	return nil
}

// SetEndpoint adds or replaces a phone endpoint (registration state and
// behaviour).
func (s *Sim) SetEndpoint(cfg EndpointConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := cfg.Technology + "/" + cfg.Resource
	if e := s.endpoints[key]; e != nil {
		e.cfg = cfg
		return
	}
	s.endpoints[key] = newEndpoint(cfg, len(s.endpoints))
}

// Endpoints returns the configured phone endpoints.
func (s *Sim) Endpoints() []EndpointConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.endpointList("")
	out := make([]EndpointConfig, 0, len(l))
	for _, j := range l {
		out = append(out, s.endpoints[j.Technology+"/"+j.Resource].cfg)
	}
	return out
}

// watcher follows HeardEvents for the control websocket.
type watcher struct {
	callID string
	ch     chan HeardEvent
	closed bool
}

func (w *watcher) send(e HeardEvent) {
	if w.closed {
		return
	}
	select {
	case w.ch <- e:
	default:
		w.close() // a slow browser is dropped, the simulator never waits
	}
}

func (w *watcher) close() {
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
}

func (s *Sim) watch(callID string) *watcher {
	w := &watcher{callID: callID, ch: make(chan HeardEvent, 256)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		w.close()
		return w
	}
	s.watchers[w] = struct{}{}
	return w
}

func (s *Sim) unwatch(w *watcher) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.watchers, w)
	w.close()
}
