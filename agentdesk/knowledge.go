package agentdesk

import (
	"net/http"
	"regexp"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// knowledgeRoutes are the knowledge base and the agent's lists (recent calls, callbacks).
// Neither shows a citizen's record (numbers only), so nothing here is audited.
func (s *Server) knowledgeRoutes() []route {
	return []route{
		{"GET /api/knowledge", hotline.RoleAgent, s.knowledge},
		{"GET /api/agent/calls", hotline.RoleAgent, s.recentCalls},
		{"GET /api/agent/callbacks", hotline.RoleAgent, s.myCallbacks},
		{"POST /api/agent/callbacks/{id}/now", hotline.RoleAgent, s.callBackNow},
	}
}

// Limits of the knowledge base's and the lists' queries.
const (
	maxKnowledgeQuery = 40 // characters
	maxKnowledgeLimit = 100
	maxRecentCalls    = 200
	// callbackHistory is how far back the callbacks an agent tried are listed.
	callbackHistory = 7 * 24 * time.Hour
	maxCallbacks    = 200
)

var districtPattern = regexp.MustCompile(`^[0-9]{6}$`)

// limitParam reads the query parameter limit: def when absent, else 1 to max.
func limitParam(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, badRequest("limit must be a number from 1 to %d, got %q", max, v)
	}
	return n, nil
}

// knowledge is GET /api/knowledge: service guides, service stations and the account
// services' rules matching q (see postgres.SearchKnowledge), of one kind or all, the stations
// of one district.
func (s *Server) knowledge(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	v := r.URL.Query()
	q := postgres.KnowledgeQuery{Q: v.Get("q"), Kind: v.Get("kind"), District: v.Get("district")}
	if !utf8.ValidString(q.Q) {
		return badRequest("q is not UTF-8")
	}
	if n := utf8.RuneCountInString(q.Q); n > maxKnowledgeQuery {
		return badRequest("q of %d characters: at most %d", n, maxKnowledgeQuery)
	}
	switch q.Kind {
	case "", postgres.KnowledgeService, postgres.KnowledgeStation, postgres.KnowledgeRule:
	default:
		return badRequest("kind must be service, station or rule, got %q", q.Kind)
	}
	if q.District != "" && !districtPattern.MatchString(q.District) {
		return badRequest("district must be a six-digit district code, got %q", q.District)
	}
	if q.District != "" && q.Kind != "" && q.Kind != postgres.KnowledgeStation {
		return badRequest("district narrows stations only; kind is %q", q.Kind)
	}
	if len(postgres.SearchTerms(q.Q)) == 0 {
		switch {
		case q.Kind == postgres.KnowledgeRule, q.Kind == postgres.KnowledgeService:
		case q.District != "":
			q.Kind = postgres.KnowledgeStation // a district alone lists its stations
		default:
			return badRequest("q is required (words to look for), unless listing the rules, the services or a district's stations")
		}
	}
	limit, err := limitParam(r, 30, maxKnowledgeLimit)
	if err != nil {
		return err
	}
	q.Limit = limit
	hits, err := postgres.SearchKnowledge(r.Context(), s.o.DB, q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"terms": nonNil(postgres.SearchTerms(q.Q)), "results": hits})
	return nil
}

// recentCalls is GET /api/agent/calls: the calls offered to the logged-in agent, newest
// first, with the caller's number in full (the agent spoke to them; it is what a callback
// or a work order needs).
func (s *Server) recentCalls(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	limit, err := limitParam(r, 30, maxRecentCalls)
	if err != nil {
		return err
	}
	calls, err := postgres.RecentCalls(r.Context(), s.o.DB, sess.Agent.ID, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": calls})
	return nil
}

// myCallbacks is GET /api/agent/callbacks: the callbacks of the agent's queues waiting to be
// made, due first, and those the agent tried or asked for in the last seven days.
func (s *Server) myCallbacks(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	limit, err := limitParam(r, 100, maxCallbacks)
	if err != nil {
		return err
	}
	now := s.now()
	cbs, err := postgres.AgentCallbacks(r.Context(), s.o.DB, sess.Agent.ID, now.Add(-callbackHistory), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"server_time": now, "callbacks": cbs})
	return nil
}

// callBackNow is POST /api/agent/callbacks/{id}/now: the waiting callback becomes due now
// and is to be offered to this agent next.
func (s *Server) callBackNow(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return badRequest("callback id %q is not a number", r.PathValue("id"))
	}
	if err := takesCalls(sess); err != nil {
		return err
	}
	if err := postgres.CallBackNow(r.Context(), s.o.DB, sess.Agent.ID, id, s.now()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
