package webphone_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/ivr/webphone"
)

// fakeControl is a hand-written stand-in for the simulator's control API:
// it records what it is asked and streams the events the test emits.
type fakeControl struct {
	t      *testing.T
	mu     sync.Mutex
	asked  []string
	socket chan *websocket.Conn
	// PlaceFunc answers POST /calls; it may emit events before answering.
	PlaceFunc func(f *fakeControl, caller string) (status int, body string)
	// HangupFunc runs on POST /calls/{id}/hangup.
	HangupFunc func(f *fakeControl, id string)
	events     *websocket.Conn
}

func newFakeControl(t *testing.T) (*fakeControl, *httptest.Server) {
	f := &fakeControl{t: t, socket: make(chan *websocket.Conn, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		f.mu.Lock()
		f.events = c
		f.mu.Unlock()
		<-c.CloseRead(context.Background()).Done()
	})
	mux.HandleFunc("POST /calls", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		f.record("place " + body["caller"] + " " + body["exten"])
		status, out := f.PlaceFunc(f, body["caller"])
		w.WriteHeader(status)
		w.Write([]byte(out))
	})
	mux.HandleFunc("POST /calls/{id}/dtmf", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Digits string }
		json.NewDecoder(r.Body).Decode(&body)
		f.record("dtmf " + r.PathValue("id") + " " + body.Digits)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /calls/{id}/hangup", func(w http.ResponseWriter, r *http.Request) {
		f.record("hangup " + r.PathValue("id"))
		w.WriteHeader(http.StatusNoContent)
		if f.HangupFunc != nil {
			f.HangupFunc(f, r.PathValue("id"))
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeControl) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, s)
}

func (f *fakeControl) Asked() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}

// emit sends one event on the event stream the relay opened.
func (f *fakeControl) emit(typ, callID string) {
	f.mu.Lock()
	c := f.events
	f.mu.Unlock()
	if c == nil {
		f.t.Errorf("event %s before the relay opened the event stream", typ)
		return
	}
	b, _ := json.Marshal(map[string]string{"type": typ, "call_id": callID, "time": "2026-03-05T10:00:00.123456789+08:00"})
	if err := c.Write(context.Background(), websocket.MessageText, b); err != nil {
		f.t.Errorf("emit %s: %v", typ, err)
	}
}

// dialPhone opens the page's call websocket on a phone served over HTTP,
// with the token of the page, as the page does.
func dialPhone(t *testing.T, ctx context.Context, phoneURL, caller string) *websocket.Conn {
	t.Helper()
	res, err := http.Get(phoneURL + "/")
	if err != nil {
		t.Fatalf("load the page: %v", err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	u := strings.Replace(phoneURL, "http", "ws", 1) + "/dial?caller=" + caller + "&token=" + pageToken(t, string(page))
	ws, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { ws.CloseNow() })
	return ws
}

var tokenAttr = regexp.MustCompile(`data-token="([^"]+)"`)

// pageToken is the token the page carries.
func pageToken(t *testing.T, page string) string {
	t.Helper()
	m := tokenAttr.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("the page carries no token")
	}
	return m[1]
}

type message struct {
	Type    string `json:"type"`
	CallID  string `json:"call_id"`
	Message string `json:"message"`
	Media   string `json:"media"`
	Cause   int    `json:"cause"`
}

func readMsg(t *testing.T, ctx context.Context, ws *websocket.Conn) message {
	t.Helper()
	_, b, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m message
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return m
}

