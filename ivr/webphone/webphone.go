package webphone

import (
	"bytes"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/prompts"
)

//go:embed assets
var assets embed.FS

// DemoCitizen is a caller the page offers to dial as: a seeded citizen of
// the demo database.
type DemoCitizen struct {
	// Name is the citizen's name, e.g. 陈美玲.
	Name string
	// Mobile is the number the call comes from.
	Mobile string
	// Level is the citizen's registration level (ordinary or real-name).
	Level hotline.Level
	// Note says what this caller is good for trying, e.g. 有未缴水费账单.
	Note string
}

// Options configures the browser phone.
type Options struct {
	// ControlURL is the base URL of the simulator's control API, e.g.
	// "http://127.0.0.1:8089". Required.
	ControlURL string
	// Manifest gives the captions; nil shows prompt ids instead of texts.
	Manifest *prompts.Manifest
	// Citizens are offered as callers, in this order.
	Citizens []DemoCitizen
	// Hotline is the number shown as dialled; default "12345".
	Hotline string
	// SoundRoot is the directory of the hotline's prompts as Asterisk sees
	// it: media "sound:<SoundRoot>/<id>" is prompt <id>. Default "hotline".
	SoundRoot string
	// Speed is the simulator's time compression (arisim.Options.Speed),
	// which the page needs to tell a prompt cut short from one that ended.
	// Zero means 1.
	Speed float64
	// HTTPClient reaches the control API; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Logger receives one line per call and relay errors; nil discards.
	Logger *slog.Logger
}

// ErrNoControl is returned by New when Options.ControlURL is missing or not
// an http(s) URL.
var ErrNoControl = errors.New("webphone: control API URL (http or https) required")

// phone is the handler New returns.
type phone struct {
	opts     Options
	control  *url.URL
	client   *http.Client
	log      *slog.Logger
	token    string // the page's: a call needs it (see serveDial)
	page     []byte // rendered once: the citizens and the token do not change
	captions []byte
	sounds   *httputil.ReverseProxy
	mux      *http.ServeMux
}

// New returns the browser phone's handler. Mount it under a path ending in
// "/" with the prefix stripped (see the package documentation).
func New(opts Options) (http.Handler, error) {
	u, err := url.Parse(opts.ControlURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: %q", ErrNoControl, opts.ControlURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	if opts.Hotline == "" {
		opts.Hotline = "12345"
	}
	if opts.SoundRoot == "" {
		opts.SoundRoot = "hotline"
	}
	if opts.Speed <= 0 {
		opts.Speed = 1
	}
	p := &phone{opts: opts, control: u, client: opts.HTTPClient, log: opts.Logger, token: rand.Text()}
	if p.client == nil {
		p.client = http.DefaultClient
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.captions, err = captionsJSON(opts.Manifest); err != nil {
		return nil, err
	}
	if p.page, err = renderPage(opts, p.token); err != nil {
		return nil, err
	}
	p.sounds = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Header = forwardedSoundHeader(pr.In.Header)
			pr.Out.URL.Path = u.Path + "/sounds/" + pr.In.PathValue("lang") + "/" + pr.In.PathValue("name")
			pr.Out.URL.RawPath = ""
			pr.Out.URL.RawQuery = ""
		},
		Transport: p.client.Transport,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			p.log.Warn("webphone: sound proxy", slog.String("path", r.URL.Path), slog.Any("error", err))
			http.Error(w, "simulator unreachable", http.StatusBadGateway)
		},
	}
	p.routes()
	return p, nil
}

func (p *phone) routes() {
	static, _ := fs.Sub(assets, "assets")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.servePage)
	mux.HandleFunc("GET /captions.json", p.serveCaptions)
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(static)))
	mux.HandleFunc("GET /dial", p.serveDial)
	mux.HandleFunc("GET /sounds/{lang}/{name...}", p.serveSound)
	p.mux = mux
}

// ServeHTTP serves the page and its API.
func (p *phone) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

func (p *phone) servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(p.page)
}

func (p *phone) serveCaptions(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(p.captions)
}

// serveSound passes a prompt's WAV through from the simulator; only paths
// that name a WAV file are asked for.
func (p *phone) serveSound(w http.ResponseWriter, r *http.Request) {
	lang, name := r.PathValue("lang"), r.PathValue("name")
	if !validLang(lang) || !strings.HasSuffix(name, ".wav") || strings.Contains(name, "..") {
		http.NotFound(w, r)
		return
	}
	p.sounds.ServeHTTP(w, r)
}

// forwardedSoundHeader keeps what a sound request needs from the browser's
// headers (ranges and revalidation). The rest describes the browser's request
// to this page, not this server's to the simulator: its cookies are not the
// simulator's business, and its Origin and Sec-Fetch-Site would make the
// simulator take the request for a web page's.
func forwardedSoundHeader(in http.Header) http.Header {
	out := http.Header{}
	for _, k := range []string{"Accept", "Range", "If-Range", "If-Modified-Since", "If-None-Match"} {
		if v := in.Values(k); len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

func validLang(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_') {
			return false
		}
	}
	return true
}

// staticFiles serves the embedded script and style sheet; a page load must
// see the newest of them after a restart, so they are revalidated.
func staticFiles(fsys fs.FS) http.Handler {
	h := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".html") || r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

// pageData is what phone.html renders.
type pageData struct {
	Token     string
	Hotline   string
	SoundRoot string
	Speed     string
	Citizens  []citizenView
}

type citizenView struct {
	DemoCitizen
	Initial   string // first character of the name, for the avatar
	LevelText string
	RealName  bool
}

func renderPage(opts Options, token string) ([]byte, error) {
	t, err := template.ParseFS(assets, "assets/phone.html")
	if err != nil {
		return nil, fmt.Errorf("webphone: parse page: %w", err)
	}
	d := pageData{Token: token, Hotline: opts.Hotline, SoundRoot: opts.SoundRoot,
		Speed: strconv.FormatFloat(opts.Speed, 'g', -1, 64)}
	for _, c := range opts.Citizens {
		v := citizenView{DemoCitizen: c, LevelText: "普通注册用户"}
		for _, r := range c.Name {
			v.Initial = string(r)
			break
		}
		if c.Level == hotline.LevelRealName {
			v.LevelText, v.RealName = "实名注册用户", true
		}
		d.Citizens = append(d.Citizens, v)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("webphone: render page: %w", err)
	}
	return b.Bytes(), nil
}
