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

// sessionPage returns the handler of a page for logged-in users: without a session cookie it
// redirects to the login page. The page's API requests are checked for the user's role; the
// page itself holds no data.
func (h *handler) sessionPage(page string, styles, modules []string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(sessionCookie); err != nil || c.Value == "" {
			pageHeaders(w, r)
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, Prefix+"login", http.StatusSeeOther)
			return
		}
		h.render(w, r, page, styles, modules)
	}
}

// The pages besides the desk: for supervisors (the API refuses anyone else) and for
// departments' users.
var (
	// reportsPage is the supervisors' reports.
	reportsPage = []string{"css/base.css", "css/card.css", "css/reports.css"}
	// flowsPage is the call flows, edited, tested, published and rolled back.
	flowsPage = []string{"css/base.css", "css/card.css", "css/flows.css"}
	// departmentPage is a department's work orders.
	departmentPage = []string{"css/base.css", "css/desk.css", "css/workarea.css", "css/workorders.css"}
	// supervisorPage is the wallboard and agent management.
	supervisorPage = []string{"css/base.css", "css/card.css", "css/supervisor.css"}
	// promptsPage is the IVR's prompts: texts, listening, changes.
	promptsPage = []string{"css/base.css", "css/card.css", "css/reports.css", "css/calendar.css", "css/prompts.css"}
	// recordingsPage is the recordings: search, play, download.
	recordingsPage = []string{"css/base.css", "css/card.css", "css/reports.css", "css/calendar.css", "css/recordings.css"}
	// calendarPage is the business-hours calendar.
	calendarPage = []string{"css/base.css", "css/card.css", "css/reports.css", "css/calendar.css"}
)
