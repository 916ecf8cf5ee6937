package webphone_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/ivr/webphone"
)

const testManifest = `
languages:
  zh: {voice: cmn-latn-pinyin, rate: 150, required: true}
  yue: {voice: yue, rate: 150, required: true}
  en: {voice: en-gb, rate: 160}
prompts:
  common/welcome:
    zh: 欢迎致电佛山市信息惠民服务热线
    yue: 欢迎致电佛山市信息惠民服务热线
    en: Welcome to the Foshan citizen information service hotline.
  common/beep: {tone: {hz: 1000, seconds: 0.4}}
  num/5: {zh: 五, yue: 五}
  cur/yuan: {zh: 元, yue: 元}
`

func testManifestT(t *testing.T) *prompts.Manifest {
	t.Helper()
	m, err := prompts.Parse([]byte(testManifest), nil)
	if err != nil {
		t.Fatalf("parse manifest: %v", err)
	}
	return m
}

func newPhone(t *testing.T, o webphone.Options) http.Handler {
	t.Helper()
	if o.ControlURL == "" {
		o.ControlURL = "http://127.0.0.1:9"
	}
	h, err := webphone.New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	return w
}

func TestNewRejectsBadControlURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:8089", "ws://127.0.0.1:8089", "http://", "::bad"} {
		t.Run(u, func(t *testing.T) {
			_, err := webphone.New(webphone.Options{ControlURL: u})
			if got, want := errors.Is(err, webphone.ErrNoControl), true; got != want {
				t.Fatalf("New(%q) error %v, want ErrNoControl", u, err)
			}
		})
	}
}

func TestPageListsCitizens(t *testing.T) {
	h := newPhone(t, webphone.Options{
		Hotline: "12345",
		Citizens: []webphone.DemoCitizen{
			{Name: "陈美玲", Mobile: "13800138000", Level: hotline.LevelRealName, Note: "有未缴水费账单"},
			{Name: "李<b>伟</b>", Mobile: "13900139000", Level: hotline.LevelOrdinary},
		},
	})
	w := get(t, h, "/")
	if got, want := w.Code, http.StatusOK; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
	if got, want := w.Header().Get("Content-Type"), "text/html; charset=utf-8"; got != want {
		t.Errorf("content type %q, want %q", got, want)
	}
	body := w.Body.String()
	for _, want := range []string{
		"陈美玲", `data-mobile="13800138000"`, "实名注册用户", "有未缴水费账单",
		"13900139000", "普通注册用户", "李&lt;b&gt;伟&lt;/b&gt;",
		`data-hotline="12345"`, `data-sound-root="hotline"`, `data-speed="1"`,
		`src="static/phone.js"`, `href="static/phone.css"`, "选择主叫号码", "挂断",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "<b>伟") {
		t.Error("page does not escape citizen names")
	}
	if got, want := strings.Count(body, `class="citizen"`), 2; got != want {
		t.Errorf("%d citizen buttons, want %d", got, want)
	}
}

func TestPageWithoutCitizens(t *testing.T) {
	body := get(t, newPhone(t, webphone.Options{}), "/").Body.String()
	if !strings.Contains(body, "暂无演示市民") {
		t.Error("empty citizen list has no hint")
	}
}

func TestCaptions(t *testing.T) {
	h := newPhone(t, webphone.Options{Manifest: testManifestT(t)})
	w := get(t, h, "/captions.json")
	if got, want := w.Code, http.StatusOK; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
	var c webphone.Captions
	if err := json.Unmarshal(w.Body.Bytes(), &c); err != nil {
		t.Fatalf("decode captions: %v", err)
	}
	tests := []struct{ lang, id, want string }{
		{"zh", "common/welcome", "欢迎致电佛山市信息惠民服务热线"},
		{"yue", "common/welcome", "欢迎致电佛山市信息惠民服务热线"},
		{"en", "common/welcome", "Welcome to the Foshan citizen information service hotline."},
		{"zh", "num/5", "五"},
		{"yue", "cur/yuan", "元"},
		{"en", "num/5", ""}, // no English text: the page falls back to zh
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.id, func(t *testing.T) {
			if got, want := c.Texts[tt.lang][tt.id], tt.want; got != want {
				t.Errorf("text %q, want %q", got, want)
			}
		})
	}
	if got, want := c.Fallback, "zh"; got != want {
		t.Errorf("fallback %q, want %q", got, want)
	}
	for _, f := range []string{"num/5", "num/liang", "cur/yuan", "cur/jiao", "date/year"} {
		if !slices.Contains(c.Fragments, f) {
			t.Errorf("fragments lack %s", f)
		}
	}
	if slices.Contains(c.Fragments, "common/welcome") {
		t.Error("common/welcome listed as a fragment")
	}
	if got, want := c.Tones, []string{"common/beep"}; !slices.Equal(got, want) {
		t.Errorf("tones %v, want %v", got, want)
	}
	if _, ok := c.Texts["zh"]["common/beep"]; ok {
		t.Error("a tone has a text")
	}
}

