package agentdesk_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
)

// operation is an operation of openapi.yaml.
type operation struct {
	method, path string
	minRole      string
	body         bool // takes a JSON request body
	department   bool // x-department: department users may call it too
}

// loadSpec reads the operations of openapi.yaml.
func loadSpec(t *testing.T) []operation {
	t.Helper()
	raw := agentdesk.OpenAPISpec()
	var spec struct {
		OpenAPI string `yaml:"openapi"`
		Paths   map[string]map[string]struct {
			MinRole     string    `yaml:"x-min-role"`
			Department  bool      `yaml:"x-department"`
			RequestBody yaml.Node `yaml:"requestBody"`
			Responses   map[string]yaml.Node
		} `yaml:"paths"`
	}
	if err := yaml.Unmarshal(raw, &spec); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(spec.OpenAPI, "3.") {
		t.Fatalf("openapi.yaml: version %q", spec.OpenAPI)
	}
	var ops []operation
	for path, item := range spec.Paths {
		for method, op := range item {
			if op.MinRole == "" {
				t.Errorf("%s %s: no x-min-role", method, path)
			}
			if len(op.Responses) == 0 {
				t.Errorf("%s %s: no responses", method, path)
			}
			ops = append(ops, operation{method: strings.ToUpper(method), path: path, minRole: op.MinRole,
				body: !op.RequestBody.IsZero(), department: op.Department})
		}
	}
	slices.SortFunc(ops, func(a, b operation) int { return strings.Compare(a.path+a.method, b.path+b.method) })
	return ops
}

func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	d := newDesk(t)
	spec := map[string]string{} // "METHOD /path" → min role, +department when x-department
	for _, op := range loadSpec(t) {
		spec[op.method+" "+op.path] = op.minRole
		if op.department {
			spec[op.method+" "+op.path] += "+department"
		}
	}
	routes := map[string]string{}
	for _, r := range agentdesk.Routes(d.srv) {
		role := string(r.Role)
		if role == "" {
			role = "public"
		}
		if r.Department {
			role += "+department"
		}
		routes[r.Pattern] = role
	}
	for pattern, role := range routes {
		specRole, ok := spec[pattern]
		switch {
		case !ok:
			t.Errorf("route %s is not in openapi.yaml", pattern)
		case specRole != role:
			t.Errorf("route %s: openapi.yaml says x-min-role %s, the server %s", pattern, specRole, role)
		}
	}
	for pattern := range spec {
		if _, ok := routes[pattern]; !ok {
			t.Errorf("openapi.yaml describes %s, which the server does not serve", pattern)
		}
	}

	// The server serves the same document.
	raw := agentdesk.OpenAPISpec()
	status, body := d.client().do("GET", "/api/openapi.yaml", "")
	if status != http.StatusOK || !bytes.Equal(body, raw) {
		t.Errorf("GET /api/openapi.yaml: %d, %d bytes; want 200 and openapi.yaml's %d", status, len(body), len(raw))
	}
}

// validBodies are acceptable bodies of the operations that take one, so that a check of
// the session, role or CSRF token is not answered by a body check instead. The tests of
// each part of the API add theirs in an init function.
var validBodies = map[string]string{
	"POST /api/login":               `{"username":"agent02","password":"agent02-pw"}`,
	"POST /api/agent/state":         `{"state":"available"}`,
	"POST /api/agent/wrapup":        `{"disposition":"","notes":""}`,
	"POST /api/agent/wrapup/extend": `{"seconds":30}`,
}

// roleRank orders the roles of x-min-role. The department role is outside that order: it
// passes only public operations and those marked x-department.
var roleRank = map[string]int{"public": 0, "agent": 1, "supervisor": 2, "admin": 3}

// roleAllowed reports whether a user of role may call op.
func roleAllowed(role string, op operation) bool {
	if role == "department" {
		return op.minRole == "public" || op.department
	}
	return roleRank[role] >= roleRank[op.minRole]
}

