package flowtest

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/foshan-hotline/hotline/ivr/flow"
)

// coverageLib is a caller flow with a menu, a subflow and a queue, and the flow it calls.
func coverageLib(t *testing.T) *flow.Library {
	t.Helper()
	fsys := fstest.MapFS{
		"top.yaml": {Data: []byte(`
flow: top
start: menu
nodes:
  menu:
    kind: menu
    prompts: [main/menu]
    options:
      "1": {next: sub}
      "2": {next: wait}
    agent: wait
    on_fail: bye
  sub: {kind: subflow, flow: sub, next: menu}
  wait:
    kind: queue
    queue: general
    answered: thanks
    overflow: bye
    leave: bye
    leave_key: "#"
  thanks: {kind: play, prompts: [survey/thanks], next: bye}
  bye: {kind: hangup}
`)},
		"sub.yaml": {Data: []byte(`
flow: sub
start: hello
nodes:
  hello: {kind: play, prompts: [common/welcome], next: back}
  back: {kind: return}
`)},
	}
	lib, err := flow.LoadFiles(fsys, []string{"top.yaml", "sub.yaml"}, flow.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

func TestCoverageCreditsReturnToSubflowNode(t *testing.T) {
	lib := coverageLib(t)
	// Call a: 1 into the subflow, back to the menu, then on_fail. Call b hangs up in the
	// subflow: its subflow node is entered but not left by next.
	steps := []StepRecord{
		{CallID: "a", Seq: 1, Flow: "top", Node: "menu", Kind: "menu", Exit: "1"},
		{CallID: "a", Seq: 2, Flow: "top", Node: "sub", Kind: "subflow", Exit: "enter"},
		{CallID: "a", Seq: 3, Flow: "sub", Node: "hello", Kind: "play", Exit: "next"},
		{CallID: "a", Seq: 4, Flow: "sub", Node: "back", Kind: "return", Exit: "next"},
		{CallID: "a", Seq: 5, Flow: "top", Node: "menu", Kind: "menu", Exit: "on_fail"},
		{CallID: "a", Seq: 6, Flow: "top", Node: "bye", Kind: "hangup"},
		{CallID: "b", Seq: 1, Flow: "top", Node: "menu", Kind: "menu", Exit: "2"},
		{CallID: "b", Seq: 2, Flow: "top", Node: "wait", Kind: "queue", Exit: "hangup"},
	}
	cov := Coverage(lib, steps)
	byName := map[string]FlowCoverage{}
	for _, c := range cov {
		byName[c.Flow] = c
	}
	top, sub := byName["top"], byName["sub"]
	if !sub.Complete() || sub.NodesCovered != 2 || sub.ExitsCovered != 1 {
		t.Errorf("sub = %+v, want complete with 2 nodes and 1 exit", sub)
	}
	if got, want := top.MissingExits, []string{"menu -agent-> wait", "wait -answered-> thanks", "wait -overflow-> bye",
		"wait -leave-> bye", "thanks -next-> bye"}; !slices.Equal(got, want) {
		t.Errorf("top missing exits = %v, want %v", got, want)
	}
	// No exit is excused: the node only the queue's answered exit leads to is missing too.
	if got, want := top.MissingNodes, []string{"thanks"}; !slices.Equal(got, want) {
		t.Errorf("top missing nodes = %v, want %v", got, want)
	}
	if got, want := top.ExitsCovered, 4; got != want { // 1, 2, on_fail, sub's next
		t.Errorf("top exits covered = %d, want %d", got, want)
	}
	if got, want := top.Exits, 9; got != want {
		t.Errorf("top wired exits = %d, want %d", got, want)
	}
}

func TestCoverageCountsAnsweredQueue(t *testing.T) {
	lib := coverageLib(t)
	steps := []StepRecord{
		{CallID: "a", Seq: 1, Flow: "top", Node: "menu", Kind: "menu", Exit: "2"},
		{CallID: "a", Seq: 2, Flow: "top", Node: "wait", Kind: "queue", Exit: "answered"},
		{CallID: "a", Seq: 3, Flow: "top", Node: "thanks", Kind: "play", Exit: "next"},
		{CallID: "a", Seq: 4, Flow: "top", Node: "bye", Kind: "hangup"},
	}
	for _, c := range Coverage(lib, steps) {
		if c.Flow != "top" {
			continue
		}
		if got, want := c.MissingNodes, []string{"sub"}; !slices.Equal(got, want) {
			t.Errorf("missing nodes = %v, want %v", got, want)
		}
		if slices.ContainsFunc(c.MissingExits, func(x string) bool {
			return strings.HasPrefix(x, "wait -answered->") || strings.HasPrefix(x, "thanks ")
		}) {
			t.Errorf("missing exits = %v: the answered exit and the node after it were taken", c.MissingExits)
		}
	}
}

func TestCoverageSubflowLeftByHangup(t *testing.T) {
	lib := coverageLib(t)
	steps := []StepRecord{
		{CallID: "a", Seq: 1, Flow: "top", Node: "menu", Kind: "menu", Exit: "1"},
		{CallID: "a", Seq: 2, Flow: "top", Node: "sub", Kind: "subflow", Exit: "enter"},
		{CallID: "a", Seq: 3, Flow: "sub", Node: "hello", Kind: "play", Exit: "hangup"},
		// A later call's return must not be credited to call a's open subflow node.
		{CallID: "b", Seq: 1, Flow: "sub", Node: "back", Kind: "return", Exit: "next"},
	}
	for _, c := range Coverage(lib, steps) {
		if c.Flow == "top" && !slices.Contains(c.MissingExits, "sub -next-> menu") {
			t.Errorf("top missing exits = %v, want sub -next-> menu among them", c.MissingExits)
		}
		if c.Flow == "sub" && !slices.Contains(c.MissingExits, "hello -next-> back") {
			t.Errorf("sub missing exits = %v, want hello -next-> back among them", c.MissingExits)
		}
	}
}
