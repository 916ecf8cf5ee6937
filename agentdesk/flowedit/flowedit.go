// Package flowedit is the call flows as supervisors change them: a flow's text checked among
// the published flows, its scenario tests run against it, publishing and rolling back after
// those checks, and the engine told of every change (in this process at once, in every
// other through PostgreSQL's hotline_flows notifications). The flows themselves are in the
// database (package postgres); this package adds what needs the flow language and the test
// harness. It implements agentdesk.Flows.
package flowedit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
	"github.com/foshan-hotline/hotline/postgres"
)

// Engine runs the flows: the published set for every call, the set with the drafts for test
// calls. *ivr.Engine implements it.
type Engine interface {
	SetFlows(lib *flow.Library, versions map[string]int64) error
	// SetDrafts sets what test calls run; nil lib means the published flows.
	SetDrafts(lib *flow.Library, versions map[string]int64)
}

// Options configure a Service.
type Options struct {
	DB *sqlx.DB
	// URL is the database's, for the listener of Run.
	URL string
	// FlowsDir holds calendars.yaml and the scenario files tests/<flow>.yaml; SoundsDir the
	// prompts.
	FlowsDir, SoundsDir string
	// Check is what flows are checked against (the sound manifest, the calendars, the
	// lookup timeout); its Root and Flows are set per check.
	Check flow.Options
	// Engine is told of every change; nil for none (the CLI).
	Engine Engine
	Log    *slog.Logger
	// RunScenarios runs scenario tests; nil means flowtest.RunScenarios.
	RunScenarios func(context.Context, flowtest.RunOptions) (flowtest.Report, error)
}

// Service checks, tests, publishes and rolls back flows, and keeps the engine on the
// published ones.
type Service struct {
	o       Options
	log     *slog.Logger
	testing chan struct{} // one scenario run at a time: each starts a database and a simulator
	mu      sync.Mutex    // serialises reloads
}

var _ agentdesk.Flows = (*Service)(nil)

// New returns the service of o.
func New(o Options) *Service {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.RunScenarios == nil {
		o.RunScenarios = flowtest.RunScenarios
	}
	return &Service{o: o, log: o.Log, testing: make(chan struct{}, 1)}
}

// fileOf is the file name a flow has in a loaded set.
func fileOf(name string) string { return name + ".yaml" }

// Load checks a set of flows given by name as one library, as flows_dir would be: every
// problem of every flow, and a flow whose text names another flow than its own.
func Load(set map[string]string, opt flow.Options) (*flow.Library, []agentdesk.FlowProblem) {
	fsys := fstest.MapFS{}
	var named []agentdesk.FlowProblem
	for _, name := range slices.Sorted(maps.Keys(set)) {
		fsys[fileOf(name)] = &fstest.MapFile{Data: []byte(set[name]), Mode: 0o644}
		if p, ok := misnamed(name, set[name]); ok {
			named = append(named, p)
		}
	}
	opt.Root, opt.Flows = "", nil
	lib, err := flow.LoadDir(fsys, ".", opt)
	var probs flow.Problems
	switch {
	case errors.As(err, &probs):
		return nil, append(convert(probs), named...)
	case err != nil:
		return nil, []agentdesk.FlowProblem{{Line: 1, Message: err.Error()}}
	case len(named) > 0:
		return nil, named
	}
	return lib, nil
}

// flowKey is the top-level key naming a flow.
var flowKey = regexp.MustCompile(`(?m)^flow:[ \t]*["']?([^"'\s#]*)`)

// misnamed reports a flow whose text calls it something else than name.
func misnamed(name, src string) (agentdesk.FlowProblem, bool) {
	m := flowKey.FindStringSubmatchIndex(src)
	if m == nil {
		return agentdesk.FlowProblem{}, false // the checks say the name is missing
	}
	got := src[m[2]:m[3]]
	if got == name || got == "" {
		return agentdesk.FlowProblem{}, false
	}
	line := strings.Count(src[:m[0]], "\n") + 1
	return agentdesk.FlowProblem{Flow: name, Line: line,
		Message: fmt.Sprintf("flow: the flow must be called %q, its name, not %q", name, got)}, true
}

// convert turns the flow language's problems into the API's.
func convert(ps flow.Problems) []agentdesk.FlowProblem {
	out := make([]agentdesk.FlowProblem, len(ps))
	for i, p := range ps {
		out[i] = agentdesk.FlowProblem{Flow: strings.TrimSuffix(path.Base(filepath.ToSlash(p.Pos.File)), ".yaml"),
			Line: p.Pos.Line, Node: p.Node, Message: p.Msg}
	}
	return out
}

// Schema is the JSON Schema of flow documents.
func (s *Service) Schema() []byte { return flow.Schema() }

// published returns the sources and version ids of the active flows.
func (s *Service) published(ctx context.Context) (map[string]string, map[string]int64, error) {
	all, err := postgres.ActiveFlows(ctx, s.o.DB)
	if err != nil {
		return nil, nil, err
	}
	set := make(map[string]string, len(all))
	ids := make(map[string]int64, len(all))
	for _, v := range all {
		set[v.Flow], ids[v.Flow] = v.Source, v.ID
	}
	return set, ids, nil
}

