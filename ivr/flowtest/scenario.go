package flowtest

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Scenario is one simulated call with what the caller must hear and how the call must end,
// as written in a scenario file (flows/tests/*.yaml; the package documentation has the
// format).
type Scenario struct {
	// File and Line are where the scenario was written.
	File string
	Line int
	Name string
	// Number is the calling number when the file gives one; otherwise Role names the kind of
	// seeded citizen who calls (see Roles).
	Number string
	Role   string
	// Flow is the flow the call starts in; empty means the engine's entry ("main").
	Flow string
	// Now is the clock of business hours and of the data; zero means the seed's today.
	Now time.Time
	// Language is the language spoken values are expected in ("zh" unless set).
	Language string
	// Speed, when set, replaces the run's speed for this call: 1 plays prompts in real time,
	// for steps whose timing matters more than the run's pace.
	Speed   float64
	Backend Backend
	Given   Given
	// Agents are logged in and available in the queues of their skills during the call, in
	// this order (the first is the one idle longest); none means no agent answers.
	Agents []Agent
	Steps  []Step
	// End is the expected end of the call; nil when the scenario does not check it.
	End *End
}

// Backend lists data sources (flow lookup sources such as latest_bill) and services
// (verify_pin, request_callback, save_message, save_survey, enter_queue, queue_status,
// leave_queue) that misbehave during the scenario's call.
type Backend struct {
	// Fail answers with an error (a lookup's error exit).
	Fail []string
	// Slow never answers: the lookup's timeout exit, the service's store timeout.
	Slow []string
	// Refuse answers that the caller may not see the data (a lookup's not_allowed exit).
	Refuse []string
	// Empty answers that there is no such data (a lookup's not_found exit).
	Empty []string
}

func (b Backend) key() string {
	return fmt.Sprint(b.Fail, b.Slow, b.Refuse, b.Empty)
}

// Given is data arranged for the scenario's own citizen before the call.
type Given struct {
	// WrongPINs is how many wrong phone-service PINs the citizen entered just before (through
	// the data layer's PIN check, so its lockout rule counts them).
	WrongPINs int
	// SecondAccount opens another utility account of this kind for the citizen, with one
	// unpaid bill of SecondBillFen due ten days after today.
	SecondAccount string
	// NoLastPayment clears the last payment of social_insurance and/or housing_fund.
	NoLastPayment []string
}

// Agent is an agent on duty during a scenario's call: their skills and how their simulated
// phone behaves when the ACD offers them a call.
type Agent struct {
	Line int
	// Skills are skill ids (general, social_security …), each at level 3.
	Skills []string
	// Phone is answer, busy (rejects the call) or noanswer (rings until the queue's ring
	// timeout).
	Phone string
	// AnswerAfter is how long an answering phone rings; Talk how long the agent talks once
	// connected before hanging up, zero when the agent stays until the caller hangs up. Both
	// are telephone time, like prompt lengths and the queue's ring timeout: the simulator
	// runs them speed times faster.
	AnswerAfter, Talk time.Duration
}

// Phone behaviours of Agent.Phone.
var phoneModes = []string{"answer", "busy", "noanswer"}

// SecondBillFen is the amount of the bill of Given.SecondAccount (一百二十三元四角五分).
const SecondBillFen = 12345

func (g Given) empty() bool {
	return g.WrongPINs == 0 && g.SecondAccount == "" && len(g.NoLastPayment) == 0
}

// Step is one thing the caller does or expects.
type Step struct {
	Line int
	// Action is expect, expect_seq, not_heard, say, press, wait or hangup.
	Action string
	// Prompts are the prompt ids of expect, expect_seq and not_heard.
	Prompts []string
	// Value is what say expects spoken.
	Value Spoken
	// Keys are pressed by press, Gap apart; {name} placeholders are replaced (see Keys).
	Keys string
	Gap  time.Duration
	// Wait is how long wait waits.
	Wait time.Duration
}

