package flow

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Bounds of node settings.
const (
	// MaxRetries bounds every retry count, so that no prompt loop is endless.
	MaxRetries = 5
	// MaxChoices is the most menu choices a level may have (../shared/DESIGN.md).
	MaxChoices = 5
	// MaxVerifyTries is the most real-name verification attempts per call.
	MaxVerifyTries = 3
	// MinTimeout and MaxTimeout bound the timeouts of waiting for the caller.
	MinTimeout = time.Second
	MaxTimeout = 120 * time.Second
	// MinLookupTimeout and MaxLookupTimeout bound the timeouts of lookups: a caller waits
	// in silence, or hears the filler, while a lookup runs.
	MinLookupTimeout = 100 * time.Millisecond
	MaxLookupTimeout = 10 * time.Second
)

// Defaults applied to nodes that do not set them.
const (
	DefaultMenuTimeout   = 5 * time.Second
	DefaultFirstDigit    = 8 * time.Second
	DefaultInterDigit    = 4 * time.Second
	DefaultOverall       = 60 * time.Second
	DefaultRetries       = 2
	DefaultLookupTimeout = 2 * time.Second // Options.LookupTimeout replaces it
	DefaultFillerAfter   = 800 * time.Millisecond
	DefaultAnnounceEvery = 30 * time.Second
	DefaultMaxWait       = 5 * time.Minute
	DefaultMaxLength     = 60 * time.Second
	DefaultRingTimeout   = 30 * time.Second
	DefaultFollowUpAt    = 4
)

// Prompts the engine plays unless a node gives its own.
const (
	PromptNoInput     = "common/no_input"
	PromptNoMatch     = "common/invalid_input"
	PromptInvalid     = "common/invalid_input"
	PromptPleaseWait  = "common/please_wait"
	PromptEnterID     = "verify/enter_id"
	PromptEnterPIN    = "verify/enter_pin"
	PromptVerifyRetry = "verify/invalid"
)

var (
	numberPattern   = regexp.MustCompile(`^[0-9]{3,20}$`)
	endpointPattern = regexp.MustCompile(`^[A-Za-z]+/[A-Za-z0-9_.@:-]+$`)
)