// Check returns the problems of the published flows with source in place of flow name.
func (s *Service) Check(ctx context.Context, name, source string) ([]agentdesk.FlowProblem, error) {
	set, _, err := s.published(ctx)
	if err != nil {
		return nil, err
	}
	set[name] = source
	_, probs := Load(set, s.o.Check)
	return probs, nil
}

// Graph draws the flow in source, checked on its own (its subflows against the published
// flows' names).
func (s *Service) Graph(ctx context.Context, name, source string) ([]byte, []agentdesk.FlowProblem, error) {
	set, _, err := s.published(ctx)
	if err != nil {
		return nil, nil, err
	}
	opt := s.o.Check
	opt.Root = ""
	opt.Flows = slices.Collect(maps.Keys(set))
	f, err := flow.Parse(fileOf(name), []byte(source), opt)
	var probs flow.Problems
	if errors.As(err, &probs) {
		return nil, convert(probs), nil
	}
	if err != nil {
		return nil, nil, err
	}
	return flow.SVG(f), nil, nil
}

// Test runs the scenarios of FlowsDir/tests/<name>.yaml against the published flows with
// source in place of the flow.
func (s *Service) Test(ctx context.Context, name, source string) (agentdesk.FlowTestReport, error) {
	set, _, err := s.published(ctx)
	if err != nil {
		return agentdesk.FlowTestReport{}, err
	}
	set[name] = source
	return s.test(ctx, name, set)
}

// ScenarioFile is the file of a flow's scenario tests in flowsDir.
func ScenarioFile(flowsDir, name string) string {
	return filepath.Join(flowsDir, "tests", fileOf(name))
}

