package flow

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

var (
	idPattern     = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	promptPattern = regexp.MustCompile(`^[a-z0-9]+([_-][a-z0-9]+)*(/[a-z0-9]+([_-][a-z0-9]+)*)*$`)
	yamlLine      = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
)

// parser reads one flow document.
type parser struct {
	file     string
	opt      Options
	probs    Problems
	flow     *Flow
	vars     map[string]*Var
	exits    []*Exit
	defaults map[string]*Exit
	broken   map[string]bool // ids of nodes that did not parse
}

// pair is a key and its value in a YAML mapping.
type pair struct{ key, val *yaml.Node }

func (p *parser) pos(n *yaml.Node) Pos { return Pos{File: p.file, Line: n.Line} }

func (p *parser) errorf(n *yaml.Node, node, format string, args ...any) {
	p.probs = append(p.probs, Problem{Pos: p.pos(n), Node: node, Msg: fmt.Sprintf(format, args...)})
}

// parse reads and type-checks a flow document; the graph checks come after.
func parse(file string, data []byte, opt Options) (*Flow, Problems) {
	p := &parser{file: file, opt: opt, vars: map[string]*Var{}, defaults: map[string]*Exit{}, broken: map[string]bool{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := 1, err.Error()
		if m := yamlLine.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		return nil, Problems{{Pos: Pos{File: file, Line: line}, Msg: "YAML: " + msg}}
	}
	if len(doc.Content) == 0 {
		return nil, Problems{{Pos: Pos{File: file, Line: 1}, Msg: "empty document"}}
	}
	root := doc.Content[0]
	top := p.fieldsOf(root, "", docFields, "flow document")
	f := &Flow{File: file, byID: map[string]Node{}}
	p.flow = f
	if n := top["flow"]; n != nil {
		f.Name = p.name(n.val, "", "flow name")
	} else {
		p.errorf(root, "", "missing field \"flow\"")
	}
	if n := top["description"]; n != nil {
		f.Description = p.scalar(n.val, "")
	}
	f.Languages = []string{"zh", "yue"}
	if n := top["languages"]; n != nil {
		f.Languages = p.languages(n.val)
	}
	if n := top["variables"]; n != nil {
		p.variables(n.val)
	}
	for _, b := range builtins {
		t, _ := LookupType(b.typ)
		p.vars[b.name] = &Var{Name: b.name, Type: t, Builtin: true}
	}
	for _, v := range p.vars {
		f.Vars = append(f.Vars, v)
	}
	slices.SortFunc(f.Vars, func(a, b *Var) int { return strings.Compare(a.Name, b.Name) })
	f.varMap = p.vars
	if n := top["defaults"]; n != nil {
		for _, kv := range p.pairs(n.val, "") {
			name := kv.key.Value
			if !slices.Contains(defaultable, name) {
				p.errorf(kv.key, "", "defaults: %q cannot have a default (allowed: %s)", name, strings.Join(defaultable, ", "))
				continue
			}
			e := &Exit{Name: name, target: p.scalar(kv.val, ""), Pos: p.pos(kv.val)}
			p.defaults[name] = e
			p.exits = append(p.exits, e)
		}
	}
	var start *Exit
	if n := top["start"]; n != nil {
		start = &Exit{Name: "start", target: p.scalar(n.val, ""), Pos: p.pos(n.val), required: true}
	} else {
		p.errorf(root, "", "missing field \"start\"")
	}
	if n := top["nodes"]; n != nil {
		for _, kv := range p.pairs(n.val, "") {
			id := p.name(kv.key, kv.key.Value, "node id")
			if node := p.node(id, kv.key, kv.val); node != nil {
				f.Nodes = append(f.Nodes, node)
				f.byID[id] = node
			} else {
				p.broken[id] = true
			}
		}
	} else {
		p.errorf(root, "", "missing field \"nodes\"")
	}
	if len(f.Nodes) == 0 && len(p.broken) == 0 && top["nodes"] != nil {
		p.errorf(top["nodes"].val, "", "a flow needs at least one node")
	}
	p.resolve()
	if start != nil {
		if f.Start = f.byID[start.target]; f.Start == nil && !p.broken[start.target] {
			p.errorf(top["start"].val, "", "start: no node %q", start.target)
		}
	}
	return f, p.probs
}

// resolve points every exit at its node, applying the flow's defaults.
func (p *parser) resolve() {
	for _, e := range p.exits {
		if e.target == "" && e.required {
			d := p.defaults[e.Name]
			if d == nil {
				continue // reported by the node's parse
			}
			e.target, e.Pos = d.target, d.Pos
		}
		if e.target == "" {
			continue
		}
		if e.To = p.flow.byID[e.target]; e.To == nil && !p.broken[e.target] {
			p.probs = append(p.probs, Problem{Pos: e.Pos, Node: e.owner, Msg: fmt.Sprintf("exit %s: no node %q", e.Name, e.target)})
		}
	}
}

// pairs returns the entries of a mapping, reporting duplicate keys.
func (p *parser) pairs(n *yaml.Node, node string) []pair {
	if n.Kind != yaml.MappingNode {
		p.errorf(n, node, "want a mapping, got %s", shape(n))
		return nil
	}
	seen := map[string]*yaml.Node{}
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if first, dup := seen[k.Value]; dup {
			p.errorf(k, node, "duplicate key %q (first at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		out = append(out, pair{k, v})
	}
	return out
}

// fieldsOf returns a mapping's entries by key, reporting keys not in specs.
func (p *parser) fieldsOf(n *yaml.Node, node string, specs []fieldSpec, what string) map[string]*pair {
	out := map[string]*pair{}
	for _, kv := range p.pairs(n, node) {
		if !slices.ContainsFunc(specs, func(f fieldSpec) bool { return f.name == kv.key.Value }) {
			var names []string
			for _, f := range specs {
				names = append(names, f.name)
			}
			p.errorf(kv.key, node, "unknown field %q in %s (known: %s)", kv.key.Value, what, strings.Join(names, ", "))
			continue
		}
		out[kv.key.Value] = &kv
	}
	return out
}

func shape(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	return fmt.Sprintf("%q", n.Value)
}

func (p *parser) scalar(n *yaml.Node, node string) string {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, node, "want a string, got %s", shape(n))
		return ""
	}
	return n.Value
}

