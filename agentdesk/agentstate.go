package agentdesk

import (
	"net/http"
	"regexp"
	"time"
	"unicode/utf8"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// The logged-in agent's own state: every command acts on the session's agent, never on an
// agent named in the request.

// Limits of the state commands' values.
const (
	maxNotes        = 2000 // characters
	maxWrapUpExtend = time.Hour
)

// codePattern is the form of pause reason and disposition codes.
var codePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// stateRequest is the body of POST /api/agent/state.
type stateRequest struct {
	State  hotline.AgentState `json:"state"`
	Reason string             `json:"reason"`
}

// setState is POST /api/agent/state: available, or paused with a reason code. Asked during a
// call, a pause is taken when the call's work ends.
func (s *Server) setState(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req stateRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	switch req.State {
	case hotline.AgentAvailable:
		if req.Reason != "" {
			return badRequest("a reason is only for state paused")
		}
	case hotline.AgentPaused:
		if !codePattern.MatchString(req.Reason) {
			return badRequest("a pause needs a reason code (GET /api/pause-reasons)")
		}
	default:
		return badRequest("state must be %q or %q", hotline.AgentAvailable, hotline.AgentPaused)
	}
	if err := takesCalls(sess); err != nil {
		return err
	}
	var st hotline.AgentStatus
	var err error
	if req.State == hotline.AgentAvailable {
		st, err = s.states.SetAvailable(r.Context(), sess.Agent.ID)
	} else {
		st, err = s.states.Pause(r.Context(), sess.Agent.ID, req.Reason)
	}
	return s.answerStatus(w, sess, st, err)
}

// wrapUpRequest is the body of POST /api/agent/wrapup.
type wrapUpRequest struct {
	Disposition string `json:"disposition"`
	Notes       string `json:"notes"`
}

// endWrapUp is POST /api/agent/wrapup: the agent is done with the last call, with a
// disposition code of its queue ("" for none, where the queue allows) and notes.
func (s *Server) endWrapUp(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req wrapUpRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Disposition != "" && !codePattern.MatchString(req.Disposition) {
		return badRequest("disposition %q is not a disposition code", req.Disposition)
	}
	if n := utf8.RuneCountInString(req.Notes); n > maxNotes {
		return badRequest("notes of %d characters: at most %d", n, maxNotes)
	}
	if err := takesCalls(sess); err != nil {
		return err
	}
	st, err := s.states.EndWrapUp(r.Context(), sess.Agent.ID, req.Disposition, req.Notes)
	return s.answerStatus(w, sess, st, err)
}

// extendRequest is the optional body of POST /api/agent/wrapup/extend.
type extendRequest struct {
	Seconds int `json:"seconds"`
}

// extendWrapUp is POST /api/agent/wrapup/extend: more wrap-up time, DefaultWrapUpExtension
// unless the body says how many seconds.
func (s *Server) extendWrapUp(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	req := extendRequest{Seconds: int(DefaultWrapUpExtension / time.Second)}
	if err := decode(w, r, &req, true); err != nil {
		return err
	}
	if d := time.Duration(req.Seconds) * time.Second; d <= 0 || d > maxWrapUpExtend {
		return badRequest("seconds must be between 1 and %d", int(maxWrapUpExtend/time.Second))
	}
	if err := takesCalls(sess); err != nil {
		return err
	}
	st, err := s.states.ExtendWrapUp(r.Context(), sess.Agent.ID, time.Duration(req.Seconds)*time.Second)
	return s.answerStatus(w, sess, st, err)
}

// answerStatus answers a state command with the agent's new state, and has the agent's
// websockets updated at once rather than when the ACD's notification arrives.
func (s *Server) answerStatus(w http.ResponseWriter, sess *postgres.Session, st hotline.AgentStatus, err error) error {
	if err != nil {
		return err
	}
	s.hub.mark(sess.Agent.ID)
	writeJSON(w, http.StatusOK, viewStatus(st))
	return nil
}

// takesCalls refuses the state commands to a user without a phone.
func takesCalls(sess *postgres.Session) error {
	if sess.Agent.Endpoint == "" {
		return conflict("user %s has no phone and takes no calls", sess.Agent.Username)
	}
	return nil
}

// statusResponse is an agent's snapshot with the server's time, from which the desk counts
// the time in state and the waits.
type statusResponse struct {
	ServerTime time.Time `json:"server_time"`
	snapshot
}

// agentStatus is GET /api/agent/status: the logged-in agent's snapshot, as the websocket
// sends it.
func (s *Server) agentStatus(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	snap, err := s.loadSnapshot(r.Context(), sess.Agent)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statusResponse{ServerTime: s.now(), snapshot: snap})
	return nil
}
