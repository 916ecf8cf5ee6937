package agentdesk

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// Endpoints about a named agent: an agent may name only themselves, a supervisor anyone.

// AuditForcedLogout is the audit_log action of a supervisor logging a desk user out
// (object_type desk_user, object_id the username).
const AuditForcedLogout = "forced_logout"

// agentParam parses the {id} of the path.
func agentParam(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badRequest("agent id %q is not a number", r.PathValue("id"))
	}
	return id, nil
}

// statusOf is GET /api/agents/{id}/status: the agent's snapshot, for the agent themselves or
// a supervisor. An agent asking for another gets 403 whether that agent exists or not.
func (s *Server) statusOf(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	id, err := agentParam(r)
	if err != nil {
		return err
	}
	if id != sess.Agent.ID && !sess.Agent.Role.AtLeast(hotline.RoleSupervisor) {
		return forbidden("an agent sees only their own status")
	}
	a, err := s.sessions.UserByID(r.Context(), id)
	if err != nil {
		return err
	}
	snap, err := s.loadSnapshot(r.Context(), a)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, statusResponse{ServerTime: s.now(), snapshot: snap})
	return nil
}

// forceLogout is POST /api/agents/{id}/logout: a supervisor logs a desk user out (someone who
// left without logging out): out of the ACD, then every session, whose websockets are told
// logged_out. Audited. The ACD refuses (409) while the agent is on a call; nobody logs out a
// user of a higher role.
func (s *Server) forceLogout(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	id, err := agentParam(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	a, err := s.sessions.UserByID(ctx, id)
	if err != nil {
		return err
	}
	if !sess.Agent.Role.AtLeast(a.Role) {
		return forbidden("a %s cannot log out a %s", sess.Agent.Role, a.Role)
	}
	if a.Endpoint != "" {
		err := s.states.Logout(ctx, a.ID, "logged out by "+sess.Agent.Username)
		if err != nil && !errors.Is(err, hotline.ErrNotFound) && !s.loggedOut(ctx, a.ID) {
			return err
		}
		s.phoneOffline(a.ID)
	}
	ended, err := s.sessions.DeleteSessionsOf(ctx, a.ID, "")
	if err != nil {
		return err
	}
	for _, sid := range ended {
		s.hub.endSession(sid, endLogout)
	}
	if err := s.sessions.Audit(ctx, sess.Agent.ID, AuditForcedLogout, a.Username, clientIP(r)); err != nil {
		return err
	}
	s.log.Info("desk user logged out by a supervisor", "agent_id", a.ID, "supervisor_id", sess.Agent.ID)
	if a.ID == sess.Agent.ID {
		s.clearCookie(w, r)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