// node parses one node.
func (p *parser) node(id string, key, n *yaml.Node) Node {
	kn := n
	var kind Kind
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "kind" {
				kn = n.Content[i+1]
				kind = Kind(kn.Value)
			}
		}
	}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, id, "want a mapping, got %s", shape(n))
		return nil
	}
	if kind == "" {
		p.errorf(key, id, "missing field \"kind\"")
		return nil
	}
	specs, ok := kindSpecs[kind]
	if !ok {
		names := make([]string, 0, len(kindSpecs))
		for _, k := range Kinds() {
			names = append(names, string(k))
		}
		p.errorf(kn, id, "unknown kind %q (want one of %s)", kind, strings.Join(names, ", "))
		return nil
	}
	f := &fields{p: p, id: id, kind: kind, node: key,
		m: p.fieldsOf(n, id, append(slices.Clone(commonFields), specs...), string(kind)+" node")}
	h := header{id: id, kind: kind, pos: p.pos(key), desc: f.str("description", "")}
	switch kind {
	case KindPlay:
		return &Play{header: h, Prompts: f.nonEmpty("prompts"), BargeIn: f.boolean("barge_in", true), Next: f.exit("next")}
	case KindMenu:
		return f.menu(h)
	case KindCollect:
		return f.collect(h)
	case KindLookup:
		return f.lookup(h)
	case KindVerify:
		n := &Verify{header: h,
			IDPrompts: f.prompts("id_prompts", PromptEnterID), PINPrompts: f.prompts("pin_prompts", PromptEnterPIN),
			InvalidPrompts:    f.prompts("invalid_prompts", PromptVerifyRetry),
			Tries:             f.integer("tries", MaxVerifyTries, 1, MaxVerifyTries),
			FirstDigitTimeout: f.duration("first_digit_timeout", DefaultFirstDigit, MinTimeout, MaxTimeout),
			InterDigitTimeout: f.duration("inter_digit_timeout", DefaultInterDigit, MinTimeout, MaxTimeout),
			Into:              f.typedVar("into", "citizen", false),
		}
		n.OK, n.Failed, n.Locked = f.exit("ok"), f.exit("failed"), f.exit("locked")
		n.NotAllowed, n.OnError = f.exit("not_allowed"), f.exit("error")
		return n
	case KindBranch:
		return f.branch(h)
	case KindSet:
		n := &Set{header: h, Vars: f.assigns(f.get("vars"))}
		if f.get("vars") == nil {
			f.errorf(nil, "missing field \"vars\"")
		}
		n.Next = f.exit("next")
		return n
	case KindHours:
		return &Hours{header: h, Calendar: f.idField("calendar"), Open: f.exit("open"), Closed: f.exit("closed")}
	case KindQueue:
		n := &Queue{header: h, Queue: f.idField("queue"), Priority: f.integer("priority", 0, 0, 10),
			Prompts:       f.prompts("prompts"),
			AnnounceEvery: f.duration("announce_every", DefaultAnnounceEvery, 10*time.Second, 10*time.Minute),
			MOH:           f.str("moh", "default"), LeaveKey: f.key("leave_key", ""),
			MaxWait: f.duration("max_wait", DefaultMaxWait, 10*time.Second, time.Hour)}
		n.Answered, n.Overflow = f.exit("answered"), f.exit("overflow")
		n.Leave = f.exitIf("leave", n.LeaveKey != "", "the queue has no leave_key")
		return n
	case KindCallback:
		n := &Callback{header: h, Number: f.expr("number", wantString), Queue: f.str("queue", "")}
		if n.Number == nil && f.get("number") == nil {
			n.Number = p.compile(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "caller", Line: key.Line}, id, wantString)
		}
		n.Next, n.OnError = f.exit("next"), f.exit("error")
		return n
	case KindRecord:
		n := &Record{header: h, Prompts: f.prompts("prompts"), Beep: f.boolean("beep", true),
			MaxLength:  f.duration("max_length", DefaultMaxLength, 5*time.Second, 5*time.Minute),
			Terminator: f.key("terminator", "#"), Category: f.str("category", "message")}
		n.Next, n.OnFail, n.OnError = f.exit("next"), f.exit("on_fail"), f.exit("error")
		return n
	case KindSurvey:
		n := &Survey{header: h, Prompts: f.nonEmpty("prompts"),
			Timeout:        f.duration("timeout", DefaultMenuTimeout, MinTimeout, MaxTimeout),
			Retries:        f.integer("retries", DefaultRetries, 0, MaxRetries),
			NoMatchPrompts: f.prompts("no_match_prompts", PromptNoMatch),
			FollowUpAt:     f.integer("follow_up_at", DefaultFollowUpAt, 1, 5),
			Into:           f.typedVar("into", "int", false)}
		n.Next, n.OnFail = f.exit("next"), f.exit("on_fail")
		return n
	case KindTransfer:
		return f.transfer(h)
	case KindSubflow:
		n := &Subflow{header: h, Flow: f.idField("flow"), Next: f.exit("next")}
		if n.Flow != "" && !slices.Contains(p.flow.Subflows, n.Flow) {
			p.flow.Subflows = append(p.flow.Subflows, n.Flow)
		}
		return n
	case KindGoto:
		return &Goto{header: h, Target: f.exit("target")}
	case KindLanguage:
		n := &Language{header: h, Lang: f.str("set", ""), From: f.expr("from", wantString)}
		switch {
		case (f.get("set") == nil) == (f.get("from") == nil):
			f.errorf(nil, "want exactly one of \"set\" and \"from\"")
		case f.get("set") != nil && !slices.Contains(languages, n.Lang):
			f.errorf(f.get("set"), "set: unknown language %q (want %s)", n.Lang, strings.Join(languages, ", "))
		}
		n.Next = f.exit("next")
		return n
	case KindHangup:
		n := &Hangup{header: h, Prompts: f.prompts("prompts"), Outcome: f.str("outcome", "")}
		if n.Outcome != "" && !slices.Contains(outcomes, n.Outcome) {
			f.errorf(f.get("outcome"), "outcome: %q is not one of %s", n.Outcome, strings.Join(outcomes, ", "))
		}
		return n
	case KindReturn:
		return &Return{header: h}
	}
	panic(fmt.Sprintf("flow: kind %q has a spec but no parser", kind))
}

