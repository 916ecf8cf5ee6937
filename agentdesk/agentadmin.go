package agentdesk

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// Agent management under /api/admin/agents: supervisors see every desk user, force an
// agent's state and edit skills; admins create and deactivate users and reset passwords.
// Every change is audited; password hashes are never sent.

// StateForcer is the ACD's command for supervisors; *postgres.ACD implements it.
type StateForcer interface {
	// ForceState sets agentID offline, available or paused (reason a pause reason code) on
	// behalf of actorID, audited.
	ForceState(ctx context.Context, actorID, agentID int64, state hotline.AgentState, reason string) (hotline.AgentStatus, error)
}

var _ StateForcer = (*postgres.ACD)(nil)

// adminAgentsResponse is GET /api/admin/agents.
type adminAgentsResponse struct {
	ServerTime   time.Time               `json:"server_time"`
	Agents       []postgres.ManagedAgent `json:"agents"`
	Skills       []postgres.Skill        `json:"skills"`
	PauseReasons []pauseReasonView       `json:"pause_reasons"`
}

// pauseReasonView is a pause reason as the page reads it.
type pauseReasonView struct {
	Code string `db:"code" json:"code"`
	Name string `db:"name" json:"name"`
}

// adminAgents is GET /api/admin/agents: every desk user with skills and state, and the skills
// and pause reasons there are.
func (s *Server) adminAgents(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	ctx := r.Context()
	agents, err := postgres.ManagedAgents(ctx, s.o.DB)
	if err != nil {
		return err
	}
	skills, err := postgres.Skills(ctx, s.o.DB)
	if err != nil {
		return err
	}
	reasons := []pauseReasonView{}
	if err := s.o.DB.SelectContext(ctx, &reasons, `SELECT code, name FROM hotline.pause_reasons ORDER BY position, code`); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, adminAgentsResponse{ServerTime: s.now(), Agents: agents, Skills: skills, PauseReasons: reasons})
	return nil
}

// managedTarget reads the agent of the path and refuses a target of a higher role.
func (s *Server) managedTarget(r *http.Request, sess *postgres.Session) (hotline.Agent, error) {
	id, err := agentParam(r)
	if err != nil {
		return hotline.Agent{}, err
	}
	a, err := s.sessions.UserByID(r.Context(), id)
	if err != nil {
		return a, err
	}
	if !sess.Agent.Role.AtLeast(a.Role) {
		return a, forbidden("a %s cannot manage a %s", sess.Agent.Role, a.Role)
	}
	return a, nil
}

// forceStateRequest is POST /api/admin/agents/{id}/state.
type forceStateRequest struct {
	// State is paused or offline (a forced logout).
	State hotline.AgentState `json:"state"`
	// PauseReason is the pause reason code for paused.
	PauseReason string `json:"pause_reason"`
	// Reason is why, in words; required.
	Reason string `json:"reason"`
}

// forceState is POST /api/admin/agents/{id}/state: a supervisor pauses an agent or logs them
// out, saying why. Both are audited by the ACD (agent_state_forced, with the reason); a
// logout also ends the agent's sessions, whose desks are told logged_out.
func (s *Server) forceState(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req forceStateRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	req.Reason = strings.TrimSpace(req.Reason)
	switch {
	case req.Reason == "":
		return badRequest("a reason is required")
	case utf8.RuneCountInString(req.Reason) > 200:
		return badRequest("the reason may have at most 200 characters")
	case req.State == hotline.AgentPaused && req.PauseReason == "":
		return badRequest("a pause needs a pause_reason code")
	case req.State != hotline.AgentPaused && req.State != hotline.AgentOffline:
		return badRequest("state %q: a supervisor sets paused or offline", req.State)
	}
	a, err := s.managedTarget(r, sess)
	if err != nil {
		return err
	}
	forcer, ok := s.states.(StateForcer)
	if !ok {
		return errors.New("the ACD cannot force states")
	}
	ctx := r.Context()
	// A pause is forced with its reason code (the ACD audits it) and the words audited beside
	// it; a logout's audit row has the words.
	reason := req.Reason
	if req.State == hotline.AgentPaused {
		reason = req.PauseReason
	}
	st, err := forcer.ForceState(ctx, sess.Agent.ID, a.ID, req.State, reason)
	if err != nil && req.State == hotline.AgentPaused && errors.Is(err, hotline.ErrInvalid) {
		return badRequest("unknown pause reason %q", req.PauseReason)
	}
	if err != nil {
		return err
	}
	if req.State == hotline.AgentPaused {
		if err := postgres.AuditForcedPause(ctx, s.o.DB, s.now(), sess.Agent.ID, a.ID, req.PauseReason, req.Reason, clientIP(r)); err != nil {
			return err
		}
	}
	if req.State == hotline.AgentOffline {
		s.phoneOffline(a.ID)
		ended, err := s.sessions.DeleteSessionsOf(ctx, a.ID, "")
		if err != nil {
			return err
		}
		for _, sid := range ended {
			s.hub.endSession(sid, endLogout)
		}
	}
	s.log.Info("agent state forced by a supervisor", "agent_id", a.ID, "supervisor_id", sess.Agent.ID, "state", req.State)
	writeJSON(w, http.StatusOK, st)
	return nil
}

