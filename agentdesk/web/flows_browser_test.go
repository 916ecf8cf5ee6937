package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/agentdesk/flowedit"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/postgres"
)

// withFlows serves the call flows of the repository's flows/ and sounds/, published into the
// test's database.
func withFlows(t *testing.T) func(*agentdesk.Options) {
	manifest, err := prompts.Load("../../sounds")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../../flows/calendars.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cals, err := flow.ParseCalendars(data)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range cals {
		names = append(names, n)
	}
	return func(o *agentdesk.Options) {
		files, _ := filepath.Glob("../../flows/*.yaml")
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
		o.Flows = flowedit.New(flowedit.Options{DB: o.DB, FlowsDir: "../../flows", SoundsDir: "../../sounds",
			Check: flow.Options{Manifest: manifest, Calendars: names}})
	}
}

// A supervisor edits the survey flow: a mistake is shown on its line, the fix clears it, the
// scenario tests pass, the draft is published as version 2, versions 1 and 2 are compared
// side by side, and version 1 is restored as version 3.
func TestFlowsPage(t *testing.T) {
	e := newEnv(t, withFlows(t))
	p := newPage(t, e)
	asSupervisor(t, e, p, "lead", "王班长")
	p.Do("open the flows", chromedp.Navigate(e.url+"/desk/flows#survey"))
	p.Wait("the flows page", `document.body.dataset.ready === "true"`)
	p.WaitText("fe-flows", "main")
	p.WaitText("fe-state", "已发布版本 1")
	p.WaitText("fe-problems", "校验通过")
	p.Wait("the graph", `document.getElementById("fe-graph").complete && document.getElementById("fe-graph").naturalWidth > 0`)

	// Line 10 names a prompt that does not exist.
	edit := func(what, from, to string) {
		t.Helper()
		p.Do(what, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
			const ta = document.getElementById("fe-text");
			ta.focus();
			const at = ta.value.indexOf(%q);
			if (at < 0) throw new Error("no %s in the text");
			ta.setSelectionRange(at, at + %d);
			document.execCommand("insertText", false, %q);
		})()`, from, from, len([]rune(from)), to)))
	}
	edit("break line 10", "[survey/ask]", "[survey/aks]")
	p.Wait("the problem on line 10", `document.querySelector('#fe-layer .fe-row.err[data-line="10"]') !== null`)
	p.Wait("line 10 marked in the gutter", `document.querySelector('#fe-gutter .fe-num.err[data-line="10"]') !== null`)
	p.WaitText("fe-problems", "第 10 行")
	if got := p.Eval(`document.querySelector('#fe-layer .fe-row.err').dataset.msg`); !strings.Contains(got, "survey/aks") {
		t.Errorf("the message on line 10 is %q, want one naming survey/aks", got)
	}
	if got := p.Eval(`document.querySelectorAll('#fe-layer .fe-row.err').length`); got != "1" {
		t.Errorf("%s lines marked, want 1", got)
	}
	p.Do("go to the problem", chromedp.Click(`#fe-problems .fe-jump`))
	p.WaitText("fe-hints", "节点 ask（survey）可用字段")
	p.Wait("the survey node's fields", `[...document.querySelectorAll("#fe-hints .fe-chip")].some((c) => c.textContent === "follow_up_at" && c.classList.contains("has"))`)
	p.Shoot("flows-error")

	// Saving keeps the draft with its problem; publishing it is refused.
	p.Do("save", chromedp.Click(chromedp.ID("fe-save")))
	p.WaitText("fe-msg", "有 1 个问题")
	p.WaitText("fe-flows", "草稿")
	p.Do("publish", chromedp.Click(chromedp.ID("fe-publish")))
	p.Wait("the confirmation", `document.getElementById("fe-confirm").open`)
	p.Do("confirm", chromedp.Click(chromedp.ID("fe-confirm-ok")))
	p.WaitText("fe-msg", "未发布")
	if v := e.activeVersion("survey"); v != 1 {
		t.Fatalf("a draft with a problem was published: version %d", v)
	}

	edit("fix line 10", "[survey/aks]", "[survey/ask]")
	// Valid, but the survey no longer thanks the caller: its scenarios fail.
	edit("thank with goodbye", "[survey/thanks]", "[common/goodbye]")
	p.WaitText("fe-problems", "校验通过")
	p.Do("publish", chromedp.Click(chromedp.ID("fe-publish")))
	p.Wait("the confirmation", `document.getElementById("fe-confirm").open`)
	p.Do("confirm", chromedp.Click(chromedp.ID("fe-confirm-ok")))
	p.WaitText("fe-msg", "个未通过")
	p.WaitText("fe-test-summary", "个场景未通过")
	p.WaitText("fe-tests", "survey/thanks")
	p.Shoot("flows-tests-failed")
	if v := e.activeVersion("survey"); v != 1 {
		t.Fatalf("a draft failing its scenarios was published: version %d", v)
	}
	edit("thank again", "[common/goodbye]", "[survey/thanks]")
	edit("reword the description", "一至五级", "一到五级")
	p.WaitText("fe-problems", "校验通过")
	p.Do("run the tests", chromedp.Click(chromedp.ID("fe-test")))
	p.WaitText("fe-test-summary", "全部通过")
	p.WaitText("fe-tests", "节点 5/5")
	p.Shoot("flows-tests")

	p.Do("publish", chromedp.Click(chromedp.ID("fe-publish")))
	p.Wait("the confirmation", `document.getElementById("fe-confirm").open`)
	if got := p.Text("fe-confirm-title"); !strings.Contains(got, "版本 2") {
		t.Errorf("confirmation %q, want one naming version 2", got)
	}
	p.Do("confirm", chromedp.Click(chromedp.ID("fe-confirm-ok")))
	p.WaitText("fe-msg", "已发布 survey 版本 2")
	p.WaitText("fe-state", "已发布版本 2 · 王班长")
	if v := e.activeVersion("survey"); v != 2 {
		t.Fatalf("published version %d, want 2", v)
	}

	p.Do("compare 1 with 2", chromedp.SetValue(chromedp.ID("fe-from"), "1"), chromedp.SetValue(chromedp.ID("fe-to"), "2"),
		chromedp.Click(chromedp.ID("fe-diff")))
	p.WaitText("fe-diffview", "1 行不同")
	p.Wait("the changed line side by side", `[...document.querySelectorAll("#fe-diffview tr.chg")].some((r) =>
		r.cells[1].innerText.includes("一至五级") && r.cells[3].innerText.includes("一到五级"))`)
	p.Shoot("flows-diff")

	p.Do("roll back to 1", chromedp.Click(`#fe-versions tr[data-version="1"] .fe-rollback`))
	p.Wait("the confirmation", `document.getElementById("fe-confirm").open`)
	p.Do("confirm", chromedp.Click(chromedp.ID("fe-confirm-ok")))
	p.WaitText("fe-msg", "已回滚：版本 3 即版本 1 的内容")
	p.WaitText("fe-versions", "回滚自版本 1")
	if v := e.activeVersion("survey"); v != 3 {
		t.Fatalf("after the rollback version %d, want 3", v)
	}
	var actions []string
	if err := e.db.Select(&actions, `SELECT action || ' ' || (detail->>'version') FROM hotline.audit_log
		WHERE object_type = 'flow' AND object_id = 'survey' AND action <> 'flow_import' ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(actions, ", "), "flow_publish 2, flow_rollback 3"; got != want {
		t.Errorf("audit: %s, want %s", got, want)
	}
	p.Shoot("flows-rollback")
}

// A supervisor starts a new flow: it opens on a skeleton without problems, is listed once
// saved, and published as its version 1.
func TestFlowsPageNewFlow(t *testing.T) {
	e := newEnv(t, withFlows(t))
	p := newPage(t, e)
	asSupervisor(t, e, p, "lead", "王班长")
	p.Do("open the flows", chromedp.Navigate(e.url+"/desk/flows"))
	p.Wait("the flows page", `document.body.dataset.ready === "true"`)
	p.Do("a bad name", chromedp.SendKeys(chromedp.ID("fe-new-name"), "Holiday!"), chromedp.Click(`#fe-new button`))
	p.WaitText("fe-msg", "流程名须以小写字母开头")
	p.Do("a new flow", chromedp.SetValue(chromedp.ID("fe-new-name"), "holiday"), chromedp.Click(`#fe-new button`))
	p.WaitText("fe-name", "holiday")
	p.WaitText("fe-state", "尚未发布")
	p.WaitText("fe-problems", "校验通过")
	p.Do("save", chromedp.Click(chromedp.ID("fe-save")))
	p.WaitText("fe-msg", "草稿已保存")
	p.WaitText("fe-flows", "holiday")
	p.Do("publish", chromedp.Click(chromedp.ID("fe-publish")))
	p.Wait("the confirmation", `document.getElementById("fe-confirm").open`)
	p.Do("confirm", chromedp.Click(chromedp.ID("fe-confirm-ok")))
	p.WaitText("fe-msg", "已发布 holiday 版本 1")
	if v := e.activeVersion("holiday"); v != 1 {
		t.Errorf("holiday version %d, want 1", v)
	}
}

// An agent opening the flows page is told it is for supervisors.
func TestFlowsPageRefusesAgents(t *testing.T) {
	e := newEnv(t, withFlows(t))
	p := newPage(t, e)
	p.login()
	p.Do("open the flows", chromedp.Navigate(e.url+"/desk/flows"))
	p.Wait("the refusal", `!document.getElementById("fe-denied").hidden`)
	if got := p.Eval(`document.getElementById("fe-shell").hidden`); got != "true" {
		t.Error("the editor is shown to an agent")
	}
}

func (e *env) activeVersion(name string) int {
	e.t.Helper()
	var v int
	if err := e.db.Get(&v, `SELECT version FROM hotline.flow_versions WHERE flow = $1 AND active`, name); err != nil {
		e.t.Fatal(err)
	}
	return v
}