func (f *fields) nonEmpty(name string) Prompts {
	ps := f.prompts(name)
	if len(ps) == 0 && f.get(name) == nil {
		f.errorf(nil, "missing field %q", name)
	}
	return ps
}

func (f *fields) idField(name string) string {
	if n := f.get(name); n != nil {
		return f.p.name(n, f.id, name)
	}
	f.errorf(nil, "missing field %q", name)
	return ""
}

// typedVar reads a variable reference whose type must be typ.
func (f *fields) typedVar(name, typ string, must bool) *Var {
	v := f.varRef(name, must)
	if v != nil && v.Type.Name != typ {
		f.errorf(f.get(name), "%s: variable %s is %s, want %s", name, v.Name, v.Type.Name, typ)
	}
	return v
}

func (f *fields) reprompt(name, def string) Reprompt {
	r := Reprompt{Retries: DefaultRetries}
	n := f.get(name)
	if n == nil {
		r.Prompts = Prompts{{Kind: ItemPrompt, ID: def, Pos: f.p.pos(f.node)}}
		return r
	}
	r.Prompts = Prompts{{Kind: ItemPrompt, ID: def, Pos: f.p.pos(n)}}
	for _, kv := range f.p.pairs(n, f.id) {
		switch kv.key.Value {
		case "prompts":
			r.Prompts = f.p.promptList(kv.val, f.id)
		case "retries":
			r.Retries = f.p.intIn(kv.val, f.id, name+".retries", 0, MaxRetries)
		default:
			f.errorf(kv.key, "%s: unknown field %q (known: prompts, retries)", name, kv.key.Value)
		}
	}
	return r
}

func (f *fields) menu(h header) *Menu {
	n := &Menu{header: h, Prompts: f.nonEmpty("prompts"), BargeIn: f.boolean("barge_in", true),
		Timeout: f.duration("timeout", DefaultMenuTimeout, MinTimeout, MaxTimeout),
		NoInput: f.reprompt("no_input", PromptNoInput), NoMatch: f.reprompt("no_match", PromptNoMatch)}
	on := f.get("options")
	if on == nil {
		f.errorf(nil, "missing field \"options\"")
	} else {
		for _, kv := range f.p.pairs(on, f.id) {
			if o := f.option(kv); o != nil {
				n.Options = append(n.Options, o)
			}
		}
	}
	choices := 0
	for _, o := range n.Options {
		if o.Key != "0" && o.Key != "*" && o.Key != "#" {
			choices++
		}
	}
	if choices > MaxChoices {
		f.errorf(on, "menu has %d choices; at most %d a level (split it into submenus)", choices, MaxChoices)
	}
	n.RepeatKey = f.specialKey(n, "repeat_key", "*")
	n.AgentKey = f.specialKey(n, "agent_key", "0")
	if n.RepeatKey != "" && n.RepeatKey == n.AgentKey {
		f.errorf(f.get("agent_key"), "agent_key and repeat_key are both %q", n.AgentKey)
	}
	n.Agent = f.exitIf("agent", n.AgentKey != "", "an option on the agent key replaces it")
	n.OnFail = f.exit("on_fail")
	return n
}

// specialKey returns the key of a menu function (repeat, agent): the key written, or def
// unless an option took it.
func (f *fields) specialKey(n *Menu, name, def string) string {
	k := f.key(name, def)
	if n.Option(k) == nil {
		return k
	}
	if f.get(name) != nil {
		f.errorf(f.get(name), "%s %q is also an option", name, k)
	}
	return ""
}

func (f *fields) option(kv pair) *Option {
	o := &Option{Key: kv.key.Value}
	if !isKey(o.Key) {
		f.errorf(kv.key, "options: %q is not a key (want 0-9, * or #)", o.Key)
		return nil
	}
	e := &Exit{Name: o.Key, Input: true, required: true, owner: f.id, Pos: f.p.pos(kv.key)}
	o.Exit = e
	f.p.exits = append(f.p.exits, e)
	if kv.val.Kind == yaml.ScalarNode { // "1": node_id
		e.target, e.Pos = kv.val.Value, f.p.pos(kv.val)
		return o
	}
	for _, c := range f.p.pairs(kv.val, f.id) {
		switch c.key.Value {
		case "next":
			e.target, e.Pos = f.p.scalar(c.val, f.id), f.p.pos(c.val)
		case "label":
			o.Label = f.p.scalar(c.val, f.id)
		case "set":
			o.Set = f.assigns(c.val)
		default:
			f.errorf(c.key, "option %s: unknown field %q (known: next, label, set)", o.Key, c.key.Value)
		}
	}
	if e.target == "" {
		f.errorf(kv.key, "option %s: missing exit \"next\"", o.Key)
	}
	return o
}

