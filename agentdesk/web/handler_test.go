package web_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/foshan-hotline/hotline/agentdesk/web"
)

func serve(t *testing.T, h http.Handler, path string, header ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// staticURLs returns the style sheet, icon and module URLs a page refers to.
var staticURL = regexp.MustCompile(`(?:href|src)="(/desk/static/[^"]+)"`)

func TestPages(t *testing.T) {
	h := web.New(web.Options{})

	// Without a session cookie the desk sends the browser to the login page.
	resp := serve(t, h, "/desk/")
	if got, want := resp.StatusCode, http.StatusSeeOther; got != want {
		t.Fatalf("GET /desk/ without a session: %d, want %d", got, want)
	}
	if got, want := resp.Header.Get("Location"), "/desk/login"; got != want {
		t.Errorf("Location %q, want %q", got, want)
	}

	for _, tc := range []struct {
		path, cookie, title, entry string
	}{
		{"/desk/login", "", "<title>登录 · 坐席工作台", "js/login.js"},
		{"/desk/", "hotline_session=abc", "<title>坐席工作台", "js/desk.js"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			var resp *http.Response
			if tc.cookie != "" {
				resp = serve(t, h, tc.path, "Cookie", tc.cookie)
			} else {
				resp = serve(t, h, tc.path)
			}
			page := body(t, resp)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", resp.StatusCode, page)
			}
			for k, want := range map[string]string{
				"Content-Type":           "text/html; charset=utf-8",
				"Cache-Control":          "no-store",
				"X-Content-Type-Options": "nosniff",
				"X-Frame-Options":        "DENY",
			} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			if !strings.Contains(page, tc.title) || !strings.Contains(page, `lang="zh-CN"`) {
				t.Errorf("page lacks %q or lang=zh-CN:\n%s", tc.title, page)
			}
			if !regexp.MustCompile(`<script type="module" src="/desk/static/[0-9a-f]+/` + regexp.QuoteMeta(tc.entry) + `">`).MatchString(page) {
				t.Errorf("page does not load %s as a module:\n%s", tc.entry, page)
			}
			checkNoInline(t, tc.path, page)
			// Every asset the page names is served with its type.
			for _, m := range staticURL.FindAllStringSubmatch(page, -1) {
				resp := serve(t, h, m[1])
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: %d", m[1], resp.StatusCode)
				}
			}
		})
	}
}

// checkNoInline fails for anything the Content-Security-Policy would block: inline scripts,
// event-handler attributes, style attributes and elements, javascript: URLs.
func checkNoInline(t *testing.T, name, html string) {
	t.Helper()
	for what, re := range map[string]*regexp.Regexp{
		"inline script":      regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]`),
		"script without src": regexp.MustCompile(`<script(?:(?:\s(?:type|async|defer)(?:="[^"]*")?))*>`),
		"event handler":      regexp.MustCompile(`(?i)\son[a-z]+\s*=`),
		"style attribute":    regexp.MustCompile(`(?i)\sstyle\s*=`),
		"style element":      regexp.MustCompile(`(?i)<style`),
		"javascript: URL":    regexp.MustCompile(`(?i)javascript:`),
	} {
		if loc := re.FindStringIndex(html); loc != nil {
			t.Errorf("%s: %s at %q", name, what, html[max(0, loc[0]-40):min(len(html), loc[1]+40)])
		}
	}
}

func TestStaticFiles(t *testing.T) {
	h := web.New(web.Options{})
	page := body(t, serve(t, h, "/desk/login"))
	m := regexp.MustCompile(`/desk/static/([0-9a-f]+)/`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no versioned static URL in the login page:\n%s", page)
	}
	version := m[1]

	for _, tc := range []struct{ file, contentType string }{
		{"js/desk.js", "text/javascript; charset=utf-8"},
		{"js/api.js", "text/javascript; charset=utf-8"},
		{"css/base.css", "text/css; charset=utf-8"},
		{"css/call.css", "text/css; charset=utf-8"},
		{"icon.svg", "image/svg+xml"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			resp := serve(t, h, "/desk/static/"+version+"/"+tc.file)
			b := body(t, resp)
			if resp.StatusCode != http.StatusOK || b == "" {
				t.Fatalf("%d, %d bytes", resp.StatusCode, len(b))
			}
			if got := resp.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Content-Type %q, want %q", got, tc.contentType)
			}
			if got, want := resp.Header.Get("Cache-Control"), "public, max-age=31536000, immutable"; got != want {
				t.Errorf("Cache-Control %q, want %q", got, want)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("no nosniff")
			}
			etag := resp.Header.Get("ETag")
			if etag == "" {
				t.Fatal("no ETag")
			}
			// Another version (a page from another instance) gets the file, revalidated.
			other := serve(t, h, "/desk/static/000000000000/"+tc.file)
			if other.StatusCode != http.StatusOK || other.Header.Get("Cache-Control") != "no-cache" {
				t.Errorf("old version: %d, Cache-Control %q", other.StatusCode, other.Header.Get("Cache-Control"))
			}
			if again := serve(t, h, "/desk/static/"+version+"/"+tc.file, "If-None-Match", etag); again.StatusCode != http.StatusNotModified {
				t.Errorf("If-None-Match: %d, want 304", again.StatusCode)
			}
		})
	}

	for _, path := range []string{
		"/desk/static/" + version + "/js/nothing.js",
		"/desk/static/" + version + "/templates/desk.html", // templates are not files to fetch
		"/desk/nothing",
	} {
		if resp := serve(t, h, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	// A path that climbs out is cleaned by the mux (a redirect), never served.
	if resp := serve(t, h, "/desk/static/"+version+"/../web.go"); resp.StatusCode == http.StatusOK {
		t.Errorf("GET …/../web.go: 200")
	}
}

// TestScriptsBuildNoHTML keeps the modules free of what would parse strings as HTML or code:
// the desk shows citizens' data, and text nodes are the only way it reaches the page.
func TestScriptsBuildNoHTML(t *testing.T) {
	forbidden := regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\(\s*"on|setAttribute\(\s*"style"`)
	err := filepath.WalkDir("assets/js", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(src), "\n") {
			if forbidden.MatchString(line) {
				t.Errorf("%s:%d: %s", path, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