func send(t *testing.T, ctx context.Context, ws *websocket.Conn, v any) {
	t.Helper()
	b, _ := json.Marshal(v)
	if err := ws.Write(ctx, websocket.MessageText, b); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func TestDialRelaysOneCall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, control := newFakeControl(t)
	f.PlaceFunc = func(f *fakeControl, caller string) (int, string) {
		// The hotline is faster than the browser: events come before the
		// answer to POST /calls, and other calls' events are interleaved.
		f.emit("placed", "call-7")
		f.emit("play", "call-8")
		f.emit("answered", "call-7")
		return http.StatusCreated, `{"id":"call-7","kind":"citizen","caller":"` + caller + `"}`
	}
	f.HangupFunc = func(f *fakeControl, id string) {
		f.emit("stop", "call-8")
		f.emit("hangup", id)
	}
	phone := httptest.NewServer(newPhone(t, webphone.Options{ControlURL: control.URL, Hotline: "12345"}))
	defer phone.Close()

	ws := dialPhone(t, ctx, phone.URL, "13800138000")
	first := readMsg(t, ctx, ws)
	if got, want := first.Type+" "+first.CallID, "call call-7"; got != want {
		t.Fatalf("first message %q, want %q", got, want)
	}
	for _, want := range []string{"placed", "answered"} {
		if got := readMsg(t, ctx, ws); got.Type != want || got.CallID != "call-7" {
			t.Fatalf("got %+v, want %s of call-7", got, want)
		}
	}
	send(t, ctx, ws, map[string]string{"type": "dtmf", "digits": "1"})
	send(t, ctx, ws, map[string]string{"type": "dtmf", "digits": "x1"}) // refused, the call goes on
	if got, want := readMsg(t, ctx, ws).Type, "error"; got != want {
		t.Fatalf("bad digits gave %q, want %q", got, want)
	}
	send(t, ctx, ws, map[string]string{"type": "dtmf", "digits": "#"})
	send(t, ctx, ws, map[string]string{"type": "hangup"})
	if got, want := readMsg(t, ctx, ws).Type, "hangup"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	_, _, err := ws.Read(ctx)
	if got, want := websocket.CloseStatus(err), websocket.StatusNormalClosure; got != want {
		t.Fatalf("close status %v (%v), want %v", got, err, want)
	}
	want := []string{"place 13800138000 12345", "dtmf call-7 1", "dtmf call-7 #", "hangup call-7"}
	if got := f.Asked(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("control asked %q, want %q", got, want)
	}
}

func TestDialHangsUpWhenBrowserLeaves(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, control := newFakeControl(t)
	f.PlaceFunc = func(*fakeControl, string) (int, string) { return http.StatusCreated, `{"id":"call-3"}` }
	hungUp := make(chan string, 1)
	f.HangupFunc = func(_ *fakeControl, id string) { hungUp <- id }
	phone := httptest.NewServer(newPhone(t, webphone.Options{ControlURL: control.URL}))
	defer phone.Close()

	ws := dialPhone(t, ctx, phone.URL, "075583000000")
	if got, want := readMsg(t, ctx, ws).Type, "call"; got != want {
		t.Fatalf("first message %q, want %q", got, want)
	}
	ws.Close(websocket.StatusGoingAway, "tab closed")
	select {
	case id := <-hungUp:
		if got, want := id, "call-3"; got != want {
			t.Errorf("hung up %q, want %q", got, want)
		}
	case <-ctx.Done():
		t.Fatal("the call was not hung up after the browser left")
	}
}

func TestDialHangsUpWhenEventStreamLost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, control := newFakeControl(t)
	f.PlaceFunc = func(*fakeControl, string) (int, string) { return http.StatusCreated, `{"id":"call-4"}` }
	hungUp := make(chan string, 1)
	f.HangupFunc = func(_ *fakeControl, id string) { hungUp <- id }
	phone := httptest.NewServer(newPhone(t, webphone.Options{ControlURL: control.URL}))
	defer phone.Close()

	ws := dialPhone(t, ctx, phone.URL, "13800138000")
	if got, want := readMsg(t, ctx, ws).Type, "call"; got != want {
		t.Fatalf("first message %q, want %q", got, want)
	}
	f.mu.Lock()
	events := f.events
	f.mu.Unlock()
	events.Close(websocket.StatusPolicyViolation, "too slow")
	if got, want := readMsg(t, ctx, ws).Message, "无法连接模拟交换机，请稍后再试"; got != want {
		t.Errorf("message %q, want %q", got, want)
	}
	select {
	case id := <-hungUp:
		if got, want := id, "call-4"; got != want {
			t.Errorf("hung up %q, want %q", got, want)
		}
	case <-ctx.Done():
		t.Fatal("the call was not hung up after its event stream was lost")
	}
}

func TestDialFailures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	f, control := newFakeControl(t)
	f.PlaceFunc = func(*fakeControl, string) (int, string) {
		return http.StatusBadRequest, `{"error":"arisim: simulator closed"}`
	}
	tests := []struct {
		name, control, want string
	}{
		{"simulator down", "http://127.0.0.1:9", "无法连接模拟交换机，请稍后再试"},
		{"call refused", control.URL, "呼叫失败：place call: control API status 400: arisim: simulator closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phone := httptest.NewServer(newPhone(t, webphone.Options{ControlURL: tt.control}))
			defer phone.Close()
			ws := dialPhone(t, ctx, phone.URL, "13800138000")
			m := readMsg(t, ctx, ws)
			if got, want := m.Type+" "+m.Message, "error "+tt.want; got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
			_, _, err := ws.Read(ctx)
			if got, want := websocket.CloseStatus(err), websocket.StatusInternalError; got != want {
				t.Errorf("close status %v, want %v", got, want)
			}
		})
	}
}

