package arisim

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
)

// ControlTokenHeader carries the control token on a control API request; a
// browser's websocket, which cannot set headers, sends ?token= instead.
const ControlTokenHeader = "X-Control-Token"

// Reasons a control API request is refused (403).
var (
	errForeignOrigin = errors.New("origin not allowed")
	errNoToken       = errors.New("control token required: a web page must send it (header " + ControlTokenHeader + " or ?token=)")
	errBadToken      = errors.New("wrong control token")
)

// ControlToken returns the token a web page must send to use the control
// API (Options.ControlToken, or the one New chose).
func (s *Sim) ControlToken() string { return s.token }

// guardControl protects the control API from the web pages open in a
// browser on the same machine: the API lets its caller listen to the keys a
// caller presses (ID numbers, PINs) and place calls.
//
//   - A request with an Origin that is neither the API's own nor listed in
//     Options.ControlOrigins is refused.
//   - A request a page makes (it has an Origin, or a Sec-Fetch-Site other
//     than "none", which marks an address typed by the user) must carry the
//     control token. Browsers always send Origin on websocket handshakes and
//     on POST, PUT and DELETE, so no page can act or listen without the
//     token, which is never served to a page. The token also stops a page
//     whose host name was made to resolve to 127.0.0.1 (DNS rebinding),
//     which the Origin check takes for the API's own.
//   - Other clients (tests, the browser phone's relay, curl) need no token,
//     but a wrong one is refused.
func (s *Sim) guardControl(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin != "" && !originAllowed(origin, r.Host, s.opts.ControlOrigins) {
			ctlError(w, http.StatusForbidden, fmt.Errorf("%w: %q", errForeignOrigin, origin))
			return
		}
		tok := r.Header.Get(ControlTokenHeader)
		if tok == "" {
			tok = r.URL.Query().Get("token")
		}
		fromPage := origin != "" || (r.Header.Get("Sec-Fetch-Site") != "" && r.Header.Get("Sec-Fetch-Site") != "none")
		switch {
		case tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1:
			ctlError(w, http.StatusForbidden, errBadToken)
			return
		case tok == "" && fromPage:
			ctlError(w, http.StatusForbidden, errNoToken)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// originAllowed reports whether a page of origin may use an API served as
// host: its own pages and those of patterns, which are as in path.Match of
// the host ("localhost:8080", "*.example.com") or, with "://", of scheme
// and host, as the websocket package matches them.
func originAllowed(origin, host string, patterns []string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // "null" and other opaque origins
	}
	if strings.EqualFold(u.Host, host) {
		return true
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, _ := path.Match(strings.ToLower(p), strings.ToLower(target)); ok {
			return true
		}
	}
	return false
}