// skillsRequest is POST /api/admin/agents/{id}/skills.
type skillsRequest struct {
	Skills []postgres.SkillLevel `json:"skills"`
}

// setSkills is POST /api/admin/agents/{id}/skills: a supervisor replaces an agent's skills
// and levels (1–5), audited. Routing uses them from the next call.
func (s *Server) setSkills(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req skillsRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Skills == nil {
		return badRequest("skills is required (an empty list removes them all)")
	}
	a, err := s.managedTarget(r, sess)
	if err != nil {
		return err
	}
	if err := postgres.SetSkills(r.Context(), s.o.DB, s.now(), sess.Agent.ID, a.ID, req.Skills, clientIP(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// createAgent is POST /api/admin/agents: an admin creates a desk user.
func (s *Server) createAgent(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req postgres.NewAgent
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	id, err := postgres.CreateAgent(r.Context(), s.o.DB, s.now(), sess.Agent.ID, req, s.o.Sessions.PasswordCost, clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]int64{"id": id})
	return nil
}

// deactivateAgent is POST /api/admin/agents/{id}/deactivate: an admin deactivates a desk
// user, who is logged out of the ACD and of every session. Refused while they are on a call.
func (s *Server) deactivateAgent(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	a, err := s.managedTarget(r, sess)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if a.ID == sess.Agent.ID {
		return conflict("nobody deactivates themselves")
	}
	st, err := s.states.Status(ctx, a.ID)
	if err != nil {
		return err
	}
	if st.State == hotline.AgentRinging || st.State == hotline.AgentTalking {
		return conflict("%s is on a call; try again after it", a.Username)
	}
	if err := postgres.DeactivateAgent(ctx, s.o.DB, s.now(), sess.Agent.ID, a.ID, clientIP(r)); err != nil {
		return err
	}
	if st.LoggedIn() {
		err := s.states.Logout(ctx, a.ID, "deactivated by "+sess.Agent.Username)
		if err != nil && !errors.Is(err, hotline.ErrNotFound) && !s.loggedOut(ctx, a.ID) {
			return err
		}
	}
	s.phoneOffline(a.ID)
	ended, err := s.sessions.DeleteSessionsOf(ctx, a.ID, "")
	if err != nil {
		return err
	}
	for _, sid := range ended {
		s.hub.endSession(sid, endLogout)
	}
	s.log.Info("desk user deactivated", "agent_id", a.ID, "admin_id", sess.Agent.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// passwordRequest is POST /api/admin/agents/{id}/password.
type passwordRequest struct {
	Password string `json:"password"`
}

// resetPassword is POST /api/admin/agents/{id}/password: an admin sets a desk user's
// password, audited; every session of the user ends.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req passwordRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	a, err := s.managedTarget(r, sess)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if err := postgres.ResetPassword(ctx, s.o.DB, s.now(), sess.Agent.ID, a.ID, req.Password, s.o.Sessions.PasswordCost, clientIP(r)); err != nil {
		return err
	}
	ended, err := s.sessions.DeleteSessionsOf(ctx, a.ID, "")
	if err != nil {
		return err
	}
	for _, sid := range ended {
		s.hub.endSession(sid, endLogout)
	}
	if a.ID == sess.Agent.ID {
		s.clearCookie(w, r)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
