package webphone_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/internal/browsertest"
	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/ivr/speech"
	"github.com/foshan-hotline/hotline/ivr/webphone"
)

// demoCitizens are the callers the browser tests offer.
var demoCitizens = []webphone.DemoCitizen{
	{Name: "陈美玲", Mobile: "13800138000", Level: hotline.LevelRealName, Note: "水费账单 1005.30 元，未缴"},
	{Name: "黄志强", Mobile: "13922334455", Level: hotline.LevelOrdinary, Note: "有办件：营业执照变更"},
	{Name: "梁淑仪", Mobile: "13688990011", Level: hotline.LevelRealName, Note: "社保、公积金账户"},
}

// browserPhone is a page in headless Chromium on a phone wired to a real
// simulator that the scripted hotline answers.
type browserPhone struct {
	t        *testing.T
	b        context.Context
	manifest *prompts.Manifest
	app      *scriptedHotline
}

func startBrowserPhone(t *testing.T, ctx context.Context, speed float64, app *scriptedHotline) *browserPhone {
	t.Helper()
	_, ariURL, controlURL := startSim(t, speed)
	if err := app.run(ctx, ariURL); err != nil {
		t.Fatalf("scripted hotline: %v", err)
	}
	manifest, err := prompts.Load(filepath.Join(repotest.Root(t), "sounds"))
	if err != nil {
		t.Fatalf("load manifest: %v", err)
	}
	phone, err := webphone.New(webphone.Options{ControlURL: controlURL, Manifest: manifest, Speed: speed, Citizens: demoCitizens})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/phone/", http.StripPrefix("/phone", phone)) // as hotline demo mounts it
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p := &browserPhone{t: t, b: browsertest.New(t, ctx), manifest: manifest, app: app}
	p.step("open the page", chromedp.Steps(
		chromedp.Navigate(srv.URL+"/phone/"),
		chromedp.WaitVisible(`.citizen[data-mobile="13800138000"]`),
		browsertest.WaitJS(`document.getElementById("state").textContent === "空闲"`),
	))
	return p
}

func captionsInclude(s string) chromedp.Action[chromedp.Void] {
	return browsertest.WaitJS(fmt.Sprintf(`document.getElementById("captions").innerText.includes(%q)`, s))
}

