package agentdesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// Flows is what the call flow pages need beyond the database: checking a flow among the
// published ones, running its scenario tests, drawing it, and publishing or rolling back
// after those checks. agentdesk/flowedit implements it.
type Flows interface {
	// Check returns the problems of the set of published flows with source in place of flow
	// name (a new flow when none is published); none means it can run.
	Check(ctx context.Context, name, source string) ([]FlowProblem, error)
	// Test runs the flow's scenario tests with source in place of the flow.
	Test(ctx context.Context, name, source string) (FlowTestReport, error)
	// Graph draws the flow in source as SVG, or returns its problems.
	Graph(ctx context.Context, name, source string) ([]byte, []FlowProblem, error)
	// Publish publishes the flow's draft by desk user by once it passes its checks and tests;
	// a *FlowRefusal says why it did not.
	Publish(ctx context.Context, name string, by int64) (postgres.FlowVersion, error)
	// Rollback publishes version v's source as the flow's next version once the set passes
	// its checks; a *FlowRefusal says why it did not.
	Rollback(ctx context.Context, name string, v int, by int64) (postgres.FlowVersion, error)
	// Schema is the JSON Schema of flow documents, for the editor's hints.
	Schema() []byte
}

// FlowProblem is one thing wrong with a flow: the flow and line it is at (as the editor numbers
// lines, from 1), the node concerned, if any, and what is wrong.
type FlowProblem struct {
	Flow    string `json:"flow"`
	Line    int    `json:"line"`
	Node    string `json:"node,omitempty"`
	Message string `json:"message"`
}

// FlowTestReport is a run of a flow's scenario tests.
type FlowTestReport struct {
	// File is the scenario file run; "" when the flow has none.
	File      string               `json:"file"`
	Passed    bool                 `json:"passed"`
	Scenarios []FlowScenarioResult `json:"scenarios"`
	Coverage  []FlowCoverage       `json:"coverage"`
	// Problems are the flow set's problems when the tests could not run for them.
	Problems  []FlowProblem `json:"problems,omitempty"`
	ElapsedMS int64         `json:"elapsed_ms"`
}

// FlowScenarioResult is the outcome of one scenario.
type FlowScenarioResult struct {
	Name   string   `json:"name"`
	Line   int      `json:"line"`
	Passed bool     `json:"passed"`
	Error  string   `json:"error,omitempty"`
	Heard  []string `json:"heard,omitempty"`
	Path   []string `json:"path,omitempty"`
}

// FlowCoverage is how much of a flow the scenarios went through.
type FlowCoverage struct {
	Flow         string   `json:"flow"`
	Nodes        int      `json:"nodes"`
	NodesCovered int      `json:"nodes_covered"`
	Exits        int      `json:"exits"`
	ExitsCovered int      `json:"exits_covered"`
	MissingNodes []string `json:"missing_nodes,omitempty"`
	MissingExits []string `json:"missing_exits,omitempty"`
}

// FlowRefusal is a publish or rollback refused: the problems of the set or the failed tests.
type FlowRefusal struct {
	Reason   string          `json:"reason"`
	Problems []FlowProblem   `json:"problems,omitempty"`
	Tests    *FlowTestReport `json:"tests,omitempty"`
}

func (r *FlowRefusal) Error() string { return r.Reason }

// Unwrap makes a refusal a conflict: the draft does not fit being published.
func (r *FlowRefusal) Unwrap() error { return hotline.ErrConflict }

