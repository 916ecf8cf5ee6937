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
	p.key("F2", kb.F2)
	p.state("available")
	e.answer(e.offer())
	p.state("talking")
	p.key("Alt+H", "h", chromedp.ModifierAlt)
	p.waitText("btn-hold", "恢复")
	p.wait("one connection so far", `window.deskConnects === 1`)

	e.conns.drop()
	e.hangUp(2 * time.Minute)
	p.wait("a new connection", `window.deskConnects >= 2 && document.body.dataset.conn === "open"`)
	p.state("wrap_up")
	p.wait("the wrap-up", `!document.getElementById("wrapup").hidden && document.getElementById("call-panel").hidden`)
	p.wait("the card", `document.getElementById("card").dataset.loaded === "card" && document.getElementById("card").dataset.call === "`+callID+`"`)
	p.wait("the reconnecting notice gone", `document.getElementById("notice").hidden`)
}

// TestSecondTab opens the desk in a second tab during a ringing call: it shows the same
// offer and card.
func TestSecondTab(t *testing.T) {
	e := newEnv(t)
	e.queues()
	e.calls.Update(func(f *fakeCalls) { f.CardFunc = demoCard })
	p := newPage(t, e)
	p.login()
	p.key("F2", kb.F2)
	p.state("available")
	offerID := e.offer()
	p.state("ringing")

	tab, cancel := chromedp.NewContext(p.b)
	defer cancel()
	second := &page{t: t, b: tab, e: e}
	second.do("open the desk in a second tab", chromedp.Navigate(e.url+"/desk/"))
	second.wait("the desk", `document.body.dataset.ready === "true"`)
	second.wait("the same offer", `document.getElementById("ring").dataset.offer === "`+itoa(offerID)+`"`)
	second.wait("the card", `document.getElementById("card").dataset.loaded === "card"`)
	if got := second.text("ring-number"); got != callerNumber {
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
	p.waitText("notice", "此账号已在其他地方登录")
	p.wait("the login page", `location.pathname === "/desk/login"`)
	p.waitText("login-error", "此账号已在其他地方登录")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
