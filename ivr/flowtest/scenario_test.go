package flowtest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/ivr/flow"
)

func TestParseScenarios(t *testing.T) {
	src := `
scenarios:
  - name: water bill
    caller: {citizen: water_overdue}
    now: 2026-03-25 10:00
    language: yue
    backend: {fail: [latest_bill], slow: accounts_of_citizen}
    given: {wrong_pins: 2, no_last_payment: [housing_fund]}
    steps:
      - expect: [common/welcome, main/menu]
      - press: "{id_number}#"
        gap: 20ms
      - say: {number: applications.count, unit: ge}
      - say: {digits: "13800138000", last: 4}
      - wait: 1500ms
      - hangup: true
    end: {outcome: hangup, hung_up_by: caller, follow_up: false, survey: 4, callback: caller, work_order: true}
  - name: literal number
    caller: "02083338888"
    flow: survey
    steps:
      - press: "5"
`
	got, err := ParseScenarios("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d scenarios, want 2", len(got))
	}
	s := got[0]
	if s.Line != 3 || s.Role != "water_overdue" || s.Number != "" || s.Language != "yue" {
		t.Errorf("scenario = line %d role %q number %q language %q", s.Line, s.Role, s.Number, s.Language)
	}
	if want := time.Date(2026, 3, 25, 10, 0, 0, 0, chinaTime); !s.Now.Equal(want) {
		t.Errorf("now = %v, want %v", s.Now, want)
	}
	if got, want := s.Backend.key(), "[latest_bill] [accounts_of_citizen] [] []"; got != want {
		t.Errorf("backend = %s, want %s", got, want)
	}
	if s.Given.WrongPINs != 2 || len(s.Given.NoLastPayment) != 1 {
		t.Errorf("given = %+v", s.Given)
	}
	if got, want := len(s.Steps), 6; got != want {
		t.Fatalf("%d steps, want %d", got, want)
	}
	if st := s.Steps[1]; st.Action != "press" || st.Keys != "{id_number}#" || st.Gap != 20*time.Millisecond || st.Line != 11 {
		t.Errorf("press step = %+v", st)
	}
	if v := s.Steps[2].Value; v.Kind != "number" || v.Ref != "applications.count" || v.Unit != "ge" {
		t.Errorf("say = %+v", v)
	}
	if v := s.Steps[3].Value; v.Kind != "digits" || v.Last != 4 {
		t.Errorf("say digits = %+v", v)
	}
	e := s.End
	if e == nil || e.Outcome != "hangup" || e.HungUpBy != "caller" || e.FollowUp == nil || *e.FollowUp || e.Survey != 4 || e.Callback != "caller" || !e.WorkOrder {
		t.Errorf("end = %+v", e)
	}
	if got[1].Number != "02083338888" || got[1].Flow != "survey" || got[1].End != nil {
		t.Errorf("second scenario = %+v", got[1])
	}
}

