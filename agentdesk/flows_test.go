package agentdesk_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/agentdesk/flowedit"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/postgres"
)

func init() {
	validBodies["POST /api/flows/{name}/draft"] = `{"source":"flow: survey\n"}`
	validBodies["POST /api/flows/{name}/check"] = `{"source":"flow: survey\n"}`
	validBodies["POST /api/flows/{name}/test"] = `{"source":"flow: survey\n"}`
	validBodies["POST /api/flows/{name}/rollback"] = `{"version":1}`
}

// withShippedFlows publishes the repository's flows into the desk's database and serves
// them with the flow service; the flows directory given to it holds the calendars only, so
// that publishing runs no scenario.
func withShippedFlows(t *testing.T) deskOption {
	m, err := prompts.Load("../sounds")
	if err != nil {
		t.Fatal(err)
	}
	cal, err := os.ReadFile("../flows/calendars.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cals, err := flow.ParseCalendars(cal)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range cals {
		names = append(names, n)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "calendars.yaml"), cal, 0o644)
	return func(o *agentdesk.Options) {
		files, _ := filepath.Glob("../flows/*.yaml")
		var srcs []postgres.FlowSource
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".yaml")
			if name == "calendars" || name == "prompts" {
				continue
			}
			src, _ := os.ReadFile(f)
			srcs = append(srcs, postgres.FlowSource{Name: name, Source: string(src)})
		}
		if _, err := postgres.PublishFlows(context.Background(), o.DB, srcs, 0); err != nil {
			t.Fatal(err)
		}
		o.Flows = flowedit.New(flowedit.Options{DB: o.DB, FlowsDir: dir, SoundsDir: "../sounds",
			Check: flow.Options{Manifest: m, Calendars: names}})
	}
}

func decodeJSON[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return v
}

