package flow

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/internal/repotest"
)

func readTexts(t testing.TB, root, name string) PromptTexts {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	texts, err := ParsePromptTexts(data)
	if err != nil {
		t.Fatal(err)
	}
	return texts
}

// shippedQueues are the skill queues of ../shared/DESIGN.md's consultation topics.
var shippedQueues = []string{"social_security", "housing_fund", "health", "education", "public_safety",
	"food_drug", "community", "transport", "population", "disability", "general"}

// shippedOptions checks the shipped flows against the sound manifest and the flows' own
// prompt texts, the shipped calendars and the skill queues.
func shippedOptions(t testing.TB) (Options, PromptTexts) {
	root := repotest.Root(t)
	own := readTexts(t, root, "flows/prompts.yaml")
	manifest := readTexts(t, root, "sounds/manifest.yaml")
	data, err := os.ReadFile(filepath.Join(root, "flows/calendars.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cals, err := ParseCalendars(data)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range cals {
		names = append(names, n)
	}
	return Options{Manifest: Manifests{manifest, own}, Calendars: names, Queues: shippedQueues}, own
}

func TestShippedFlows(t *testing.T) {
	opt, _ := shippedOptions(t)
	lib, err := LoadDir(os.DirFS(repotest.Root(t)), "flows", opt)
	if err != nil {
		t.Fatalf("shipped flows:\n%v", err)
	}
	want := []string{"account", "agent", "bills", "consultation", "insurance", "main", "message", "progress", "survey"}
	if got := lib.Names(); !slices.Equal(got, want) {
		t.Errorf("flows = %v, want %v", got, want)
	}
	// Every queue of the consultation topics is reachable from the consultation flow.
	var queues []string
	for _, n := range lib.Flow("consultation").Nodes {
		if q, ok := n.(*Queue); ok {
			queues = append(queues, q.Queue)
		}
	}
	slices.Sort(queues)
	sorted := slices.Sorted(slices.Values(shippedQueues))
	if !slices.Equal(queues, sorted) {
		t.Errorf("consultation queues = %v, want %v", queues, sorted)
	}
	// Menus keep 0 for an agent and * for repeating, unless nothing else is possible.
	for _, name := range lib.Names() {
		for _, n := range lib.Flow(name).Nodes {
			if m, ok := n.(*Menu); ok && (m.AgentKey != "0" || m.RepeatKey != "*") {
				t.Errorf("%s/%s: agent key %q, repeat key %q", name, m.ID(), m.AgentKey, m.RepeatKey)
			}
		}
	}
}

func TestShippedPromptTexts(t *testing.T) {
	_, own := shippedOptions(t)
	for id, texts := range own {
		for _, lang := range []string{"zh", "yue"} {
			s := texts[lang]
			if s == "" {
				t.Errorf("%s: no %s text", id, lang)
			}
			if strings.ContainsAny(s, "0123456789") {
				t.Errorf("%s: %s text %q has ASCII digits; write numbers in words", id, lang, s)
			}
		}
	}
	// Prompts named by data rather than by flows must exist too.
	var dynamic []string
	for _, k := range hotline.AccountKinds {
		dynamic = append(dynamic, AccountKindPrompt(k))
	}
	for _, s := range []hotline.ApplicationStatus{hotline.StatusAccepted, hotline.StatusReviewing,
		hotline.StatusCorrection, hotline.StatusCompleted, hotline.StatusRejected} {
		dynamic = append(dynamic, StatusPrompt(s))
	}
	for _, id := range dynamic {
		if !own.Has(id, "zh") || !own.Has(id, "yue") {
			t.Errorf("prompt %s is missing from flows/prompts.yaml", id)
		}
	}
}

func TestShippedFlowsFailWithoutTheirPrompts(t *testing.T) {
	opt, _ := shippedOptions(t)
	root := repotest.Root(t)
	opt.Manifest = readTexts(t, root, "sounds/manifest.yaml") // without flows/prompts.yaml
	_, err := LoadDir(os.DirFS(root), "flows", opt)
	if err == nil || !strings.Contains(err.Error(), `flows/bills.yaml:`) || !strings.Contains(err.Error(), `prompt "bills/pick_kind" is not in the sound manifest in zh, yue`) {
		t.Errorf("LoadDir without the flows' prompts: %v", err)
	}
}
