package agentdesk

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// Monitor runs supervisors' monitoring sessions (listen, whisper, barge) on the calls of
// this instance. The call controller (Options.Calls) provides it where the IVR engine runs
// in the same process; without it the monitoring endpoints answer 409.
type Monitor interface {
	// StartMonitor calls the supervisor's phone and, once answered, lets them hear the
	// agent's call. Errors: hotline.ErrNotFound for a call this instance does not own,
	// hotline.ErrConflict when the call is not talking with the agent or is monitored already.
	StartMonitor(ctx context.Context, m MonitorStart) error
	// SetMonitorMode switches a live session's mode without calling the supervisor again;
	// hotline.ErrNotFound when no such session is live here.
	SetMonitorMode(ctx context.Context, id, mode string) error
	// StopMonitor ends a live session; the call goes on.
	StopMonitor(ctx context.Context, id string) error
	// LiveMonitors lists the live sessions of this instance.
	LiveMonitors() []LiveMonitor
}

// RemoteMonitor carries a monitoring command to the instance that owns the call, through the
// same path as call control: a session on a call of another instance starts, switches mode
// and stops there. *postgres.CommandBus implements it; the call controller (Options.Calls)
// may.
type RemoteMonitor interface {
	Monitor(ctx context.Context, callID string, cmd hotline.MonitorCommand) error
}

var _ RemoteMonitor = (*postgres.CommandBus)(nil)

// onOwner runs a monitoring command here and, for a call or session this instance does not
// have, on the instance that owns the call.
func (s *Server) onOwner(ctx context.Context, here func() error, callID string, cmd hotline.MonitorCommand) error {
	err := here()
	if !errors.Is(err, hotline.ErrNotFound) {
		return err
	}
	if r, ok := s.o.Calls.(RemoteMonitor); ok {
		return r.Monitor(ctx, callID, cmd)
	}
	return err
}

// MonitorStart is a monitoring session to start: ID is its hotline.monitoring_sessions row.
type MonitorStart struct {
	ID            string
	CallID        string
	AgentID       int64
	AgentEndpoint string
	Supervisor    string
	Mode          string
}

// LiveMonitor is a live session: ringing the supervisor, then active.
type LiveMonitor struct {
	ID      string    `json:"id"`
	CallID  string    `json:"call_id"`
	AgentID int64     `json:"agent_id"`
	Mode    string    `json:"mode"`
	State   string    `json:"state"`
	Since   time.Time `json:"since"`
}

// Monitoring modes.
var monitorModes = map[string]bool{"listen": true, "whisper": true, "barge": true}

// monitorRoutes are the supervisors' listening in on agents' calls.
func (s *Server) monitorRoutes() []route {
	return []route{
		{"GET /api/monitoring", hotline.RoleSupervisor, s.monitoring},
		{"POST /api/monitoring", hotline.RoleSupervisor, s.startMonitoring},
		{"POST /api/monitoring/{id}/mode", hotline.RoleSupervisor, s.monitoringMode},
		{"POST /api/monitoring/{id}/stop", hotline.RoleSupervisor, s.stopMonitoring},
	}
}

func (s *Server) monitor() (Monitor, error) {
	m, ok := s.o.Calls.(Monitor)
	if !ok {
		return nil, conflict("listening in is not available on this server")
	}
	return m, nil
}

// monitoring is GET /api/monitoring: the live sessions of this instance and the latest ones.
func (s *Server) monitoring(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	live := []LiveMonitor{}
	if m, ok := s.o.Calls.(Monitor); ok {
		live = append(live, m.LiveMonitors()...)
	}
	// The sessions on the calls of other instances, as the database has them.
	here := ""
	if b, ok := s.o.Calls.(interface{ Instance() string }); ok {
		here = b.Instance()
	}
	elsewhere, err := postgres.LiveMonitoringSessions(r.Context(), s.o.DB, s.now().Add(-s.o.InstanceLease), here)
	if err != nil {
		return err
	}
	for _, l := range elsewhere {
		id := strconv.FormatInt(l.ID, 10)
		if !slices.ContainsFunc(live, func(m LiveMonitor) bool { return m.ID == id }) {
			live = append(live, LiveMonitor{ID: id, CallID: l.CallID, AgentID: l.AgentID, Mode: l.Mode, State: l.State(), Since: l.StartedAt})
		}
	}
	recent, err := postgres.MonitoringSessions(r.Context(), s.o.DB, 0, 50)
	if err != nil {
		return err
	}
	if recent == nil {
		recent = []postgres.MonitoringSession{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"live": live, "recent": recent})
	return nil
}

type startMonitoringRequest struct {
	AgentID int64  `json:"agent_id"`
	Mode    string `json:"mode"`
}

