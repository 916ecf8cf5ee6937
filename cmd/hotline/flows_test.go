package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/ivr/flow"
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