// flowRoutes are the call flows supervisors edit, test and publish.
func (s *Server) flowRoutes() []route {
	return []route{
		{"GET /api/flows", hotline.RoleSupervisor, s.listFlows},
		{"GET /api/flows/schema.json", hotline.RoleSupervisor, s.flowSchema},
		{"GET /api/flows/{name}", hotline.RoleSupervisor, s.getFlow},
		{"GET /api/flows/{name}/versions/{version}", hotline.RoleSupervisor, s.getFlowVersion},
		{"GET /api/flows/{name}/diff", hotline.RoleSupervisor, s.diffFlow},
		{"GET /api/flows/{name}/graph.svg", hotline.RoleSupervisor, s.flowGraph},
		{"POST /api/flows/{name}/draft", hotline.RoleSupervisor, s.saveFlowDraft},
		{"POST /api/flows/{name}/draft/discard", hotline.RoleSupervisor, s.discardFlowDraft},
		{"POST /api/flows/{name}/check", hotline.RoleSupervisor, s.checkFlow},
		{"POST /api/flows/{name}/test", hotline.RoleSupervisor, s.testFlow},
		{"POST /api/flows/{name}/publish", hotline.RoleSupervisor, s.publishFlow},
		{"POST /api/flows/{name}/rollback", hotline.RoleSupervisor, s.rollbackFlow},
	}
}

// flowName matches the names of flows (and of their files without .yaml).
var flowName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// flowParam parses the {name} of the path.
func flowParam(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if !flowName.MatchString(name) {
		return "", badRequest("flow name %q: want lower-case letters, digits and _ (at most 40)", name)
	}
	return name, nil
}

// flows returns the flow service, or why there is none.
func (s *Server) flows() (Flows, error) {
	if s.o.Flows == nil {
		return nil, &problem{err: hotline.ErrNotFound, reason: "this server does not edit call flows"}
	}
	return s.o.Flows, nil
}

// listFlows is GET /api/flows: every flow with its published version and its draft.
func (s *Server) listFlows(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	list, err := postgres.FlowSummaries(r.Context(), s.o.DB)
	if err != nil {
		return err
	}
	if list == nil {
		list = []postgres.FlowSummary{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"flows": list})
	return nil
}

// flowSchema is GET /api/flows/schema.json: the JSON Schema of flow documents.
func (s *Server) flowSchema(w http.ResponseWriter, _ *http.Request, _ *postgres.Session) error {
	fl, err := s.flows()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/schema+json")
	w.Write(fl.Schema())
	return nil
}

// flowDetail is GET /api/flows/{name}: the published version, the draft and the history.
type flowDetail struct {
	Flow      string                 `json:"flow"`
	Published *postgres.FlowVersion  `json:"published"`
	Draft     *postgres.FlowDraft    `json:"draft"`
	Versions  []postgres.FlowVersion `json:"versions"`
}

func (s *Server) getFlow(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	name, err := flowParam(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	out := flowDetail{Flow: name, Versions: []postgres.FlowVersion{}}
	versions, err := postgres.FlowVersions(ctx, s.o.DB, name)
	switch {
	case err == nil:
		out.Versions = versions
		for _, v := range versions {
			if v.Active {
				pub, err := postgres.FlowVersionSource(ctx, s.o.DB, name, v.Version)
				if err != nil {
					return err
				}
				out.Published = &pub
			}
		}
	case !errors.Is(err, hotline.ErrNotFound):
		return err
	}
	d, err := postgres.FlowDraftOf(ctx, s.o.DB, name)
	switch {
	case err == nil:
		out.Draft = &d
	case !errors.Is(err, hotline.ErrNotFound):
		return err
	}
	if out.Published == nil && out.Draft == nil {
		return &problem{err: hotline.ErrNotFound, reason: fmt.Sprintf("no flow %q", name)}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// versionParam parses a version number.
func versionParam(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > 1<<30 {
		return 0, badRequest("version %q is not a version number", v)
	}
	return n, nil
}

// getFlowVersion is GET /api/flows/{name}/versions/{version}: a version with its source.
func (s *Server) getFlowVersion(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	name, err := flowParam(r)
	if err != nil {
		return err
	}
	v, err := versionParam(r.PathValue("version"))
	if err != nil {
		return err
	}
	fv, err := postgres.FlowVersionSource(r.Context(), s.o.DB, name, v)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, fv)
	return nil
}

// flowText returns the text of a flow that which names: "draft", "published" or a version
// number, and a label for it.
func (s *Server) flowText(ctx context.Context, name, which string) (string, string, error) {
	switch which {
	case "draft":
		d, err := postgres.FlowDraftOf(ctx, s.o.DB, name)
		return d.Source, "草稿", err
	case "published", "":
		all, err := postgres.ActiveFlows(ctx, s.o.DB)
		if err != nil {
			return "", "", err
		}
		for _, v := range all {
			if v.Flow == name {
				return v.Source, fmt.Sprintf("版本 %d", v.Version), nil
			}
		}
		return "", "", &problem{err: hotline.ErrNotFound, reason: fmt.Sprintf("flow %q is not published", name)}
	}
	v, err := versionParam(which)
	if err != nil {
		return "", "", badRequest("%q: want draft, published or a version number", which)
	}
	fv, err := postgres.FlowVersionSource(ctx, s.o.DB, name, v)
	return fv.Source, fmt.Sprintf("版本 %d", v), err
}

// diffFlow is GET /api/flows/{name}/diff?from=&to=: the lines of two texts of the flow side
// by side (from defaults to the published version, to to the draft).
func (s *Server) diffFlow(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	name, err := flowParam(r)
	if err != nil {
		return err
	}
	from, to := r.URL.Query().Get("from"), r.URL.Query().Get("to")
	if to == "" {
		to = "draft"
	}
	a, la, err := s.flowText(r.Context(), name, from)
	if err != nil {
		return err
	}
	b, lb, err := s.flowText(r.Context(), name, to)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": la, "to": lb, "lines": postgres.DiffLines(a, b),
		"unified": postgres.UnifiedDiff(a, b, name+" "+la, name+" "+lb)})
	return nil
}