// TestEveryRouteGuards walks openapi.yaml and checks, for every operation: no session or a
// bad one is 401; a role below x-min-role is 403 and the roles at or above it pass; a POST
// without the session's CSRF token, or from a foreign origin, is 403; a malformed body is
// 400.
func TestEveryRouteGuards(t *testing.T) {
	d := newDesk(t)
	dept, _ := d.departmentUser("dept-routes")
	users := map[string]*client{"agent": d.login("agent01"), "supervisor": d.login("supervisor"), "admin": d.login("admin"),
		"department": dept}
	self := strconv.FormatInt(d.ids["agent01"], 10)
	for _, op := range loadSpec(t) {
		pattern := op.method + " " + op.path
		t.Run(pattern, func(t *testing.T) {
			path := strings.ReplaceAll(op.path, "{id}", self)
			body := validBodies[pattern]
			if op.body && body == "" {
				t.Fatalf("no valid body for %s in validBodies", pattern)
			}
			// Refusals must not change anything: the requests after them still work.
			if op.minRole != "public" {
				anon := d.client()
				status, b := anon.do(op.method, path, body)
				if status != http.StatusUnauthorized {
					t.Errorf("without a session: %d %s, want 401", status, b)
				}
				errorOf(t, b)
				status, b = anon.do(op.method, path, body, "Cookie", "hotline_session=forged-token-of-the-right-length-0123456789abc")
				if status != http.StatusUnauthorized {
					t.Errorf("with a forged session: %d %s, want 401", status, b)
				}
			}
			for role, c := range users {
				if op.method != "GET" || op.path == "/api/agent/events" {
					break // the state-changing operations are run by their own tests
				}
				status, b := c.do(op.method, path, "")
				allowed := roleAllowed(role, op)
				switch {
				case allowed && (status == http.StatusUnauthorized || status == http.StatusForbidden):
					t.Errorf("role %s: %d %s, want let through", role, status, b)
				case !allowed && status != http.StatusForbidden:
					t.Errorf("role %s: %d %s, want 403", role, status, b)
				}
			}
			for role, c := range users {
				if op.method == "GET" || roleAllowed(role, op) {
					continue
				}
				if status, b := c.do(op.method, path, body); status != http.StatusForbidden {
					t.Errorf("role %s: %d %s, want 403", role, status, b)
				}
			}
			admin := users["admin"]
			if op.method == "POST" && op.minRole != "public" {
				for name, headers := range map[string][]string{
					"without a CSRF token":         {"X-CSRF-Token", ""},
					"with a wrong CSRF token":      {"X-CSRF-Token", "x" + admin.csrf[1:]},
					"with another session's token": {"X-CSRF-Token", users["supervisor"].csrf},
					"from a foreign origin":        {"Origin", "https://evil.example"},
					"from another port":            {"Origin", "http://127.0.0.1:1"},
				} {
					status, b := admin.do(op.method, path, body, headers...)
					if status != http.StatusForbidden {
						t.Errorf("%s: %d %s, want 403", name, status, b)
					}
					if code, _ := errorOf(t, b); code != "forbidden" {
						t.Errorf("%s: error %q, want forbidden", name, code)
					}
				}
			}
			if op.method == "POST" && op.minRole == "public" {
				if status, b := d.client().do(op.method, path, body, "Origin", "https://evil.example"); status != http.StatusForbidden {
					t.Errorf("from a foreign origin: %d %s, want 403", status, b)
				}
			}
			if op.body {
				c := admin
				if op.minRole == "public" {
					c = d.client()
				}
				for name, bad := range map[string]string{
					"truncated":         `{"state":`,
					"not an object":     `[1,2]`,
					"wrong type":        `{"username":1,"state":2,"disposition":3,"seconds":"x"}`,
					"unknown field":     `{"unknown":true}`,
					"trailing data":     body + ` {}`,
					"over 16 KiB":       `{"notes":"` + strings.Repeat("字", 6000) + `"}`,
					"invalid UTF-8 key": "{\"\xff\":1}",
				} {
					status, b := c.do(op.method, path, bad)
					if status != http.StatusBadRequest {
						t.Errorf("%s body: %d %s, want 400", name, status, b)
					}
					if code, reason := errorOf(t, b); code != "invalid" || reason == "" {
						t.Errorf("%s body: error %q reason %q", name, code, reason)
					}
				}
				if status, b := c.do(op.method, path, body, "Content-Type", "text/plain"); status != http.StatusUnsupportedMediaType {
					t.Errorf("text/plain body: %d %s, want 415", status, b)
				}
			}
		})
	}
	// Nothing refused above reached the ACD.
	for _, call := range d.states.Calls() {
		if !strings.HasPrefix(call, "Login(") {
			t.Errorf("the ACD was called: %s", call)
		}
	}
}

func TestUnknownEndpointsAndMethods(t *testing.T) {
	d := newDesk(t)
	c := d.client()
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
		allow        string
	}{
		{"GET", "/api/nothing-here", http.StatusNotFound, "not_found", ""},
		{"GET", "/api/login", http.StatusMethodNotAllowed, "method_not_allowed", "POST"},
		{"DELETE", "/api/me", http.StatusMethodNotAllowed, "method_not_allowed", "GET"},
		{"POST", "/api/agents/7/status", http.StatusMethodNotAllowed, "method_not_allowed", "GET"},
	} {
		resp := c.response(tc.method, tc.path, "")
		resp.Body.Close()
		if resp.StatusCode != tc.status || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d Allow %q, want %d Allow %q", tc.method, tc.path, resp.StatusCode,
				resp.Header.Get("Allow"), tc.status, tc.allow)
		}
		status, body := c.do(tc.method, tc.path, "")
		if code, _ := errorOf(t, body); status != tc.status || code != tc.code {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, status, body)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	d := newDesk(t)
	for _, path := range []string{"/api/me", "/api/openapi.yaml", "/api/nothing"} {
		resp := d.client().response("GET", path, "")
		resp.Body.Close()
		for name, want := range map[string]string{
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "no-referrer",
			"X-Frame-Options":        "DENY",
			"Cache-Control":          "no-store",
		} {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("%s: %s = %q, want %q", path, name, got, want)
			}
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
	}
}

func TestPanicAnswers500(t *testing.T) {
	d := newDesk(t)
	d.states.SetAvailableFunc = func(_ context.Context, agentID int64) (hotline.AgentStatus, error) {
		var m map[string]int
		m["boom"]++ // a nil map: the kind of bug that must not take the server down
		return hotline.AgentStatus{}, nil
	}
	c := d.login("agent01")
	status, body := c.do("POST", "/api/agent/state", `{"state":"available"}`)
	if code, reason := errorOf(t, body); status != http.StatusInternalServerError || code != "internal" || strings.Contains(reason, "nil map") {
		t.Errorf("after a panic: %d %s", status, body)
	}
	if !strings.Contains(d.logs.String(), "panic") {
		t.Errorf("the panic was not logged: %s", d.logs)
	}
	if status, body := c.do("GET", "/api/me", ""); status != http.StatusOK {
		t.Errorf("after a panic: GET /api/me: %d %s", status, body)
	}
}
