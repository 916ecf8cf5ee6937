package arisim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// ControlHandler returns the control API (separate from ARI):
//
//	POST   /calls                      {"caller","exten","context","lang"} → 201 CallInfo
//	GET    /calls                      → [CallInfo]
//	GET    /calls/{id}                 → CallInfo
//	POST   /calls/{id}/dtmf            {"digits":"12#","gap_ms":300} → 204
//	POST   /calls/{id}/hangup          → 204
//	POST   /calls/{id}/answer|reject   agent and outside phones in manual mode → 204
//	GET    /calls/{id}/events          websocket of HeardEvent JSON
//	GET    /events                     websocket of every call's HeardEvents
//	GET    /endpoints                  → [endpoint]
//	PUT    /endpoints/{tech}/{res}     {"registered","mode","ring_after_ms","answer_after_ms"} → 204
//	GET    /numbers                    → [outside phone]
//	PUT    /numbers/{number}           {"mode","ring_after_ms","answer_after_ms"} → 204: how the
//	                                   outside phone of a number the hotline dials behaves
//	GET    /sounds/{lang}/{name}.wav   the WAV a play event refers to
//	GET    /recordings/{name}.wav      a stored recording
//
// Web pages are kept out: a request from a page of another origin than
// the API's own or Options.ControlOrigins is refused, and one from any page
// must carry the control token (Sim.ControlToken) in the X-Control-Token
// header or, for a websocket, as ?token=. Other clients need no token.
func (s *Sim) ControlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /calls", s.ctlPlaceCall)
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, r *http.Request) { ctlJSON(w, 200, s.Calls()) })
	mux.HandleFunc("GET /calls/{id}", func(w http.ResponseWriter, r *http.Request) {
		c, err := s.Call(r.PathValue("id"))
		if err != nil {
			ctlError(w, 404, err)
			return
		}
		ctlJSON(w, 200, c.Info())
	})
	mux.HandleFunc("POST /calls/{id}/dtmf", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Digits string `json:"digits"`
			GapMS  int    `json:"gap_ms"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Digits == "" {
			ctlError(w, 400, errors.New("digits required"))
			return
		}
		s.ctlCallAction(w, r, func(c *Call) error {
			return c.Press(r.Context(), body.Digits, time.Duration(body.GapMS)*time.Millisecond)
		})
	})
	mux.HandleFunc("POST /calls/{id}/hangup", func(w http.ResponseWriter, r *http.Request) {
		s.ctlCallAction(w, r, (*Call).Hangup)
	})
	mux.HandleFunc("DELETE /calls/{id}", func(w http.ResponseWriter, r *http.Request) {
		s.ctlCallAction(w, r, (*Call).Hangup)
	})
	mux.HandleFunc("POST /calls/{id}/answer", func(w http.ResponseWriter, r *http.Request) {
		s.ctlCallAction(w, r, (*Call).Answer)
	})
	mux.HandleFunc("POST /calls/{id}/reject", func(w http.ResponseWriter, r *http.Request) {
		s.ctlCallAction(w, r, (*Call).Reject)
	})
	mux.HandleFunc("GET /calls/{id}/events", func(w http.ResponseWriter, r *http.Request) {
		if _, err := s.Call(r.PathValue("id")); err != nil {
			ctlError(w, 404, err)
			return
		}
		s.ctlEvents(w, r, r.PathValue("id"))
	})
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) { s.ctlEvents(w, r, "") })
	mux.HandleFunc("GET /endpoints", func(w http.ResponseWriter, r *http.Request) {
		type epOut struct {
			Technology    string `json:"technology"`
			Resource      string `json:"resource"`
			Registered    bool   `json:"registered"`
			Mode          string `json:"mode"`
			RingAfterMS   int64  `json:"ring_after_ms"`
			AnswerAfterMS int64  `json:"answer_after_ms"`
		}
		var out []epOut
		for _, e := range s.Endpoints() {
			out = append(out, epOut{e.Technology, e.Resource, e.Registered, e.Behaviour.Mode,
				e.Behaviour.RingAfter.Milliseconds(), e.Behaviour.AnswerAfter.Milliseconds()})
		}
		ctlJSON(w, 200, out)
	})
	mux.HandleFunc("GET /numbers", func(w http.ResponseWriter, r *http.Request) { ctlJSON(w, 200, s.numberList()) })
	mux.HandleFunc("PUT /numbers/{number}", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Mode          string `json:"mode"`
			RingAfterMS   int    `json:"ring_after_ms"`
			AnswerAfterMS int    `json:"answer_after_ms"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			ctlError(w, 400, err)
			return
		}
		switch body.Mode {
		case "", PhoneAnswer, PhoneBusy, PhoneNoAnswer, PhoneManual, PhoneReject:
		default:
			ctlError(w, 400, errors.New("mode must be answer, busy, noanswer, reject or manual"))
			return
		}
		number := r.PathValue("number")
		if number == "" || strings.Trim(number, "0123456789") != "" {
			ctlError(w, 400, errors.New("number must be digits"))
			return
		}
		s.SetNumber(number, PhoneBehaviour{Mode: body.Mode,
			RingAfter:   time.Duration(body.RingAfterMS) * time.Millisecond,
			AnswerAfter: time.Duration(body.AnswerAfterMS) * time.Millisecond})
		w.WriteHeader(204)
	})
	mux.HandleFunc("PUT /endpoints/{tech}/{res}", func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Registered    bool   `json:"registered"`
			Mode          string `json:"mode"`
			RingAfterMS   int    `json:"ring_after_ms"`
			AnswerAfterMS int    `json:"answer_after_ms"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			ctlError(w, 400, err)
			return
		}
		switch body.Mode {
		case "", PhoneAnswer, PhoneBusy, PhoneNoAnswer, PhoneManual, PhoneReject:
		default:
			ctlError(w, 400, errors.New("mode must be answer, busy, noanswer, reject or manual"))
			return
		}
		s.SetEndpoint(EndpointConfig{Technology: r.PathValue("tech"), Resource: r.PathValue("res"),
			Registered: body.Registered, Behaviour: PhoneBehaviour{Mode: body.Mode,
				RingAfter:   time.Duration(body.RingAfterMS) * time.Millisecond,
				AnswerAfter: time.Duration(body.AnswerAfterMS) * time.Millisecond}})
		w.WriteHeader(204)
	})
	mux.HandleFunc("GET /sounds/{lang}/{name...}", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSuffix(r.PathValue("name"), ".wav")
		dir := s.opts.SoundDirs[r.PathValue("lang")]
		if dir == "" || strings.Contains(name, "..") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "audio/wav")
		http.ServeFile(w, r, filepath.Join(dir, filepath.FromSlash(name)+".wav"))
	})
	mux.HandleFunc("GET /recordings/{name}", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		p := s.storedPath(strings.TrimSuffix(r.PathValue("name"), ".wav"))
		s.mu.Unlock()
		if p == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "audio/wav")
		http.ServeFile(w, r, p)
	})
	s.faultRoutes(mux)
	return s.guardControl(mux)
}

func ctlJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func ctlError(w http.ResponseWriter, status int, err error) {
	ctlJSON(w, status, map[string]string{"error": err.Error()})
}

func (s *Sim) ctlPlaceCall(w http.ResponseWriter, r *http.Request) {
	var o CallOptions
	if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
		ctlError(w, 400, err)
		return
	}
	c, err := s.PlaceCall(r.Context(), o)
	if err != nil {
		ctlError(w, 400, err)
		return
	}
	ctlJSON(w, 201, c.Info())
}

func (s *Sim) ctlCallAction(w http.ResponseWriter, r *http.Request, f func(*Call) error) {
	c, err := s.Call(r.PathValue("id"))
	if err != nil {
		ctlError(w, 404, err)
		return
	}
	if err := f(c); err != nil {
		ctlError(w, 409, err)
		return
	}
	w.WriteHeader(204)
}

// ctlEvents streams HeardEvents as JSON text messages until the client
// leaves or falls too far behind.
func (s *Sim) ctlEvents(w http.ResponseWriter, r *http.Request, callID string) {
	// guardControl has checked the Origin; Accept checks it again.
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: s.opts.ControlOrigins})
	if err != nil {
		return
	}
	defer conn.CloseNow()
	wt := s.watch(callID)
	defer s.unwatch(wt)
	ctx := conn.CloseRead(r.Context())
	for {
		select {
		case <-ctx.Done():
			return
		case e, open := <-wt.ch:
			if !open {
				conn.Close(websocket.StatusPolicyViolation, "too slow or closed")
				return
			}
			b, _ := json.Marshal(e)
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := conn.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				return
			}
		}
	}
}
