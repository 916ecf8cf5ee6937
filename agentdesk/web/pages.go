package web

import "net/http"

// sessionCookie is the agent API's session cookie. Its presence only chooses the page: the
// desk itself asks GET /api/me and goes to the login page when the session is gone.
const sessionCookie = "hotline_session"

// deskModules are the desk page's modules, entry first: all are preloaded so that the
// desk is ready, and a screen-pop rendered, without waiting for import chains.
var deskModules = []string{"js/desk.js", "js/api.js", "js/events.js", "js/format.js", "js/keys.js",
	"js/statebar.js", "js/offer.js", "js/card.js", "js/controls.js", "js/wrapup.js", "js/search.js", "js/softphone.js"}

// deskStyles are the desk page's style sheets.
var deskStyles = []string{"css/base.css", "css/desk.css", "css/card.css", "css/call.css", "css/workorders.css"}

// desk is GET /desk/: the desk, or a redirect to the login page without a session cookie.
func (h *handler) desk(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err != nil || c.Value == "" {
		pageHeaders(w, r)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
		return
	}
	h.render(w, r, "desk.html", deskStyles, deskModules)
}

// login is GET /desk/login: the login page.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	h.render(w, r, "login.html", []string{"css/base.css"}, []string{"js/login.js", "js/api.js"})
}

// reports is GET /desk/reports: the supervisors' reports (the API refuses anyone else).
func (h *handler) reports(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err != nil || c.Value == "" {
		pageHeaders(w, r)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
		return
	}
	h.render(w, r, "reports.html", []string{"css/base.css", "css/card.css", "css/reports.css"},
		[]string{"js/reports.js", "js/api.js", "js/format.js"})
}

// flows is GET /desk/flows: the call flows, edited, tested, published and rolled back by
// supervisors (the API refuses anyone else).
func (h *handler) flows(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err != nil || c.Value == "" {
		pageHeaders(w, r)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
		return
	}
	h.render(w, r, "flows.html", []string{"css/base.css", "css/card.css", "css/flows.css"},
		[]string{"js/flows.js", "js/api.js", "js/format.js", "js/flow-editor.js"})
}

// department is GET /desk/department: a department's work orders, for its department users
// (the API gives anyone else none of them).
func (h *handler) department(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err != nil || c.Value == "" {
		pageHeaders(w, r)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
		return
	}
	h.render(w, r, "department.html", []string{"css/base.css", "css/desk.css", "css/workarea.css", "css/workorders.css"},
		[]string{"js/department.js", "js/api.js", "js/format.js", "js/workorders.js"})
}

// supervisor is GET /desk/supervisor: the supervisors' wallboard and agent management (the
// API refuses anyone else).
func (h *handler) supervisor(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err != nil || c.Value == "" {
		pageHeaders(w, r)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
		return
	}
	h.render(w, r, "supervisor.html", []string{"css/base.css", "css/card.css", "css/supervisor.css"},
		[]string{"js/supervisor.js", "js/api.js", "js/format.js", "js/wallboard.js", "js/chart.js", "js/agentadmin.js"})
}
