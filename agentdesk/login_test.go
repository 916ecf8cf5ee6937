package agentdesk_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
)

// sessionCookie returns the Set-Cookie of the session in resp.
func sessionCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "hotline_session" {
			return c
		}
	}
	t.Fatalf("no hotline_session cookie in %v", resp.Header.Values("Set-Cookie"))
	return nil
}

func TestLogin(t *testing.T) {
	d := newDesk(t)
	c := d.client()
	resp := c.response("POST", "/api/login", `{"username":"agent01","password":"agent01-pw"}`)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	cookie := sessionCookie(t, resp)
	if !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Secure || cookie.Path != "/" {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP", cookie)
	}
	var me struct {
		User struct {
			ID         int64        `json:"id"`
			Username   string       `json:"username"`
			Role       hotline.Role `json:"role"`
			TakesCalls bool         `json:"takes_calls"`
		} `json:"user"`
		CSRFToken string `json:"csrf_token"`
		Session   struct {
			IdleTimeoutSeconds int `json:"idle_timeout_seconds"`
		} `json:"session"`
		Status *struct {
			State  string `json:"state"`
			Reason string `json:"reason"`
		} `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&me); err != nil {
		t.Fatal(err)
	}
	if me.User.ID != d.ids["agent01"] || me.User.Role != hotline.RoleAgent || !me.User.TakesCalls || me.CSRFToken == "" ||
		me.CSRFToken == cookie.Value || me.Session.IdleTimeoutSeconds != 1800 {
		t.Errorf("login answered %+v", me)
	}
	if me.Status == nil || me.Status.State != "paused" || me.Status.Reason != "login" {
		t.Errorf("status after login %+v, want the ACD's: paused, login", me.Status)
	}
	// The ACD is told the session's id, the hex SHA-256 of the cookie's token.
	h := sha256.Sum256([]byte(cookie.Value))
	if got, want := d.states.Calls(), []string{fmt.Sprintf("Login(%d, %s)", d.ids["agent01"], hex.EncodeToString(h[:]))}; !equalStrings(got, want) {
		t.Errorf("ACD calls %v, want %v", got, want)
	}

	c.csrf = me.CSRFToken
	status, body := c.do("GET", "/api/me", "")
	if status != http.StatusOK || !strings.Contains(string(body), me.CSRFToken) {
		t.Errorf("GET /api/me: %d %s", status, body)
	}
}

func equalStrings(a, b []string) bool { return strings.Join(a, "\n") == strings.Join(b, "\n") }

// fixedStart is when the tests with a settable clock begin.
var fixedStart = time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestLoginOverTLSSetsASecureCookie(t *testing.T) {
	d := newDesk(t)
	web := httptest.NewTLSServer(d.srv.Handler())
	defer web.Close()
	c := &client{d: d, base: web.URL, http: web.Client()}
	resp := c.response("POST", "/api/login", `{"username":"agent01","password":"agent01-pw"}`)
	resp.Body.Close()
	if cookie := sessionCookie(t, resp); !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode {
		t.Errorf("cookie over TLS %+v: want Secure, HttpOnly, SameSite=Strict", cookie)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Errorf("no Strict-Transport-Security over TLS")
	}
}

func TestLoginRefused(t *testing.T) {
	d := newDesk(t)
	d.exec(`UPDATE hotline.agents SET active = false WHERE username = 'agent02'`)
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"wrong password", `{"username":"agent01","password":"nope"}`, 401, "unauthorized"},
		{"unknown user", `{"username":"ghost","password":"ghost-pw"}`, 401, "unauthorized"},
		{"inactive user", `{"username":"agent02","password":"agent02-pw"}`, 401, "unauthorized"},
		{"no password", `{"username":"agent01"}`, 400, "invalid"},
		{"empty body", `{}`, 400, "invalid"},
		{"username too long", `{"username":"` + strings.Repeat("a", 65) + `","password":"x"}`, 400, "invalid"},
		{"extra field", `{"username":"agent01","password":"agent01-pw","remember":true}`, 400, "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := d.client()
			resp := c.response("POST", "/api/login", tc.body)
			defer resp.Body.Close()
			var e struct{ Error, Reason string }
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || e.Error != tc.code || e.Reason == "" {
				t.Errorf("%d %+v, want %d %s", resp.StatusCode, e, tc.status, tc.code)
			}
			if len(resp.Cookies()) != 0 {
				t.Errorf("cookies set: %v", resp.Cookies())
			}
		})
	}
	// The same answer whether the user exists or not.
	_, wrong := d.client().do("POST", "/api/login", `{"username":"agent01","password":"nope"}`)
	_, unknown := d.client().do("POST", "/api/login", `{"username":"ghost","password":"nope"}`)
	if string(wrong) != string(unknown) {
		t.Errorf("wrong password %s, unknown user %s: want the same", wrong, unknown)
	}
	if got := d.states.Calls(); len(got) != 0 {
		t.Errorf("ACD calls %v, want none", got)
	}
}

func TestLoginThrottled(t *testing.T) {
	d := newDesk(t)
	c := d.client()
	for i := 0; i < 10; i++ {
		if status, body := c.do("POST", "/api/login", `{"username":"agent01","password":"guess`+strconv.Itoa(i)+`"}`); status != 401 {
			t.Fatalf("guess %d: %d %s", i, status, body)
		}
	}
	resp := c.response("POST", "/api/login", `{"username":"agent01","password":"agent01-pw"}`)
	defer resp.Body.Close()
	var e struct{ Error, Reason string }
	json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != http.StatusTooManyRequests || e.Error != "too_many_requests" {
		t.Fatalf("the right password after 10 failures: %d %+v, want 429", resp.StatusCode, e)
	}
	if ra, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || ra < 800 || ra > 900 {
		t.Errorf("Retry-After %q, want about 15 minutes", resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(d.logs.String(), "desk login throttled") {
		t.Errorf("a throttled login is not logged")
	}
	// Another user logs in.
	d.login("agent02")
}

func TestLoginRefusedByTheACD(t *testing.T) {
	d := newDesk(t)
	d.states.LoginFunc = func(context.Context, int64, string) (string, hotline.AgentStatus, error) {
		return "", hotline.AgentStatus{}, fmt.Errorf("account disabled: %w", hotline.ErrForbidden)
	}
	c := d.client()
	status, body := c.do("POST", "/api/login", `{"username":"agent01","password":"agent01-pw"}`)
	if code, _ := errorOf(t, body); status != http.StatusForbidden || code != "forbidden" {
		t.Errorf("login the ACD refuses: %d %s, want 403", status, body)
	}
	var n int
	if err := d.db.Get(&n, `SELECT count(*) FROM hotline.sessions`); err != nil || n != 0 {
		t.Errorf("%d sessions left (%v), want none", n, err)
	}
}

func TestUserWithoutPhoneLogsInWithoutTheACD(t *testing.T) {
	d := newDesk(t)
	admin := d.login("admin")
	if got := d.states.Calls(); len(got) != 0 {
		t.Errorf("ACD calls %v for a user without a phone", got)
	}
	status, body := admin.do("POST", "/api/agent/state", `{"state":"available"}`)
	if code, reason := errorOf(t, body); status != http.StatusConflict || code != "conflict" || !strings.Contains(reason, "no phone") {
		t.Errorf("state of a user without a phone: %d %s, want 409", status, body)
	}
	status, body = admin.do("GET", "/api/agent/status", "")
	if status != http.StatusOK || !strings.Contains(string(body), `"state":"offline"`) {
		t.Errorf("status of a user without a phone: %d %s", status, body)
	}
}

func TestLogout(t *testing.T) {
	d := newDesk(t)
	c := d.login("agent01")
	resp := c.response("POST", "/api/logout", "")
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if cookie := sessionCookie(t, resp); cookie.MaxAge >= 0 || cookie.Value != "" {
		t.Errorf("logout left the cookie %+v", cookie)
	}
	if got := d.states.Calls(); len(got) != 2 || got[1] != fmt.Sprintf("Logout(%d, logout)", d.ids["agent01"]) {
		t.Errorf("ACD calls %v, want Login then Logout(%d, logout)", got, d.ids["agent01"])
	}
	if status, body := c.do("GET", "/api/me", ""); status != http.StatusUnauthorized {
		t.Errorf("after logout: %d %s, want 401", status, body)
	}
	var n int
	if err := d.db.Get(&n, `SELECT count(*) FROM hotline.audit_log WHERE action = 'logout' AND actor_id = $1`, d.ids["agent01"]); err != nil || n != 1 {
		t.Errorf("%d logouts audited (%v), want 1", n, err)
	}
}

func TestLogoutRefusedOnACall(t *testing.T) {
	d := newDesk(t)
	c := d.login("agent01")
	d.states.Set(d.ids["agent01"], hotline.AgentStatus{State: hotline.AgentTalking})
	d.states.LogoutFunc = func(context.Context, int64, string) error {
		return fmt.Errorf("logout: talking: end the call first: %w", hotline.ErrConflict)
	}
	status, body := c.do("POST", "/api/logout", "")
	if code, reason := errorOf(t, body); status != http.StatusConflict || code != "conflict" || !strings.Contains(reason, "end the call first") {
		t.Errorf("logout while talking: %d %s, want 409 with the ACD's reason", status, body)
	}
	if status, _ := c.do("GET", "/api/me", ""); status != http.StatusOK {
		t.Errorf("the session ended although the logout was refused: %d", status)
	}
	// Once the ACD has the agent logged out (a supervisor did it), logging out ends the
	// session.
	d.states.Set(d.ids["agent01"], hotline.AgentStatus{State: hotline.AgentOffline})
	if status, body := c.do("POST", "/api/logout", ""); status != http.StatusNoContent {
		t.Errorf("logout of an agent the ACD has logged out: %d %s", status, body)
	}
}

func TestSecondLoginTakesOver(t *testing.T) {
	d := newDesk(t)
	first := d.login("agent01")
	second := d.login("agent01")
	if status, _ := first.do("GET", "/api/me", ""); status != http.StatusUnauthorized {
		t.Errorf("first session after a second login: %d, want 401", status)
	}
	if status, _ := second.do("GET", "/api/me", ""); status != http.StatusOK {
		t.Errorf("second session: %d, want 200", status)
	}
	var n int
	if err := d.db.Get(&n, `SELECT count(*) FROM hotline.sessions WHERE agent_id = $1`, d.ids["agent01"]); err != nil || n != 1 {
		t.Errorf("%d sessions of the agent (%v), want 1", n, err)
	}
}

func TestSessionIdleTimeout(t *testing.T) {
	clk := &clock{t: fixedStart}
	d := newDesk(t, func(o *agentdesk.Options) { o.Now = clk.Now })
	c := d.login("agent01")
	clk.Advance(29 * time.Minute)
	if status, _ := c.do("GET", "/api/me", ""); status != http.StatusOK {
		t.Fatalf("after 29 idle minutes: %d", status)
	}
	clk.Advance(31 * time.Minute)
	status, body := c.do("GET", "/api/me", "")
	if code, _ := errorOf(t, body); status != http.StatusUnauthorized || code != "unauthorized" {
		t.Errorf("after 31 idle minutes: %d %s, want 401", status, body)
	}
}

func TestCookieJarIsNotEnough(t *testing.T) {
	// A page of another site can make the browser send the cookie (were it not
	// SameSite=Strict) but cannot read the CSRF token: a POST with the cookie alone fails.
	d := newDesk(t)
	c := d.login("agent01")
	jar, _ := cookiejar.New(nil)
	u := mustParse(t, d.web.URL)
	jar.SetCookies(u, c.http.Jar.Cookies(u))
	attacker := &client{d: d, base: d.web.URL, http: &http.Client{Jar: jar}}
	if status, body := attacker.do("POST", "/api/agent/state", `{"state":"available"}`); status != http.StatusForbidden {
		t.Errorf("POST with the cookie but no token: %d %s, want 403", status, body)
	}
	if status, _ := attacker.do("GET", "/api/me", ""); status != http.StatusOK {
		t.Errorf("the cookie alone reads: %d", status)
	}
}