func TestDialRefusesBadCaller(t *testing.T) {
	h := newPhone(t, webphone.Options{})
	token := pageToken(t, get(t, h, "/").Body.String())
	for _, caller := range []string{"", "12", "1380013800x", "123456789012345678901", "+8613800138000"} {
		t.Run(caller, func(t *testing.T) {
			w := get(t, h, "/dial?token="+token+"&caller="+caller)
			if got, want := w.Code, http.StatusBadRequest; got != want {
				t.Errorf("status %d, want %d", got, want)
			}
		})
	}
}

func TestDialRefusesOtherOrigin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	phone := httptest.NewServer(newPhone(t, webphone.Options{}))
	defer phone.Close()
	h := http.Header{"Origin": {"https://evil.example"}}
	_, resp, err := websocket.Dial(ctx, strings.Replace(phone.URL, "http", "ws", 1)+"/dial?caller=13800138000",
		&websocket.DialOptions{HTTPHeader: h})
	if err == nil {
		t.Fatal("a page of another origin opened a call")
	}
	if got, want := resp.StatusCode, http.StatusForbidden; got != want {
		t.Errorf("status %d, want %d", got, want)
	}
}

// TestDialNeedsThePage refuses a call that does not come from the page the
// phone served: from a page of another site, or without the page's token;
// a refusal says why.
func TestDialNeedsThePage(t *testing.T) {
	f, control := newFakeControl(t)
	f.PlaceFunc = func(*fakeControl, string) (int, string) { return http.StatusCreated, `{"id":"call-5"}` }
	h := newPhone(t, webphone.Options{ControlURL: control.URL})
	phone := httptest.NewServer(h)
	defer phone.Close()
	token := pageToken(t, get(t, h, "/").Body.String())
	if other := pageToken(t, get(t, newPhone(t, webphone.Options{}), "/").Body.String()); other == token {
		t.Fatalf("two phones have the same token %q", token)
	}
	own := phone.URL
	tests := []struct {
		name, origin, query string
		reason              string
	}{
		{"no token", own, "", "page token required"},
		{"no token, not a browser", "", "", "page token required"},
		{"wrong token", own, "&token=guess", "wrong page token"},
		{"other site with the token", "https://evil.example", "&token=" + token, "origin not allowed"},
		{"opaque origin with the token", "null", "&token=" + token, "origin not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			ws, res, err := websocket.Dial(ctx, strings.Replace(phone.URL, "http", "ws", 1)+"/dial?caller=13800138000"+tt.query,
				&websocket.DialOptions{HTTPHeader: h})
			if err == nil {
				ws.CloseNow()
				t.Fatal("the call was placed")
			}
			body, _ := io.ReadAll(res.Body)
			if got, want := res.StatusCode, http.StatusForbidden; got != want {
				t.Errorf("status %d (%s), want %d", got, body, want)
			}
			if !strings.Contains(string(body), tt.reason) {
				t.Errorf("body %q, want the reason %q", body, tt.reason)
			}
		})
	}
	if got := f.Asked(); len(got) != 0 {
		t.Errorf("the simulator was asked %q", got)
	}
}

// TestDialRealSimulator places a call on a real simulator with no
// hotline application connected: the dialplan's fallback prompt plays and
// the call is hung up, all of it relayed.
func TestDialRealSimulator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sim := arisim.New(arisim.Options{Speed: 20})
	defer sim.Close()
	control := httptest.NewServer(sim.ControlHandler())
	defer control.Close()
	phone := httptest.NewServer(newPhone(t, webphone.Options{ControlURL: control.URL}))
	defer phone.Close()

	ws := dialPhone(t, ctx, phone.URL, "13800138000")
	var got []string
	for {
		m := readMsg(t, ctx, ws)
		got = append(got, strings.TrimSpace(m.Type+" "+m.Media))
		if m.Type == "hangup" {
			break
		}
	}
	want := "call|placed|play sound:ss-noservice|stop|hangup"
	if strings.Join(got, "|") != want {
		t.Errorf("events %q, want %q", strings.Join(got, "|"), want)
	}
	_, _, err := ws.Read(ctx)
	if !errors.As(err, new(websocket.CloseError)) {
		t.Errorf("after hangup: %v, want a close", err)
	}
}
