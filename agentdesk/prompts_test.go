package agentdesk_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/agentdesk/flowedit"
	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/postgres"
)

func init() {
	validBodies["POST /api/prompts/text"] = `{"prompt":"common/welcome","lang":"zh","text":"欢迎致电"}`
	validBodies["POST /api/prompts/upload"] = `{}`
	validBodies["POST /api/prompts/revert"] = `{"prompt":"common/welcome","lang":"zh"}`
	validBodies["POST /api/prompts/publish"] = `{"prompt":"common/welcome"}`
}

// testManifest is a small sounds directory: two languages, a spoken prompt and a tone.
const testManifest = `languages:
  zh: {voice: cmn-latn-pinyin, rate: 150, required: true}
  yue: {voice: yue, rate: 150, required: true}
prompts:
  common/welcome: {zh: 欢迎致电佛山市信息惠民服务热线, yue: 欢迎致电佛山市信息惠民服务热线}
  main/menu: {zh: 查询账单请按一, yue: 查询账单请按一}
  common/beep: {tone: {hz: 1000, seconds: 0.4}}
`

// testFlow names common/welcome and main/menu.
const testFlow = `flow: main
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

// promptDesk is a desk whose prompts are a copy of the test manifest with shipped files
// (taken from the repository's sounds), and one published flow naming two of them.
func promptDesk(t *testing.T, opts ...deskOption) (*desk, string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, prompts.ManifestFile), []byte(testManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	root := repotest.Root(t)
	for _, f := range []string{"zh/common/welcome.wav", "yue/common/welcome.wav", "zh/main/menu.wav", "yue/main/menu.wav",
		"zh/common/beep.wav", "yue/common/beep.wav"} {
		data, err := os.ReadFile(filepath.Join(root, "sounds", f))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	d := newDesk(t, append([]deskOption{func(o *agentdesk.Options) { o.Prompts = agentdesk.PromptOptions{Dir: dir} }}, opts...)...)
	if _, err := postgres.PublishFlows(context.Background(), d.db, []postgres.FlowSource{{Name: "main", Source: testFlow}}, 0); err != nil {
		t.Fatal(err)
	}
	return d, dir
}

type promptList struct {
	Tools struct {
		Render, Upload bool
		Reason         string
	}
	Prompts []struct {
		ID        string
		Texts     map[string]string
		Shipped   map[string]string
		Flows     []string
		Revisions map[string]struct {
			ID      int64
			Source  string
			SHA256  string `json:"sha256"`
			Pending []string
		}
	}
}

func (d *desk) promptList(c *client) promptList {
	d.t.Helper()
	status, b := c.do("GET", "/api/prompts", "")
	if status != http.StatusOK {
		d.t.Fatalf("GET /api/prompts: %d %s", status, b)
	}
	var l promptList
	if err := json.Unmarshal(b, &l); err != nil {
		d.t.Fatal(err)
	}
	return l
}

// needTools fails the test when the rendering pipeline is not installed: CI installs it.
func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (apt-get install espeak-ng sox): %v", tool, err)
		}
	}
}

func TestPromptsListAndListen(t *testing.T) {
	d, _ := promptDesk(t)
	sup := d.login("supervisor")
	l := d.promptList(sup)
	if got, want := len(l.Prompts), 3; got != want {
		t.Fatalf("%d prompts, want %d", got, want)
	}
	welcome := l.Prompts[1]
	if welcome.ID != "common/welcome" || welcome.Texts["zh"] != "欢迎致电佛山市信息惠民服务热线" || welcome.Texts["yue"] == "" {
		t.Errorf("welcome = %+v", welcome)
	}
	if got := strings.Join(welcome.Flows, ","); got != "main" {
		t.Errorf("flows naming welcome = %q, want main", got)
	}
	resp := sup.response("GET", "/api/prompts/audio?prompt=common/welcome&lang=yue", "")
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "audio/wav" || !bytes.HasPrefix(buf.Bytes(), []byte("RIFF")) {
		t.Errorf("audio: %d %s %.20q", resp.StatusCode, resp.Header.Get("Content-Type"), buf.Bytes())
	}
	for _, tc := range []struct{ path, code string }{
		{"/api/prompts/audio?prompt=common/nope&lang=zh", "not_found"},
		{"/api/prompts/audio?prompt=common/welcome&lang=fr", "invalid"},
		{"/api/prompts/audio?prompt=common/welcome&lang=zh&revision=x", "invalid"},
	} {
		_, b := sup.do("GET", tc.path, "")
		if code, reason := errorOf(t, b); code != tc.code || reason == "" {
			t.Errorf("%s: %s %q, want %s", tc.path, code, reason, tc.code)
		}
	}

	agent := d.login("agent01")
	for _, rq := range []struct{ method, path, body string }{
		{"GET", "/api/prompts", ""},
		{"GET", "/api/prompts/audio?prompt=common/welcome&lang=zh", ""},
		{"POST", "/api/prompts/text", validBodies["POST /api/prompts/text"]},
	} {
		if status, b := agent.do(rq.method, rq.path, rq.body); status != http.StatusForbidden {
			t.Errorf("agent %s %s: %d %s, want 403", rq.method, rq.path, status, b)
		}
	}
}

func TestPromptTextRenderedPinnedOnPublish(t *testing.T) {
	needTools(t)
	d, dir := promptDesk(t)
	sup := d.login("supervisor")
	if l := d.promptList(sup); !l.Tools.Render || !l.Tools.Upload {
		t.Fatalf("tools = %+v, want render and upload", l.Tools)
	}
	status, b := sup.do("POST", "/api/prompts/text", `{"prompt":"main/menu","lang":"zh","text":"查询水费电费请按一"}`)
	if status != http.StatusOK {
		t.Fatalf("change text: %d %s", status, b)
	}
	var rev postgres.PromptOverride
	if err := json.Unmarshal(b, &rev); err != nil {
		t.Fatal(err)
	}
	if rev.Source != postgres.PromptRendered || rev.CreatedBy != "用户supervisor" || len(rev.SHA256) != 64 || rev.DurationMs <= 0 {
		t.Errorf("revision = %+v", rev)
	}
	// The file is named by its content, beside the shipped one, in the prompt format.
	path := filepath.Join(dir, "zh", "_override", "main", "menu", rev.SHA256+".wav")
	info, err := prompts.ReadWAV(path)
	if err != nil || !info.Telephone() {
		t.Fatalf("rendered file %s: %+v %v", path, info, err)
	}
	data, _ := os.ReadFile(path)
	if prompts.Sum(data) != rev.SHA256 {
		t.Errorf("file hash differs from the revision's")
	}
	// The test's shipped files have no lock: only an orphan would be about the change.
	if err := prompts.Check(dir); errors.Is(err, prompts.ErrOrphan) {
		t.Errorf("sounds check after a change: %v", err)
	}
	// Listening gives the new audio; the shipped one is revision 0.
	for _, tc := range []struct {
		query string
		want  []byte
	}{{"", data}, {"&revision=0", mustRead(t, filepath.Join(dir, "zh", "main", "menu.wav"))}} {
		resp := sup.response("GET", "/api/prompts/audio?prompt=main/menu&lang=zh"+tc.query, "")
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(buf.Bytes(), tc.want) {
			t.Errorf("audio%s: %d bytes, not the expected %d", tc.query, buf.Len(), len(tc.want))
		}
	}
	l := d.promptList(sup)
	menu := l.Prompts[2]
	if menu.Texts["zh"] != "查询水费电费请按一" || menu.Shipped["zh"] != "查询账单请按一" || menu.Texts["yue"] != "查询账单请按一" {
		t.Errorf("menu texts = %v, shipped %v", menu.Texts, menu.Shipped)
	}
	if got := menu.Revisions["zh"]; got.ID != rev.ID || strings.Join(got.Pending, ",") != "main" {
		t.Errorf("zh revision = %+v, want %d pending for main", got, rev.ID)
	}
	var audits int
	if err := d.db.Get(&audits, `SELECT count(*) FROM hotline.audit_log WHERE action = 'prompt_change' AND object_type = 'prompt'
		AND object_id = 'zh/main/menu' AND actor_id = $1 AND detail->>'text' = '查询水费电费请按一'`, d.ids["supervisor"]); err != nil || audits != 1 {
		t.Errorf("audit rows = %d %v, want 1", audits, err)
	}

	// The published version does not play it; the same text published again does.
	ctx := context.Background()
	files := &postgres.PromptFiles{DB: d.db, Dir: dir}
	v1, err := postgres.ActiveFlows(ctx, d.db)
	if err != nil {
		t.Fatal(err)
	}
	if pins, err := files.PromptPins(ctx, v1[0].ID); err != nil || len(pins) != 0 {
		t.Errorf("pins of the version published before = %v %v, want none", pins, err)
	}
	if _, err := postgres.SaveFlowDraft(ctx, d.db, "main", testFlow, d.ids["supervisor"]); err != nil {
		t.Fatal(err)
	}
	v2, err := postgres.PublishFlowDraft(ctx, d.db, "main", d.ids["supervisor"], nil)
	if err != nil {
		t.Fatalf("publishing the same text after a prompt change: %v", err)
	}
	if v2.Version != v1[0].Version+1 || v2.PromptsUpto != rev.ID {
		t.Errorf("new version = %d (prompts up to %d), want %d up to %d", v2.Version, v2.PromptsUpto, v1[0].Version+1, rev.ID)
	}
	pins, err := files.PromptPins(ctx, v2.ID)
	if err != nil || pins["zh/main/menu"] != "_override/main/menu/"+rev.SHA256 || len(pins) != 1 {
		t.Errorf("pins of the new version = %v %v", pins, err)
	}
	if got := d.promptList(sup).Prompts[2].Revisions["zh"].Pending; len(got) != 0 {
		t.Errorf("pending after publishing = %v, want none", got)
	}
	// Nothing changed since: the same text again is no new version.
	postgres.SaveFlowDraft(ctx, d.db, "main", testFlow, d.ids["supervisor"])
	if _, err := postgres.PublishFlowDraft(ctx, d.db, "main", d.ids["supervisor"], nil); err == nil {
		t.Error("the same text with no prompt change was published again")
	}
	postgres.DeleteFlowDraft(ctx, d.db, "main")

	// An instance without the file writes it from the database.
	if err := os.RemoveAll(filepath.Join(dir, "zh", prompts.OverrideDir)); err != nil {
		t.Fatal(err)
	}
	if _, err := files.PromptPins(ctx, v2.ID); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, path); !bytes.Equal(got, data) {
		t.Error("the file written from the database differs")
	}

	// Back to the shipped file: a revision without audio, which the next version does not pin.
	if status, b := sup.do("POST", "/api/prompts/revert", `{"prompt":"main/menu","lang":"zh"}`); status != http.StatusOK {
		t.Fatalf("revert: %d %s", status, b)
	}
	if status, b := sup.do("POST", "/api/prompts/revert", `{"prompt":"main/menu","lang":"zh"}`); status != http.StatusConflict {
		t.Errorf("revert again: %d %s, want 409", status, b)
	}
	if pins, err := files.PromptPins(ctx, 0); err != nil || len(pins) != 0 {
		t.Errorf("newest pins after the revert = %v %v, want none", pins, err)
	}
	status, b = sup.do("GET", "/api/prompts/history?prompt=main/menu", "")
	var hist struct{ Revisions []postgres.PromptOverride }
	json.Unmarshal(b, &hist)
	if status != http.StatusOK || len(hist.Revisions) != 2 || hist.Revisions[0].Source != postgres.PromptShipped ||
		hist.Revisions[1].ID != rev.ID {
		t.Errorf("history: %d %s, want the revert then the rendered revision", status, b)
	}

	for _, tc := range []struct{ body, code string }{
		{`{"prompt":"main/menu","lang":"zh","text":"请按1"}`, "invalid"},          // ASCII digits
		{`{"prompt":"main/menu","lang":"zh","text":" "}`, "invalid"},            // empty
		{`{"prompt":"common/beep","lang":"zh","text":"嘟"}`, "invalid"},          // a tone
		{`{"prompt":"main/nope","lang":"zh","text":"你好"}`, "not_found"},         // no such prompt
		{`{"prompt":"main/menu","lang":"fr","text":"bonjour"}`, "invalid"},      // no such language
		{`{"prompt":"main/menu","lang":"zh","text":"你好","extra":1}`, "invalid"}, // unknown field
	} {
		status, b := sup.do("POST", "/api/prompts/text", tc.body)
		if code, reason := errorOf(t, b); code != tc.code || reason == "" || status < 400 || status >= 500 {
			t.Errorf("%s: %d %s %q, want %s", tc.body, status, code, reason, tc.code)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wav returns a PCM WAV of a 440 Hz tone: rate, channels, seconds.
func wav(rate, channels int, seconds float64) []byte {
	n := int(float64(rate) * seconds)
	var data bytes.Buffer
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		for range channels {
			binary.Write(&data, binary.LittleEndian, v)
		}
	}
	var b bytes.Buffer
	le := binary.LittleEndian
	b.WriteString("RIFF")
	binary.Write(&b, le, uint32(36+data.Len()))
	b.WriteString("WAVEfmt ")
	binary.Write(&b, le, uint32(16))
	binary.Write(&b, le, uint16(1))
	binary.Write(&b, le, uint16(channels))
	binary.Write(&b, le, uint32(rate))
	binary.Write(&b, le, uint32(rate*channels*2))
	binary.Write(&b, le, uint16(channels*2))
	binary.Write(&b, le, uint16(16))
	b.WriteString("data")
	binary.Write(&b, le, uint32(data.Len()))
	b.Write(data.Bytes())
	return b.Bytes()
}

func TestPromptUpload(t *testing.T) {
	needTools(t)
	d, dir := promptDesk(t)
	sup := d.login("supervisor")
	upload := func(c *client, query string, body []byte, contentType string) (int, []byte) {
		t.Helper()
		return c.do("POST", "/api/prompts/upload?"+query, string(body), "Content-Type", contentType)
	}
	q := url.Values{"prompt": {"common/welcome"}, "lang": {"yue"}, "text": {"欢迎致电佛山热线"}}.Encode()
	status, b := upload(sup, q, wav(44100, 2, 1.5), "audio/wav")
	if status != http.StatusOK {
		t.Fatalf("upload: %d %s", status, b)
	}
	var rev postgres.PromptOverride
	json.Unmarshal(b, &rev)
	if rev.Source != postgres.PromptUploaded || rev.Text != "欢迎致电佛山热线" || rev.DurationMs < 1400 || rev.DurationMs > 1600 {
		t.Errorf("revision = %+v", rev)
	}
	info, err := prompts.ReadWAV(filepath.Join(dir, "yue", "_override", "common", "welcome", rev.SHA256+".wav"))
	if err != nil || !info.Telephone() {
		t.Errorf("converted file: %+v %v, want 8 kHz mono 16-bit", info, err)
	}
	var audits int
	d.db.Get(&audits, `SELECT count(*) FROM hotline.audit_log WHERE action = 'prompt_change' AND object_id = 'yue/common/welcome'
		AND detail->>'source' = 'upload'`)
	if audits != 1 {
		t.Errorf("audit rows = %d, want 1", audits)
	}

	for name, tc := range map[string]struct {
		body        []byte
		contentType string
		status      int
		reason      string
	}{
		"not audio":   {[]byte("this is not a recording at all, just text"), "audio/wav", 400, "not a recording"},
		"too long":    {wav(8000, 1, 61), "audio/wav", 400, "too long"},
		"too big":     {make([]byte, agentdesk.MaxPromptUpload+1), "application/octet-stream", 400, "larger than"},
		"empty":       {nil, "audio/wav", 400, "recording"},
		"JSON":        {[]byte(`{"audio":"x"}`), "application/json", 400, "not JSON"},
		"wrong media": {[]byte("x"), "text/plain", 415, "audio/*"},
	} {
		status, b := upload(sup, q, tc.body, tc.contentType)
		code, reason := errorOf(t, b)
		if status != tc.status || !strings.Contains(reason, tc.reason) {
			t.Errorf("%s: %d %s %q, want %d with %q", name, status, code, reason, tc.status, tc.reason)
		}
	}
	var n int
	d.db.Get(&n, `SELECT count(*) FROM hotline.prompt_overrides`)
	if n != 1 {
		t.Errorf("%d revisions after the refused uploads, want 1", n)
	}
	if status, b := upload(d.login("agent02"), q, wav(8000, 1, 1), "audio/wav"); status != http.StatusForbidden {
		t.Errorf("agent upload: %d %s, want 403", status, b)
	}
}

// TestPromptPublishFlows publishes again, text unchanged, the flow that names a changed
// prompt; a flow with a draft of its own is left alone.
func TestPromptPublishFlows(t *testing.T) {
	needTools(t)
	d, _ := promptDesk(t, withPromptFlows(t))
	sup := d.login("supervisor")
	if status, b := sup.do("POST", "/api/prompts/publish", `{"prompt":"main/menu"}`); status != http.StatusConflict {
		t.Errorf("publish with nothing changed: %d %s, want 409", status, b)
	}
	if status, b := sup.do("POST", "/api/prompts/text", `{"prompt":"main/menu","lang":"zh","text":"查询水费电费请按一"}`); status != http.StatusOK {
		t.Fatalf("change text: %d %s", status, b)
	}
	status, b := sup.do("POST", "/api/prompts/publish", `{"prompt":"main/menu"}`)
	if status != http.StatusOK || !strings.Contains(string(b), `{"flow":"main","version":2}`) {
		t.Fatalf("publish: %d %s, want main version 2", status, b)
	}
	if got := d.promptList(sup).Prompts[2].Revisions["zh"].Pending; len(got) != 0 {
		t.Errorf("pending after publishing = %v", got)
	}
	var audits int
	d.db.Get(&audits, `SELECT count(*) FROM hotline.audit_log WHERE action = 'flow_publish' AND object_id = 'main'
		AND (detail->>'prompts_upto')::bigint > 0`)
	if audits != 1 {
		t.Errorf("flow_publish audit rows with the prompts' mark = %d, want 1", audits)
	}

	// Another change, while main has a draft of its own: main is left for the flows page.
	sup.do("POST", "/api/prompts/text", `{"prompt":"common/welcome","lang":"zh","text":"欢迎致电佛山热线"}`)
	if _, err := postgres.SaveFlowDraft(context.Background(), d.db, "main", strings.Replace(testFlow, "测试", "测试二", 1), d.ids["supervisor"]); err != nil {
		t.Fatal(err)
	}
	status, b = sup.do("POST", "/api/prompts/publish", `{"prompt":"common/welcome"}`)
	if status != http.StatusOK || !strings.Contains(string(b), "草稿") || strings.Contains(string(b), `"version"`) {
		t.Errorf("publish beside a draft: %d %s, want main left with the reason", status, b)
	}
	if d, err := postgres.FlowDraftOf(context.Background(), d.db, "main"); err != nil || !strings.Contains(d.Source, "测试二") {
		t.Errorf("the supervisor's draft: %v %v", d.Source, err)
	}
}

// withPromptFlows gives the desk the flow service, checking flows against the test manifest.
func withPromptFlows(t *testing.T) deskOption {
	return func(o *agentdesk.Options) {
		m, err := prompts.Parse([]byte(testManifest), nil)
		if err != nil {
			t.Fatal(err)
		}
		o.Flows = flowedit.New(flowedit.Options{DB: o.DB, FlowsDir: t.TempDir(), SoundsDir: o.Prompts.Dir,
			Check: flow.Options{Manifest: m}})
	}
}

// A flow that no longer passes its checks is not published again: the reason is told, and
// the draft made for it is gone.
func TestPromptPublishRefused(t *testing.T) {
	needTools(t)
	d, _ := promptDesk(t, withPromptFlows(t))
	ctx := context.Background()
	broken := strings.Replace(testFlow, "[common/welcome, main/menu]", "[common/welcome, main/menu, main/gone]", 1)
	if _, err := postgres.PublishFlows(ctx, d.db, []postgres.FlowSource{{Name: "main", Source: broken}}, 0); err != nil {
		t.Fatal(err)
	}
	sup := d.login("supervisor")
	if status, b := sup.do("POST", "/api/prompts/text", `{"prompt":"main/menu","lang":"zh","text":"查询水费电费请按一"}`); status != http.StatusOK {
		t.Fatalf("change text: %d %s", status, b)
	}
	status, b := sup.do("POST", "/api/prompts/publish", `{"prompt":"main/menu"}`)
	if status != http.StatusOK || !strings.Contains(string(b), "发布被拒绝") || strings.Contains(string(b), `"version"`) {
		t.Errorf("publish of a flow that fails its checks: %d %s, want the reason", status, b)
	}
	if _, err := postgres.FlowDraftOf(ctx, d.db, "main"); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("the draft made for the publish: %v, want gone", err)
	}
	if v, _ := postgres.FlowVersions(ctx, d.db, "main"); len(v) != 2 {
		t.Errorf("%d versions of main, want 2 (the test's and the broken one)", len(v))
	}
}
