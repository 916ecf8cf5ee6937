package web_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestSearchAndAttach looks up the citizen an unrecognised caller speaks for: an ID number
// search is refused without a reason, a found citizen is shown masked and attached to the
// call, and the card then shows them.
func TestSearchAndAttach(t *testing.T) {
	e := newEnv(t)
	e.queues()
	var attached atomic.Bool
	e.calls.Update(func(f *fakeCalls) {
		f.CardFunc = func(id string) (int, any) {
			if attached.Load() {
				return demoCard(id)
			}
			return 200, map[string]any{"call_id": id, "caller_number": "075783001234", "citizen": nil,
				"insurance_hidden_reason": "未匹配到市民"}
		}
		f.SearchFunc = func(q url.Values) (int, any) {
			if q.Get("by") == "id_number" && q.Get("reason") == "" {
				return 400, map[string]string{"error": "invalid", "reason": "an ID number search needs a reason"}
			}
			return 200, map[string]any{"citizens": []map[string]any{{"id": 42, "name": "陈美玲",
				"id_number_mask": "440604********1234", "level": "real_name", "district": "禅城区"}}}
		}
		f.AttachFunc = func(id string, citizen int64) (int, any) {
			attached.Store(true)
			return 204, nil
		}
	})
	p := newPage(t, e)
	p.login()
	p.Key("F2", kb.F2)
	p.state("available")
	e.offerCall(callID, "075783001234")
	p.Wait("the card", `document.getElementById("card").dataset.loaded === "card"`)
	p.WaitText("card", "未注册号码")

	p.Key("Alt+S", "s", chromedp.ModifierAlt)
	p.Wait("the search panel", `!document.getElementById("search-body").hidden && document.activeElement.id === "search-q"`)
	p.Do("search by ID number", chromedp.SetValue(chromedp.ID("search-by"), "id_number"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("search-by").dispatchEvent(new Event("change"))`),
		chromedp.SendKeys(chromedp.ID("search-q"), "440604199001011234"+kb.Enter))
	p.WaitText("search-note", "按身份证号查询必须填写原因")
	if got := e.calls.Commands(); len(got) != 0 {
		t.Errorf("a search without a reason reached the server: %q", got)
	}
	p.Do("give a reason", chromedp.SendKeys(chromedp.ID("search-reason"), "市民为母亲咨询账单"+kb.Enter))
	p.WaitText("search-note", "找到 1 位市民")
	p.WaitText("search-results", "440604********1234")
	if strings.Contains(p.Text("search-results"), "440604199001011234") || p.Eval(`document.getElementById("search-q").value`) != "" {
		t.Errorf("the full ID number stays on the screen")
	}
	p.Shoot("13-search")
	want := "search " + url.Values{"by": {"id_number"}, "call_id": {callID}, "q": {"440604199001011234"}, "reason": {"市民为母亲咨询账单"}}.Encode()
	if got := e.calls.Commands(); !slices.Contains(got, want) {
		t.Errorf("the server got %q, want %q", got, want)
	}

	p.Do("attach", chromedp.Click(chromedp.CSS(`#search-results button`)))
	p.Wait("the search panel closed", `document.getElementById("search-body").hidden`)
	p.WaitText("card", "陈美玲")
	if got := e.calls.Commands(); !slices.Contains(got, fmt.Sprintf("attach %s 42", callID)) {
		t.Errorf("the server got %q, want an attach of citizen 42", got)
	}

	// Without the search endpoint the panel says the server cannot search yet.
	e.calls.Update(func(f *fakeCalls) { f.SearchFunc = nil })
	p.Key("Alt+S", "s", chromedp.ModifierAlt)
	p.Do("search by mobile", chromedp.SetValue(chromedp.ID("search-by"), "mobile"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("search-by").dispatchEvent(new Event("change"))`),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("search-q").value = ""`), chromedp.SendKeys(chromedp.ID("search-q"), "13800138000"+kb.Enter))
	p.WaitText("search-note", "查询未成功：服务器尚不支持此操作")
}
