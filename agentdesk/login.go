package agentdesk

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// loginRequest is the body of POST /api/login.
type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// meResponse is the answer of POST /api/login and GET /api/me: who is logged in and the
// token every state-changing request must carry in X-CSRF-Token.
type meResponse struct {
	User      meUser      `json:"user"`
	CSRFToken string      `json:"csrf_token"`
	Session   sessionView `json:"session"`
	// Status is the agent's state in the ACD after logging in (login only; none for a user
	// who takes no calls).
	Status *statusView `json:"status,omitempty"`
	// Softphone tells that the agent talks through the desk's softphone
	// (GET /api/agent/softphone).
	Softphone bool `json:"softphone"`
}

// meUser is the logged-in user; a department user (部门用户) with the department's name.
type meUser struct {
	userView
	Department *postgres.Department `json:"department,omitempty"`
}

type sessionView struct {
	CreatedAt          time.Time `json:"created_at"`
	ExpiresAt          time.Time `json:"expires_at"`
	IdleTimeoutSeconds int       `json:"idle_timeout_seconds"`
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	me, err := s.meOf(r.Context(), sess, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, me)
	return nil
}

func (s *Server) meOf(ctx context.Context, sess *postgres.Session, st *statusView) (meResponse, error) {
	user := meUser{userView: viewUser(sess.Agent)}
	if sess.Agent.Role == hotline.RoleDepartment {
		id, err := postgres.AgentDepartment(ctx, s.o.DB, sess.Agent.ID)
		if err != nil {
			return meResponse{}, err
		}
		deps, err := postgres.Departments(ctx, s.o.DB)
		if err != nil {
			return meResponse{}, err
		}
		for _, d := range deps {
			if d.ID == id {
				user.Department = &postgres.Department{ID: d.ID, Name: d.Name}
			}
		}
	}
	return meResponse{User: user, CSRFToken: sess.CSRFToken, Status: st,
		Session: sessionView{CreatedAt: sess.CreatedAt, ExpiresAt: sess.ExpiresAt,
			IdleTimeoutSeconds: int(s.sessions.IdleTimeout() / time.Second)},
		Softphone: s.o.Phones != nil && s.o.Phones.Line(sess.Agent.ID) != nil}, nil
}

// login is POST /api/login. A user logs in once: a new login ends the user's other sessions,
// whose websockets are told session_replaced, and takes the agent over in the ACD.
func (s *Server) login(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	var req loginRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	switch {
	case req.Username == "" || req.Password == "":
		return badRequest("username and password are required")
	case len(req.Username) > 64 || len(req.Password) > 256:
		return badRequest("username or password too long")
	}
	ctx := r.Context()
	ip := clientIP(r)
	a, err := s.sessions.Authenticate(ctx, req.Username, req.Password, ip)
	var te *postgres.ThrottledError
	switch {
	case errors.As(err, &te):
		s.log.Warn("desk login throttled", "by", te.By, "ip", ip)
		return err
	case errors.Is(err, hotline.ErrUnauthorized):
		s.log.Info("desk login failed", "ip", ip)
		return unauthorized("wrong username or password")
	case err != nil:
		return err
	}

	token, sess, err := s.sessions.CreateSession(ctx, a.ID, r.UserAgent(), ip)
	if err != nil {
		return err
	}
	replaced, err := s.sessions.DeleteSessionsOf(ctx, a.ID, sess.ID)
	if err != nil {
		return err
	}
	for _, id := range replaced {
		s.hub.endSession(id, endReplaced)
	}
	var status *statusView
	if a.Endpoint != "" {
		prev, st, err := s.states.Login(ctx, a.ID, sess.ID)
		if err != nil {
			// A desk session of an agent the ACD refused is of no use.
			if derr := s.sessions.DeleteSession(context.WithoutCancel(ctx), sess.ID, ip); derr != nil {
				s.log.Warn("desk login: remove session after the ACD refused", "agent_id", a.ID, "err", derr)
			}
			return err
		}
		// Another instance may have logged the agent in between: its session goes too.
		if prev != "" && prev != sess.ID && !slices.Contains(replaced, prev) {
			if err := s.sessions.DeleteSession(ctx, prev, ip); err != nil {
				return err
			}
			s.hub.endSession(prev, endReplaced)
		}
		v := viewStatus(st)
		status = &v
		s.phoneOnline(ctx, a.ID)
	}
	s.hub.mark(a.ID)
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: token, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil || s.o.SecureCookies, SameSite: http.SameSiteStrictMode})
	s.log.Info("desk login", "agent_id", a.ID, "ip", ip, "replaced", len(replaced))
	me, err := s.meOf(ctx, &sess, status)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, me)
	return nil
}

// logout is POST /api/logout: the agent leaves the ACD, then the session ends. An agent who
// may not log out now (on a call, or a disposition owed) gets 409 and stays logged in.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	ctx := r.Context()
	if sess.Agent.Endpoint != "" {
		err := s.states.Logout(ctx, sess.Agent.ID, "logout")
		if err != nil && !errors.Is(err, hotline.ErrNotFound) && !s.loggedOut(ctx, sess.Agent.ID) {
			return err
		}
		s.phoneOffline(sess.Agent.ID)
	}
	if err := s.sessions.DeleteSession(ctx, sess.ID, clientIP(r)); err != nil {
		return err
	}
	s.hub.endSession(sess.ID, endLogout)
	s.clearCookie(w, r)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// loggedOut reports whether the ACD has the agent logged out already (then Logout refusing is
// no reason to keep the session).
func (s *Server) loggedOut(ctx context.Context, agentID int64) bool {
	st, err := s.states.Status(ctx, agentID)
	return err == nil && (st.State == hotline.AgentOffline || st.State == "")
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil || s.o.SecureCookies, SameSite: http.SameSiteStrictMode})
}

// clientIP is the address the request came from. Behind a reverse proxy it is the proxy's,
// and the login throttle's per-address limit counts all its clients together.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