func TestStaticAssets(t *testing.T) {
	h := newPhone(t, webphone.Options{})
	tests := []struct {
		path   string
		status int
		ctype  string
	}{
		{"/static/phone.js", 200, "text/javascript; charset=utf-8"},
		{"/static/phone.css", 200, "text/css; charset=utf-8"},
		{"/static/phone.html", 404, ""},
		{"/static/", 404, ""},
		{"/static/nothing.js", 404, ""},
		{"/nothing", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := get(t, h, tt.path)
			if got, want := w.Code, tt.status; got != want {
				t.Fatalf("status %d, want %d", got, want)
			}
			if got, want := w.Header().Get("Content-Type"), tt.ctype; tt.ctype != "" && got != want {
				t.Errorf("content type %q, want %q", got, want)
			}
		})
	}
}

func TestSoundsPassThrough(t *testing.T) {
	var mu sync.Mutex
	var asked []string
	control := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "audio/wav")
		io.WriteString(w, "RIFF-"+r.URL.Path)
	}))
	defer control.Close()
	h := newPhone(t, webphone.Options{ControlURL: control.URL + "/"})
	tests := []struct {
		path   string
		status int
		body   string
	}{
		{"/sounds/zh/hotline/common/welcome.wav", 200, "RIFF-/sounds/zh/hotline/common/welcome.wav"},
		{"/sounds/yue/hotline/num/5.wav", 200, "RIFF-/sounds/yue/hotline/num/5.wav"},
		{"/sounds/zh/hotline/common/welcome", 404, ""},
		{"/sounds/zh/hotline/../../etc/passwd.wav", 307, ""}, // the mux cleans it first
		{"/sounds/zh/hotline/..%2F..%2Fpasswd.wav", 404, ""},
		{"/sounds/z%2Fh/x.wav", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := get(t, h, tt.path)
			if got, want := w.Code, tt.status; got != want {
				t.Fatalf("status %d, want %d", got, want)
			}
			if got, want := w.Body.String(), tt.body; tt.status == 200 && got != want {
				t.Errorf("body %q, want %q", got, want)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"GET /sounds/zh/hotline/common/welcome.wav", "GET /sounds/yue/hotline/num/5.wav"}
	if !slices.Equal(asked, want) {
		t.Errorf("simulator asked for %v, want %v", asked, want)
	}
}

func TestSoundsSimulatorDown(t *testing.T) {
	w := get(t, newPhone(t, webphone.Options{ControlURL: "http://127.0.0.1:9"}), "/sounds/zh/hotline/num/5.wav")
	if got, want := w.Code, http.StatusBadGateway; got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
}

// TestSoundsFromRealSimulator fetches a prompt as the page does, through a
// real simulator's control API, which refuses what web pages send it: the
// phone asks for the sound itself, not on the browser's behalf.
func TestSoundsFromRealSimulator(t *testing.T) {
	_, _, controlURL := startSim(t, 1)
	phone := httptest.NewServer(newPhone(t, webphone.Options{ControlURL: controlURL}))
	defer phone.Close()
	req, _ := http.NewRequest(http.MethodGet, phone.URL+"/sounds/zh/hotline/common/welcome.wav", nil)
	for k, v := range map[string]string{
		"Origin": phone.URL, "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors",
		"Cookie": "session=desk", "Referer": phone.URL + "/",
	} {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if got, want := res.StatusCode, http.StatusOK; got != want {
		t.Fatalf("status %d (%s), want %d", got, b, want)
	}
	if !bytes.HasPrefix(b, []byte("RIFF")) {
		t.Errorf("body starts %q, want a WAV file", b[:min(len(b), 16)])
	}
}