// String describes the step for messages.
func (s Step) String() string {
	switch s.Action {
	case "expect", "expect_seq", "not_heard":
		return s.Action + " [" + strings.Join(s.Prompts, " ") + "]"
	case "say":
		return "say " + s.Value.String()
	case "press":
		return fmt.Sprintf("press %q", s.Keys)
	case "wait":
		return "wait " + s.Wait.String()
	}
	return s.Action
}

// Spoken is a value the caller must hear read aloud: Kind is amount, number, digits, date or
// month; Ref is a literal or a reference to the caller's data (see Values).
type Spoken struct {
	Kind string
	Ref  string
	// Unit is the measure word of a number ("ge" for 个); Last keeps only the last digits.
	Unit string
	Last int
}

// String describes the value for messages, as written in the scenario.
func (v Spoken) String() string {
	s := v.Kind + ": " + v.Ref
	if v.Unit != "" {
		s += ", unit: " + v.Unit
	}
	if v.Last > 0 {
		s += fmt.Sprintf(", last: %d", v.Last)
	}
	return "{" + s + "}"
}

// End is how the call must end. Empty fields are not checked.
type End struct {
	Line int
	// Outcome is the call record's outcome (self_served, hangup, message, callback, overflow,
	// error, …).
	Outcome string
	// Queue is the last queue the call waited in.
	Queue string
	// HungUpBy is caller (the scenario's hangup step ended the call) or hotline.
	HungUpBy string
	// FollowUp, when set, is whether the call was flagged for a follow-up (回访).
	FollowUp *bool
	// Survey is the satisfaction level stored for the call (1–5).
	Survey int
	// Callback is the number a callback was registered for; "caller" means the caller's own.
	Callback string
	// WorkOrder requires a work order (a left message) made from the call.
	WorkOrder bool
	// Agent is the scenario's agent (1 for the first of agents) the caller talked to.
	Agent int
	// Offered are the scenario's agents the ACD offered the call to, in order; nil is not
	// checked, an empty list means none.
	Offered []int
}

// ErrScenario is wrapped by every problem of a scenario file.
var ErrScenario = errors.New("scenario")

var (
	promptRe   = regexp.MustCompile(`^[a-z0-9]+([_-][a-z0-9]+)*(/[a-z0-9]+([_-][a-z0-9]+)*)*$`)
	keysRe     = regexp.MustCompile(`^([0-9*#]|\{[a-z_]+\})+$`)
	numberRe   = regexp.MustCompile(`^[0-9]{3,20}$`)
	placeRe    = regexp.MustCompile(`\{([a-z_]+)\}`)
	sourceName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// outcomes are the values of hotline.calls.outcome.
var outcomes = []string{"self_served", "agent", "abandoned", "message", "callback", "transferred", "overflow", "error", "hangup"}

// LoadScenarios reads scenario files.
func LoadScenarios(files []string) ([]*Scenario, error) {
	var all []*Scenario
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read scenarios: %w", err)
		}
		sc, err := ParseScenarios(f, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		all = append(all, sc...)
	}
	return all, errors.Join(errs...)
}

// ParseScenarios reads the scenarios of one file; file names it in errors, which give
// file:line for every problem.
func ParseScenarios(file string, data []byte) ([]*Scenario, error) {
	p := &scParser{file: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrScenario, file, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%w: %s: empty document", ErrScenario, file)
	}
	top := p.fields(doc.Content[0], "scenario file", "scenarios")
	list := top["scenarios"]
	if list == nil || list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		p.errorf(doc.Content[0], "a scenario file holds a non-empty list under scenarios:")
		return nil, p.err()
	}
	var out []*Scenario
	names := map[string]int{}
	for _, n := range list.Content {
		s := p.scenario(n)
		if s == nil {
			continue
		}
		if prev, ok := names[s.Name]; ok {
			p.errorf(n, "scenario %q is also at line %d", s.Name, prev)
		}
		names[s.Name] = s.Line
		out = append(out, s)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// scParser collects the problems of one scenario file.
type scParser struct {
	file  string
	probs []string
}

func (p *scParser) errorf(n *yaml.Node, format string, args ...any) {
	p.probs = append(p.probs, fmt.Sprintf("%s:%d: %s", p.file, n.Line, fmt.Sprintf(format, args...)))
}

func (p *scParser) err() error {
	if len(p.probs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrScenario, strings.Join(p.probs, "\n"))
}

// fields returns the values of a mapping by key, reporting keys not in allowed.
func (p *scParser) fields(n *yaml.Node, what string, allowed ...string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "%s: want a mapping", what)
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(allowed, k.Value) {
			p.errorf(k, "%s: unknown field %q (have %s)", what, k.Value, strings.Join(allowed, ", "))
			continue
		}
		out[k.Value] = v
	}
	return out
}