// flowGraph is GET /api/flows/{name}/graph.svg[?draft=1|version=N]: the flow drawn; a draft
// that does not parse is answered 409 with its problems.
func (s *Server) flowGraph(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	name, err := flowParam(r)
	if err != nil {
		return err
	}
	fl, err := s.flows()
	if err != nil {
		return err
	}
	which := "published"
	if r.URL.Query().Get("draft") == "1" {
		which = "draft"
	} else if v := r.URL.Query().Get("version"); v != "" {
		which = v
	}
	src, _, err := s.flowText(r.Context(), name, which)
	if err != nil {
		return err
	}
	svg, problems, err := fl.Graph(r.Context(), name, src)
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		writeJSON(w, http.StatusConflict, refusalBody("the flow has problems and cannot be drawn", &FlowRefusal{Problems: problems}))
		return nil
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(svg)
	return nil
}

// maxFlowBody is the largest request body carrying a flow's source.
const maxFlowBody = 256 << 10

// sourceBody is the body of the requests that carry a flow's text.
type sourceBody struct {
	Source *string `json:"source"`
}

// decodeSource reads a sourceBody like decode does, with room for a flow.
func decodeSource(w http.ResponseWriter, r *http.Request, optional bool) (*string, error) {
	var body sourceBody
	if r.ContentLength == 0 {
		if optional {
			return nil, nil
		}
		return nil, badRequest("a JSON body with the flow's source is required")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, &problem{err: errMediaType, reason: "the body must be application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxFlowBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF) && optional:
			return nil, nil
		case errors.As(err, &tooLarge):
			return nil, badRequest("the body is larger than %d bytes", maxFlowBody)
		}
		return nil, badRequest("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, badRequest("malformed JSON: data after the object")
	}
	if body.Source == nil && !optional {
		return nil, badRequest("source is required")
	}
	return body.Source, nil
}

// saveFlowDraft is POST /api/flows/{name}/draft {source}: saves the draft (even one with
// problems, so that work is not lost) and returns it with its problems.
func (s *Server) saveFlowDraft(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	src, err := decodeSource(w, r, false)
	if err != nil {
		return err
	}
	name, err := flowParam(r)
	if err != nil {
		return err
	}
	fl, err := s.flows()
	if err != nil {
		return err
	}
	problems, err := fl.Check(r.Context(), name, *src)
	if err != nil {
		return err
	}
	d, err := postgres.SaveFlowDraft(r.Context(), s.o.DB, name, *src, sess.Agent.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"draft": d, "problems": orEmpty(problems)})
	return nil
}