// startMonitoring is POST /api/monitoring: the supervisor's phone rings, and once answered
// they hear the agent's call in the mode asked for. Audited.
func (s *Server) startMonitoring(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req startMonitoringRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	switch {
	case !monitorModes[req.Mode]:
		return badRequest("mode %q: listen, whisper or barge", req.Mode)
	case req.AgentID < 1:
		return badRequest("agent_id is required")
	case req.AgentID == sess.Agent.ID:
		return badRequest("you cannot listen to yourself")
	}
	m, err := s.monitor()
	if err != nil {
		return err
	}
	ctx := r.Context()
	phones, err := postgres.MonitorPhonesOf(ctx, s.o.DB, req.AgentID, sess.Agent.ID)
	if err != nil {
		return err
	}
	if phones.Supervisor == "" {
		return conflict("you have no phone to listen on")
	}
	st, err := s.states.Status(ctx, req.AgentID)
	if err != nil {
		return err
	}
	if st.State != hotline.AgentTalking || st.CallID == "" || phones.Agent == "" {
		return conflict("the agent is not talking on a call")
	}
	now := s.now()
	id, err := postgres.StartMonitoring(ctx, s.o.DB, now, sess.Agent.ID, req.AgentID, st.CallID, phones.Supervisor, req.Mode, clientIP(r))
	if err != nil {
		return err
	}
	sid := strconv.FormatInt(id, 10)
	start := MonitorStart{ID: sid, CallID: st.CallID, AgentID: req.AgentID,
		AgentEndpoint: phones.Agent, Supervisor: phones.Supervisor, Mode: req.Mode}
	err = s.onOwner(ctx, func() error { return m.StartMonitor(ctx, start) }, st.CallID, hotline.MonitorCommand{
		Action: hotline.MonitorActionStart, ID: sid, AgentID: req.AgentID, AgentEndpoint: phones.Agent,
		Supervisor: phones.Supervisor, Mode: req.Mode})
	if err != nil {
		if endErr := postgres.EndMonitoring(context.WithoutCancel(ctx), s.o.DB, id, time.Time{}, s.now(), nil, "failed"); endErr != nil {
			s.log.Error("close a failed monitoring session", "err", endErr)
		}
		switch {
		case errors.Is(err, hotline.ErrNotFound):
			return conflict("the call has ended")
		case errors.Is(err, hotline.ErrConflict):
			return conflict("the call cannot be listened to now: %v", err)
		}
		return err
	}
	writeJSON(w, http.StatusCreated, LiveMonitor{ID: sid, CallID: st.CallID, AgentID: req.AgentID, Mode: req.Mode, State: "ringing", Since: now})
	return nil
}

// ownSession returns the live session of the path, the caller's own (an admin may act on
// any).
func (s *Server) ownSession(r *http.Request, sess *postgres.Session) (postgres.MonitoringSession, error) {
	id, err := pathID(r, "monitoring session")
	if err != nil {
		return postgres.MonitoringSession{}, err
	}
	rows, err := postgres.MonitoringSessions(r.Context(), s.o.DB, id, 1)
	if err != nil {
		return postgres.MonitoringSession{}, err
	}
	ms := rows[0]
	switch {
	case ms.SupervisorID != sess.Agent.ID && sess.Agent.Role != hotline.RoleAdmin:
		return ms, forbidden("the session is another supervisor's")
	case ms.Ended:
		return ms, conflict("the session has ended")
	}
	return ms, nil
}

type monitoringModeRequest struct {
	Mode string `json:"mode"`
}

// monitoringMode is POST /api/monitoring/{id}/mode: listen, whisper or barge from now on,
// on the same call of the supervisor's phone. Audited.
func (s *Server) monitoringMode(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req monitoringModeRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if !monitorModes[req.Mode] {
		return badRequest("mode %q: listen, whisper or barge", req.Mode)
	}
	ms, err := s.ownSession(r, sess)
	if err != nil {
		return err
	}
	m, err := s.monitor()
	if err != nil {
		return err
	}
	sid := strconv.FormatInt(ms.ID, 10)
	err = s.onOwner(r.Context(), func() error { return m.SetMonitorMode(r.Context(), sid, req.Mode) }, ms.CallID,
		hotline.MonitorCommand{Action: hotline.MonitorActionMode, ID: sid, Mode: req.Mode})
	if err != nil {
		if errors.Is(err, hotline.ErrNotFound) {
			return conflict("the session has ended")
		}
		return err
	}
	if err := postgres.AuditMonitoringMode(r.Context(), s.o.DB, s.now(), sess.Agent.ID, ms.ID, req.Mode, clientIP(r)); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.liveMonitor(m, ms, req.Mode))
	return nil
}

// stopMonitoring is POST /api/monitoring/{id}/stop: the supervisor's phone is hung up, the
// call goes on.
func (s *Server) stopMonitoring(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	ms, err := s.ownSession(r, sess)
	if err != nil {
		return err
	}
	m, err := s.monitor()
	if err != nil {
		return err
	}
	sid := strconv.FormatInt(ms.ID, 10)
	err = s.onOwner(r.Context(), func() error { return m.StopMonitor(r.Context(), sid) }, ms.CallID,
		hotline.MonitorCommand{Action: hotline.MonitorActionStop, ID: sid})
	if err != nil {
		if errors.Is(err, hotline.ErrNotFound) {
			return conflict("the session has ended")
		}
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": strconv.FormatInt(ms.ID, 10), "stopped": true})
	return nil
}

// liveMonitor is the live state of ms after a switch to mode: this instance's, or for a
// session on another instance's call what the database says.
func (s *Server) liveMonitor(m Monitor, ms postgres.MonitoringSession, mode string) LiveMonitor {
	id := strconv.FormatInt(ms.ID, 10)
	for _, l := range m.LiveMonitors() {
		if l.ID == id {
			return l
		}
	}
	state := "ringing"
	if ms.AnsweredAt.Valid {
		state = "active"
	}
	return LiveMonitor{ID: id, CallID: ms.CallID, AgentID: ms.AgentID, Mode: mode, State: state, Since: ms.StartedAt}
}