func (p *scParser) str(n *yaml.Node, what string) string {
	if n.Kind != yaml.ScalarNode {
		p.errorf(n, "%s: want a single value", what)
		return ""
	}
	return n.Value
}

func (p *scParser) strs(n *yaml.Node, what string) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		p.errorf(n, "%s: want a list", what)
		return nil
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, p.str(c, what))
	}
	return out
}

func (p *scParser) duration(n *yaml.Node, what string) time.Duration {
	d, err := time.ParseDuration(p.str(n, what))
	if err != nil || d < 0 || d > 5*time.Minute {
		p.errorf(n, "%s: want a duration such as 500ms or 2s, at most 5m", what)
	}
	return d
}

func (p *scParser) scenario(n *yaml.Node) *Scenario {
	f := p.fields(n, "scenario", "name", "caller", "flow", "now", "language", "speed", "backend", "given", "agents", "steps", "end")
	s := &Scenario{File: p.file, Line: n.Line, Language: "zh"}
	if v := f["name"]; v != nil {
		s.Name = p.str(v, "name")
	}
	if s.Name == "" {
		p.errorf(n, "scenario: a name is required")
	}
	p.caller(n, f["caller"], s)
	if v := f["flow"]; v != nil {
		s.Flow = p.str(v, "flow")
	}
	if v := f["now"]; v != nil {
		t, err := parseNow(p.str(v, "now"))
		if err != nil {
			p.errorf(v, "now: %v", err)
		}
		s.Now = t
	}
	if v := f["language"]; v != nil {
		s.Language = p.str(v, "language")
		if !slices.Contains([]string{"zh", "yue", "en"}, s.Language) {
			p.errorf(v, "language: want zh, yue or en")
		}
	}
	if v := f["speed"]; v != nil {
		x, err := strconv.ParseFloat(p.str(v, "speed"), 64)
		if err != nil || x < 1 || x > 100 {
			p.errorf(v, "speed: want a number from 1 to 100")
		}
		s.Speed = x
	}
	if v := f["backend"]; v != nil {
		b := p.fields(v, "backend", "fail", "slow", "refuse", "empty")
		for key, dst := range map[string]*[]string{"fail": &s.Backend.Fail, "slow": &s.Backend.Slow, "refuse": &s.Backend.Refuse, "empty": &s.Backend.Empty} {
			if l := b[key]; l != nil {
				*dst = p.strs(l, "backend."+key)
				for _, name := range *dst {
					if !sourceName.MatchString(name) {
						p.errorf(l, "backend.%s: %q is not a source or service name", key, name)
					}
				}
			}
		}
	}
	if v := f["given"]; v != nil {
		p.given(v, s)
	}
	if v := f["agents"]; v != nil {
		p.agents(v, s)
	}
	steps := f["steps"]
	if steps == nil || steps.Kind != yaml.SequenceNode || len(steps.Content) == 0 {
		p.errorf(n, "scenario %q: steps: want a non-empty list", s.Name)
	} else {
		for _, st := range steps.Content {
			if step, ok := p.step(st); ok {
				s.Steps = append(s.Steps, step)
			}
		}
	}
	if v := f["end"]; v != nil {
		s.End = p.end(v)
	}
	p.consistent(n, s)
	return s
}

