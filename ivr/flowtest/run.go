package flowtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/seed"
	"github.com/foshan-hotline/hotline/postgres/throwaway"
)

// RunOptions configure RunScenarios. The zero value runs flows/tests/*.yaml against flows/
// and sounds/ of the working directory.
type RunOptions struct {
	// FlowsDir holds the flows and calendars.yaml ("flows"); SoundsDir the prompts ("sounds").
	FlowsDir, SoundsDir string
	// Files are the scenario files; empty means FlowsDir/tests/*.yaml.
	Files []string
	// LookupTimeout is the timeout of lookups that set none (flow.Options.LookupTimeout).
	LookupTimeout time.Duration
	// Citizens is the size of the seeded data (2000); Seed selects it (1).
	Citizens int
	Seed     int64
	// Speed divides prompt lengths in the simulator (20); timeouts of the flows stay real.
	Speed float64
	// Parallel is how many scenarios call at once (12).
	Parallel int
	// StepTimeout bounds each step and the wait for the end of a call (20 s).
	StepTimeout time.Duration
	// RequireCoverage makes Main fail when a flow is not fully covered.
	RequireCoverage bool
	// Log receives the engine's, the simulator's and the database's logs; nil discards them.
	Log *slog.Logger
	// Progress, when set, receives a line per scenario as it finishes.
	Progress io.Writer
}

