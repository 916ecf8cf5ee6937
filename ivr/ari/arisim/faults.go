package arisim

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/segmentio/encoding/json"
)

// LoseEvents makes the simulator lose the next n deliveries of events of type typ (RecordingFinished,
// PlaybackFinished …) on their way to every application, as a dropped frame or an Asterisk
// bug would: for testing what a controller does when an event it waits for never comes.
// n ≤ 0 stops losing events of that type.
func (s *Sim) LoseEvents(typ string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n <= 0 {
		delete(s.lose, typ)
		return
	}
	if s.lose == nil {
		s.lose = map[string]int{}
	}
	s.lose[typ] = n
}

// lost reports whether e is to be lost, counting it; called with s.mu held.
func (s *Sim) lost(e *ev) bool {
	n := s.lose[e.typ]
	if n <= 0 {
		return false
	}
	if n == 1 {
		delete(s.lose, e.typ)
	} else {
		s.lose[e.typ] = n - 1
	}
	return true
}

// faults are the network and node failures the control API injects (Blackhole, Restart,
// DelayRoute); they have their own lock, read on every ARI request.
type faults struct {
	mu        sync.Mutex
	downUntil time.Time
	delays    map[string]time.Duration // "METHOD route-pattern" → delay
}

// Blackhole silences the events websockets connected now, as a network path that drops
// every packet would: no close frame, no more events (those emitted meanwhile are lost),
// pings unanswered. The socket stays silent until the client gives up on it; a new
// connection is served normally. REST requests are not affected. It returns how many
// sockets went silent.
func (s *Sim) Blackhole() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k := range s.wsConns {
		if !k.silent.Swap(true) {
			n++
		}
	}
	return n
}

// CutSockets closes the events websockets connected now without a close frame, as a
// connection reset does; channels, bridges and calls go on. It returns how many it closed.
func (s *Sim) CutSockets() int {
	s.mu.Lock()
	socks := make([]*socket, 0, len(s.wsConns))
	for k := range s.wsConns {
		socks = append(socks, k)
	}
	s.mu.Unlock()
	for _, k := range socks {
		k.silent.Store(true)
		s.dropSocket(k)
	}
	return len(socks)
}

// Restart makes the node restart as a crashed or restarted Asterisk does: every events
// websocket is cut, every channel and bridge is gone without an event (the phones of the
// control API hear the line drop), and for down the node refuses connections (the TCP
// connection of each ARI request is closed unanswered). Then it serves again, empty.
func (s *Sim) Restart(down time.Duration) {
	s.faults.mu.Lock()
	s.faults.downUntil = time.Now().Add(down)
	s.faults.mu.Unlock()
	s.CutSockets()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.bridges {
		s.destroyBridge(b)
	}
	chans := make([]*channel, 0, len(s.channels))
	for _, ch := range s.channels {
		chans = append(chans, ch)
	}
	for _, ch := range chans {
		s.hangup(ch, reqSilent, 0)
	}
	for name, a := range s.apps {
		if a.sock == nil {
			delete(s.apps, name)
		}
	}
}

// DelayRoute makes the REST requests of one route (method and pattern as the ARI docs
// write them: "POST", "channels/{channelId}/play"; variables match whatever their name) hang for d before they are served, as an
// overloaded or wedged Asterisk does. A request whose client gives up first is not served.
// d ≤ 0 removes the delay.
func (s *Sim) DelayRoute(method, pattern string, d time.Duration) {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	key := strings.ToUpper(method) + " " + routeKey(strings.Split(strings.Trim(pattern, "/"), "/"))
	if d <= 0 {
		delete(s.faults.delays, key)
		return
	}
	if s.faults.delays == nil {
		s.faults.delays = map[string]time.Duration{}
	}
	s.faults.delays[key] = d
}

// routeKey writes a route's segments with its variables unnamed, so that a pattern matches
// whatever it calls them ("channels/{id}/play" is "channels/{channelId}/play").
func routeKey(segs []string) string {
	out := make([]string, len(segs))
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			s = "{}"
		}
		out[i] = s
	}
	return strings.Join(out, "/")
}

// ClearFaults ends every injected fault: the node is up and no route is delayed (sockets
// already silenced stay silent until their client drops them).
func (s *Sim) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	s.faults.downUntil = time.Time{}
	s.faults.delays = nil
}

// faulty applies the injected faults to an ARI request; it reports whether the request
// was dealt with (refused, or abandoned by its client while delayed).
func (s *Sim) faulty(w http.ResponseWriter, r *http.Request) bool {
	s.faults.mu.Lock()
	down := time.Now().Before(s.faults.downUntil)
	var delay time.Duration
	if !down && len(s.faults.delays) > 0 {
		sub := strings.Trim(strings.TrimPrefix(r.URL.Path, "/ari"), "/")
		if rt, _ := matchRoute(sub); rt != nil {
			delay = s.faults.delays[r.Method+" "+routeKey(rt.segs)]
		}
	}
	s.faults.mu.Unlock()
	if down {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return true
			}
		}
		writeError(w, errMsg(503, "Service Unavailable"))
		return true
	}
	if delay > 0 {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-r.Context().Done():
			return true
		case <-t.C:
		}
	}
	return false
}

// faultRoutes adds the fault controls to the control API:
//
//	POST   /faults/blackhole                      Blackhole
//	POST   /faults/cut                            CutSockets
//	POST   /faults/restart   {"down_ms": 2000}    Restart
//	PUT    /faults/delay     {"method": "POST", "route": "channels/{channelId}/play", "delay_ms": 30000}
//	DELETE /faults                                ClearFaults
func (s *Sim) faultRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /faults/blackhole", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, 200, map[string]int{"sockets": s.Blackhole()})
	})
	mux.HandleFunc("POST /faults/cut", func(w http.ResponseWriter, r *http.Request) {
		ctlJSON(w, 200, map[string]int{"sockets": s.CutSockets()})
	})
	mux.HandleFunc("POST /faults/restart", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			DownMS int `json:"down_ms"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.DownMS < 0 {
			ctlError(w, 400, errors.New("down_ms must be a number of milliseconds ≥ 0"))
			return
		}
		s.Restart(time.Duration(body.DownMS) * time.Millisecond)
		w.WriteHeader(204)
	})
	mux.HandleFunc("PUT /faults/delay", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Method  string `json:"method"`
			Route   string `json:"route"`
			DelayMS int    `json:"delay_ms"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Method == "" || body.Route == "" {
			ctlError(w, 400, errors.New("method and route required"))
			return
		}
		s.DelayRoute(body.Method, body.Route, time.Duration(body.DelayMS)*time.Millisecond)
		w.WriteHeader(204)
	})
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFaults()
		w.WriteHeader(204)
	})
}
