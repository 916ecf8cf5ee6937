package web_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/postgres"
)

// pageManifest is the prompts of the page tests: two languages, two spoken prompts, a tone.
const pageManifest = `languages:
  zh: {voice: cmn-latn-pinyin, rate: 150, required: true}
  yue: {voice: yue, rate: 150, required: true}
prompts:
  common/welcome: {zh: 欢迎致电佛山市信息惠民服务热线, yue: 欢迎致电佛山市信息惠民服务热线}
  main/menu: {zh: 查询账单请按一, yue: 查询账单请按一}
  common/beep: {tone: {hz: 1000, seconds: 0.4}}
`

// pageFlow names common/welcome and main/menu.
const pageFlow = `flow: main
description: 测试
languages: [zh, yue]
start: hello
nodes:
  hello:
    kind: play
    prompts: [common/welcome, main/menu]
    next: bye
  bye:
    kind: hangup
`

// soundsDir writes pageManifest with the shipped files of its prompts into a new directory.
func soundsDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, prompts.ManifestFile), []byte(pageManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	root := repotest.Root(t)
	for _, f := range []string{"common/welcome", "main/menu", "common/beep"} {
		for _, l := range []string{"zh", "yue"} {
			data, err := os.ReadFile(filepath.Join(root, "sounds", l, f+".wav"))
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(dir, l, filepath.FromSlash(f)+".wav")
			os.MkdirAll(filepath.Dir(dst), 0o755)
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// toneWAV is a PCM WAV of a 440 Hz tone at 16 kHz, stereo: a recording to upload.
func toneWAV(seconds float64) []byte {
	const rate, channels = 16000, 2
	n := int(rate * seconds)
	var data bytes.Buffer
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/rate))
		for range channels {
			binary.Write(&data, binary.LittleEndian, v)
		}
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+data.Len()))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(channels), uint32(rate), uint32(rate * channels * 2), uint16(channels * 2), uint16(16)} {
		binary.Write(&b, le, v)
	}
	b.WriteString("data")
	binary.Write(&b, le, uint32(data.Len()))
	b.Write(data.Bytes())
	return b.Bytes()
}