// discardFlowDraft is POST /api/flows/{name}/draft/discard.
func (s *Server) discardFlowDraft(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	name, err := flowParam(r)
	if err != nil {
		return err
	}
	if err := postgres.DeleteFlowDraft(r.Context(), s.o.DB, name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkFlow is POST /api/flows/{name}/check {source}: the problems of source among the
// published flows, nothing saved.
func (s *Server) checkFlow(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	src, err := decodeSource(w, r, false)
	if err != nil {
		return err
	}
	name, err := flowParam(r)
	if err != nil {
		return err
	}
	fl, err := s.flows()
	if err != nil {
		return err
	}
	problems, err := fl.Check(r.Context(), name, *src)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"problems": orEmpty(problems)})
	return nil
}

// testFlow is POST /api/flows/{name}/test [{source}]: runs the flow's scenario tests against
// source, else the draft, else the published version.
func (s *Server) testFlow(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	src, err := decodeSource(w, r, true)
	if err != nil {
		return err
	}
	name, err := flowParam(r)
	if err != nil {
		return err
	}
	fl, err := s.flows()
	if err != nil {
		return err
	}
	if src == nil {
		text, _, err := s.flowText(r.Context(), name, "draft")
		if errors.Is(err, hotline.ErrNotFound) {
			text, _, err = s.flowText(r.Context(), name, "published")
		}
		if err != nil {
			return err
		}
		src = &text
	}
	rep, err := fl.Test(r.Context(), name, *src)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// publishFlow is POST /api/flows/{name}/publish: the draft becomes the next version when the
// flows check and its tests pass; 409 with the problems or the test report otherwise.
func (s *Server) publishFlow(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	name, err := flowParam(r)
	if err != nil {
		return err
	}
	fl, err := s.flows()
	if err != nil {
		return err
	}
	v, err := fl.Publish(r.Context(), name, sess.Agent.ID)
	if ref := (*FlowRefusal)(nil); errors.As(err, &ref) {
		writeJSON(w, http.StatusConflict, refusalBody("the draft cannot be published", ref))
		return nil
	}
	if err != nil {
		return err
	}
	s.log.Info("flow published", "flow", name, "version", v.Version, "agent_id", sess.Agent.ID)
	writeJSON(w, http.StatusOK, v)
	return nil
}

// rollbackRequest is the body of POST /api/flows/{name}/rollback.
type rollbackRequest struct {
	Version int `json:"version"`
}

// rollbackFlow is POST /api/flows/{name}/rollback {version}: that version's text becomes the
// next version, when the flows still check with it.
func (s *Server) rollbackFlow(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	var req rollbackRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	name, err := flowParam(r)
	if err != nil {
		return err
	}
	if req.Version <= 0 {
		return badRequest("version must be a version number")
	}
	fl, err := s.flows()
	if err != nil {
		return err
	}
	v, err := fl.Rollback(r.Context(), name, req.Version, sess.Agent.ID)
	if ref := (*FlowRefusal)(nil); errors.As(err, &ref) {
		writeJSON(w, http.StatusConflict, refusalBody("the version cannot be restored", ref))
		return nil
	}
	if err != nil {
		return err
	}
	s.log.Info("flow rolled back", "flow", name, "version", v.Version, "restored_from", req.Version, "agent_id", sess.Agent.ID)
	writeJSON(w, http.StatusOK, v)
	return nil
}

// refusalBody is a 409's body: the error code and reason, and what the refusal found.
func refusalBody(what string, ref *FlowRefusal) any {
	reason := what
	if ref.Reason != "" {
		reason += ": " + ref.Reason
	}
	return struct {
		Error    string          `json:"error"`
		Reason   string          `json:"reason"`
		Problems []FlowProblem   `json:"problems"`
		Tests    *FlowTestReport `json:"tests,omitempty"`
	}{"conflict", reason, orEmpty(ref.Problems), ref.Tests}
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