// parseNow reads a clock in China Standard Time: "2026-03-16 20:00".
func parseNow(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, chinaTime); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("want a time in China Standard Time such as \"2026-03-16 20:00\", got %q", s)
}

// chinaTime is the hotline's time zone; a fixed zone needs no time zone database.
var chinaTime = time.FixedZone("CST", 8*3600)

func (p *scParser) caller(at, n *yaml.Node, s *Scenario) {
	if n == nil {
		p.errorf(at, "scenario %q: caller: want a number or {citizen: ROLE}", s.Name)
		return
	}
	if n.Kind == yaml.ScalarNode {
		s.Number = n.Value
		if !numberRe.MatchString(s.Number) {
			p.errorf(n, "caller: %q is not a phone number (3 to 20 digits)", s.Number)
		}
		return
	}
	f := p.fields(n, "caller", "citizen")
	if v := f["citizen"]; v != nil {
		s.Role = p.str(v, "caller.citizen")
		if _, ok := roleByName(s.Role); !ok {
			p.errorf(v, "caller.citizen: unknown role %q (have %s)", s.Role, strings.Join(RoleNames(), ", "))
		}
		return
	}
	p.errorf(n, "caller: want a number or {citizen: ROLE}")
}

func (p *scParser) given(n *yaml.Node, s *Scenario) {
	g := p.fields(n, "given", "wrong_pins", "second_account", "no_last_payment")
	if v := g["wrong_pins"]; v != nil {
		k, err := strconv.Atoi(p.str(v, "given.wrong_pins"))
		if err != nil || k < 1 || k > 10 {
			p.errorf(v, "given.wrong_pins: want a count from 1 to 10")
		}
		s.Given.WrongPINs = k
	}
	if v := g["second_account"]; v != nil {
		s.Given.SecondAccount = p.str(v, "given.second_account")
		if !slices.Contains(accountKinds, s.Given.SecondAccount) {
			p.errorf(v, "given.second_account: want one of %s", strings.Join(accountKinds, ", "))
		}
	}
	if v := g["no_last_payment"]; v != nil {
		s.Given.NoLastPayment = p.strs(v, "given.no_last_payment")
		for _, x := range s.Given.NoLastPayment {
			if x != "social_insurance" && x != "housing_fund" {
				p.errorf(v, "given.no_last_payment: want social_insurance or housing_fund, got %q", x)
			}
		}
	}
	if !s.Given.empty() && s.Role == "" {
		p.errorf(n, "given: needs a seeded citizen as the caller ({citizen: ROLE})")
	}
}

func (p *scParser) agents(n *yaml.Node, s *Scenario) {
	if n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errorf(n, "agents: want a non-empty list of {skills: [...], phone: answer|busy|noanswer, answer_after: 1s, talk: 2s}")
		return
	}
	for _, an := range n.Content {
		f := p.fields(an, "agent", "skills", "phone", "answer_after", "talk")
		a := Agent{Line: an.Line, Phone: "answer"}
		if v := f["skills"]; v != nil {
			a.Skills = p.strs(v, "agent.skills")
			for _, sk := range a.Skills {
				if !sourceName.MatchString(sk) {
					p.errorf(v, "agent.skills: %q is not a skill id", sk)
				}
			}
		}
		if len(a.Skills) == 0 {
			p.errorf(an, "agent: skills: want at least one skill id")
		}
		if v := f["phone"]; v != nil {
			a.Phone = p.str(v, "agent.phone")
			if !slices.Contains(phoneModes, a.Phone) {
				p.errorf(v, "agent.phone: want one of %s", strings.Join(phoneModes, ", "))
			}
		}
		if v := f["answer_after"]; v != nil {
			a.AnswerAfter = p.duration(v, "agent.answer_after")
		}
		if v := f["talk"]; v != nil {
			a.Talk = p.duration(v, "agent.talk")
		}
		if a.Phone != "answer" && (f["answer_after"] != nil || f["talk"] != nil) {
			p.errorf(an, "agent: answer_after and talk go with phone: answer")
		}
		s.Agents = append(s.Agents, a)
	}
}