// A supervisor finds a prompt by its text, listens to it, gives it a new text that the
// server speaks, uploads a recording for Cantonese, and has a file that is not audio refused
// with the reason; the list marks the changes as waiting for a publish.
func TestPromptsPage(t *testing.T) {
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (apt-get install espeak-ng sox): %v", tool, err)
		}
	}
	dir := soundsDir(t)
	e := newEnv(t, func(o *agentdesk.Options) { o.Prompts = agentdesk.PromptOptions{Dir: dir} })
	if _, err := postgres.PublishFlows(context.Background(), e.db, []postgres.FlowSource{{Name: "main", Source: pageFlow}}, 0); err != nil {
		t.Fatal(err)
	}
	up := filepath.Join(t.TempDir(), "新录音.wav")
	os.WriteFile(up, toneWAV(1.2), 0o644)
	junk := filepath.Join(t.TempDir(), "notes.wav")
	os.WriteFile(junk, []byte("these are meeting notes, not a recording"), 0o644)

	p := newPage(t, e)
	asSupervisor(t, e, p, "boss", "张班长")
	p.Wait("the supervisor's links", `[...document.querySelectorAll(".sb-links a")].some((a) => a.getAttribute("href") === "/desk/prompts")`)
	p.Do("open the prompts", chromedp.Navigate(e.url+"/desk/prompts"))
	p.Wait("the prompts", `document.body.dataset.ready === "true"`)
	p.WaitText("pr-count", "共 3 条")
	p.WaitText("pr-tools", "espeak-ng 与 sox")
	p.Do("search by text", chromedp.SendKeys(chromedp.ID("pr-q"), "账单"))
	p.WaitText("pr-count", "显示 1 条")
	p.Click("listen to the Mandarin menu", `#pr-rows tr[data-id="main/menu"] td[data-lang="zh"] .pr-play`)
	p.Wait("the audio loaded", `document.getElementById("pr-audio").readyState >= 1 && document.getElementById("pr-audio").duration > 0.5`)
	if got := p.Eval(`document.getElementById("pr-audio").dataset.prompt`); got != "zh/main/menu" {
		t.Errorf("playing %q, want zh/main/menu", got)
	}
	p.WaitText("pr-title", "main/menu")

	p.Eval(`document.getElementById("pr-text-zh").value = ""`)
	p.Do("write a new text", chromedp.SendKeys(chromedp.ID("pr-text-zh"), "查询水费电费请按一"))
	p.Do("speak and save it", chromedp.Click(chromedp.ID("pr-say-zh")))
	p.Wait("saved", `document.body.dataset.saved > 0`)
	p.WaitText("pr-langs", "原文：查询账单请按一")
	p.WaitText("pr-langs", "张班长")
	p.WaitText("pr-pending", "main")
	p.Wait("the row marked", `document.querySelector('#pr-rows tr[data-id="main/menu"] td[data-lang="zh"]').innerText.includes("已修改")`)

	p.Do("choose a file that is not audio", chromedp.SetUploadFiles(chromedp.ID("pr-file-yue"), []string{junk}))
	p.Do("upload it", chromedp.Click(chromedp.ID("pr-upload-yue")))
	p.Wait("refused", `document.querySelector('#pr-langs fieldset[data-lang="yue"] .pr-result').innerText.includes("不是可识别的音频文件")`)
	saved := p.Eval(`document.body.dataset.saved`)
	p.Do("choose a recording", chromedp.SetUploadFiles(chromedp.ID("pr-file-yue"), []string{up}))
	p.Do("upload it", chromedp.Click(chromedp.ID("pr-upload-yue")))
	p.Wait("uploaded", `document.body.dataset.saved !== "`+saved+`"`)
	p.Wait("the row marked", `document.querySelector('#pr-rows tr[data-id="main/menu"] td[data-lang="yue"]').innerText.includes("已上传")`)
	p.Do("listen to the upload", chromedp.Click(`#pr-langs fieldset[data-lang="yue"] button[data-play]`))
	p.Wait("the upload loaded", `document.getElementById("pr-audio").readyState >= 1 && Math.abs(document.getElementById("pr-audio").duration - 1.2) < 0.2`)

	p.Do("open the history", chromedp.Click(`#pr-history summary`))
	p.Wait("two revisions listed", `document.querySelectorAll("#pr-history-rows tr").length === 2`)
	p.WaitText("pr-history-rows", "查询水费电费请按一")
	var n int
	if err := e.db.Get(&n, `SELECT count(*) FROM hotline.audit_log WHERE action = 'prompt_change'`); err != nil || n != 2 {
		t.Errorf("prompt_change audit rows = %d %v, want 2", n, err)
	}
	p.Shoot("prompts")
}

// Without espeak-ng the page says so and offers uploads only.
func TestPromptsPageWithoutSpeech(t *testing.T) {
	dir := soundsDir(t)
	e := newEnv(t, func(o *agentdesk.Options) {
		o.Prompts = agentdesk.PromptOptions{Dir: dir, Espeak: "espeak-ng-not-installed"}
	})
	p := newPage(t, e)
	asSupervisor(t, e, p, "boss", "张班长")
	p.Do("open a prompt", chromedp.Navigate(e.url+"/desk/prompts?prompt=common/welcome"))
	p.Wait("the prompts", `document.body.dataset.ready === "true"`)
	p.WaitText("pr-tools", "未安装 espeak-ng")
	if got := p.Eval(`document.getElementById("pr-say-zh").disabled`); got != "true" {
		t.Errorf("the speak button is enabled without espeak-ng")
	}
	if _, err := exec.LookPath("sox"); err == nil {
		if got := p.Eval(`document.getElementById("pr-upload-zh").disabled`); got != "false" {
			t.Errorf("the upload button is disabled with sox installed")
		}
	}
}
