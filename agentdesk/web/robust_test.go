package web_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/internal/browsertest"
)

// TestNetworkDropRestoresView cuts every connection during a held call; the call ends while
// the desk is away. The desk reconnects by itself and shows what the server has now: the
// wrap-up, with the card of the call.
func TestNetworkDropRestoresView(t *testing.T) {
	e := newEnv(t)
	e.queues()
	e.calls.Update(func(f *fakeCalls) {
		f.CardFunc = demoCard
		f.ControlFunc = func(id string, cmd hotline.CallCommand) (int, any) {
			return 200, hotline.CallState{CallID: id, AgentID: e.ids["agent01"], Held: cmd.Action == "hold"}
		}
	})
	p := newPage(t, e)
	p.login()
	p.Key("F2", kb.F2)
	p.state("available")
	e.answer(e.offer())
	p.state("talking")
	p.Key("Alt+H", "h", chromedp.ModifierAlt)
	p.WaitText("btn-hold", "恢复")
	p.Wait("one connection so far", `window.deskConnects === 1`)

	e.conns.drop()
	e.hangUp(2 * time.Minute)
	p.Wait("a new connection", `window.deskConnects >= 2 && document.body.dataset.conn === "open"`)
	p.state("wrap_up")
	p.Wait("the wrap-up", `!document.getElementById("wrapup").hidden && document.getElementById("call-panel").hidden`)
	p.Wait("the card", `document.getElementById("card").dataset.loaded === "card" && document.getElementById("card").dataset.call === "`+callID+`"`)
	p.Wait("the reconnecting notice gone", `document.getElementById("notice").hidden`)
}

// TestSecondTab opens the desk in a second tab during a ringing call: it shows the same
// offer and card.
func TestSecondTab(t *testing.T) {
	e := newEnv(t)
	e.queues()
	e.calls.Update(func(f *fakeCalls) { f.CardFunc = demoCard })
	p := newPage(t, e)
	p.login()
	p.Key("F2", kb.F2)
	p.state("available")
	offerID := e.offer()
	p.state("ringing")

	tab, cancel := chromedp.NewContext(p.Tab)
	defer cancel()
	second := &page{Page: browsertest.NewPage(t, tab, t.TempDir()), e: e}
	second.Do("open the desk in a second tab", chromedp.Navigate(e.url+"/desk/"))
	second.Wait("the desk", `document.body.dataset.ready === "true"`)
	second.Wait("the same offer", `document.getElementById("ring").dataset.offer === "`+itoa(offerID)+`"`)
	second.Wait("the card", `document.getElementById("card").dataset.loaded === "card"`)
	if got := second.Text("ring-number"); got != callerNumber {
		t.Errorf("second tab rings for %q, want %s", got, callerNumber)
	}
}

// TestSessionReplaced logs the same agent in elsewhere: the desk says so and goes to the
// login page, without trying to reconnect.
func TestSessionReplaced(t *testing.T) {
	e := newEnv(t)
	p := newPage(t, e)
	p.login()
	p.state("paused")

	resp, err := http.Post(e.url+"/api/login", "application/json", strings.NewReader(`{"username":"agent01","password":"agent01-pw"}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("second login: %d", resp.StatusCode)
	}
	p.WaitText("notice", "此账号已在其他地方登录")
	p.Wait("the login page", `location.pathname === "/desk/login"`)
	p.WaitText("login-error", "此账号已在其他地方登录")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestCardVariants shows the card of a caller the platform does not know, a card the server
// cannot give yet, and an offer that rang out.
func TestCardVariants(t *testing.T) {
	e := newEnv(t)
	e.queues()
	me := e.ids["agent01"]
	p := newPage(t, e)
	p.login()
	p.Key("F2", kb.F2)
	p.state("available")

	// An unregistered number: the card says so; no insurance, no accounts.
	e.calls.Update(func(f *fakeCalls) {
		f.CardFunc = func(id string) (int, any) {
			return 200, map[string]any{"call_id": id, "caller_number": "075783001234", "citizen": nil,
				"journey": map[string]any{"ivr_seconds": 12, "queue_seconds": 5, "steps": []map[string]any{
					{"summary": "主菜单", "exit_label": "按0 转人工"}}},
				"insurance_hidden_reason": "未匹配到市民，不显示社保和公积金"}
		}
	})
	first := "11111111-0000-4000-8000-000000000001"
	e.offerCall(first, "075783001234")
	p.Wait("the card", `document.getElementById("card").dataset.loaded === "card"`)
	card := p.Text("card")
	for _, want := range []string{"未注册号码", "075783001234", "本次来电未验证身份", "按0 转人工", "未匹配到市民，不显示社保和公积金"} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
	p.Shoot("11-unregistered-caller")

	// The offer rings out: the desk stops ringing and says so.
	e.exec(`UPDATE hotline.offers SET state = 'timeout', decided_at = now() WHERE call_id = $1`, first)
	e.states.Set(me, hotline.AgentStatus{State: hotline.AgentMissed, Reason: "timeout"})
	e.notify(me)
	p.state("missed")
	p.Wait("no more ringing", `document.getElementById("ring").hidden && !window.deskRing.ringing && document.getElementById("card").hidden`)
	p.WaitText("state-note", "振铃超时未接")
	p.WaitText("idle-state", "有一通来电未接")
	p.Shoot("12-missed")
	p.Key("F2", kb.F2)
	p.state("available")

	// No card endpoint yet: the desk shows what the snapshot has and says why.
	e.calls.Update(func(f *fakeCalls) { f.CardFunc = nil })
	e.offerCall("22222222-0000-4000-8000-000000000002", "13922334455")
	p.Wait("the card's failure", `document.getElementById("card").dataset.loaded === "failed"`)
	p.WaitText("card", "来电详情服务尚未开通")
	p.WaitText("card", "13922334455")
	p.WaitText("card", "公用事业")
}