func (p *parser) name(n *yaml.Node, node, what string) string {
	s := p.scalar(n, node)
	if s != "" && !idPattern.MatchString(s) {
		p.errorf(n, node, "%s %q: want lower-case letters, digits and _ starting with a letter", what, s)
	}
	return s
}

func (p *parser) languages(n *yaml.Node) []string {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errorf(n, "", "languages: want a non-empty list of %s", strings.Join(languages, ", "))
		return nil
	}
	var out []string
	for _, c := range n.Content {
		l := p.scalar(c, "")
		if !slices.Contains(languages, l) {
			p.errorf(c, "", "languages: unknown language %q (want %s)", l, strings.Join(languages, ", "))
			continue
		}
		out = append(out, l)
	}
	return out
}

func (p *parser) variables(n *yaml.Node) {
	for _, kv := range p.pairs(n, "") {
		name := p.name(kv.key, "", "variable")
		if slices.Contains(BuiltinVars(), name) {
			p.errorf(kv.key, "", "variable %q is built in", name)
			continue
		}
		tn := p.scalar(kv.val, "")
		t, ok := LookupType(tn)
		if !ok {
			p.errorf(kv.val, "", "variable %s: unknown type %q (want one of %s)", name, tn, strings.Join(TypeNames(), ", "))
			continue
		}
		p.vars[name] = &Var{Name: name, Type: t, Pos: p.pos(kv.key)}
	}
}

// fields reads the fields of one node.
type fields struct {
	p    *parser
	id   string
	kind Kind
	node *yaml.Node
	m    map[string]*pair
}

// get returns the value of field name, or nil. Asking for a field the kind does not declare
// is a programming error.
func (f *fields) get(name string) *yaml.Node {
	if _, ok := fieldOf(f.kind, name); !ok {
		panic(fmt.Sprintf("flow: %s nodes have no field %q in kindSpecs", f.kind, name))
	}
	if kv, ok := f.m[name]; ok {
		return kv.val
	}
	return nil
}

