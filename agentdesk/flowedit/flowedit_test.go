package flowedit_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/agentdesk/flowedit"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, postgres.MigrateURL)
}

// shipped are the repository's flows, sounds and calendars, and a flows directory holding
// the calendars only (no scenario files: publishing runs no scenarios).
type shipped struct {
	check    flow.Options
	manifest *prompts.Manifest
	cals     map[string]*flow.Calendar
	dir      string
}

func loadShipped(t testing.TB) shipped {
	t.Helper()
	m, err := prompts.Load("../../sounds")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../flows/calendars.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cals, err := flow.ParseCalendars(data)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range cals {
		names = append(names, n)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "calendars.yaml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return shipped{check: flow.Options{Manifest: m, Calendars: names}, manifest: m, cals: cals, dir: dir}
}

func publishShipped(t *testing.T, db *sqlx.DB) map[string]string {
	t.Helper()
	files, _ := filepath.Glob("../../flows/*.yaml")
	set := map[string]string{}
	var srcs []postgres.FlowSource
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if name == "calendars" || name == "prompts" {
			continue
		}
		src, _ := os.ReadFile(f)
		set[name] = string(src)
		srcs = append(srcs, postgres.FlowSource{Name: name, Source: string(src)})
	}
	if _, err := postgres.PublishFlows(context.Background(), db, srcs, 0); err != nil {
		t.Fatal(err)
	}
	return set
}

// signalling passes the flows on to the engine and says when it did.
type signalling struct {
	*ivr.Engine
	flows, drafts chan struct{}
}

func (s *signalling) SetFlows(lib *flow.Library, versions map[string]int64) error {
	err := s.Engine.SetFlows(lib, versions)
	s.flows <- struct{}{}
	return err
}

func (s *signalling) SetDrafts(lib *flow.Library, versions map[string]int64) {
	s.Engine.SetDrafts(lib, versions)
	s.drafts <- struct{}{}
}

// next waits for a signal; the limit guards against a hang, it is not a timing check.
func next(t *testing.T, c chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s", what)
	}
}

// drain empties c.
func drain(c chan struct{}) {
	for {
		select {
		case <-c:
		default:
			return
		}
	}
}

const testNumber = "13900000009"

// TestTwoInstancesFollowPublishes runs two instances, each an engine on its own simulated
// Asterisk node with its flow service, on one database. A draft saved on A reaches B's test
// calls and no other; publishing on A reaches B's new calls, while B's call in progress
// finishes on the version it started on.
func TestTwoInstancesFollowPublishes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := pgtest.URL(t)
	db, err := postgres.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sh := loadShipped(t)
	set := publishShipped(t, db)
	keys, _ := pii.GenerateKeys()
	protector, _ := pii.NewProtector(keys)
	store := postgres.New(db, protector, nil)
	calls := postgres.NewCallLog(db, nil, postgres.CallLogOptions{})
	defer calls.Close(context.Background())

	opts := func(e flowedit.Engine) flowedit.Options {
		return flowedit.Options{DB: db, URL: url, FlowsDir: sh.dir, SoundsDir: "../../sounds", Check: sh.check, Engine: e}
	}
	lib, versions, err := flowedit.New(opts(nil)).Published(ctx)
	if err != nil {
		t.Fatal(err)
	}
	instance := func(name string) (*flowtest.Harness, *signalling, *flowedit.Service) {
		h, err := flowtest.Start(flowtest.Options{NodeName: name, Speed: 20, Engine: ivr.Config{
			Flows: lib, Versions: versions, Manifest: sh.manifest, SoundsDir: "../../sounds", Calendars: sh.cals,
			Sources: &ivr.PlatformSources{Data: store}, Services: postgres.NewIVRServices(store), Recorder: calls,
			TestNumbers: []string{testNumber},
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		sig := &signalling{Engine: h.Engine, flows: make(chan struct{}, 16), drafts: make(chan struct{}, 16)}
		svc := flowedit.New(opts(sig))
		go svc.Run(ctx)
		next(t, sig.flows, name+"'s first load")
		next(t, sig.drafts, name+"'s first load of the drafts")
		return h, sig, svc
	}
	_, _, svcA := instance("a")
	hB, sigB, _ := instance("b")

	// menu calls from number on B and returns what was heard just before the main menu.
	call := func(number string) (*flowtest.Caller, context.Context) {
		cctx, ccancel := context.WithTimeout(ctx, 60*time.Second)
		t.Cleanup(ccancel)
		c, err := hB.Call(cctx, number)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Expect(cctx, "common/language_choice"); err != nil {
			t.Fatal(err)
		}
		return c, cctx
	}
	beforeMenu := func(c *flowtest.Caller, cctx context.Context) string {
		t.Helper()
		if err := c.Press(cctx, "1", 0); err != nil {
			t.Fatal(err)
		}
		if err := c.Expect(cctx, "main/menu"); err != nil {
			t.Fatal(err)
		}
		before := c.Heard[len(c.Heard)-1]
		for i, id := range c.Heard {
			if id == "main/menu" && i > 0 {
				before = c.Heard[i-1]
			}
		}
		c.Hangup()
		return before
	}

	// The published main menu follows the language choice (or the hours notice); the draft
	// says goodbye first, which no published version does.
	old, oldCtx := call("13800000001") // in progress across the publish
	drainAll := func() { drain(sigB.flows); drain(sigB.drafts) }
	drainAll()
	changed := strings.Replace(set["main"], "prompts: [main/menu, common/agent_hint", "prompts: [common/goodbye, main/menu, common/agent_hint", 1)
	if changed == set["main"] {
		t.Fatal("main.yaml has no main menu prompts to change")
	}
	if probs, err := svcA.Check(ctx, "main", changed); err != nil || len(probs) > 0 {
		t.Fatalf("the changed main flow: %v %v", probs, err)
	}
	if _, err := postgres.SaveFlowDraft(ctx, db, "main", changed, 0); err != nil {
		t.Fatal(err)
	}
	next(t, sigB.drafts, "drafts on B after the save on A")
	if got := beforeMenu(call(testNumber)); got != "common/goodbye" {
		t.Errorf("a test call on B heard %s before the menu, want the draft's common/goodbye", got)
	}
	if got := beforeMenu(call("13800000002")); got == "common/goodbye" {
		t.Error("a citizen's call on B ran the draft")
	}

	drainAll()
	v, err := svcA.Publish(ctx, "main", 0)
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != 2 {
		t.Errorf("published version %d, want 2", v.Version)
	}
	next(t, sigB.flows, "flows on B after the publish on A")
	if got := beforeMenu(call("13800000003")); got != "common/goodbye" {
		t.Errorf("a new call on B heard %s before the menu, want version 2's common/goodbye", got)
	}
	if got := beforeMenu(old, oldCtx); got == "common/goodbye" {
		t.Error("the call in progress on B took version 2")
	}
	hB.Engine.Wait()
	if err := calls.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		Caller  string `db:"caller_number"`
		Version int    `db:"version"`
	}
	if err := db.SelectContext(ctx, &rows, `SELECT c.caller_number, coalesce(v.version, 0) AS version FROM hotline.calls c
		LEFT JOIN hotline.flow_versions v ON v.id = c.flow_version_id ORDER BY c.started_at`); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Caller+" v"+string(rune('0'+r.Version)))
	}
	// The test call of the draft records no published version.
	if want := "13800000001 v1, 13900000009 v0, 13800000002 v1, 13800000003 v2"; strings.Join(got, ", ") != want {
		t.Errorf("calls recorded %s, want %s", strings.Join(got, ", "), want)
	}
}