// accountKinds are the utility account kinds.
var accountKinds = []string{"water", "electricity", "gas", "telecom"}

var stepActions = []string{"expect", "expect_seq", "not_heard", "say", "press", "wait", "hangup"}

func (p *scParser) step(n *yaml.Node) (Step, bool) {
	f := p.fields(n, "step", append(slices.Clone(stepActions), "gap")...)
	st := Step{Line: n.Line}
	var actions []string
	for _, a := range stepActions {
		if f[a] != nil {
			actions = append(actions, a)
		}
	}
	if len(actions) != 1 {
		p.errorf(n, "step: want exactly one of %s", strings.Join(stepActions, ", "))
		return st, false
	}
	st.Action = actions[0]
	v := f[st.Action]
	if f["gap"] != nil && st.Action != "press" {
		p.errorf(f["gap"], "step: gap goes with press")
	}
	switch st.Action {
	case "expect", "expect_seq", "not_heard":
		st.Prompts = p.strs(v, st.Action)
		if len(st.Prompts) == 0 {
			p.errorf(v, "%s: want at least one prompt id", st.Action)
		}
		for _, id := range st.Prompts {
			if !promptRe.MatchString(id) {
				p.errorf(v, "%s: %q is not a prompt id", st.Action, id)
			}
		}
	case "say":
		st.Value = p.spoken(v)
	case "press":
		st.Keys = p.str(v, "press")
		if !keysRe.MatchString(st.Keys) {
			p.errorf(v, "press: want keys 0-9 * # and {placeholders}, got %q", st.Keys)
		}
		for _, m := range placeRe.FindAllStringSubmatch(st.Keys, -1) {
			if !slices.Contains(KeyPlaceholders, m[1]) {
				p.errorf(v, "press: unknown placeholder {%s} (have %s)", m[1], strings.Join(KeyPlaceholders, ", "))
			}
		}
		if g := f["gap"]; g != nil {
			st.Gap = p.duration(g, "gap")
		}
	case "wait":
		st.Wait = p.duration(v, "wait")
	case "hangup":
		if p.str(v, "hangup") != "true" {
			p.errorf(v, "hangup: want true")
		}
	}
	return st, true
}

var spokenKinds = []string{"amount", "number", "digits", "date", "month"}

func (p *scParser) spoken(n *yaml.Node) Spoken {
	f := p.fields(n, "say", append(slices.Clone(spokenKinds), "unit", "last")...)
	var v Spoken
	for _, k := range spokenKinds {
		if f[k] == nil {
			continue
		}
		if v.Kind != "" {
			p.errorf(n, "say: want one of %s", strings.Join(spokenKinds, ", "))
		}
		v.Kind, v.Ref = k, p.str(f[k], "say."+k)
		if err := checkRef(k, v.Ref); err != nil {
			p.errorf(f[k], "say.%s: %v", k, err)
		}
	}
	if v.Kind == "" {
		p.errorf(n, "say: want one of %s", strings.Join(spokenKinds, ", "))
	}
	if u := f["unit"]; u != nil {
		v.Unit = p.str(u, "say.unit")
		if v.Kind != "number" || !slices.Contains([]string{"ge", "wei", "minutes"}, v.Unit) {
			p.errorf(u, "say.unit: want ge, wei or minutes, with number")
		}
	}
	if l := f["last"]; l != nil {
		k, err := strconv.Atoi(p.str(l, "say.last"))
		if err != nil || k < 1 || v.Kind != "digits" {
			p.errorf(l, "say.last: want a positive count, with digits")
		}
		v.Last = k
	}
	return v
}

