package agentdesk

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/coder/websocket"

	"github.com/foshan-hotline/hotline/postgres"
)

// Websocket timings.
const (
	// writeTimeout bounds one message to a browser; a browser that takes longer is gone.
	writeTimeout = 10 * time.Second
	// pingEvery keeps proxies from closing a quiet websocket and notices a dead one.
	pingEvery = 30 * time.Second
)

// events is GET /api/agent/events: the websocket of a desk session. It sends a "snapshot"
// message at once, an "update" after every change, and a last message saying why the server
// ends it (session_replaced, logged_out, session_expired) before closing; the browser sends
// nothing.
func (s *Server) events(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	if !s.originAllowed(r) {
		return forbidden("origin %q is not allowed", r.Header.Get("Origin"))
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: slices.Sorted(maps.Keys(s.origins))})
	if err != nil {
		return nil // Accept has answered
	}
	defer conn.CloseNow()
	c := &client{sess: *sess, send: make(chan []byte, s.o.SendBuffer), done: make(chan struct{})}
	if !s.hub.add(c) {
		conn.Close(endShutdown.status, endShutdown.text)
		return nil
	}
	defer s.hub.remove(c)
	ctx := conn.CloseRead(r.Context())
	ping := time.NewTicker(pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg := <-c.send:
			if err := write(ctx, conn, msg); err != nil {
				return nil
			}
		case <-c.done:
			if c.end.message != "" {
				msg, _ := json.Marshal(message{Type: c.end.message, ServerTime: s.now()})
				if err := write(ctx, conn, msg); err != nil {
					return nil
				}
			}
			conn.Close(c.end.status, c.end.text)
			return nil
		case <-ping.C:
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return nil
			}
		}
	}
}

func write(ctx context.Context, conn *websocket.Conn, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, msg)
}
