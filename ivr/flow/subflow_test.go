package flow

import (
	"strings"
	"testing"
)

func TestSubflowChecks(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name: "missing subflow",
			files: map[string]string{"a.yaml": `
flow: a
start: s
nodes:
  s: {kind: subflow, flow: nowhere, next: bye}
  bye: {kind: hangup}
`},
			want: []string{`a.yaml:4: s: flow: no flow "nowhere"`},
		},
		{
			name: "recursive subflows",
			files: map[string]string{
				"a.yaml": `
flow: a
start: s
nodes:
  s: {kind: subflow, flow: b, next: bye}
  bye: {kind: hangup}
`,
				"b.yaml": `
flow: b
start: s
nodes:
  s: {kind: subflow, flow: a, next: back}
  back: {kind: return}
`},
			want: []string{`b.yaml:4: s: flow: recursive subflow a → b → a; return to the calling flow instead`},
		},
		{
			name: "one name twice",
			files: map[string]string{
				"a.yaml":  "flow: a\nstart: x\nnodes:\n  x: {kind: return}\n",
				"a2.yaml": "flow: a\nstart: x\nnodes:\n  x: {kind: return}\n",
			},
			want: []string{`a2.yaml:1: flow "a" is also defined in a.yaml`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, tt.files, Options{})
			if g, w := strings.Join(got, "\n"), strings.Join(tt.want, "\n"); g != w {
				t.Errorf("problems:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}
