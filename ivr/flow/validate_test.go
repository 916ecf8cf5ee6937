package flow

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// fakeManifest has every prompt in zh, and in yue only those listed.
type fakeManifest struct{ yue map[string]bool }

func (m fakeManifest) Has(id, lang string) bool { return lang == "zh" || m.yue[id] }

// problems loads files (name → YAML) together and returns the problems as printed.
func problems(t *testing.T, files map[string]string, opt Options) []string {
	t.Helper()
	fsys := fstest.MapFS{}
	var names []string
	for name, src := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(strings.TrimPrefix(src, "\n"))}
		names = append(names, name)
	}
	slices.Sort(names)
	probs, err := Check(fsys, names, opt)
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	out := make([]string, len(probs))
	for i, p := range probs {
		out[i] = p.String()
	}
	return out
}

func TestValidationRules(t *testing.T) {
	tests := []struct {
		name string
		src  string
		opt  Options
		want []string
	}{
		{
			name: "a good flow has no problems",
			src: `
flow: ok
start: hello
nodes:
  hello:
    kind: play
    prompts: [common/welcome]
    next: bye
  bye:
    kind: hangup
`,
		},
		{
			name: "YAML syntax error",
			src: `
flow: bad
start: a
nodes:
  a: kind: play
`,
			want: []string{"bad.yaml:4: YAML: mapping values are not allowed in this context"},
		},
		{
			name: "unknown kind",
			src: `
flow: bad
start: a
nodes:
  a:
    kind: plya
`,
			want: []string{`bad.yaml:5: a: unknown kind "plya" (want one of play, menu, collect, lookup, verify, branch, set, hours, queue, callback, record, survey, transfer, subflow, goto, language, hangup, return)`},
		},
		{
			name: "unknown field",
			src: `
flow: bad
start: a
nodes:
  a:
    kind: hangup
    promts: [common/goodbye]
`,
			want: []string{`bad.yaml:6: a: unknown field "promts" in hangup node (known: kind, description, prompts, outcome)`},
		},
		{
			name: "unknown top-level field",
			src: `
flow: bad
strat: a
start: a
nodes:
  a: {kind: hangup}
`,
			want: []string{`bad.yaml:2: unknown field "strat" in flow document (known: flow, description, languages, start, variables, defaults, nodes)`},
		},
		{
			name: "missing exit",
			src: `
flow: bad
start: a
nodes:
  a:
    kind: play
    prompts: [common/welcome]
`,
			want: []string{`bad.yaml:4: a: missing exit "next"`},
		},
		{
			name: "dangling exit",
			src: `
flow: bad
start: a
nodes:
  a:
    kind: play
    prompts: [common/welcome]
    next: bye
`,
			want: []string{`bad.yaml:7: a: exit next: no node "bye"`},
		},
		{
			name: "unreachable node",
			src: `
flow: bad
start: a
nodes:
  a: {kind: hangup}
  orphan: {kind: hangup}
`,
			want: []string{`bad.yaml:5: orphan: unreachable: no path from start "a" leads here`},
		},
		{
			name: "no end reachable and an idle loop",
			src: `
flow: bad
start: a
nodes:
  a:
    kind: play
    prompts: [common/welcome]
    next: b
  b:
    kind: goto
    target: a
`,
			want: []string{
				`bad.yaml:4: a: no end can be reached from here (hangup, return, queue or transfer)`,
				`bad.yaml:4: a: endless loop: a → b → a waits for no key, so a silent caller would go round forever; route it through a menu or collect exit taken on a key, or end it`,
				`bad.yaml:8: b: no end can be reached from here (hangup, return, queue or transfer)`,
			},
		},
		{
			name: "a menu's on_fail back to itself is an idle loop",
			src: `
flow: bad
start: m
nodes:
  m:
    kind: menu
    prompts: [main/menu]
    options:
      "1": bye
    agent: bye
    on_fail: m
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:4: m: endless loop: m → m waits for no key, so a silent caller would go round forever; route it through a menu or collect exit taken on a key, or end it`},
		},
		{
			name: "too many menu choices",
			src: `
flow: bad
start: m
defaults: {agent: bye, on_fail: bye}
nodes:
  m:
    kind: menu
    prompts: [main/menu]
    options:
      "1": bye
      "2": bye
      "3": bye
      "4": bye
      "5": bye
      "6": bye
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:9: m: menu has 6 choices; at most 5 a level (split it into submenus)`},
		},
		{
			name: "duplicate menu key",
			src: `
flow: bad
start: m
defaults: {agent: bye, on_fail: bye}
nodes:
  m:
    kind: menu
    prompts: [main/menu]
    options:
      "1": bye
      "1": m
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:10: m: duplicate key "1" (first at line 9)`},
		},
		{
			name: "duplicate node id",
			src: `
flow: bad
start: bye
nodes:
  bye: {kind: hangup}
  bye: {kind: return}
`,
			want: []string{`bad.yaml:5: duplicate key "bye" (first at line 4)`},
		},
		{
			name: "timeout out of range",
			src: `
flow: bad
start: m
defaults: {agent: bye, on_fail: bye}
nodes:
  m:
    kind: menu
    prompts: [main/menu]
    timeout: 300s
    options: {"1": bye}
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:8: m: timeout: 5m0s is out of range 1s–2m0s`},
		},
		{
			name: "retries over the bound",
			src: `
flow: bad
start: m
defaults: {agent: bye, on_fail: bye}
nodes:
  m:
    kind: menu
    prompts: [main/menu]
    no_input: {retries: 99}
    options: {"1": bye}
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:8: m: no_input.retries: 99 is out of range 0–5`},
		},
		{
			name: "agent exit with the agent key taken by an option",
			src: `
flow: bad
start: m
nodes:
  m:
    kind: menu
    prompts: [main/menu]
    options: {"0": bye}
    agent: bye
    on_fail: bye
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:8: m: exit "agent" is never taken: an option on the agent key replaces it`},
		},
		{
			name: "undeclared variable in an expression",
			src: `
flow: bad
start: b
nodes:
  b:
    kind: branch
    cases:
      - {when: bill.amount_fen > 0, next: bye}
    else: bye
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:7: b: expression "bill.amount_fen > 0": unknown name bill (1:1)`},
		},
		{
			name: "condition that is not a bool",
			src: `
flow: bad
start: b
variables: {bill: bill}
nodes:
  b:
    kind: branch
    cases:
      - {when: bill.amount_fen + 1, next: bye}
    else: bye
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:8: b: expression "bill.amount_fen + 1": expected bool, but got int`},
		},
		{
			name: "unknown field of a record",
			src: `
flow: bad
start: b
variables: {bill: bill}
nodes:
  b:
    kind: branch
    cases:
      - {when: bill.amount > 0, next: bye}
    else: bye
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:8: b: expression "bill.amount > 0": type flow.Bill has no field amount (1:6)`},
		},
		{
			name: "assignment of the wrong type",
			src: `
flow: bad
start: s
variables: {n: int}
nodes:
  s:
    kind: set
    vars: {n: "'three'"}
    next: bye
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:7: s: expression "'three'" is string, want int`},
		},
		{
			name: "spoken amount that is not an integer",
			src: `
flow: bad
start: p
nodes:
  p:
    kind: play
    prompts: [{amount: caller}]
    next: bye
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:6: p: expression "caller" is string, want int`},
		},
		{
			name: "built-in variables are read-only",
			src: `
flow: bad
start: s
nodes:
  s:
    kind: set
    vars: {caller: "'1'"}
    next: bye
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:6: s: variable "caller" is built in and read-only`},
		},
		{
			name: "collect into a variable of the wrong type",
			src: `
flow: bad
start: c
variables: {amount: string}
nodes:
  c:
    kind: collect
    prompts: [bills/enter_account]
    validate: amount
    into: amount
    next: bye
    on_fail: bye
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:9: c: into: variable amount is string, want int`},
		},
		{
			name: "lookup: unknown source",
			src: `
flow: bad
start: l
nodes:
  l:
    kind: lookup
    source: weather
    found: bye
    not_found: bye
    error: bye
    on_timeout: bye
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:6: l: source: unknown data source "weather" (want one of account_by_number, accounts_of_citizen, application_by_case, applications_of_citizen, citizen_by_caller, housing_fund, latest_bill, service_item, social_insurance, stations_of_district)`},
		},
		{
			name: "lookup: missing argument, wrong result variable, refusal that cannot happen",
			src: `
flow: bad
start: l
variables: {c: citizen}
nodes:
  l:
    kind: lookup
    source: latest_bill
    args: {}
    into: c
    found: bye
    not_found: bye
    not_allowed: bye
    error: bye
    on_timeout: bye
  bye: {kind: hangup}
`,
			want: []string{
				`bad.yaml:8: l: args: source latest_bill needs "account_id"`,
				`bad.yaml:9: l: into: variable c is citizen, want bill`,
				`bad.yaml:12: l: exit "not_allowed" is never taken: source latest_bill never refuses`,
			},
		},
		{
			name: "lookup: every exit must be wired",
			src: `
flow: bad
start: l
nodes:
  l:
    kind: lookup
    source: social_insurance
    args: {citizen_id: verified_citizen.id}
    found: bye
  bye: {kind: hangup}
`,
			want: []string{
				`bad.yaml:4: l: missing exit "not_found"`,
				`bad.yaml:4: l: missing exit "not_allowed"`,
				`bad.yaml:4: l: missing exit "error"`,
				`bad.yaml:4: l: missing exit "on_timeout"`,
			},
		},
		{
			name: "queue leave exit without a leave key",
			src: `
flow: bad
start: q
nodes:
  q:
    kind: queue
    queue: general
    answered: bye
    overflow: bye
    leave: bye
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:9: q: exit "leave" is never taken: the queue has no leave_key`},
		},
		{
			name: "unknown calendar and queue",
			src: `
flow: bad
start: h
nodes:
  h:
    kind: hours
    calendar: weekend
    open: q
    closed: q
  q:
    kind: queue
    queue: plumbing
    answered: bye
    overflow: bye
  bye: {kind: hangup}
`,
			opt: Options{Calendars: []string{"hotline"}, Queues: []string{"general"}},
			want: []string{
				`bad.yaml:4: h: calendar: no calendar "weekend" is configured (have hotline)`,
				`bad.yaml:9: q: queue: no queue "plumbing" (have general)`,
			},
		},
		{
			name: "prompt missing from the manifest in a declared language",
			src: `
flow: bad
start: p
nodes:
  p:
    kind: play
    prompts: [common/welcome, main/typo]
    next: bye
  bye: {kind: hangup}
`,
			opt:  Options{Manifest: fakeManifest{yue: map[string]bool{"common/welcome": true}}},
			want: []string{`bad.yaml:6: p: prompt "main/typo" is not in the sound manifest in yue`},
		},
		{
			name: "a default filler prompt is checked too",
			src: `
flow: bad
languages: [zh]
start: l
nodes:
  l:
    kind: lookup
    source: service_item
    args: {code: "'1001'"}
    found: bye
    not_found: bye
    error: bye
    on_timeout: bye
  bye: {kind: hangup}
`,
			opt:  Options{Manifest: fakeManifest{}, Languages: []string{"yue"}},
			want: []string{`bad.yaml:5: l: prompt "common/please_wait" is not in the sound manifest in yue`},
		},
		{
			name: "bad node id and variable type",
			src: `
flow: bad
start: Start
variables: {n: float}
nodes:
  Start: {kind: hangup}
`,
			want: []string{
				`bad.yaml:3: variable n: unknown type "float" (want one of []account, []application, []bill, []citizen, []housing_fund, []service_item, []social_insurance, []station, account, application, bill, bool, citizen, date, housing_fund, int, service_item, social_insurance, station, string)`,
				`bad.yaml:5: Start: node id "Start": want lower-case letters, digits and _ starting with a letter`,
			},
		},
		{
			name: "transfer needs one destination",
			src: `
flow: bad
start: t
nodes:
  t:
    kind: transfer
    number: "12345"
    endpoint: PJSIP/desk
    failed: bye
  bye: {kind: hangup}
`,
			want: []string{`bad.yaml:4: t: want exactly one of "number" and "endpoint"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := problems(t, map[string]string{"bad.yaml": tt.src}, tt.opt)
			if g, w := strings.Join(got, "\n"), strings.Join(tt.want, "\n"); g != w {
				t.Errorf("problems:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}
