package ari

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
)

// fakeAsterisk is a minimal ARI server over real sockets for lifecycle
// tests: it accepts the events websocket and serves the two reconciliation
// requests. session decides what each websocket connection does.
type fakeAsterisk struct {
	user, password string
	srv            *httptest.Server
	stop           chan struct{} // closed at cleanup: releases stuck handlers

	mu       sync.Mutex
	attempts int // handshake attempts
	sessions int // accepted websockets
	app      Application
	channels []Channel
	badQuery []string // query strings that carried credentials

	// refuse makes attempt n fail with the returned status (0: accept).
	refuse func(attempt int) int
	// session runs accepted websocket n (1-based); nil means serve(ws).
	session func(ctx context.Context, ws *websocket.Conn, n int)
	// rest handles other /ari requests.
	rest http.HandlerFunc
}

func newFakeAsterisk(t testing.TB) *fakeAsterisk {
	f := &fakeAsterisk{user: "hotline", password: "fake-secret", stop: make(chan struct{})}
	f.srv = httptest.NewServer(f)
	t.Cleanup(func() {
		close(f.stop)
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

func (f *fakeAsterisk) node(name, app string) Node {
	return Node{Name: name, URL: f.srv.URL, User: f.user, Password: f.password, App: app}
}

func (f *fakeAsterisk) counts() (attempts, sessions int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.attempts, f.sessions
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAsterisk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.Contains(r.URL.RawQuery, f.password) || r.URL.User != nil {
		f.mu.Lock()
		f.badQuery = append(f.badQuery, r.URL.RawQuery)
		f.mu.Unlock()
	}
	if u, p, ok := r.BasicAuth(); !ok || u != f.user || p != f.password {
		w.Header().Set("Www-Authenticate", `Basic realm="Asterisk REST Interface"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Authentication required"})
		return
	}
	switch {
	case r.URL.Path == "/ari/events":
		f.events(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/ari/applications/"):
		f.mu.Lock()
		app := f.app
		f.mu.Unlock()
		if app.Name == "" {
			app.Name = strings.TrimPrefix(r.URL.Path, "/ari/applications/")
		}
		writeJSON(w, http.StatusOK, app)
	case r.Method == http.MethodGet && r.URL.Path == "/ari/channels":
		f.mu.Lock()
		chs := append([]Channel{}, f.channels...)
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, chs)
	case f.rest != nil:
		f.rest(w, r)
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Resource not found"})
	}
}

func (f *fakeAsterisk) events(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.attempts++
	n := f.attempts
	refuse := f.refuse
	f.mu.Unlock()
	if refuse != nil {
		if status := refuse(n); status != 0 {
			writeJSON(w, status, map[string]string{"message": "refused"})
			return
		}
	}
	if r.URL.Query().Get("app") == "" {
		http.Error(w, "missing app", http.StatusBadRequest)
		return
	}
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer ws.CloseNow()
	f.mu.Lock()
	f.sessions++
	s := f.sessions
	session := f.session
	f.mu.Unlock()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-f.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	if session == nil {
		serve(ctx, ws)
		return
	}
	session(ctx, ws, s)
}

// serve keeps a websocket open, answering pings, until it closes.
func serve(ctx context.Context, ws *websocket.Conn) {
	<-ws.CloseRead(ctx).Done()
}

// send writes raw events on ws.
func send(ctx context.Context, ws *websocket.Conn, events ...string) error {
	for _, e := range events {
		if err := ws.Write(ctx, websocket.MessageText, []byte(e)); err != nil {
			return err
		}
	}
	return nil
}
