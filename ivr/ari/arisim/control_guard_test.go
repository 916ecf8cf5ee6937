package arisim

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestControlRefusesPages plays the web pages open in the demo's browser
// against the control API: none of them may listen to a call's keys or
// place a call without the token, which is never served to a page; other
// clients go on as before.
func TestControlRefusesPages(t *testing.T) {
	s := New(Options{Speed: 50, ControlToken: "right-token", ControlOrigins: []string{"desk.example:8443"}})
	defer s.Close()
	ctl := httptest.NewServer(s.ControlHandler())
	defer ctl.Close()
	own := "http://" + strings.TrimPrefix(ctl.URL, "http://")
	c, err := s.PlaceCall(context.Background(), CallOptions{Caller: "13800138002", Exten: "12345"})
	if err != nil {
		t.Fatal(err)
	}
	ws := "ws" + strings.TrimPrefix(ctl.URL, "http")

	sockets := []struct {
		name, path string
		header     http.Header
		want       int    // 101 when the socket opens
		reason     string // in the body of a refusal
	}{
		{"other origin, every event", "/events", http.Header{"Origin": {"https://evil.example"}}, 403, "origin not allowed"},
		{"other origin, one call", "/calls/" + c.ID() + "/events", http.Header{"Origin": {"https://evil.example"}}, 403, "origin not allowed"},
		{"other origin with the token", "/events?token=right-token", http.Header{"Origin": {"https://evil.example"}}, 403, "origin not allowed"},
		{"opaque origin", "/events?token=right-token", http.Header{"Origin": {"null"}}, 403, "origin not allowed"},
		{"own origin, no token", "/events", http.Header{"Origin": {own}}, 403, "control token required"},
		{"own origin, wrong token", "/events?token=guess", http.Header{"Origin": {own}}, 403, "wrong control token"},
		{"own origin with the token", "/events?token=right-token", http.Header{"Origin": {own}}, 101, ""},
		{"listed origin with the token", "/events?token=right-token", http.Header{"Origin": {"https://desk.example:8443"}}, 101, ""},
		{"not a browser", "/events", nil, 101, ""},
	}
	for _, tt := range sockets {
		t.Run("websocket/"+tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, res, err := websocket.Dial(ctx, ws+tt.path, &websocket.DialOptions{HTTPHeader: tt.header})
			if err == nil {
				conn.CloseNow()
				if tt.want != 101 {
					t.Fatalf("socket opened, want %d", tt.want)
				}
				return
			}
			if res == nil {
				t.Fatalf("dial: %v", err)
			}
			body, _ := io.ReadAll(res.Body)
			if got := res.StatusCode; got != tt.want {
				t.Fatalf("status %d (%s), want %d", got, body, tt.want)
			}
			if !strings.Contains(string(body), tt.reason) {
				t.Errorf("body %s, want the reason %q", body, tt.reason)
			}
		})
	}

	requests := []struct {
		name, method, path string
		header             map[string]string
		want               int
		reason             string
	}{
		{"other origin places a call", "POST", "/calls", map[string]string{"Origin": "https://evil.example"}, 403, "origin not allowed"},
		{"own origin, no token", "POST", "/calls", map[string]string{"Origin": own}, 403, "control token required"},
		{"wrong token", "POST", "/calls", map[string]string{ControlTokenHeader: "guess"}, 403, "wrong control token"},
		{"own origin, wrong token", "POST", "/calls", map[string]string{"Origin": own, ControlTokenHeader: "guess"}, 403, "wrong control token"},
		{"own origin with the token", "POST", "/calls", map[string]string{"Origin": own, ControlTokenHeader: "right-token"}, 201, ""},
		{"not a browser", "POST", "/calls", nil, 201, ""},
		{"other origin presses keys", "POST", "/calls/" + c.ID() + "/dtmf", map[string]string{"Origin": "https://evil.example"}, 403, "origin not allowed"},
		{"other origin registers a phone", "PUT", "/endpoints/PJSIP/3001", map[string]string{"Origin": "https://evil.example"}, 403, "origin not allowed"},
		// A page whose host name resolves to 127.0.0.1 is same-origin.
		{"rebound page reads the callers", "GET", "/calls", map[string]string{"Sec-Fetch-Site": "same-origin"}, 403, "control token required"},
		{"address typed in the browser", "GET", "/calls", map[string]string{"Sec-Fetch-Site": "none"}, 200, ""},
	}
	for _, tt := range requests {
		t.Run("http/"+tt.name, func(t *testing.T) {
			body := `{"caller":"13800138003","exten":"12345"}`
			if strings.HasSuffix(tt.path, "/dtmf") {
				body = `{"digits":"1"}`
			}
			req, _ := http.NewRequest(tt.method, ctl.URL+tt.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "text/plain") // what a page can send without asking first
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			got, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.want {
				t.Fatalf("status %d (%s), want %d", res.StatusCode, got, tt.want)
			}
			if !strings.Contains(string(got), tt.reason) {
				t.Errorf("body %s, want the reason %q", got, tt.reason)
			}
			if a := res.Header.Get("Access-Control-Allow-Origin"); a != "" {
				t.Errorf("Access-Control-Allow-Origin %q lets other pages read the answer", a)
			}
		})
	}
}

func TestControlTokenIsRandomByDefault(t *testing.T) {
	a, b := New(Options{}), New(Options{})
	defer a.Close()
	defer b.Close()
	if a.ControlToken() == "" || a.ControlToken() == b.ControlToken() {
		t.Errorf("tokens %q and %q, want two different random ones", a.ControlToken(), b.ControlToken())
	}
	if got, want := New(Options{ControlToken: "set"}).ControlToken(), "set"; got != want {
		t.Errorf("ControlToken() = %q, want %q", got, want)
	}
}

// TestARIRefusesOtherSites: with the demo's well-known ARI account, a page
// of another site could otherwise take over the hotline's events socket
// (every key pressed) or originate calls.
func TestARIRefusesOtherSites(t *testing.T) {
	s := New(Options{Speed: 50})
	defer s.Close()
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	key := "api_key=hotline:hotline-secret"
	hotline, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ari/events?app=hotline&"+key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hotline.CloseNow()
	owner := func() *socket {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.apps["hotline"].sock
	}
	hotlineSock := owner()
	evil := http.Header{"Origin": {"https://evil.example"}}

	conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ari/events?app=hotline&"+key,
		&websocket.DialOptions{HTTPHeader: evil})
	if err == nil {
		conn.CloseNow()
		t.Fatal("a page of another site opened the events socket")
	}
	if got, want := res.StatusCode, http.StatusForbidden; got != want {
		t.Errorf("events socket: status %d, want %d", got, want)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/ari/channels?endpoint=Local/13800138000@hotline-in&app=hotline&"+key, nil)
	req.Header = evil
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if got, want := res.StatusCode, http.StatusForbidden; got != want {
		t.Errorf("originate: status %d (%s), want %d", got, body, want)
	}
	s.mu.Lock()
	n := len(s.channels)
	s.mu.Unlock()
	if n != 0 {
		t.Errorf("%d channels originated", n)
	}
	if owner() != hotlineSock {
		t.Error("the hotline application lost its socket to the refused page")
	}
}
