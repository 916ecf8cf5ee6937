// Package web is the agent desk's front end: the login page and the desk page under /desk/,
// their style sheet and JavaScript modules, all embedded in the binary.
//
// The pages are plain HTML rendered with html/template; the desk is a handful of small
// JavaScript modules that talk to the agent API (package agentdesk) under /api/: api.js
// sends requests with the session's CSRF token, events.js keeps the events websocket open
// and hands each whole snapshot to the views (statebar.js, offer.js, card.js, controls.js,
// wrapup.js, search.js), which render from the snapshot alone, so that a refresh, a second tab or a
// reconnect shows the same desk. Nothing needs building: the modules are served as they are.
//
// The handler sends a Content-Security-Policy without 'unsafe-inline': no inline script,
// event-handler attribute or style attribute is used anywhere.
package web

import (
	"log/slog"
	"net/http"
	"time"
)

// Prefix is the path the handler serves; mount it there without stripping it.
const Prefix = "/desk/"

// Options configure the desk's handler.
type Options struct {
	// Log receives errors rendering a page; nil discards them.
	Log *slog.Logger
	// Now is the server's clock, which every page carries for its scripts (the reports'
	// default days, "today"); nil means time.Now.
	Now func() time.Time
}

// handler serves the desk's pages and assets.
type handler struct {
	log    *slog.Logger
	now    func() time.Time
	assets *assets
	mux    *http.ServeMux
}

// New returns the handler of the agent desk's pages and assets under Prefix ("/desk/"):
// GET /desk/ is the desk (the login page's address when there is no session cookie),
// GET /desk/login the login page, GET /desk/static/… the style sheet and scripts. Mount it
// at Prefix on the same origin as the agent API.
func New(o Options) http.Handler {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	h := &handler{log: o.Log, now: o.Now, assets: loadAssets()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /desk/{$}", h.desk)
	mux.HandleFunc("GET /desk/login", h.login)
	mux.HandleFunc("GET /desk/reports", h.sessionPage("reports.html", reportsPage,
		[]string{"js/reports.js", "js/api.js", "js/format.js"}))
	mux.HandleFunc("GET /desk/flows", h.sessionPage("flows.html", flowsPage,
		[]string{"js/flows.js", "js/api.js", "js/format.js", "js/flow-editor.js"}))
	mux.HandleFunc("GET /desk/supervisor", h.sessionPage("supervisor.html", supervisorPage,
		[]string{"js/supervisor.js", "js/api.js", "js/format.js", "js/wallboard.js", "js/chart.js", "js/agentadmin.js"}))
	mux.HandleFunc("GET /desk/department", h.sessionPage("department.html", departmentPage,
		[]string{"js/department.js", "js/api.js", "js/format.js", "js/workorders.js"}))
	mux.HandleFunc("GET /desk/calendar", h.sessionPage("calendar.html", calendarPage,
		[]string{"js/calendar.js", "js/api.js", "js/format.js"}))
	mux.HandleFunc("GET /desk/prompts", h.sessionPage("prompts.html", promptsPage, []string{"js/prompts.js", "js/api.js", "js/format.js"}))
	mux.HandleFunc("GET /desk/recordings", h.sessionPage("recordings.html", recordingsPage, []string{"js/recordings.js", "js/api.js", "js/format.js"}))
	mux.HandleFunc("GET /desk/static/{version}/{file...}", h.static)
	mux.HandleFunc("/desk/", func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w, r)
		http.NotFound(w, r)
	})
	h.mux = mux
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// contentSecurityPolicy allows the page's own scripts, styles, images and connections (the
// API and its websocket) and nothing inline.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// pageHeaders sets the security headers every response of the desk carries.
func pageHeaders(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
	if r.TLS != nil {
		hdr.Set("Strict-Transport-Security", "max-age=31536000")
	}
}
