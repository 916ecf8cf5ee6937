package flow

import (
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"
)

// lookupFlow is a flow whose lookup node sets timeout to the given YAML, or none when empty.
func lookupFlow(timeout string) string {
	src := `flow: a
start: find
nodes:
  find:
    kind: lookup
    source: citizen_by_caller
    args: {mobile: caller}
    found: bye
    not_found: bye
    error: bye
    on_timeout: bye
`
	if timeout != "" {
		src += "    timeout: " + timeout + "\n"
	}
	return src + "  bye: {kind: hangup}\n"
}

func TestLookupTimeoutDefault(t *testing.T) {
	tests := []struct {
		name    string
		node    string        // the node's own timeout, or ""
		def     time.Duration // Options.LookupTimeout
		want    time.Duration
		problem string
	}{
		{name: "built-in default", want: DefaultLookupTimeout},
		{name: "configured default", def: 5 * time.Second, want: 5 * time.Second},
		{name: "configured short default", def: 300 * time.Millisecond, want: 300 * time.Millisecond},
		{name: "the node's own timeout wins", node: "1500ms", def: 5 * time.Second, want: 1500 * time.Millisecond},
		{name: "configured default out of range", def: 30 * time.Second,
			problem: "a.yaml:4: find: the default lookup timeout 30s (ivr.lookup_timeout) is out of range 100ms–10s"},
		{name: "out of range default unused", node: "1s", def: 30 * time.Second, want: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("a.yaml", []byte(lookupFlow(tt.node)), Options{LookupTimeout: tt.def})
			if tt.problem != "" {
				if err == nil || err.Error() != tt.problem {
					t.Fatalf("Parse: err = %v, want %q", err, tt.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := f.Node("find").(*Lookup).Timeout, tt.want; got != want {
				t.Errorf("lookup timeout = %v, want %v", got, want)
			}
		})
	}
}

func TestCheckFileResolvesSubflowsBesideIt(t *testing.T) {
	fsys := fstest.MapFS{
		"flows/main.yaml": {Data: []byte(`flow: main
start: go
nodes:
  go: {kind: subflow, flow: bills, next: more}
  more: {kind: subflow, flow: nowhere, next: bye}
  bye: {kind: hangup}
`)},
		// The flow's name, not its file's, is what a subflow node calls; its own problem is
		// not the checked file's.
		"flows/bills_v2.yaml":  {Data: []byte("flow: bills\nstart: x\nnodes:\n  x: {kind: return}\n  lost: {kind: return}\n")},
		"flows/calendars.yaml": {Data: []byte("not: a flow\n")},
		"other/bills.yaml":     {Data: []byte("flow: other\nstart: x\nnodes:\n  x: {kind: return}\n")},
	}
	probs, err := Check(fsys, []string{"flows/main.yaml"}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := probs.Error(), `flows/main.yaml:5: more: flow: no flow "nowhere"`; got != want {
		t.Errorf("problems:\n%s\nwant:\n%s", got, want)
	}
}

func TestRootNamesFilesAsTheUserDoes(t *testing.T) {
	fsys := fstest.MapFS{
		"a.yaml": {Data: []byte("flow: a\nstart: s\nnodes:\n  s: {kind: subflow, flow: nowhere, next: bye}\n  bye: {kind: hangup}\n")},
	}
	tests := []struct{ root, want, missing string }{
		{"", `a.yaml:4: s: flow: no flow "nowhere"`, "missing"},
		{".", `a.yaml:4: s: flow: no flow "nowhere"`, "missing"},
		{"../x/flows", `../x/flows/a.yaml:4: s: flow: no flow "nowhere"`, "../x/flows/missing"},
		{"/etc/hotline/flows", `/etc/hotline/flows/a.yaml:4: s: flow: no flow "nowhere"`, "/etc/hotline/flows/missing"},
	}
	for _, tt := range tests {
		t.Run(tt.root, func(t *testing.T) {
			for _, files := range [][]string{{"."}, {"a.yaml"}} {
				probs, err := Check(fsys, files, Options{Root: tt.root})
				if err != nil {
					t.Fatal(err)
				}
				if got := probs.Error(); got != tt.want {
					t.Errorf("Check(%v): problems:\n%s\nwant:\n%s", files, got, tt.want)
				}
			}
			_, err := LoadDir(fsys, "missing", Options{Root: tt.root})
			var pe *fs.PathError
			if !errors.As(err, &pe) || pe.Path != tt.missing {
				t.Errorf("LoadDir of a missing directory: err = %v, want it to name %s", err, tt.missing)
			}
		})
	}
}