// test runs the flow's scenarios against set.
func (s *Service) test(ctx context.Context, name string, set map[string]string) (agentdesk.FlowTestReport, error) {
	start := time.Now()
	rep := agentdesk.FlowTestReport{Scenarios: []agentdesk.FlowScenarioResult{}, Coverage: []agentdesk.FlowCoverage{}}
	if _, probs := Load(set, s.o.Check); len(probs) > 0 {
		rep.Problems = probs
		return rep, nil
	}
	file := ScenarioFile(s.o.FlowsDir, name)
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		rep.Passed = true // nothing to run; the page says the flow has no tests
		return rep, nil
	}
	rep.File = filepath.ToSlash(filepath.Join("tests", fileOf(name)))
	select {
	case s.testing <- struct{}{}:
		defer func() { <-s.testing }()
	case <-ctx.Done():
		return rep, ctx.Err()
	}
	dir, err := os.MkdirTemp("", "hotline-flows-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(dir)
	if err := WriteFlows(dir, set); err != nil {
		return rep, err
	}
	cal, err := os.ReadFile(filepath.Join(s.o.FlowsDir, "calendars.yaml"))
	if err != nil {
		return rep, fmt.Errorf("calendars: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "calendars.yaml"), cal, 0o644); err != nil {
		return rep, err
	}
	run, err := s.o.RunScenarios(ctx, flowtest.RunOptions{FlowsDir: dir, SoundsDir: s.o.SoundsDir, Files: []string{file},
		LookupTimeout: s.o.Check.LookupTimeout, Log: s.log.With("component", "flowtest")})
	if err != nil {
		return rep, fmt.Errorf("scenario tests of %s: %w", name, err)
	}
	rep.Passed = len(run.Failed()) == 0
	for _, x := range run.Results {
		r := agentdesk.FlowScenarioResult{Name: x.Scenario.Name, Line: x.Scenario.Line, Passed: x.Err == nil}
		if x.Err != nil {
			// The scenario file is named as the page shows it, not by the server's path.
			r.Error, r.Heard, r.Path = strings.ReplaceAll(x.Err.Error(), file, rep.File), x.Heard, x.Path
		}
		rep.Scenarios = append(rep.Scenarios, r)
	}
	slices.SortFunc(rep.Scenarios, func(a, b agentdesk.FlowScenarioResult) int { return a.Line - b.Line })
	for _, c := range run.Coverage {
		if c.Flow != name {
			continue
		}
		rep.Coverage = append(rep.Coverage, agentdesk.FlowCoverage{Flow: c.Flow, Nodes: c.Nodes, NodesCovered: c.NodesCovered,
			Exits: c.Exits, ExitsCovered: c.ExitsCovered, MissingNodes: c.MissingNodes, MissingExits: c.MissingExits})
	}
	rep.ElapsedMS = time.Since(start).Milliseconds()
	return rep, nil
}

// WriteFlows writes each flow of set to dir/<name>.yaml.
func WriteFlows(dir string, set map[string]string) error {
	for name, src := range set {
		if err := os.WriteFile(filepath.Join(dir, fileOf(name)), []byte(src), 0o644); err != nil {
			return fmt.Errorf("write flow: %w", err)
		}
	}
	return nil
}

// Publish publishes the flow's draft once the set checks and the flow's scenarios pass.
func (s *Service) Publish(ctx context.Context, name string, by int64) (postgres.FlowVersion, error) {
	v, err := postgres.PublishFlowDraft(ctx, s.o.DB, name, by, func(ctx context.Context, set map[string]string) error {
		if _, probs := Load(set, s.o.Check); len(probs) > 0 {
			return &agentdesk.FlowRefusal{Reason: fmt.Sprintf("%d problem(s) in the flows", len(probs)), Problems: probs}
		}
		rep, err := s.test(ctx, name, set)
		if err != nil {
			return err
		}
		if !rep.Passed {
			failed := 0
			for _, x := range rep.Scenarios {
				if !x.Passed {
					failed++
				}
			}
			return &agentdesk.FlowRefusal{Reason: fmt.Sprintf("%d of %d scenario tests failed", failed, len(rep.Scenarios)), Tests: &rep}
		}
		return nil
	})
	if ref := (*agentdesk.FlowRefusal)(nil); !errors.As(err, &ref) && errors.Is(err, hotline.ErrConflict) {
		return v, &agentdesk.FlowRefusal{Reason: err.Error()} // a stale draft, or one that changes nothing
	}
	if err != nil {
		return v, err
	}
	s.reload(ctx)
	return v, nil
}

// Rollback publishes version v's text as the flow's next version once the set checks with
// it; scenario tests are not run, a rollback being for when the published version misbehaves.
func (s *Service) Rollback(ctx context.Context, name string, v int, by int64) (postgres.FlowVersion, error) {
	out, err := postgres.RollbackFlow(ctx, s.o.DB, name, v, by, func(_ context.Context, set map[string]string) error {
		if _, probs := Load(set, s.o.Check); len(probs) > 0 {
			return &agentdesk.FlowRefusal{Reason: fmt.Sprintf("version %d no longer fits the other flows", v), Problems: probs}
		}
		return nil
	})
	if err != nil {
		return out, err
	}
	s.reload(ctx)
	return out, nil
}

// Published loads the active flows as a library with their version ids.
func (s *Service) Published(ctx context.Context) (*flow.Library, map[string]int64, error) {
	set, ids, err := s.published(ctx)
	if err != nil {
		return nil, nil, err
	}
	if len(set) == 0 {
		return nil, nil, errors.New("the database has no published flows: run 'hotline flows import'")
	}
	lib, probs := Load(set, s.o.Check)
	if len(probs) > 0 {
		return nil, nil, fmt.Errorf("the published flows do not load (fix them with 'hotline flows import'):\n%s", problemLines(probs))
	}
	return lib, ids, nil
}

func problemLines(ps []agentdesk.FlowProblem) string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = fmt.Sprintf("%s.yaml:%d: %s", p.Flow, p.Line, p.Message)
		if p.Node != "" {
			lines[i] = fmt.Sprintf("%s.yaml:%d: %s: %s", p.Flow, p.Line, p.Node, p.Message)
		}
	}
	return strings.Join(lines, "\n")
}

// reload gives the engine the published flows and, for test calls, the flows with the
// drafts in place; a draft set that does not load leaves test calls on the published flows.
func (s *Service) reload(ctx context.Context) {
	if s.o.Engine == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	lib, ids, err := s.Published(ctx)
	if err != nil {
		s.log.Error("reload flows", "err", err)
		return
	}
	if err := s.o.Engine.SetFlows(lib, ids); err != nil {
		s.log.Error("reload flows", "err", err)
		return
	}
	drafts, err := postgres.FlowDrafts(ctx, s.o.DB)
	if err != nil {
		s.log.Error("reload flow drafts", "err", err)
		return
	}
	if len(drafts) == 0 {
		s.o.Engine.SetDrafts(nil, nil)
		return
	}
	set, _, err := s.published(ctx)
	if err != nil {
		s.log.Error("reload flow drafts", "err", err)
		return
	}
	testIDs := maps.Clone(ids)
	for _, d := range drafts {
		set[d.Flow] = d.Source
		delete(testIDs, d.Flow) // a test call of a draft records no published version
	}
	dlib, probs := Load(set, s.o.Check)
	if len(probs) > 0 {
		s.log.Warn("the drafts do not load: test calls run the published flows", "problems", len(probs))
		s.o.Engine.SetDrafts(nil, nil)
		return
	}
	s.o.Engine.SetDrafts(dlib, testIDs)
}

// Run keeps the engine on the published flows and drafts until ctx ends: it reloads them
// whenever any instance changes them.
func (s *Service) Run(ctx context.Context) error {
	if s.o.URL == "" {
		return errors.New("flowedit: run: no database URL to listen on")
	}
	return postgres.ListenFlows(ctx, s.o.URL, func(string) { s.reload(ctx) }, func(err error) {
		s.log.Warn("flow listener", "err", err)
	})
}