func TestParseScenarioAgents(t *testing.T) {
	src := `
scenarios:
  - name: busy then answer
    caller: "13700000092"
    agents:
      - {skills: [general], phone: busy}
      - {skills: [social_security, general], answer_after: 5s, talk: 30s}
    steps: [{expect: [survey/ask]}]
    end: {agent: 2, offered: [1, 2]}
  - name: none offered
    caller: "13700000093"
    agents: [{skills: housing_fund, phone: noanswer}]
    steps: [{hangup: true}]
    end: {offered: []}
`
	got, err := ParseScenarios("t.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ag := got[0].Agents
	if len(ag) != 2 {
		t.Fatalf("%d agents, want 2", len(ag))
	}
	if a := ag[0]; a.Phone != "busy" || !slices.Equal(a.Skills, []string{"general"}) || a.Line != 6 {
		t.Errorf("first agent = %+v", a)
	}
	if a := ag[1]; a.Phone != "answer" || a.AnswerAfter != 5*time.Second || a.Talk != 30*time.Second || len(a.Skills) != 2 {
		t.Errorf("second agent = %+v, want an answering phone by default", a)
	}
	if e := got[0].End; e.Agent != 2 || !slices.Equal(e.Offered, []int{1, 2}) {
		t.Errorf("end = %+v", e)
	}
	if e := got[1].End; e.Offered == nil || len(e.Offered) != 0 {
		t.Errorf("end.offered = %#v, want an empty list to check", e.Offered)
	}
	if a := got[1].Agents; len(a) != 1 || a[0].Skills[0] != "housing_fund" || a[0].Phone != "noanswer" {
		t.Errorf("agents = %+v", a)
	}
}

func TestParseScenariosProblems(t *testing.T) {
	head := "scenarios:\n  - name: x\n    caller: \"13800138000\"\n"
	tests := []struct {
		name, src, want string
	}{
		{"no list", "scenarios: {}\n", "t.yaml:1: a scenario file holds a non-empty list"},
		{"unknown field", head + "    colour: red\n    steps: [{hangup: true}]\n", `t.yaml:4: scenario: unknown field "colour"`},
		{"no steps", head, `scenario "x": steps: want a non-empty list`},
		{"two actions", head + "    steps:\n      - {press: \"1\", hangup: true}\n", "t.yaml:5: step: want exactly one of"},
		{"bad keys", head + "    steps:\n      - press: \"1a\"\n", `t.yaml:5: press: want keys 0-9 * # and {placeholders}, got "1a"`},
		{"unknown placeholder", head + "    steps:\n      - press: \"{name}\"\n", "t.yaml:5: press: unknown placeholder {name}"},
		{"placeholder without citizen", head + "    steps:\n      - press: \"{pin}#\"\n", `press "{pin}#" needs a seeded citizen`},
		{"bad prompt", head + "    steps:\n      - expect: [Main Menu]\n", `t.yaml:5: expect: "Main Menu" is not a prompt id`},
		{"gap without press", head + "    steps:\n      - {wait: 1s, gap: 1s}\n", "t.yaml:5: step: gap goes with press"},
		{"bad duration", head + "    steps:\n      - wait: soon\n", "t.yaml:5: wait: want a duration"},
		{"hangup not last", head + "    steps:\n      - hangup: true\n      - press: \"1\"\n", "hangup must be the last step"},
		{"unknown role", "scenarios:\n  - name: x\n    caller: {citizen: mayor}\n    steps: [{hangup: true}]\n", `t.yaml:3: caller.citizen: unknown role "mayor"`},
		{"bad number", "scenarios:\n  - name: x\n    caller: \"12ab\"\n    steps: [{hangup: true}]\n", `caller: "12ab" is not a phone number`},
		{"no caller", "scenarios:\n  - name: x\n    steps: [{hangup: true}]\n", "caller: want a number or {citizen: ROLE}"},
		{"bad speed", head + "    speed: 0.5\n    steps: [{hangup: true}]\n", "t.yaml:4: speed: want a number from 1 to 100"},
		{"bad now", head + "    now: tomorrow\n    steps: [{hangup: true}]\n", "t.yaml:4: now: want a time in China Standard Time"},
		{"given without citizen", head + "    given: {wrong_pins: 2}\n    steps: [{hangup: true}]\n", "given: needs a seeded citizen"},
		{"bad reference", head + "    steps:\n      - say: {amount: bill.amount}\n", `say.amount: "bill.amount" is neither a literal nor a known reference`},
		{"unit with amount", head + "    steps:\n      - say: {amount: 5, unit: ge}\n", "say.unit: want ge, wei or minutes, with number"},
		{"bad outcome", head + "    steps: [{hangup: true}]\n    end: {outcome: happy}\n", "t.yaml:5: end.outcome: want one of"},
		{"hung up by caller without hangup", head + "    steps: [{press: \"1\"}]\n    end: {hung_up_by: caller}\n", "end.hung_up_by caller, but no step hangs up"},
		{"hung up by hotline with hangup", head + "    steps: [{hangup: true}]\n    end: {hung_up_by: hotline}\n", "end.hung_up_by hotline, but a step hangs up"},
		{"duplicate name", "scenarios:\n  - {name: x, caller: \"123\", steps: [{hangup: true}]}\n  - {name: x, caller: \"123\", steps: [{hangup: true}]}\n",
			`t.yaml:3: scenario "x" is also at line 2`},
		{"yaml syntax", "scenarios: [\n", "t.yaml: yaml:"},
		{"agents not a list", head + "    agents: {skills: [general]}\n    steps: [{hangup: true}]\n", "t.yaml:4: agents: want a non-empty list"},
		{"agent without skills", head + "    agents: [{phone: busy}]\n    steps: [{hangup: true}]\n", "agent: skills: want at least one skill id"},
		{"bad phone", head + "    agents: [{skills: [general], phone: reject}]\n    steps: [{hangup: true}]\n", "agent.phone: want one of answer, busy, noanswer"},
		{"talk without answer", head + "    agents: [{skills: [general], phone: busy, talk: 2s}]\n    steps: [{hangup: true}]\n",
			"agent: answer_after and talk go with phone: answer"},
		{"unknown agent field", head + "    agents: [{skills: [general], level: 5}]\n    steps: [{hangup: true}]\n", `agent: unknown field "level"`},
		{"end names a missing agent", head + "    agents: [{skills: [general]}]\n    steps: [{hangup: true}]\n    end: {offered: [1, 2]}\n",
			"end names agent 2, but the scenario has 1 agents"},
		{"bad agent number", head + "    steps: [{hangup: true}]\n    end: {agent: first}\n", "end.agent: want the number of one of the scenario's agents"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseScenarios("t.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			if !errors.Is(err, ErrScenario) {
				t.Errorf("error %v does not wrap ErrScenario", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestBackendFaults(t *testing.T) {
	b := Backend{Fail: []string{"latest_bill"}, Slow: []string{"housing_fund"}, Refuse: []string{"social_insurance"}, Empty: []string{"stations_of_district"}}
	if err := b.check(); err != nil {
		t.Errorf("check: %v", err)
	}
	if err := (Backend{Slow: []string{"latest_bil"}}).check(); err == nil {
		t.Error("an unknown source passed the check")
	}
	// The lookup's own timeout ends a slow source, as the engine's does.
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Millisecond)
	defer cancel()
	tests := []struct {
		source, exit string
	}{
		{"latest_bill", "error"},
		{"housing_fund", "on_timeout"},
		{"social_insurance", "not_allowed"},
		{"stations_of_district", "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.source, func(t *testing.T) {
			s := &faultySources{next: nil, b: b}
			v, err := s.Lookup(ctx, tt.source, nil)
			if got := flow.LookupExit(v, err); got != tt.exit {
				t.Errorf("exit = %s, want %s (err %v)", got, tt.exit, err)
			}
		})
	}
}