// TestPublishRefusals: a draft with a problem and a draft whose scenarios fail are refused
// with what was found, and nothing is published.
func TestPublishRefusals(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	sh := loadShipped(t)
	set := publishShipped(t, db)
	os.MkdirAll(filepath.Join(sh.dir, "tests"), 0o755)
	os.WriteFile(filepath.Join(sh.dir, "tests", "survey.yaml"), []byte("scenarios: []\n"), 0o644)
	failing := func(context.Context, flowtest.RunOptions) (flowtest.Report, error) {
		return flowtest.Report{Results: []flowtest.Result{{Scenario: &flowtest.Scenario{Name: "满意", Line: 3}, Err: os.ErrInvalid}}}, nil
	}
	svc := flowedit.New(flowedit.Options{DB: db, FlowsDir: sh.dir, SoundsDir: "../../sounds", Check: sh.check, RunScenarios: failing})

	postgres.SaveFlowDraft(ctx, db, "survey", strings.Replace(set["survey"], "next: judge", "next: jugde", 1), 0)
	_, err := svc.Publish(ctx, "survey", 0)
	ref := (*agentdesk.FlowRefusal)(nil)
	if !asRefusal(err, &ref) || len(ref.Problems) == 0 || ref.Problems[0].Flow != "survey" || ref.Problems[0].Line != 15 {
		t.Fatalf("publish of a broken draft: %v %+v", err, ref)
	}
	postgres.SaveFlowDraft(ctx, db, "survey", strings.Replace(set["survey"], "一至五级", "一到五级", 1), 0)
	_, err = svc.Publish(ctx, "survey", 0)
	if !asRefusal(err, &ref) || ref.Tests == nil || ref.Tests.Passed || len(ref.Tests.Scenarios) != 1 {
		t.Fatalf("publish of a draft failing its scenarios: %v %+v", err, ref)
	}
	vs, _ := postgres.FlowVersions(ctx, db, "survey")
	if len(vs) != 1 {
		t.Errorf("%d versions after refused publishes, want 1", len(vs))
	}

	// A flow renamed in its text, and a flow that breaks another's subflow.
	probs, err := svc.Check(ctx, "survey", strings.Replace(set["survey"], "flow: survey", "flow: surveys", 1))
	if err != nil || len(probs) == 0 || !strings.Contains(probs[len(probs)-1].Message, `must be called "survey"`) || probs[len(probs)-1].Line != 2 {
		t.Errorf("renamed flow: %+v %v", probs, err)
	}
}

func asRefusal(err error, ref **agentdesk.FlowRefusal) bool {
	r, ok := err.(*agentdesk.FlowRefusal)
	if ok {
		*ref = r
	}
	return ok
}

// BenchmarkCheck is the check the editor asks for as a supervisor types: the shipped flows
// loaded together with one of them replaced.
func BenchmarkCheck(b *testing.B) {
	sh := loadShipped(b)
	files, _ := filepath.Glob("../../flows/*.yaml")
	set := map[string]string{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		if name != "calendars" && name != "prompts" {
			src, _ := os.ReadFile(f)
			set[name] = string(src)
		}
	}
	for b.Loop() {
		if _, probs := flowedit.Load(set, sh.check); len(probs) > 0 {
			b.Fatal(probs)
		}
	}
}