func (f *fields) errorf(n *yaml.Node, format string, args ...any) {
	if n == nil {
		n = f.node
	}
	f.p.errorf(n, f.id, format, args...)
}

func (f *fields) str(name, def string) string {
	if n := f.get(name); n != nil {
		return f.p.scalar(n, f.id)
	}
	return def
}

func (f *fields) required(name string) string {
	n := f.get(name)
	if n == nil {
		f.errorf(nil, "missing field %q", name)
		return ""
	}
	return f.p.scalar(n, f.id)
}

func (f *fields) key(name, def string) string {
	n := f.get(name)
	if n == nil {
		return def
	}
	k := f.p.scalar(n, f.id)
	if !isKey(k) {
		f.errorf(n, "%s: %q is not a key (want 0-9, * or #)", name, k)
	}
	return k
}

func isKey(k string) bool { return len(k) == 1 && strings.Contains("0123456789*#", k) }

func (f *fields) boolean(name string, def bool) bool {
	n := f.get(name)
	if n == nil {
		return def
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		f.errorf(n, "%s: want true or false, got %s", name, shape(n))
	}
	return b
}

func (f *fields) integer(name string, def, lo, hi int) int {
	n := f.get(name)
	if n == nil {
		return def
	}
	return f.p.intIn(n, f.id, name, lo, hi)
}

func (p *parser) intIn(n *yaml.Node, node, name string, lo, hi int) int {
	var v int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&v) != nil {
		p.errorf(n, node, "%s: want an integer, got %s", name, shape(n))
		return lo
	}
	if v < lo || v > hi {
		p.errorf(n, node, "%s: %d is out of range %d–%d", name, v, lo, hi)
	}
	return v
}

// duration reads "5s", "800ms", "1m" or a number of seconds within lo..hi.
func (f *fields) duration(name string, def, lo, hi time.Duration) time.Duration {
	n := f.get(name)
	if n == nil {
		return def
	}
	var d time.Duration
	var err error
	switch {
	case n.Kind != yaml.ScalarNode:
		err = fmt.Errorf("got %s", shape(n))
	case n.Tag == "!!int" || n.Tag == "!!float":
		var s float64
		if s, err = strconv.ParseFloat(n.Value, 64); err == nil {
			if math.Abs(s) > 1e6 {
				s = math.Copysign(1e6, s)
			}
			d = time.Duration(s * float64(time.Second))
		}
	default:
		d, err = time.ParseDuration(n.Value)
	}
	if err != nil {
		f.errorf(n, "%s: want a duration such as 5s or 800ms, %q is not one", name, n.Value)
		return def
	}
	if d < lo || d > hi {
		f.errorf(n, "%s: %v is out of range %v–%v", name, d, lo, hi)
	}
	return d
}

// exit reads a required exit; a missing one is filled by the flow's defaults or reported.
func (f *fields) exit(name string) *Exit {
	spec, _ := fieldOf(f.kind, name)
	e := &Exit{Name: name, Input: spec.input, required: true, owner: f.id, Pos: f.p.pos(f.node)}
	if n := f.get(name); n != nil {
		e.target, e.Pos = f.p.scalar(n, f.id), f.p.pos(n)
	} else if f.p.defaults[name] == nil {
		f.errorf(nil, "missing exit %q", name)
	}
	f.p.exits = append(f.p.exits, e)
	return e
}

// exitIf reads an exit that exists only when cond holds; when it does not, writing the exit
// is reported with why.
func (f *fields) exitIf(name string, cond bool, why string) *Exit {
	if cond {
		return f.exit(name)
	}
	if n := f.get(name); n != nil {
		f.errorf(n, "exit %q is never taken: %s", name, why)
	}
	return &Exit{Name: name, owner: f.id}
}

// varRef reads the name of a declared, non-built-in variable.
func (f *fields) varRef(name string, must bool) *Var {
	n := f.get(name)
	if n == nil {
		if must {
			f.errorf(nil, "missing field %q", name)
		}
		return nil
	}
	return f.p.variable(n, f.id)
}

