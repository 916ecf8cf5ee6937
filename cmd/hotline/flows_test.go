package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// lookupFlows writes a flows directory holding the shipped calendars and a flow with two
// lookups, one with its own timeout; it returns the directory.
func lookupFlows(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cals, err := os.ReadFile("../../flows/calendars.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const src = `flow: timeouts
start: plain
nodes:
  plain:
    kind: lookup
    source: citizen_by_caller
    args: {mobile: caller}
    found: own
    not_found: own
    error: own
    on_timeout: own
  own:
    kind: lookup
    source: citizen_by_caller
    args: {mobile: caller}
    timeout: 1s
    found: bye
    not_found: bye
    error: bye
    on_timeout: bye
  bye: {kind: hangup}
`
	for name, data := range map[string][]byte{"calendars.yaml": cals, "timeouts.yaml": []byte(src)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLookupTimeoutReachesTheFlows loads flows as serve and demo do: ivr.lookup_timeout is
// the timeout of every lookup node that sets none.
func TestLookupTimeoutReachesTheFlows(t *testing.T) {
	dir := lookupFlows(t)
	tests := []struct {
		setting     string
		plain, own  time.Duration
		description string
	}{
		{"", 2 * time.Second, time.Second, "the default, 2s"},
		{"5s", 5 * time.Second, time.Second, "a longer one"},
		{"700ms", 700 * time.Millisecond, time.Second, "a shorter one"},
	}
	for _, tt := range tests {
		t.Run(tt.description, func(t *testing.T) {
			env := []string{"HOTLINE_IVR_FLOWS_DIR=" + dir, "HOTLINE_IVR_SOUNDS_DIR=../../sounds"}
			if tt.setting != "" {
				env = append(env, "HOTLINE_IVR_LOOKUP_TIMEOUT="+tt.setting)
			}
			cfg, err := configFrom(t, "", env)
			if err != nil {
				t.Fatal(err)
			}
			lib, err := (&app{cfg: cfg}).loadFlows()
			if err != nil {
				t.Fatal(err)
			}
			f := lib.Flow("timeouts")
			if got, want := f.Node("plain").(*flow.Lookup).Timeout, tt.plain; got != want {
				t.Errorf("timeout of a lookup that sets none = %v, want %v", got, want)
			}
			if got, want := f.Node("own").(*flow.Lookup).Timeout, tt.own; got != want {
				t.Errorf("timeout of a lookup that sets 1s = %v, want %v", got, want)
			}
		})
	}
}

// TestFlowPaths runs the flows commands on paths as a user gives them: relative with "..",
// absolute, a single file that calls other flows.
func TestFlowPaths(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	src := "flow: bad\nstart: s\nnodes:\n  s: {kind: subflow, flow: nowhere, next: bye}\n  bye: {kind: hangup}\n"
	if err := os.WriteFile(bad, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	relBad, err := filepath.Rel(wd, bad)
	if err != nil {
		t.Fatal(err)
	}
	const problem = `: s: flow: no flow "nowhere"`
	tests := []struct {
		name string
		args []string
		want string // in the output
		err  string // in the error, "" for none
	}{
		{"directory above", []string{"flows", "check", "../../flows"}, "flows ok", ""},
		{"configured directory above", []string{"flows", "check"}, "flows ok", ""},
		{"directory, absolute", []string{"flows", "check", filepath.Join(wd, "../../flows")}, "flows ok", ""},
		{"one flow calling others", []string{"flows", "check", "../../flows/main.yaml"}, "flows ok", ""},
		{"two flows", []string{"flows", "check", "../../flows/main.yaml", "../../flows/bills.yaml"}, "flows ok", ""},
		{"file, absolute", []string{"flows", "check", bad}, bad + ":4" + problem, "1 problem(s)"},
		{"file, relative above", []string{"flows", "check", relBad}, relBad + ":4" + problem, "1 problem(s)"},
		{"missing", []string{"flows", "check", "../nowhere"}, "", "flows: stat ../nowhere: no such file or directory"},
		{"graph from a directory above", []string{"flows", "graph", "--format", "dot", "main"}, "digraph", ""},
	}
	env := []string{"HOTLINE_IVR_FLOWS_DIR=../../flows", "HOTLINE_IVR_SOUNDS_DIR=../../sounds"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, logs bytes.Buffer
			err := run(context.Background(), tt.args, env, &out, &logs)
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("error: %v\n%s", err, out.String())
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error = %v, want one containing %q", err, tt.err)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out.String())
			}
		})
	}
}

// copyFlows copies the shipped flows (and calendars) into a new directory, with the scenario
// files named in tests; it returns the directory.
func copyFlows(t *testing.T, tests ...string) string {
	t.Helper()
	dir := t.TempDir()
	files, _ := filepath.Glob("../../flows/*.yaml")
	for _, tc := range tests {
		files = append(files, filepath.Join("../../flows/tests", tc))
	}
	if err := os.MkdirAll(filepath.Join(dir, "tests"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		to := filepath.Join(dir, filepath.Base(f))
		if filepath.Base(filepath.Dir(f)) == "tests" {
			to = filepath.Join(dir, "tests", filepath.Base(f))
		}
		if err := os.WriteFile(to, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// flowsCLI runs 'hotline flows …' on the database at url.
func flowsCLI(t *testing.T, url string, args ...string) (string, error) {
	t.Helper()
	root, _ := filepath.Abs("../..")
	env := []string{"HOTLINE_DATABASE_URL=" + url, "HOTLINE_IVR_FLOWS_DIR=" + filepath.Join(root, "flows"),
		"HOTLINE_IVR_SOUNDS_DIR=" + filepath.Join(root, "sounds"), "HOTLINE_LOG_LEVEL=error"}
	var out, logs bytes.Buffer
	err := run(context.Background(), append([]string{"flows"}, args...), env, &out, &logs)
	return out.String() + logs.String(), err
}

// TestFlowsExportImportRoundTrip imports the shipped flows, exports them byte for byte,
// imports a changed copy (one new version, the rest unchanged) and exports it again.
func TestFlowsExportImportRoundTrip(t *testing.T) {
	url := pgtest.URL(t)
	if out, err := flowsCLI(t, url, "export", t.TempDir()); err == nil {
		t.Errorf("export of an empty database: %s, want an error", out)
	}
	if out, err := flowsCLI(t, url, "import", "--skip-tests", "../../flows"); err != nil || !strings.Contains(out, "9 flows imported from ../../flows, 9 changed") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	exported := t.TempDir()
	if out, err := flowsCLI(t, url, "export", exported); err != nil || !strings.Contains(out, "survey\tversion 1\tsystem") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	shipped, _ := filepath.Glob("../../flows/*.yaml")
	for _, f := range shipped {
		name := filepath.Base(f)
		if name == "calendars.yaml" || name == "prompts.yaml" {
			continue
		}
		want, _ := os.ReadFile(f)
		got, err := os.ReadFile(filepath.Join(exported, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("exported %s differs from the file imported (%v)", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(exported, "calendars.yaml")); err == nil {
		t.Error("export wrote calendars.yaml, which is not a flow")
	}

	// A change in one file publishes that flow's next version only.
	changed := copyFlows(t)
	survey := filepath.Join(changed, "survey.yaml")
	data, _ := os.ReadFile(survey)
	edited := strings.Replace(string(data), "\nnodes:", "\n# changed in the browser, exported, committed\nnodes:", 1)
	os.WriteFile(survey, []byte(edited), 0o644)
	out, err := flowsCLI(t, url, "import", "--skip-tests", changed)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	for _, want := range []string{"survey\tversion 2\tpublished (was version 1)", "main\tversion 1\tunchanged", ", 1 changed"} {
		if !strings.Contains(out, want) {
			t.Errorf("import says\n%s\nwant a line with %q", out, want)
		}
	}
	again := t.TempDir()
	if out, err := flowsCLI(t, url, "export", again); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(filepath.Join(again, "survey.yaml")); string(got) != edited {
		t.Errorf("exported survey.yaml is not the one imported:\n%s", got)
	}
	db := openTestDB(t, url)
	var diff string
	if err := db.Get(&diff, `SELECT detail->>'diff' FROM hotline.audit_log WHERE action = 'flow_import' AND object_id = 'survey'
		ORDER BY id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(diff, "+# changed in the browser, exported, committed") {
		t.Errorf("audit diff of the import:\n%s", diff)
	}
}

// TestFlowsImportRunsTheScenarios refuses files whose scenario tests fail, and publishes
// them once they pass.
func TestFlowsImportRunsTheScenarios(t *testing.T) {
	url := pgtest.URL(t)
	dir := copyFlows(t, "survey.yaml")
	survey := filepath.Join(dir, "survey.yaml")
	good, _ := os.ReadFile(survey)
	// The survey thanks the caller with the goodbye prompt instead: the scenarios that expect
	// the thanks fail.
	bad := strings.Replace(string(good), "survey/thanks", "common/goodbye", 1)
	if bad == string(good) {
		t.Fatal("survey.yaml has no survey/thanks prompt to change")
	}
	os.WriteFile(survey, []byte(bad), 0o644)
	out, err := flowsCLI(t, url, "import", dir)
	if err == nil || !strings.Contains(err.Error(), "not imported") {
		t.Fatalf("import of failing flows: %v\n%s", err, out)
	}
	db := openTestDB(t, url)
	var n int
	db.Get(&n, `SELECT count(*) FROM hotline.flow_versions`)
	if n != 0 {
		t.Errorf("%d versions published after a refused import", n)
	}
	os.WriteFile(survey, good, 0o644)
	if out, err := flowsCLI(t, url, "import", dir); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	db.Get(&n, `SELECT count(*) FROM hotline.flow_versions WHERE active`)
	if n != 9 {
		t.Errorf("%d active versions after the import, want 9", n)
	}
}

// TestStartupRunsTheDatabaseFlows: an empty database is seeded from the files; a database
// with flows runs its own, whatever the files say.
func TestStartupRunsTheDatabaseFlows(t *testing.T) {
	root, _ := filepath.Abs("../..")
	dir := copyFlows(t)
	cfg, err := configFrom(t, "", []string{"HOTLINE_IVR_FLOWS_DIR=" + dir, "HOTLINE_IVR_SOUNDS_DIR=" + filepath.Join(root, "sounds")})
	if err != nil {
		t.Fatal(err)
	}
	a := &app{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	db := openTestDB(t, pgtest.URL(t))
	ctx := context.Background()
	flows, err := a.loadCallFlows()
	if err != nil {
		t.Fatal(err)
	}
	lib, versions, err := a.databaseFlows(ctx, db, flows)
	if err != nil {
		t.Fatal(err)
	}
	if len(lib.Names()) != 9 || versions["main"] == 0 {
		t.Fatalf("seeded flows %v, versions %v", lib.Names(), versions)
	}
	// A supervisor publishes a change; then the file changes too, without an import.
	src, _ := os.ReadFile(filepath.Join(dir, "survey.yaml"))
	published := strings.Replace(string(src), "一至五级", "一到五级", 1)
	if _, err := postgres.SaveFlowDraft(ctx, db, "survey", published, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.PublishFlowDraft(ctx, db, "survey", 0, nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "survey.yaml"), []byte(strings.Replace(string(src), "一至五级", "一到九级", 1)), 0o644)
	if flows, err = a.loadCallFlows(); err != nil {
		t.Fatal(err)
	}
	lib, versions, err = a.databaseFlows(ctx, db, flows)
	if err != nil {
		t.Fatal(err)
	}
	if got := lib.Flow("survey").Description; !strings.Contains(got, "一到五级") {
		t.Errorf("survey at startup: %q, want the published 一到五级", got)
	}
	var v int
	db.Get(&v, `SELECT version FROM hotline.flow_versions WHERE id = $1`, versions["survey"])
	if v != 2 {
		t.Errorf("survey runs version %d, want 2", v)
	}
}