func (f *fields) assigns(n *yaml.Node) []Assign {
	if n == nil {
		return nil
	}
	var out []Assign
	for _, kv := range f.p.pairs(n, f.id) {
		v := f.p.variable(kv.key, f.id)
		if v == nil {
			continue
		}
		e := f.p.compile(kv.val, f.id, wantOf(v.Type))
		if e == nil {
			continue
		}
		if !assignable(e.Type, v.Type) {
			f.errorf(kv.val, "%s = %s: expression is %s, variable is %s", v.Name, e.Source, typeName(e.Type), v.Type.Name)
			continue
		}
		out = append(out, Assign{Var: v, Value: e})
	}
	return out
}

func (f *fields) collect(h header) *Collect {
	n := &Collect{header: h, Prompts: f.nonEmpty("prompts"), BargeIn: f.boolean("barge_in", true),
		Terminator:        f.key("terminator", "#"),
		FirstDigitTimeout: f.duration("first_digit_timeout", DefaultFirstDigit, MinTimeout, MaxTimeout),
		InterDigitTimeout: f.duration("inter_digit_timeout", DefaultInterDigit, MinTimeout, 30*time.Second),
		OverallTimeout:    f.duration("overall_timeout", DefaultOverall, MinTimeout, MaxTimeout),
		Validate:          Validator(f.str("validate", string(ValidateDigits))),
		Sensitive:         f.boolean("sensitive", false),
		Personal:          f.boolean("personal", false),
		Retries:           f.integer("retries", DefaultRetries, 0, MaxRetries),
		InvalidPrompts:    f.prompts("invalid_prompts", PromptInvalid),
		NoInputPrompts:    f.prompts("no_input_prompts", PromptNoInput),
	}
	if !slices.Contains(validators, string(n.Validate)) {
		f.errorf(f.get("validate"), "validate: unknown validator %q (want %s)", n.Validate, strings.Join(validators, ", "))
	}
	lo, hi := 1, 32
	switch n.Validate {
	case ValidateIDNumber:
		lo, hi = 18, 18
	case ValidateMobile:
		lo, hi = 11, 11
	case ValidateDate:
		lo, hi = 8, 8
	case ValidateAmount:
		lo, hi = 1, 13
	}
	n.Min, n.Max = f.integer("min", lo, lo, hi), f.integer("max", hi, lo, hi)
	if n.Min > n.Max {
		f.errorf(f.get("min"), "min %d is more than max %d", n.Min, n.Max)
	}
	if n.OverallTimeout < n.FirstDigitTimeout {
		f.errorf(f.get("overall_timeout"), "overall_timeout %v is shorter than first_digit_timeout %v", n.OverallTimeout, n.FirstDigitTimeout)
	}
	n.Into = f.typedVar("into", n.Validate.intoType(), true)
	n.Next, n.OnFail = f.exit("next"), f.exit("on_fail")
	return n
}