func (p *parser) variable(n *yaml.Node, node string) *Var {
	s := p.scalar(n, node)
	v := p.vars[s]
	switch {
	case v == nil:
		p.errorf(n, node, "undeclared variable %q", s)
	case v.Builtin:
		p.errorf(n, node, "variable %q is built in and read-only", s)
		return nil
	}
	return v
}

// expr compiles an expression field.
func (f *fields) expr(name string, w want) *Expr {
	n := f.get(name)
	if n == nil {
		return nil
	}
	return f.p.compile(n, f.id, w)
}

func (p *parser) compile(n *yaml.Node, node string, w want) *Expr {
	src := p.scalar(n, node)
	if n.Kind != yaml.ScalarNode {
		return nil
	}
	if n.Tag != "!!str" {
		src = n.Value // a bare number or boolean is an expression too
	}
	prog, t, err := compileExpr(src, p.vars, w)
	if err != nil {
		p.errorf(n, node, "%v", err)
		return nil
	}
	return &Expr{Source: src, Type: t, Pos: p.pos(n), program: prog}
}

// prompts reads a prompt list; def is used when the field is absent.
func (f *fields) prompts(name string, def ...string) Prompts {
	n := f.get(name)
	if n == nil {
		out := make(Prompts, len(def))
		for i, id := range def {
			out[i] = PromptItem{Kind: ItemPrompt, ID: id, Pos: f.p.pos(f.node)}
		}
		return out
	}
	return f.p.promptList(n, f.id)
}

func (p *parser) promptList(n *yaml.Node, node string) Prompts {
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, node, "prompts: want a list, got %s", shape(n))
		return nil
	}
	var out Prompts
	for _, c := range n.Content {
		if it, ok := p.promptItem(c, node); ok {
			out = append(out, it)
		}
	}
	return out
}

var itemWants = map[ItemKind]want{ItemAmount: wantInt, ItemNumber: wantInt, ItemDigits: wantString,
	ItemDate: wantDate, ItemMonth: wantDate, ItemTime: wantDate, ItemDynamic: wantString}

var units = map[string]string{"ge": "unit/ge", "wei": "unit/wei", "minutes": "unit/minutes"}

func (p *parser) promptItem(n *yaml.Node, node string) (PromptItem, bool) {
	it := PromptItem{Pos: p.pos(n)}
	if n.Kind == yaml.ScalarNode {
		if !promptPattern.MatchString(n.Value) {
			p.errorf(n, node, "prompt id %q: want lower-case segments separated by /", n.Value)
			return it, false
		}
		it.Kind, it.ID = ItemPrompt, n.Value
		return it, true
	}
	var value *yaml.Node
	for _, kv := range p.pairs(n, node) {
		k := kv.key.Value
		switch {
		case itemWants[ItemKind(k)] != 0:
			if value != nil {
				p.errorf(kv.key, node, "prompt item: %q and %q together; write two items", it.Kind, k)
				continue
			}
			it.Kind, value = ItemKind(k), kv.val
		case k == "last":
			it.Last = p.intIn(kv.val, node, "last", 1, 18)
		case k == "unit":
			u := p.scalar(kv.val, node)
			if it.Unit = units[u]; it.Unit == "" {
				p.errorf(kv.val, node, "unit: %q is not one of ge, wei, minutes", u)
			}
		default:
			p.errorf(kv.key, node, "prompt item: unknown field %q (want a prompt id, or one of amount, number, digits, date, month, time, prompt)", k)
		}
	}
	if value == nil {
		if n.Kind == yaml.MappingNode {
			p.errorf(n, node, "prompt item: want one of amount, number, digits, date, month, time, prompt")
		}
		return it, false
	}
	if it.Last != 0 && it.Kind != ItemDigits {
		p.errorf(n, node, "prompt item: last only applies to digits")
	}
	if it.Unit != "" && it.Kind != ItemNumber {
		p.errorf(n, node, "prompt item: unit only applies to number")
	}
	it.Value = p.compile(value, node, itemWants[it.Kind])
	return it, it.Value != nil
}
