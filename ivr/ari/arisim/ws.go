package arisim

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/segmentio/encoding/json"
)

// socket is one /ari/events websocket. Events are queued without bound
// (Asterisk does not drop events for a slow reader either), and encoded and
// written by one goroutine per socket, outside the simulator's lock: an event
// holds snapshots of what it describes, never live state.
type socket struct {
	mu     sync.Mutex
	q      []queued
	notify chan struct{}
	done   chan struct{}
	conn   *websocket.Conn
	apps   []*app
	dead   bool
	silent atomic.Bool // black-holed (Blackhole): nothing goes out, nothing is answered
}

// queued is an event waiting for its socket, for one application.
type queued struct {
	e          *ev
	app, astID string
}

func (k *socket) push(e *ev, app, astID string) {
	if k.silent.Load() {
		return
	}
	k.mu.Lock()
	if k.dead {
		k.mu.Unlock()
		return
	}
	k.q = append(k.q, queued{e, app, astID})
	k.mu.Unlock()
	select {
	case k.notify <- struct{}{}:
	default:
	}
}

func (k *socket) kill() {
	k.mu.Lock()
	if k.dead {
		k.mu.Unlock()
		return
	}
	k.dead = true
	conn := k.conn
	k.mu.Unlock()
	close(k.done)
	switch {
	case conn == nil:
	case k.silent.Load():
		conn.CloseNow() // a dead path carries no close frame
	default:
		conn.Close(websocket.StatusGoingAway, "")
	}
}

func (k *socket) writeLoop(ctx context.Context) {
	for {
		select {
		case <-k.done:
			return
		case <-k.notify:
		}
		k.mu.Lock()
		batch := k.q
		k.q = nil
		k.mu.Unlock()
		for _, q := range batch {
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := k.conn.Write(wctx, websocket.MessageText, q.e.encode(q.app, q.astID))
			cancel()
			if err != nil {
				return
			}
		}
	}
}

// serveEvents upgrades /ari/events?app=a[,b] to the events websocket.
func (s *Sim) serveEvents(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		writeError(w, errAuth)
		return
	}
	var names []string
	for _, n := range strings.Split(r.URL.Query().Get("app"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		writeHTML(w, 400, "Bad Request", "Invalid application provided in URL.")
		return
	}
	// The applications are registered before the handshake completes, so a
	// request sent right after the 101 already finds them.
	k := &socket{notify: make(chan struct{}, 1), done: make(chan struct{})}
	all := r.URL.Query().Get("subscribeAll") == "true"
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		writeError(w, errMsg(503, "Service Unavailable"))
		return
	}
	s.wsConns[k] = struct{}{}
	for _, n := range names {
		a := s.getApp(n)
		if old := a.sock; old != nil && old != k {
			s.deliver(a, &ev{typ: "ApplicationReplaced", layout: layoutReplaced})
		}
		a.sock = k
		a.all = all
		k.apps = append(k.apps, a)
	}
	s.mu.Unlock()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true,
		OnPingReceived: func(context.Context, []byte) bool { return !k.silent.Load() }})
	if err != nil {
		s.log.Warn("websocket accept failed", "err", err)
		s.dropSocket(k)
		return
	}
	conn.SetReadLimit(1 << 20)
	k.mu.Lock()
	k.conn = conn
	k.mu.Unlock()
	s.log.Debug("events websocket connected", "apps", names)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go k.writeLoop(ctx)
	for {
		typ, data, err := conn.Read(ctx)
		if err != nil {
			break
		}
		if typ == websocket.MessageText && !k.silent.Load() {
			s.restOverWS(k, data)
		}
	}
	s.dropSocket(k)
}

// dropSocket closes k and releases the applications it still owns.
func (s *Sim) dropSocket(k *socket) {
	k.kill()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.wsConns, k)
	for _, a := range k.apps {
		if a.sock == k {
			a.sock = nil
			a.all = false
			s.gcApp(a)
		}
	}
}

type restRequest struct {
	Type          string `json:"type"`
	TransactionID string `json:"transaction_id"`
	RequestID     string `json:"request_id"`
	Method        string `json:"method"`
	URI           string `json:"uri"`
	QueryStrings  []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"query_strings"`
	ContentType string `json:"content_type"`
	MessageBody string `json:"message_body"`
}

// restOverWS answers a RESTRequest message with a RESTResponse event.
func (s *Sim) restOverWS(k *socket, data []byte) {
	appName := ""
	if len(k.apps) > 0 {
		appName = k.apps[0].name
	}
	send := func(body []kv) {
		e := &ev{typ: "RESTResponse", layout: layoutREST, body: body, ts: s.now()}
		k.push(e, appName, s.astID)
	}
	var rq restRequest
	if err := json.Unmarshal(data, &rq); err != nil {
		send([]kv{{"transaction_id", ""}, {"request_id", ""}, {"status_code", 400},
			{"reason_phrase", "Failed to parse request message JSON"}, {"uri", ""}})
		return
	}
	if rq.Type != "RESTRequest" {
		send([]kv{{"transaction_id", rq.TransactionID}, {"request_id", rq.RequestID}, {"status_code", 400},
			{"reason_phrase", "Bad request"}, {"uri", rq.URI}, {"content_type", "application/json"},
			{"message_body", `{"message":"Unknown request type."}`}})
		return
	}
	path, rawq, _ := strings.Cut(rq.URI, "?")
	vals, _ := url.ParseQuery(rawq)
	for _, q := range rq.QueryStrings {
		vals.Add(q.Name, q.Value)
	}
	out := s.dispatch(strings.ToUpper(rq.Method), strings.TrimPrefix(path, "/"), vals.Encode(),
		rq.ContentType, []byte(rq.MessageBody), nil)
	body := []kv{{"transaction_id", rq.TransactionID}, {"request_id", rq.RequestID},
		{"status_code", out.status}, {"reason_phrase", http.StatusText(out.status)}, {"uri", rq.URI}}
	if out.status != 204 {
		var msg []byte
		ctype := "application/json"
		if out.raw != nil {
			msg, ctype = out.raw, out.ctype
		} else {
			msg, _ = json.Marshal(out.body)
		}
		body = append(body, kv{"content_type", ctype}, kv{"message_body", string(msg)})
	}
	send(body)
}