func (p *browserPhone) step(what string, a chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.b, a); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p *browserPhone) text(sel string) string {
	p.t.Helper()
	s, err := chromedp.Run(p.b, chromedp.Text(sel))
	if err != nil {
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

type heardPrompt struct {
	Media string `json:"media"`
	Audio bool   `json:"audio"`
	Cut   bool   `json:"cut"`
}

// heard is what the page played, in order.
func (p *browserPhone) heard() []heardPrompt {
	p.t.Helper()
	raw, err := chromedp.Run(p.b, chromedp.Evaluate[string](`JSON.stringify(window.webphoneHeard)`))
	if err != nil {
		p.t.Fatal(err)
	}
	var h []heardPrompt
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		p.t.Fatal(err)
	}
	return h
}

// captionLines returns the caption texts without their language tags.
func (p *browserPhone) captionLines() []string {
	var out []string
	for _, l := range strings.Split(p.text("#captions"), "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "普通话"))
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func (p *browserPhone) checkApp() {
	p.t.Helper()
	select {
	case err := <-p.app.errs:
		p.t.Fatalf("scripted hotline: %v", err)
	default:
	}
}

func (p *browserPhone) zh(id string) string {
	s, ok := p.manifest.Text(id, "zh")
	if !ok {
		p.t.Fatalf("no Mandarin text for %s", id)
	}
	return s
}

// TestBrowserCall dials the scripted hotline from the page in headless
// Chromium as a seeded citizen: the prompts play from the simulator's WAV
// files in order, the captions show the welcome and the amount, a key on
// the dial pad reaches the hotline, and the page shows the hang-up.
func TestBrowserCall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	app := &scriptedHotline{amount: 100530}
	p := startBrowserPhone(t, ctx, 4, app)
	amount := speech.Text(speech.Money(app.amount, speech.Mandarin), speech.Mandarin)
	if got, want := amount, "一千零五元三角"; got != want {
		t.Fatalf("speech of 1005.30 is %q, want %q", got, want)
	}

	p.step("dial as a citizen", chromedp.Steps(
		chromedp.Click(`.citizen[data-mobile="13800138000"]`),
		chromedp.Click(`#dial`),
	))
	p.step("hear the welcome", captionsInclude("欢迎"))
	p.step("hear the amount", captionsInclude(amount))
	if got, want := p.text("#state"), "通话中"; got != want {
		t.Errorf("state during the call %q, want %q", got, want)
	}
	shot, err := chromedp.Run(p.b, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	saveScreenshot(t, shot)
	p.step("press 1", chromedp.Click(`#pad [data-key="1"]`))
	p.step("see the hang-up", browsertest.WaitJS(`document.getElementById("state").textContent === "已挂断"`))
	p.step("hear goodbye", browsertest.WaitJS(`window.webphoneHeard.some(h => h.media === "sound:hotline/common/goodbye")`))
	p.checkApp()

	want := []string{"sound:hotline/common/welcome"}
	for _, f := range speech.Money(app.amount, speech.Mandarin) {
		want = append(want, "sound:hotline/"+string(f))
	}
	want = append(want, "sound:hotline/common/goodbye")
	var got []string
	for _, h := range p.heard() {
		got = append(got, h.Media)
		if !h.Audio || h.Cut {
			t.Errorf("%s: audio %v, cut %v; want played in full", h.Media, h.Audio, h.Cut)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("page played %q, want %q", got, want)
	}
	wantLines := []string{p.zh("common/welcome"), amount, p.zh("common/goodbye")}
	if got := p.captionLines(); !slices.Equal(got, wantLines) {
		t.Errorf("captions %q, want %q", got, wantLines)
	}
	logText := p.text("#log")
	for _, want := range []string{"热线已应答", "播放 common/welcome", "按键 1", "通话结束（原因 16 正常挂断）"} {
		if !strings.Contains(logText, want) {
			t.Errorf("event log lacks %q:\n%s", want, logText)
		}
	}
	if strings.Contains(logText, "播放被打断") {
		t.Errorf("a prompt that ended by itself was taken for cut:\n%s", logText)
	}
}

// TestBrowserBargeIn presses a key during the welcome, typed on the
// keyboard this time: the hotline stops the prompt, and the page cuts its
// audio and goes on with goodbye.
func TestBrowserBargeIn(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	app := &scriptedHotline{amount: 100530, bargeIn: true}
	p := startBrowserPhone(t, ctx, 1, app)

	p.step("type a number and dial", chromedp.Steps(
		chromedp.SendKeys(`#number`, "075512345678\r"),
	))
	p.step("hear the welcome", captionsInclude("欢迎"))
	p.step("press 3 on the keyboard", chromedp.KeyEvent("3"))
	p.step("see the hang-up", browsertest.WaitJS(`document.getElementById("state").textContent === "已挂断"`))
	p.step("hear goodbye", browsertest.WaitJS(`window.webphoneHeard.some(h => h.media === "sound:hotline/common/goodbye")`))
	p.checkApp()

	want := []heardPrompt{
		{Media: "sound:hotline/common/welcome", Audio: true, Cut: true},
		{Media: "sound:hotline/common/goodbye", Audio: true},
	}
	if got := p.heard(); !slices.Equal(got, want) {
		t.Errorf("page played %+v, want %+v", got, want)
	}
	wantLines := []string{p.zh("common/welcome"), p.zh("common/goodbye")}
	if got := p.captionLines(); !slices.Equal(got, wantLines) {
		t.Errorf("captions %q, want %q", got, wantLines)
	}
	logText := p.text("#log")
	for _, want := range []string{"主叫号码 075512345678", "按键 3", "播放被打断"} {
		if !strings.Contains(logText, want) {
			t.Errorf("event log lacks %q:\n%s", want, logText)
		}
	}
}

// TestBrowserOtherSite is a page of another site open in the demo's
// browser during a call: it can neither listen to calls (the keys pressed:
// ID numbers, PINs) nor place one, through the simulator's control API or
// through the phone, nor read the phone's page for its token.
func TestBrowserOtherSite(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	sim, ariURL, controlURL := startSim(t, 4)
	if err := (&scriptedHotline{amount: 100}).run(ctx, ariURL); err != nil {
		t.Fatalf("scripted hotline: %v", err)
	}
	c, err := sim.PlaceCall(ctx, arisim.CallOptions{Caller: "13800138000", Exten: "12345"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Hangup()
	phone := httptest.NewServer(http.StripPrefix("/phone", newPhone(t, webphone.Options{ControlURL: controlURL})))
	defer phone.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>另一个网站</title><p>另一个网站</p>")
	}))
	defer other.Close()
	ws := func(u string) string { return strings.Replace(u, "http", "ws", 1) }
	script := fmt.Sprintf(`(async () => {
  const socket = (url) => new Promise((done) => {
    const s = new WebSocket(url);
    s.onopen = () => { s.close(); done("open"); };
    s.onerror = () => done("refused");
  });
  const read = (url) => fetch(url).then((r) => r.text()).then(() => "read", () => "unreadable");
  const out = {};
  out.events = await socket(%[1]q + "/events");
  out.call_events = await socket(%[1]q + "/calls/" + %[5]q + "/events");
  out.dial = await socket(%[2]q + "/phone/dial?caller=13800138000");
  out.place = await fetch(%[3]q + "/calls", { method: "POST", mode: "no-cors",
    body: JSON.stringify({ caller: "13800138001", exten: "12345" }) }).then(() => "sent", () => "failed");
  out.calls = await read(%[3]q + "/calls");
  out.page = await read(%[4]q + "/phone/");
  return out;
})()`, ws(controlURL), ws(phone.URL), controlURL, phone.URL, c.ID())

	b := browsertest.New(t, ctx)
	if err := chromedp.Do(b, chromedp.Navigate(other.URL+"/")); err != nil {
		t.Fatalf("open the other site: %v", err)
	}
	got, err := chromedp.Run(b, chromedp.Evaluate[map[string]string](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("the other site's script: %v", err)
	}
	want := map[string]string{"events": "refused", "call_events": "refused", "dial": "refused",
		"place": "sent", "calls": "unreadable", "page": "unreadable"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
	// Call ids count up: the next call is the second one only if the
	// other site placed none.
	next, err := sim.PlaceCall(ctx, arisim.CallOptions{Caller: "13800138002", Exten: "12345"})
	if err != nil {
		t.Fatal(err)
	}
	defer next.Hangup()
	if got, want := next.ID(), "call-2"; got != want {
		t.Errorf("the next call is %s, want %s: the other site placed a call", got, want)
	}
}

// TestBrowserStaleToken dials from a page whose token is no longer the
// server's (it restarted): the call is refused and the page says to reload.
func TestBrowserStaleToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	p := startBrowserPhone(t, ctx, 4, &scriptedHotline{amount: 100})
	p.step("dial with an old token", chromedp.Steps(
		chromedp.Evaluate[chromedp.Void](`document.body.dataset.token = "from-before-the-restart"`),
		chromedp.Click(`.citizen[data-mobile="13800138000"]`),
		chromedp.Click(`#dial`),
	))
	p.step("see the refusal", browsertest.WaitJS(`document.getElementById("state").textContent === "已挂断"`))
	if got, want := p.text("#error"), "无法发起呼叫，请刷新页面后重试"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	p.checkApp()
}

// saveScreenshot keeps the mid-call screenshot in the test's temp dir and
// as webphone.png in the system's temp dir, for people to look at.
func saveScreenshot(t *testing.T, png []byte) {
	t.Helper()
	if len(png) == 0 {
		t.Error("no screenshot taken")
		return
	}
	p := filepath.Join(t.TempDir(), "webphone.png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(os.TempDir(), "webphone.png"), png, 0o644); err != nil {
		t.Logf("screenshot copy: %v", err)
	}
	t.Logf("screenshot: %s", p)
}