func (o RunOptions) withDefaults() RunOptions {
	if o.FlowsDir == "" {
		o.FlowsDir = "flows"
	}
	if o.SoundsDir == "" {
		o.SoundsDir = "sounds"
	}
	if o.Citizens == 0 {
		o.Citizens = 2000
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Speed == 0 {
		o.Speed = 20
	}
	if o.Parallel <= 0 {
		o.Parallel = 12
	}
	if o.StepTimeout == 0 {
		o.StepTimeout = 20 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Report is the outcome of a run: a result per scenario and the coverage of every flow.
type Report struct {
	Results  []Result
	Coverage []FlowCoverage
	Elapsed  time.Duration
}

// Result is the outcome of one scenario.
type Result struct {
	Scenario *Scenario
	// Err says what went wrong, with the scenario file's line; nil when the scenario passed.
	Err error
	// Number is the calling number; CallID the call's record.
	Number string
	CallID string
	// Heard is every prompt the caller heard.
	Heard []string
	// Path is the recorded IVR path of a failed scenario's call, flow/node:exit a step.
	Path    []string
	Elapsed time.Duration
}

// Failed returns the results of the scenarios that failed.
func (r Report) Failed() []Result {
	return slices.DeleteFunc(slices.Clone(r.Results), func(x Result) bool { return x.Err == nil })
}

// Complete reports whether every flow is fully covered.
func (r Report) Complete() bool {
	return !slices.ContainsFunc(r.Coverage, func(c FlowCoverage) bool { return !c.Complete() })
}

// Print writes a line per scenario, then Summary.
func (r Report) Print(w io.Writer) {
	for _, x := range r.Results {
		fmt.Fprintln(w, x.line())
	}
	r.Summary(w)
}

// Summary writes the failures with what the caller heard, the totals and the coverage table.
func (r Report) Summary(w io.Writer) {
	for _, x := range r.Failed() {
		fmt.Fprintf(w, "\n%s\n  %s\n  caller %s, call %s\n  heard: %s\n  path: %s\n", x.line(),
			strings.ReplaceAll(x.Err.Error(), "\n", "\n  "), x.Number, orNone(x.CallID), strings.Join(x.Heard, " "),
			strings.Join(x.Path, " "))
	}
	fmt.Fprintf(w, "\n%d scenarios, %d failed, %s\n\n", len(r.Results), len(r.Failed()), r.Elapsed.Round(100*time.Millisecond))
	PrintCoverage(w, r.Coverage)
}

func (x Result) line() string {
	status := "ok  "
	if x.Err != nil {
		status = "FAIL"
	}
	return fmt.Sprintf("%s %s:%d %s (%s)", status, x.Scenario.File, x.Scenario.Line, x.Scenario.Name, x.Elapsed.Round(100*time.Millisecond))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// ErrFailed is returned by Main when a scenario failed or, with RequireCoverage, a flow is
// not fully covered.
var ErrFailed = errors.New("flow tests failed")

// Main runs the scenarios, prints the report to out and returns an error wrapping ErrFailed
// when a scenario failed (or coverage is not full and opts.RequireCoverage is set). It is
// `hotline flows test`.
func Main(ctx context.Context, out io.Writer, opts RunOptions) error {
	if opts.Progress == nil {
		opts.Progress = out
	}
	rep, err := RunScenarios(ctx, opts)
	if err != nil {
		return err
	}
	rep.Summary(out)
	if n := len(rep.Failed()); n > 0 {
		return fmt.Errorf("%w: %d of %d scenarios", ErrFailed, n, len(rep.Results))
	}
	if opts.RequireCoverage && !rep.Complete() {
		return fmt.Errorf("%w: flows not fully covered", ErrFailed)
	}
	return nil
}

// env is what every scenario of a run shares.
type env struct {
	opts     RunOptions
	db       *sqlx.DB
	store    *postgres.Store
	calls    *postgres.CallLog
	roster   *roster
	today    time.Time
	nodes    map[*Harness]string
	versions map[string]int64
	// url is the database's, for the ACD dispatchers' listeners.
	url string
	// agentHarnesses are the contact centres of the harnesses of scenarios with agents;
	// agentMu runs those scenarios one at a time and guards agentSeq, which numbers their
	// agents.
	agentHarnesses map[*Harness]*agentHarness
	agentMu        sync.Mutex
	agentSeq       int
}

// RunScenarios runs scenario files against the flows on a throwaway PostgreSQL, seeded once,
// and the Asterisk simulator: every scenario is one call, several run at once. It returns an
// error only when the run itself could not happen (a bad scenario file, flows that do not
// load, no PostgreSQL); failed scenarios are in the report.
func RunScenarios(ctx context.Context, opts RunOptions) (Report, error) {
	start := time.Now()
	opts = opts.withDefaults()
	files := opts.Files
	if len(files) == 0 {
		var err error
		if files, err = filepath.Glob(filepath.Join(opts.FlowsDir, "tests", "*.yaml")); err != nil {
			return Report{}, err
		}
		if len(files) == 0 {
			return Report{}, fmt.Errorf("no scenario files in %s", filepath.Join(opts.FlowsDir, "tests"))
		}
	}
	scenarios, err := LoadScenarios(files)
	if err != nil {
		return Report{}, err
	}
	lib, manifest, cals, err := loadFlows(opts)
	if err != nil {
		return Report{}, err
	}
	if err := checkScenarios(scenarios, lib, manifest); err != nil {
		return Report{}, err
	}

	cluster, db, err := startDatabase(ctx, opts)
	if err != nil {
		return Report{}, err
	}
	defer cluster.Stop()
	defer db.Close()
	e, err := prepare(ctx, opts, db, lib)
	if err != nil {
		return Report{}, err
	}
	defer e.calls.Close(context.WithoutCancel(ctx))
	e.url = cluster.URL("hotline")

	harnesses, byScenario, err := e.startHarnesses(scenarios, lib, manifest, cals)
	defer func() {
		e.stopDispatchers()
		for _, h := range harnesses {
			h.Close()
		}
	}()
	if err != nil {
		return Report{}, err
	}

	parties := make([]party, len(scenarios))
	for i, s := range scenarios {
		parties[i] = e.caller(ctx, s)
	}
	results := make([]Result, len(scenarios))
	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	var progress sync.Mutex
	// Slower calls first, so that they do not end the run alone.
	order := make([]int, len(scenarios))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return e.speed(scenarios[order[a]]) < e.speed(scenarios[order[b]]) })
	for _, i := range order {
		s := scenarios[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = e.run(ctx, s, parties[i], byScenario[s])
			if opts.Progress != nil {
				progress.Lock()
				fmt.Fprintln(opts.Progress, results[i].line())
				progress.Unlock()
			}
		}()
	}
	wg.Wait()
	e.stopDispatchers()
	for _, h := range harnesses {
		h.Close()
	}
	harnesses = nil
	if err := e.calls.Flush(ctx); err != nil {
		return Report{}, fmt.Errorf("flush call records: %w", err)
	}
	steps, err := loadSteps(ctx, db)
	if err != nil {
		return Report{}, err
	}
	return Report{Results: results, Coverage: Coverage(lib, steps), Elapsed: time.Since(start)}, nil
}

// loadFlows loads the flows, the prompts and the calendars.
func loadFlows(opts RunOptions) (*flow.Library, *prompts.Manifest, map[string]*flow.Calendar, error) {
	manifest, err := prompts.Load(opts.SoundsDir)
	if err != nil {
		return nil, nil, nil, err
	}
	data, err := os.ReadFile(filepath.Join(opts.FlowsDir, "calendars.yaml"))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("calendars: %w", err)
	}
	cals, err := flow.ParseCalendars(data)
	if err != nil {
		return nil, nil, nil, err
	}
	names := make([]string, 0, len(cals))
	for n := range cals {
		names = append(names, n)
	}
	lib, err := flow.LoadDir(os.DirFS(opts.FlowsDir), ".", flow.Options{Manifest: manifest, Calendars: names,
		LookupTimeout: opts.LookupTimeout, Root: opts.FlowsDir})
	if err != nil {
		return nil, nil, nil, err
	}
	return lib, manifest, cals, nil
}

// checkScenarios reports what scenario files name that does not exist.
func checkScenarios(all []*Scenario, lib *flow.Library, m *prompts.Manifest) error {
	var errs []error
	for _, s := range all {
		at := fmt.Sprintf("%s:%d", s.File, s.Line)
		if s.Flow != "" && lib.Flow(s.Flow) == nil {
			errs = append(errs, fmt.Errorf("%s: flow: no flow %q (have %v)", at, s.Flow, lib.Names()))
		}
		if err := s.Backend.check(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at, err))
		}
		for _, st := range s.Steps {
			for _, id := range st.Prompts {
				if _, ok := m.Prompt(id); !ok {
					errs = append(errs, fmt.Errorf("%s:%d: no prompt %q in the sound manifest", s.File, st.Line, id))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// startDatabase starts the throwaway cluster and opens its database.
func startDatabase(ctx context.Context, opts RunOptions) (*throwaway.Cluster, *sqlx.DB, error) {
	to := throwaway.Options{Logger: opts.Log}
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		to.Dir = "/dev/shm" // a memory file system makes the cluster start and seed faster
	}
	cluster, err := throwaway.Start(ctx, to)
	if err != nil {
		return nil, nil, err
	}
	if err := cluster.CreateDatabase(ctx, "hotline", ""); err != nil {
		cluster.Stop()
		return nil, nil, err
	}
	db, err := postgres.Connect(ctx, cluster.URL("hotline"))
	if err != nil {
		cluster.Stop()
		return nil, nil, err
	}
	return cluster, db, nil
}

// prepare migrates and seeds the database, publishes the flows and makes what scenarios share.
func prepare(ctx context.Context, opts RunOptions, db *sqlx.DB, lib *flow.Library) (*env, error) {
	if err := postgres.Migrate(ctx, db.DB, opts.Log); err != nil {
		return nil, err
	}
	keys, err := pii.GenerateKeys()
	if err != nil {
		return nil, err
	}
	protector, err := pii.NewProtector(keys)
	if err != nil {
		return nil, err
	}
	today := seed.DefaultNow
	sum, err := seed.Run(ctx, db, seed.Options{Citizens: opts.Citizens, Seed: opts.Seed, Protector: protector, Now: today,
		PINCost: 4, Log: opts.Log})
	if err != nil {
		return nil, err
	}
	srcs := make([]postgres.FlowSource, 0, len(lib.Names()))
	for _, n := range lib.Names() {
		data, err := os.ReadFile(filepath.Join(opts.FlowsDir, filepath.Base(lib.Flow(n).File)))
		if err != nil {
			return nil, fmt.Errorf("publish flows: %w", err)
		}
		srcs = append(srcs, postgres.FlowSource{Name: n, Source: string(data)})
	}
	versions, err := postgres.PublishFlows(ctx, db, srcs, 0)
	if err != nil {
		return nil, err
	}
	store := postgres.New(db, protector, nil)
	known := map[int64]string{}
	for _, c := range sum.Citizens {
		if c.PIN != "" {
			known[c.ID] = c.PIN
		}
	}
	r, err := newRoster(ctx, db, store, today, known)
	if err != nil {
		return nil, err
	}
	return &env{opts: opts, db: db, store: store, calls: postgres.NewCallLog(db, opts.Log, postgres.CallLogOptions{}),
		roster: r, today: today, nodes: map[*Harness]string{}, versions: versions,
		agentHarnesses: map[*Harness]*agentHarness{}}, nil
}

// speed is the simulator's speed for s.
func (e *env) speed(s *Scenario) float64 {
	if s.Speed > 0 {
		return s.Speed
	}
	return e.opts.Speed
}

// stopDispatchers stops the ACD dispatchers of the harnesses.
func (e *env) stopDispatchers() {
	for _, a := range e.agentHarnesses {
		a.stop()
	}
}

// startHarnesses starts one engine and simulator per distinct entry flow, clock and backend
// of the scenarios, and whether they declare agents, all on the run's database and call log.
// The engine of scenarios with agents is a controller instance of its own, named like its
// node, with the ACD and a dispatcher.
func (e *env) startHarnesses(all []*Scenario, lib *flow.Library, m *prompts.Manifest, cals map[string]*flow.Calendar) ([]*Harness, map[*Scenario]*Harness, error) {
	groups := map[string][]*Scenario{}
	var keys []string
	for _, s := range all {
		k := fmt.Sprint(s.Flow, "|", s.Now.UnixNano(), "|", e.speed(s), "|", s.Backend.key(), "|", len(s.Agents) > 0)
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], s)
	}
	sort.Strings(keys)
	var hs []*Harness
	by := map[*Scenario]*Harness{}
	services := postgres.NewIVRServices(e.store)
	for i, k := range keys {
		first := groups[k][0]
		now := first.Now
		if now.IsZero() {
			now = e.today
		}
		clock := func() time.Time { return now }
		cfg := ivr.Config{
			Flows: lib, Versions: e.versions, Entry: first.Flow, Manifest: m, SoundsDir: e.opts.SoundsDir, Calendars: cals,
			Sources:  &faultySources{next: &ivr.PlatformSources{Data: e.store, Now: clock}, b: first.Backend},
			Services: &faultyServices{next: services, b: first.Backend},
			Recorder: e.calls, Now: clock,
		}
		name := fmt.Sprintf("flowtest%d", i+1)
		var ah *agentHarness
		if len(first.Agents) > 0 {
			ah = &agentHarness{acd: postgres.NewACD(e.store, name)}
			cfg.Instance, cfg.ACD = name, ah.acd
		}
		h, err := Start(Options{Engine: cfg, Speed: e.speed(first), NodeName: name, Log: e.opts.Log})
		if err != nil {
			return hs, nil, err
		}
		hs = append(hs, h)
		e.nodes[h] = name
		if ah != nil {
			e.agentHarnesses[h] = ah
			e.startDispatcher(ah, h)
		}
		for _, s := range groups[k] {
			by[s] = h
		}
	}
	return hs, by, nil
}
