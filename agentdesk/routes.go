package agentdesk

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// public marks a route that needs no session.
const public hotline.Role = ""

// route is an endpoint of the API and the least role that may call it; handlers do the
// object-level checks.
type route struct {
	pattern string
	role    hotline.Role
	handle  func(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error
}

// departmentRoutes are the endpoints a department user (部门用户) may reach besides the public
// ones: the department role stands outside agent < supervisor < admin, so no x-min-role
// admits it and a route lets it through only when listed here (x-department in openapi.yaml).
func departmentRoutes() map[string]bool {
	m := map[string]bool{"GET /api/me": true, "POST /api/logout": true}
	for _, p := range workOrderDepartmentRoutes {
		m[p] = true
	}
	return m
}

// allows reports whether a user of role may call rt.
func (rt route) allows(role hotline.Role) bool {
	if role == hotline.RoleDepartment {
		return rt.role == public || departmentRoutes()[rt.pattern]
	}
	return rt.role == public || role.AtLeast(rt.role)
}

// routeTable lists every endpoint; openapi.yaml describes the same ones (a test compares
// them).
func (s *Server) routeTable() []route {
	return slices.Concat(s.coreRoutes(), s.callRoutes(), s.workOrderRoutes(), s.knowledgeRoutes(), s.supervisorRoutes(), s.flowRoutes(), s.auditRoutes(), s.softphoneRoutes(), s.reportRoutes(), s.calendarRoutes(), s.monitorRoutes(), s.promptRoutes(), s.recordingRoutes())
}

// coreRoutes are login, sessions and the agent's own state.
func (s *Server) coreRoutes() []route {
	return []route{
		{"GET /api/openapi.yaml", public, s.openAPI},
		{"POST /api/login", public, s.login},
		{"POST /api/logout", hotline.RoleAgent, s.logout},
		{"GET /api/me", hotline.RoleAgent, s.me},
		{"GET /api/pause-reasons", hotline.RoleAgent, s.pauseReasons},

		{"GET /api/agent/status", hotline.RoleAgent, s.agentStatus},
		{"GET /api/agent/queues", hotline.RoleAgent, s.agentQueues},
		{"GET /api/agent/events", hotline.RoleAgent, s.events},
		{"POST /api/agent/state", hotline.RoleAgent, s.setState},
		{"POST /api/agent/wrapup", hotline.RoleAgent, s.endWrapUp},
		{"POST /api/agent/wrapup/extend", hotline.RoleAgent, s.extendWrapUp},

		{"GET /api/agents/{id}/status", hotline.RoleAgent, s.statusOf},
		{"POST /api/agents/{id}/logout", hotline.RoleSupervisor, s.forceLogout},
	}
}

// routes returns the API's handler: every route behind its session, role and CSRF checks,
// the whole behind panic recovery and security headers.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routeTable() {
		mux.Handle(rt.pattern, s.guard(rt))
	}
	// Anything else under /api/ is answered in JSON too: 405 for a known path asked with
	// another method, 404 otherwise.
	mux.Handle("/api/", s.guard(route{pattern: "/api/", role: public,
		handle: func(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
			var allow []string
			for _, m := range []string{http.MethodGet, http.MethodPost} {
				other := r.Clone(r.Context())
				other.Method = m
				if _, p := mux.Handler(other); p != "/api/" && p != "" {
					allow = append(allow, m)
				}
			}
			if len(allow) > 0 {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				return &problem{err: errMethod, reason: "method not allowed: use " + strings.Join(allow, " or ")}
			}
			return &problem{err: hotline.ErrNotFound, reason: "no such endpoint"}
		}}))
	return s.recoverPanics(securityHeaders(mux))
}

// safeMethod reports whether a request cannot change state.
func safeMethod(r *http.Request) bool {
	return r.Method == http.MethodGet || r.Method == http.MethodHead
}

// guard runs rt's handler after its checks, in this order: a session (401), the role (403),
// for state-changing requests the Origin and the CSRF token (403); it writes the handler's
// error as JSON.
func (s *Server) guard(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var sess *postgres.Session
		if rt.role != public {
			got, err := s.session(r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			sess = &got
			if !rt.allows(sess.Agent.Role) {
				s.fail(w, r, forbidden("requires the %s role", rt.role))
				return
			}
		}
		if !safeMethod(r) {
			if !s.originAllowed(r) {
				s.fail(w, r, forbidden("origin %q is not allowed", r.Header.Get("Origin")))
				return
			}
			if sess != nil && !csrfValid(r, sess) {
				s.fail(w, r, forbidden("missing or wrong %s header", csrfHeader))
				return
			}
		}
		if err := rt.handle(w, r, sess); err != nil {
			s.fail(w, r, err)
		}
	})
}

// Session cookie and CSRF header names.
const (
	cookieName = "hotline_session"
	csrfHeader = "X-CSRF-Token"
)

// session returns the request's live session, marked seen.
func (s *Server) session(r *http.Request) (postgres.Session, error) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return postgres.Session{}, unauthorized("no session")
	}
	sess, err := s.sessions.Session(r.Context(), c.Value)
	if errors.Is(err, hotline.ErrUnauthorized) {
		return postgres.Session{}, unauthorized("session unknown or expired")
	}
	return sess, err
}

func csrfValid(r *http.Request, sess *postgres.Session) bool {
	got := r.Header.Get(csrfHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRFToken)) == 1
}

// originAllowed reports whether the request's Origin, if it has one, is the server's own
// (the Host it was sent to) or an allowed one. Browsers send Origin with every websocket
// handshake and every cross-site POST; clients that are not browsers send none.
func (s *Server) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	if s.origins[strings.ToLower(origin)] {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host)
}