func TestFlowsAPI(t *testing.T) {
	d := newDesk(t, withShippedFlows(t))
	sup, agent := d.login("supervisor"), d.login("agent01")
	for _, path := range []string{"/api/flows", "/api/flows/survey", "/api/flows/survey/versions/1", "/api/flows/survey/graph.svg"} {
		if status, b := agent.do("GET", path, ""); status != http.StatusForbidden {
			t.Errorf("agent GET %s: %d %s, want 403", path, status, b)
		}
	}
	if status, b := agent.do("POST", "/api/flows/survey/publish", ""); status != http.StatusForbidden {
		t.Errorf("agent publish: %d %s, want 403", status, b)
	}

	status, b := sup.do("GET", "/api/flows", "")
	list := decodeJSON[struct{ Flows []postgres.FlowSummary }](t, b)
	if status != http.StatusOK || len(list.Flows) != 9 || list.Flows[8].Flow != "survey" || list.Flows[8].Version != 1 {
		t.Fatalf("GET /api/flows: %d %s", status, b)
	}
	status, b = sup.do("GET", "/api/flows/survey", "")
	detail := decodeJSON[struct {
		Published *postgres.FlowVersion
		Draft     *postgres.FlowDraft
		Versions  []postgres.FlowVersion
	}](t, b)
	if status != http.StatusOK || detail.Published == nil || detail.Draft != nil || len(detail.Versions) != 1 {
		t.Fatalf("GET /api/flows/survey: %d %s", status, b)
	}
	src := detail.Published.Source
	for path, want := range map[string]int{
		"/api/flows/nosuch":                   http.StatusNotFound,
		"/api/flows/Bad-Name":                 http.StatusBadRequest,
		"/api/flows/survey/versions/9":        http.StatusNotFound,
		"/api/flows/survey/versions/x":        http.StatusBadRequest,
		"/api/flows/survey/diff?to=x":         http.StatusBadRequest,
		"/api/flows/survey/diff":              http.StatusNotFound, // no draft yet
		"/api/flows/survey/graph.svg":         http.StatusOK,
		"/api/flows/survey/graph.svg?draft=1": http.StatusNotFound,
	} {
		if status, b := sup.do("GET", path, ""); status != want {
			t.Errorf("GET %s: %d %s, want %d", path, status, b, want)
		}
	}

	body := func(s string) string { b, _ := json.Marshal(map[string]string{"source": s}); return string(b) }
	broken := strings.Replace(src, "next: judge", "next: jugde", 1)
	status, b = sup.do("POST", "/api/flows/survey/check", body(broken))
	check := decodeJSON[struct{ Problems []agentdesk.FlowProblem }](t, b)
	if status != http.StatusOK || len(check.Problems) == 0 || check.Problems[0].Line != 15 || check.Problems[0].Node != "ask" {
		t.Fatalf("check: %d %s", status, b)
	}
	// A draft with problems is saved, with them; publishing it is refused with them.
	status, b = sup.do("POST", "/api/flows/survey/draft", body(broken))
	if status != http.StatusOK || !strings.Contains(string(b), `"line":15`) {
		t.Fatalf("save: %d %s", status, b)
	}
	status, b = sup.do("POST", "/api/flows/survey/publish", "")
	refusal := decodeJSON[struct {
		Error    string
		Problems []agentdesk.FlowProblem
	}](t, b)
	if status != http.StatusConflict || refusal.Error != "conflict" || len(refusal.Problems) == 0 || refusal.Problems[0].Line != 15 {
		t.Fatalf("publish of a broken draft: %d %s", status, b)
	}
	if status, b := sup.do("GET", "/api/flows/survey/graph.svg?draft=1", ""); status != http.StatusConflict {
		t.Errorf("graph of a broken draft: %d %s, want 409", status, b)
	}

	fixed := strings.Replace(src, "一至五级", "一到五级", 1)
	if status, b := sup.do("POST", "/api/flows/survey/draft", body(fixed)); status != http.StatusOK || !strings.Contains(string(b), `"problems":[]`) {
		t.Fatalf("save: %d %s", status, b)
	}
	status, b = sup.do("GET", "/api/flows/survey/diff?from=published&to=draft", "")
	diff := decodeJSON[struct {
		Lines   []postgres.DiffLine
		Unified string
	}](t, b)
	if status != http.StatusOK || !strings.Contains(diff.Unified, "-description: 满意度评价：一至五级") || !strings.Contains(diff.Unified, "+description: 满意度评价：一到五级") {
		t.Fatalf("diff: %d %s", status, b)
	}
	status, b = sup.do("POST", "/api/flows/survey/test", "")
	if rep := decodeJSON[agentdesk.FlowTestReport](t, b); status != http.StatusOK || !rep.Passed || rep.File != "" {
		t.Errorf("test without scenario files: %d %s", status, b)
	}
	status, b = sup.do("POST", "/api/flows/survey/publish", "")
	if v := decodeJSON[postgres.FlowVersion](t, b); status != http.StatusOK || v.Version != 2 || v.PublishedBy != "用户supervisor" {
		t.Fatalf("publish: %d %s", status, b)
	}
	if status, b := sup.do("POST", "/api/flows/survey/publish", ""); status != http.StatusNotFound {
		t.Errorf("publish without a draft: %d %s, want 404", status, b)
	}
	for req, want := range map[string]int{`{"version":2}`: http.StatusConflict, `{"version":7}`: http.StatusNotFound, `{"version":0}`: http.StatusBadRequest} {
		if status, b := sup.do("POST", "/api/flows/survey/rollback", req); status != want {
			t.Errorf("rollback %s: %d %s, want %d", req, status, b, want)
		}
	}
	status, b = sup.do("POST", "/api/flows/survey/rollback", `{"version":1}`)
	if v := decodeJSON[postgres.FlowVersion](t, b); status != http.StatusOK || v.Version != 3 || v.RestoredFrom != 1 || v.Source != src {
		t.Fatalf("rollback: %d %s", status, b)
	}
	status, b = sup.do("GET", "/api/flows/survey/versions/2", "")
	if v := decodeJSON[postgres.FlowVersion](t, b); status != http.StatusOK || v.Source != fixed || v.Active {
		t.Errorf("version 2: %d %s", status, b)
	}

	// A draft saved before a rollback is stale: publishing it would undo the rollback unseen.
	sup.do("POST", "/api/flows/survey/draft", body(fixed+"# again\n"))
	sup.do("POST", "/api/flows/survey/rollback", `{"version":2}`)
	status, b = sup.do("POST", "/api/flows/survey/publish", "")
	if status != http.StatusConflict || !strings.Contains(string(b), "started from version 3, but version 4") {
		t.Errorf("publish of a stale draft: %d %s", status, b)
	}

	// Discarding a draft; a new flow saved as a draft is listed without a version.
	sup.do("POST", "/api/flows/survey/draft", body(broken))
	if status, b := sup.do("POST", "/api/flows/survey/draft/discard", ""); status != http.StatusNoContent {
		t.Errorf("discard: %d %s", status, b)
	}
	if status, b := sup.do("POST", "/api/flows/survey/draft/discard", ""); status != http.StatusNotFound {
		t.Errorf("discard again: %d %s", status, b)
	}
	sup.do("POST", "/api/flows/hotline_test/draft", body("flow: hotline_test\nstart: bye\nnodes:\n  bye: {kind: hangup}\n"))
	_, b = sup.do("GET", "/api/flows", "")
	if !strings.Contains(string(b), `"flow":"hotline_test","version":0`) {
		t.Errorf("the new flow's draft is not listed: %s", b)
	}
	if status, b := sup.do("POST", "/api/flows/survey/draft", `{"source":"`+strings.Repeat("x", 300<<10)+`"}`); status != http.StatusBadRequest {
		t.Errorf("a 300 KiB draft: %d %.200s, want 400", status, b)
	}
}
