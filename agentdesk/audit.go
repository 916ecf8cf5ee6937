package agentdesk

import (
	"net/http"
	"strconv"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// auditRoutes are the audit log: supervisors see what desk users did with citizens' data;
// admins the full trail (sign-ins, the system's and admins' actions, addresses) and its
// verification.
func (s *Server) auditRoutes() []route {
	return []route{
		{"GET /api/audit", hotline.RoleSupervisor, s.auditLog},
		{"GET /api/audit/verify", hotline.RoleAdmin, s.auditVerify},
	}
}

// auditRow is an audit row as the desk shows it; IP only for admins.
type auditRow struct {
	postgres.AuditEntry
	IP string `json:"ip,omitempty"`
}

// auditLog is GET /api/audit?actor_id=&action=&object_type=&object_id=&from=&to=&limit=&offset=,
// newest first.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	q := r.URL.Query()
	f := postgres.AuditFilter{Action: q.Get("action"), ObjectType: q.Get("object_type"), ObjectID: q.Get("object_id"),
		DeskOnly: !sess.Agent.Role.AtLeast(hotline.RoleAdmin)}
	ints := []struct {
		name string
		dst  *int
		max  int
	}{{"limit", &f.Limit, 500}, {"offset", &f.Offset, 1 << 30}}
	for _, p := range ints {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > p.max {
				return badRequest("%s must be a number from 0 to %d, got %q", p.name, p.max, v)
			}
			*p.dst = n
		}
	}
	if v := q.Get("actor_id"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return badRequest("actor_id must be an agent id, got %q", v)
		}
		f.ActorID = n
	}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(t.name); v != "" {
			at, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return badRequest("%s must be an RFC 3339 time like 2026-12-05T08:00:00+08:00, got %q", t.name, v)
			}
			*t.dst = at
		}
	}
	rows, total, err := postgres.SearchAudit(r.Context(), s.o.DB, f)
	if err != nil {
		return err
	}
	out := make([]auditRow, len(rows))
	for i, e := range rows {
		out[i] = auditRow{AuditEntry: e}
		if !f.DeskOnly {
			out[i].IP = e.IP.String
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rows": out, "total": total})
	return nil
}

// auditVerify is GET /api/audit/verify: the chain recomputed.
func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	rep, err := postgres.VerifyAudit(r.Context(), s.o.DB, nil)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": rep.Problem == "", "rows": rep.Rows, "head": rep.Head.String(),
		"problem": rep.Problem, "seq": rep.Seq})
	return nil
}
