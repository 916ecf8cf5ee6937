package arisim

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/segmentio/encoding/json"
)

// resp is a handler's answer, rendered by the HTTP layer or the
// websocket RESTRequest path.
type resp struct {
	status   int
	body     any    // JSON body, or nil for 204
	raw      []byte // non-JSON body
	ctype    string
	location string
}

func ok(v any) resp { return resp{status: 200, body: v} }
func created(v any, loc string) resp {
	return resp{status: 201, body: v, location: loc}
}
func noContent() resp { return resp{status: 204} }
func fail(e *apiError) resp {
	return resp{status: e.status, body: e.body}
}

// req is a parsed ARI request.
type req struct {
	method string
	vars   map[string]string // path variables
	p      *params
}

type handlerFunc func(s *Sim, r *req) resp

type route struct {
	segs    []string
	methods map[string]handlerFunc
	order   []string
}

var methodOrder = []string{"GET", "POST", "PUT", "DELETE"}

func (rt *route) allow() string {
	out := "OPTIONS"
	for _, m := range methodOrder {
		if _, ok := rt.methods[m]; ok {
			out += "," + m
		}
	}
	return out
}

// routes is the ARI URL space below /ari/.
var routes []*route

func handle(method, pattern string, h handlerFunc) {
	segs := strings.Split(pattern, "/")
	for _, rt := range routes {
		if strings.Join(rt.segs, "/") == pattern {
			rt.methods[method] = h
			return
		}
	}
	routes = append(routes, &route{segs: segs, methods: map[string]handlerFunc{method: h}})
}

func matchRoute(path string) (*route, map[string]string) {
	segs := strings.Split(path, "/")
	var best *route
	var bestVars map[string]string
	bestLiterals := -1
	for _, rt := range routes {
		if len(rt.segs) != len(segs) {
			continue
		}
		vars := map[string]string{}
		lit := 0
		okm := true
		for i, p := range rt.segs {
			if strings.HasPrefix(p, "{") {
				if segs[i] == "" {
					okm = false
					break
				}
				vars[p[1:len(p)-1]] = segs[i]
				continue
			}
			if p != segs[i] {
				okm = false
				break
			}
			lit++
		}
		if okm && lit > bestLiterals {
			best, bestVars, bestLiterals = rt, vars, lit
		}
	}
	return best, bestVars
}

// params holds request parameters from the query string, a form body or a
// JSON body, as Asterisk accepts all three.
type params struct {
	q url.Values
	j map[string]json.RawMessage
}

// get returns the last value of k (Asterisk keeps the last repeated one).
func (p *params) get(k string) string {
	if raw, ok := p.j[k]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		var n json.Number
		if json.Unmarshal(raw, &n) == nil {
			return n.String()
		}
		var b bool
		if json.Unmarshal(raw, &b) == nil {
			return strconv.FormatBool(b)
		}
		var arr []string
		if json.Unmarshal(raw, &arr) == nil {
			return strings.Join(arr, ",")
		}
	}
	vs := p.q[k]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

func (p *params) has(k string) bool {
	if _, ok := p.j[k]; ok {
		return true
	}
	_, ok := p.q[k]
	return ok
}

// list returns a comma-separated or JSON-array parameter as a slice.
func (p *params) list(k string) []string {
	if raw, ok := p.j[k]; ok {
		var arr []string
		if json.Unmarshal(raw, &arr) == nil {
			return arr
		}
	}
	v := p.get(k)
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// intParam parses an integer; non-numeric values are silently 0 (as in
// Asterisk) and absent ones give def.
func (p *params) intParam(k string, def int) int {
	if !p.has(k) {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(p.get(k)))
	if err != nil {
		return 0
	}
	return n
}

// variables returns the "variables" JSON object ({"variables":{…}}).
func (p *params) variables() map[string]string {
	raw, ok := p.j["variables"]
	if !ok {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	if inner, ok := m["variables"].(map[string]any); ok {
		m = inner
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = x
		default:
			b, _ := json.Marshal(x)
			out[k] = string(b)
		}
	}
	return out
}

func parseParams(query string, ctype string, body []byte) (*params, *apiError) {
	q, _ := url.ParseQuery(query)
	p := &params{q: q}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return p, nil
	}
	mt, _, _ := mime.ParseMediaType(ctype)
	if mt == "application/x-www-form-urlencoded" {
		f, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errBadBody
		}
		for k, vs := range f {
			p.q[k] = append(p.q[k], vs...)
		}
		return p, nil
	}
	if err := json.Unmarshal(body, &p.j); err != nil {
		return nil, errBadBody
	}
	return p, nil
}