func (f *fields) lookup(h header) *Lookup {
	def := DefaultLookupTimeout
	if d := f.p.opt.LookupTimeout; d != 0 {
		def = d
		if f.get("timeout") == nil && (d < MinLookupTimeout || d > MaxLookupTimeout) {
			f.errorf(nil, "the default lookup timeout %v (ivr.lookup_timeout) is out of range %v–%v", d, MinLookupTimeout, MaxLookupTimeout)
		}
	}
	n := &Lookup{header: h,
		Timeout: f.duration("timeout", def, MinLookupTimeout, MaxLookupTimeout),
		Filler:  f.prompts("filler", PromptPleaseWait)}
	n.FillerAfter = f.duration("filler_after", DefaultFillerAfter, 0, n.Timeout)
	name := f.required("source")
	src, ok := LookupSource(name)
	if !ok && name != "" {
		f.errorf(f.get("source"), "source: unknown data source %q (want one of %s)", name, strings.Join(SourceNames(), ", "))
	}
	n.Source = src
	if src != nil {
		n.Args = f.args(src)
		n.Into = f.typedVar("into", src.Result, false)
	}
	n.Found, n.NotFound = f.exit("found"), f.exit("not_found")
	switch {
	case src == nil: // already reported; keep quiet about the exit
		n.NotAllowed = &Exit{Name: "not_allowed", owner: f.id}
	default:
		n.NotAllowed = f.exitIf("not_allowed", src.CanRefuse, fmt.Sprintf("source %s never refuses", name))
	}
	n.OnError, n.OnTimeout = f.exit("error"), f.exit("on_timeout")
	return n
}

var paramWants = map[string]want{"string": wantString, "int": wantInt, "bool": wantBool}

func (f *fields) args(src *Source) []Arg {
	given := map[string]pair{}
	if n := f.get("args"); n != nil {
		for _, kv := range f.p.pairs(n, f.id) {
			given[kv.key.Value] = kv
		}
	}
	var out []Arg
	for _, prm := range src.Params {
		kv, ok := given[prm.Name]
		if !ok {
			if !prm.Optional {
				f.errorf(f.get("args"), "args: source %s needs %q", src.Name, prm.Name)
			}
			continue
		}
		delete(given, prm.Name)
		if e := f.p.compile(kv.val, f.id, paramWants[prm.Type]); e != nil {
			out = append(out, Arg{Name: prm.Name, Value: e})
		}
	}
	for name, kv := range given {
		f.errorf(kv.key, "args: source %s has no argument %q", src.Name, name)
	}
	return out
}

func (f *fields) branch(h header) *Branch {
	n := &Branch{header: h}
	cn := f.get("cases")
	switch {
	case cn == nil:
		f.errorf(nil, "missing field \"cases\"")
	case cn.Kind != yaml.SequenceNode || len(cn.Content) == 0:
		f.errorf(cn, "cases: want a non-empty list of {when, next}")
	default:
		for i, c := range cn.Content {
			e := &Exit{Name: fmt.Sprintf("case_%d", i+1), required: true, owner: f.id, Pos: f.p.pos(c)}
			f.p.exits = append(f.p.exits, e)
			cs := Case{Exit: e}
			for _, kv := range f.p.pairs(c, f.id) {
				switch kv.key.Value {
				case "when":
					cs.When = f.p.compile(kv.val, f.id, wantBool)
				case "next":
					e.target, e.Pos = f.p.scalar(kv.val, f.id), f.p.pos(kv.val)
				default:
					f.errorf(kv.key, "case %d: unknown field %q (known: when, next)", i+1, kv.key.Value)
				}
			}
			if e.target == "" {
				f.errorf(c, "case %d: missing exit \"next\"", i+1)
			}
			if cs.When == nil && !hasKey(c, "when") {
				f.errorf(c, "case %d: missing field \"when\"", i+1)
			}
			n.Cases = append(n.Cases, cs)
		}
	}
	n.Else = f.exit("else")
	return n
}

func hasKey(n *yaml.Node, key string) bool {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return true
		}
	}
	return false
}

func (f *fields) transfer(h header) *Transfer {
	n := &Transfer{header: h, Prompts: f.prompts("prompts"), Number: f.str("number", ""), Endpoint: f.str("endpoint", ""),
		Timeout: f.duration("timeout", DefaultRingTimeout, 5*time.Second, MaxTimeout)}
	switch {
	case (n.Number == "") == (n.Endpoint == ""):
		f.errorf(nil, "want exactly one of \"number\" and \"endpoint\"")
	case n.Number != "" && !numberPattern.MatchString(n.Number):
		f.errorf(f.get("number"), "number: %q is not 3 to 20 digits", n.Number)
	case n.Endpoint != "" && !endpointPattern.MatchString(n.Endpoint):
		f.errorf(f.get("endpoint"), "endpoint: %q is not technology/resource (PJSIP/desk)", n.Endpoint)
	}
	n.Failed = f.exit("failed")
	return n
}