func (p *scParser) end(n *yaml.Node) *End {
	f := p.fields(n, "end", "outcome", "queue", "hung_up_by", "follow_up", "survey", "callback", "work_order", "agent", "offered")
	e := &End{Line: n.Line}
	if v := f["outcome"]; v != nil {
		e.Outcome = p.str(v, "end.outcome")
		if !slices.Contains(outcomes, e.Outcome) {
			p.errorf(v, "end.outcome: want one of %s", strings.Join(outcomes, ", "))
		}
	}
	if v := f["queue"]; v != nil {
		e.Queue = p.str(v, "end.queue")
	}
	if v := f["hung_up_by"]; v != nil {
		e.HungUpBy = p.str(v, "end.hung_up_by")
		if e.HungUpBy != "caller" && e.HungUpBy != "hotline" {
			p.errorf(v, "end.hung_up_by: want caller or hotline")
		}
	}
	if v := f["follow_up"]; v != nil {
		b, err := strconv.ParseBool(p.str(v, "end.follow_up"))
		if err != nil {
			p.errorf(v, "end.follow_up: want true or false")
		}
		e.FollowUp = &b
	}
	if v := f["survey"]; v != nil {
		k, err := strconv.Atoi(p.str(v, "end.survey"))
		if err != nil || k < 1 || k > 5 {
			p.errorf(v, "end.survey: want a level from 1 to 5")
		}
		e.Survey = k
	}
	if v := f["callback"]; v != nil {
		e.Callback = p.str(v, "end.callback")
		if e.Callback != "caller" && !numberRe.MatchString(e.Callback) {
			p.errorf(v, "end.callback: want caller or a number")
		}
	}
	if v := f["work_order"]; v != nil {
		if p.str(v, "end.work_order") != "true" {
			p.errorf(v, "end.work_order: want true (leave it out otherwise)")
		}
		e.WorkOrder = true
	}
	if v := f["agent"]; v != nil {
		e.Agent = p.agentNumber(v, "end.agent")
	}
	if v := f["offered"]; v != nil {
		e.Offered = []int{}
		for _, x := range p.strs(v, "end.offered") {
			e.Offered = append(e.Offered, p.agentNumber(&yaml.Node{Kind: yaml.ScalarNode, Value: x, Line: v.Line}, "end.offered"))
		}
	}
	return e
}

// agentNumber reads the number of one of the scenario's agents (1 for the first).
func (p *scParser) agentNumber(n *yaml.Node, what string) int {
	k, err := strconv.Atoi(p.str(n, what))
	if err != nil || k < 1 {
		p.errorf(n, "%s: want the number of one of the scenario's agents (1 for the first)", what)
	}
	return k
}

// consistent checks what a scenario's parts say about each other.
func (p *scParser) consistent(n *yaml.Node, s *Scenario) {
	hangups := 0
	for i, st := range s.Steps {
		if st.Action == "hangup" {
			hangups++
			if i != len(s.Steps)-1 {
				p.errorf(n, "scenario %q: hangup must be the last step (line %d)", s.Name, st.Line)
			}
		}
		if st.Action == "press" && s.Role == "" && strings.Contains(st.Keys, "{") && st.Keys != "{mobile}" {
			p.errorf(n, "scenario %q: press %q needs a seeded citizen as the caller", s.Name, st.Keys)
		}
	}
	if s.End != nil {
		for _, k := range append([]int{s.End.Agent}, s.End.Offered...) {
			if k > len(s.Agents) {
				p.errorf(n, "scenario %q: end names agent %d, but the scenario has %d agents", s.Name, k, len(s.Agents))
			}
		}
		switch {
		case s.End.HungUpBy == "caller" && hangups == 0:
			p.errorf(n, "scenario %q: end.hung_up_by caller, but no step hangs up", s.Name)
		case s.End.HungUpBy == "hotline" && hangups > 0:
			p.errorf(n, "scenario %q: end.hung_up_by hotline, but a step hangs up", s.Name)
		}
	}
}