// Handler returns the ARI HTTP handler: /ari/... REST and /ari/events.
func (s *Sim) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Sim) authorized(r *http.Request) bool {
	if u, p, ok := r.BasicAuth(); ok {
		want, found := s.users[u]
		return found && want == p
	}
	if key := r.URL.Query().Get("api_key"); key != "" {
		u, p, _ := strings.Cut(key, ":")
		want, found := s.users[u]
		return found && want == p
	}
	return false
}

func basicUser(h string) string {
	if !strings.HasPrefix(h, "Basic ") {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(h[6:])
	if err != nil {
		return ""
	}
	u, _, _ := strings.Cut(string(b), ":")
	return u
}

func (s *Sim) serveHTTP(w http.ResponseWriter, r *http.Request) {
	// Unlike Asterisk, which serves a web page's request (without CORS
	// headers), the simulator refuses a page of another origin: the demo's
	// ARI account is no secret, and with it a page could open the events
	// socket, which carries every key a caller presses, or place calls.
	if o := r.Header.Get("Origin"); o != "" && !originAllowed(o, r.Host, nil) {
		writeError(w, errMsg(403, "Origin not allowed"))
		return
	}
	path := r.URL.Path
	if path != "/ari" && !strings.HasPrefix(path, "/ari/") {
		writeHTML(w, 404, "Not Found", "The requested URL was not found on this server.")
		return
	}
	if s.faulty(w, r) {
		return
	}
	if path == "/ari/events" && r.Method == http.MethodGet {
		s.serveEvents(w, r)
		return
	}
	if !s.authorized(r) {
		writeError(w, errAuth)
		return
	}
	sub := strings.TrimPrefix(strings.TrimPrefix(path, "/ari"), "/")
	if sub == "" {
		w.Header().Set("Allow", "OPTIONS")
		writeError(w, errMsg(405, "Invalid method"))
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	out := s.dispatch(r.Method, sub, r.URL.RawQuery, r.Header.Get("Content-Type"), body, w.Header())
	render(w, out)
}

// dispatch runs one REST request; hdr (may be nil) receives Allow on 405.
func (s *Sim) dispatch(method, sub, query, ctype string, body []byte, hdr http.Header) resp {
	sub = strings.TrimSuffix(sub, "/")
	rt, vars := matchRoute(sub)
	if rt == nil {
		return fail(errNoResource)
	}
	h, found := rt.methods[method]
	if !found {
		if hdr != nil {
			hdr.Set("Allow", rt.allow())
		}
		return fail(errMsg(405, "Invalid method"))
	}
	p, perr := parseParams(query, ctype, body)
	if perr != nil {
		return fail(perr)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fail(errMsg(503, "Service Unavailable"))
	}
	return h(s, &req{method: method, vars: vars, p: p})
}

func render(w http.ResponseWriter, out resp) {
	if out.location != "" {
		w.Header().Set("Location", out.location)
	}
	switch {
	case out.status == 204:
		writeNoContent(w)
	case out.raw != nil:
		writeRaw(w, out.status, out.ctype, out.raw)
	default:
		if out.status == 401 {
			w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
		}
		writeJSON(w, out.status, out.body)
	}
}
