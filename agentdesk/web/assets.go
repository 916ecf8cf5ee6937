package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"
)

//go:embed assets
var embedded embed.FS

// assets are the embedded files, read once: the templates of the pages and the static
// files with their content types, under a version that changes with any of them.
type assets struct {
	// version is a digest of all the static files: their URLs carry it, so a browser may
	// keep them for good and still never runs an old script against a new server.
	version string
	files   map[string]staticFile // by path under assets/, e.g. "js/desk.js"
	pages   *template.Template
}

type staticFile struct {
	body        []byte
	contentType string
	etag        string
}

// contentTypes are the types of the static files, by extension; a file of any other kind is
// not served.
var contentTypes = map[string]string{
	".js":  "text/javascript; charset=utf-8",
	".css": "text/css; charset=utf-8",
	".svg": "image/svg+xml",
}

// loadAssets reads the embedded files. They are part of the binary: a template that does not
// parse is a bug the tests catch, so it panics.
func loadAssets() *assets {
	a := &assets{files: map[string]staticFile{}}
	all := sha256.New()
	var names []string
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ct, ok := contentTypes[path.Ext(p)]; ok {
			body, err := embedded.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(body)
			name := strings.TrimPrefix(p, "assets/")
			a.files[name] = staticFile{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
			names = append(names, name)
		}
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("agent desk: read assets: %v", err))
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(all, "%s %s\n", n, a.files[n].etag)
	}
	a.version = hex.EncodeToString(all.Sum(nil)[:6])
	a.pages = template.Must(template.New("").ParseFS(embedded, "assets/templates/*.html"))
	return a
}

// pageData is what every page template gets.
type pageData struct {
	// Static is the base URL of the static files, ending in "/".
	Static string
	// Styles are the page's style sheets, in order.
	Styles []string
	// Modules are the JavaScript modules the page preloads; the first is its entry.
	Modules []string
	// ServerTime is the server's clock when the page was made (RFC 3339): format.js starts the
	// page's clock from it, so that a browser whose clock is off still shows the server's day.
	ServerTime string
}

// render writes page, a template of assets/templates, with its style sheets and modules.
func (h *handler) render(w http.ResponseWriter, r *http.Request, page string, styles, modules []string) {
	var b bytes.Buffer
	d := pageData{Static: Prefix + "static/" + h.assets.version + "/", Styles: styles, Modules: modules,
		ServerTime: h.now().UTC().Format(time.RFC3339Nano)}
	if err := h.assets.pages.ExecuteTemplate(&b, page, d); err != nil {
		h.log.Error("agent desk: render page", "page", page, "err", err)
		pageHeaders(w, r)
		http.Error(w, "页面出错，请稍后重试", http.StatusInternalServerError)
		return
	}
	pageHeaders(w, r)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b.Bytes())
}

// static serves a static file. Under the current version it is immutable; under another (a
// page rendered by an older or newer instance behind the same balancer) the current file is
// served but not kept.
func (h *handler) static(w http.ResponseWriter, r *http.Request) {
	pageHeaders(w, r)
	f, ok := h.assets.files[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("ETag", f.etag)
	if r.PathValue("version") == h.assets.version {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, f.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(f.body)
}
