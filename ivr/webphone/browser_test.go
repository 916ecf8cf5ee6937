package webphone_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/ivr/speech"
	"github.com/foshan-hotline/hotline/ivr/webphone"
)

// newBrowser starts headless Chromium; the test fails when it is missing.
func newBrowser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("headless Chromium is required for this test: apt-get install chromium (%v)", err)
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1440, 960),
	)
	actx, cancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancel)
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	return bctx
}

// waitJS polls a boolean expression in the page.
func waitJS(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))
}

// TestBrowserCall dials the scripted hotline from the page in headless
// Chromium as a seeded citizen: the prompts play from the simulator's WAV
// files in order, the captions show the welcome and the amount, a key on
// the dial pad reaches the hotline, and the page shows the hang-up.
func TestBrowserCall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	const speed = 4
	_, ariURL, controlURL := startSim(t, speed)
	app := &scriptedHotline{amount: 100530}
	if err := app.run(ctx, ariURL); err != nil {
		t.Fatalf("scripted hotline: %v", err)
	}
	manifest, err := prompts.Load(filepath.Join(repoRoot(t), "sounds"))
	if err != nil {
		t.Fatalf("load manifest: %v", err)
	}
	phone, err := webphone.New(webphone.Options{
		ControlURL: controlURL, Manifest: manifest, Speed: speed,
		Citizens: []webphone.DemoCitizen{
			{Name: "陈美玲", Mobile: "13800138000", Level: hotline.LevelRealName, Note: "水费账单 1005.30 元，未缴"},
			{Name: "黄志强", Mobile: "13922334455", Level: hotline.LevelOrdinary, Note: "有办件：营业执照变更"},
			{Name: "梁淑仪", Mobile: "13688990011", Level: hotline.LevelRealName, Note: "社保、公积金账户"},
		},
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/phone/", http.StripPrefix("/phone", phone)) // as hotline demo mounts it
	srv := httptest.NewServer(mux)
	defer srv.Close()

	amount := speech.Text(speech.Money(app.amount, speech.Mandarin), speech.Mandarin)
	if got, want := amount, "一千零五元三角"; got != want {
		t.Fatalf("speech of 1005.30 is %q, want %q", got, want)
	}
	b := newBrowser(t, ctx)
	step := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, a); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(b, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	step("open the page", chromedp.Steps(
		chromedp.Navigate(srv.URL+"/phone/"),
		chromedp.WaitVisible(`.citizen[data-mobile="13800138000"]`),
		waitJS(`document.getElementById("state").textContent === "空闲"`),
	))
	step("dial as a citizen", chromedp.Steps(
		chromedp.Click(`.citizen[data-mobile="13800138000"]`),
		chromedp.Click(`#dial`),
	))
	step("hear the welcome", waitJS(`document.getElementById("captions").innerText.includes("欢迎")`))
	step("hear the amount", waitJS(fmt.Sprintf(`document.getElementById("captions").innerText.includes(%q)`, amount)))
	state := text("#state")
	shot, err := chromedp.Run(b, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	saveScreenshot(t, shot)
	step("press 1", chromedp.Click(`#pad [data-key="1"]`))
	step("see the hang-up", waitJS(`document.getElementById("state").textContent === "已挂断"`))
	step("hear goodbye", waitJS(`window.webphoneHeard.some(h => h.media === "sound:hotline/common/goodbye")`))
	captions, logText := text("#captions"), text("#log")
	select {
	case err := <-app.errs:
		t.Fatalf("scripted hotline: %v", err)
	default:
	}
	if got, want := state, "通话中"; got != want {
		t.Errorf("state during the call %q, want %q", got, want)
	}

	// The page played every prompt, in the simulator's order, from real audio.
	var heard []struct {
		Media string `json:"media"`
		Audio bool   `json:"audio"`
	}
	raw, err := chromedp.Run(b, chromedp.Evaluate[string](`JSON.stringify(window.webphoneHeard)`))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(raw), &heard); err != nil {
		t.Fatal(err)
	}
	want := []string{"sound:hotline/common/welcome"}
	for _, f := range speech.Money(app.amount, speech.Mandarin) {
		want = append(want, "sound:hotline/"+string(f))
	}
	want = append(want, "sound:hotline/common/goodbye")
	var got []string
	for _, h := range heard {
		got = append(got, h.Media)
		if !h.Audio {
			t.Errorf("%s was not decoded and played", h.Media)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("page played %q, want %q", got, want)
	}

	// One caption line per prompt, the amount's fragments joined.
	lines := strings.Split(strings.TrimSpace(captions), "\n")
	var texts []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" && l != "普通话" {
			texts = append(texts, strings.TrimSpace(strings.TrimPrefix(l, "普通话")))
		}
	}
	welcome, _ := manifest.Text("common/welcome", "zh")
	goodbye, _ := manifest.Text("common/goodbye", "zh")
	if got, want := strings.Join(texts, "|"), welcome+"|"+amount+"|"+goodbye; got != want {
		t.Errorf("captions %q, want %q", got, want)
	}
	for _, want := range []string{"热线已应答", "播放 common/welcome", "按键 1", "通话结束（原因 16 正常挂断）"} {
		if !strings.Contains(logText, want) {
			t.Errorf("event log lacks %q:\n%s", want, logText)
		}
	}
}

// saveScreenshot keeps the mid-call screenshot in the test's temp dir and
// as /tmp/webphone.png for people to look at.
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
