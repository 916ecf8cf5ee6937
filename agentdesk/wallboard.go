package agentdesk

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline/postgres"
)

// The supervisors' wallboard: GET /api/wallboard reads it once; GET /api/wallboard/events
// pushes it. One loop reads the board while anyone watches — one query round per refresh
// whatever the number of supervisors — and pushes it to every watcher when it changed (at
// least every wallboardResend otherwise, so that a watcher sees the server is alive). It reads
// the board as soon as the ACD announces a change (NOTIFY hotline_agent: an agent's state;
// hotline_acd: a call queued or an agent free), at most once per wallboardMinGap, and every
// WallboardRefresh in any case (for the changes nobody announces: a call that hangs up while
// waiting, an instance's heartbeat). Durations are sent as the moments they started: the page
// counts them itself.

// DefaultWallboardRefresh is how often the board is read while watched and nothing is
// announced.
const DefaultWallboardRefresh = time.Second

// wallboardMinGap is the least time between two readings of the board: under load, changes
// are announced many times a second and a reading takes in all of them since the last.
const wallboardMinGap = 200 * time.Millisecond

// wallboardChannels are the NOTIFY channels that wake the board's loop.
var wallboardChannels = []string{agentChannel, "hotline_acd"}

// wallboardResend is the longest a watcher goes without a message.
const wallboardResend = 15 * time.Second

// wallboardMessage is what the wallboard websocket sends.
type wallboardMessage struct {
	Type       string              `json:"type"` // board
	ServerTime time.Time           `json:"server_time"`
	Board      *postgres.Wallboard `json:"board"`
}

// watcher is one wallboard websocket; send holds the newest message not yet written.
type watcher struct {
	send chan []byte
	done chan struct{}
	end  endReason
}

// offer replaces any unwritten message with msg: a slow browser skips boards, never falls
// behind.
func (w *watcher) offer(msg []byte) {
	for {
		select {
		case w.send <- msg:
			return
		default:
		}
		select {
		case <-w.send:
		default:
		}
	}
}

// wallboardHub keeps the watchers and the loop reading the board.
type wallboardHub struct {
	s        *Server
	mu       sync.Mutex
	watchers map[*watcher]bool
	running  bool
	stopped  bool
	last     []byte // the last board sent, without its time
	lastMsg  []byte
	lastSent time.Time
}

func newWallboardHub(s *Server) *wallboardHub {
	return &wallboardHub{s: s, watchers: map[*watcher]bool{}}
}

// add registers w, sends it the newest board and starts the loop if it is not running;
// false once the hub has stopped.
func (h *wallboardHub) add(w *watcher) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return false
	}
	h.watchers[w] = true
	if h.lastMsg != nil {
		w.offer(h.lastMsg)
	}
	if !h.running {
		h.running = true
		h.last, h.lastMsg = nil, nil
		go h.loop()
	}
	return true
}

func (h *wallboardHub) remove(w *watcher) {
	h.mu.Lock()
	delete(h.watchers, w)
	h.mu.Unlock()
}

// stop ends every watcher; the loop ends with them.
func (h *wallboardHub) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	for w := range h.watchers {
		w.end = endShutdown
		close(w.done)
		delete(h.watchers, w)
	}
}

// loop reads and pushes the board until nobody watches: when a change is announced (no
// sooner than wallboardMinGap after the last reading) and every WallboardRefresh.
func (h *wallboardHub) loop() {
	refresh := h.s.o.WallboardRefresh
	t := time.NewTicker(refresh)
	defer t.Stop()
	poke := make(chan struct{}, 1)
	defer h.listen(poke)()
	var last time.Time
	for {
		h.mu.Lock()
		if len(h.watchers) == 0 {
			h.running = false
			h.mu.Unlock()
			return
		}
		h.mu.Unlock()
		if wait := wallboardMinGap - time.Since(last); wait > 0 {
			time.Sleep(wait)
		}
		last = time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), max(refresh*5, 5*time.Second))
		err := h.refresh(ctx)
		cancel()
		if err != nil {
			h.s.log.Warn("wallboard: refresh", "err", err)
		}
		select {
		case <-t.C:
		case <-poke:
		}
	}
}

// listen pokes the loop on every notification of wallboardChannels until the returned
// function is called; without a database URL to listen on, the loop only polls.
func (h *wallboardHub) listen(poke chan<- struct{}) (stop func()) {
	url := h.s.o.DatabaseURL
	if url == "" {
		return func() {}
	}
	log := h.s.log
	l := pq.NewListener(url, 250*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			log.Warn("wallboard: listener", "event", ev.String(), "err", err)
		}
	})
	done := make(chan struct{})
	go func() {
		for _, ch := range wallboardChannels {
			if err := l.Listen(ch); err != nil {
				select {
				case <-done: // closed while connecting
				default:
					log.Warn("wallboard: listen", "channel", ch, "err", err)
				}
				return
			}
		}
		for {
			select {
			case <-done:
				return
			case _, ok := <-l.Notify:
				if !ok {
					return
				}
				select {
				case poke <- struct{}{}:
				default: // a reading is due already
				}
			}
		}
	}()
	return func() {
		close(done)
		l.Close()
	}
}

// refresh reads the board and pushes it to every watcher if it changed.
func (h *wallboardHub) refresh(ctx context.Context) error {
	now := h.s.now()
	wb, err := postgres.LoadWallboard(ctx, h.s.o.DB, now, h.s.o.InstanceLease)
	if err != nil {
		return err
	}
	at := wb.At
	wb.At = time.Time{}
	key, err := json.Marshal(wb)
	if err != nil {
		return err
	}
	wb.At = at
	h.mu.Lock()
	defer h.mu.Unlock()
	if bytes.Equal(key, h.last) && now.Sub(h.lastSent) < wallboardResend {
		return nil
	}
	msg, err := json.Marshal(wallboardMessage{Type: "board", ServerTime: now, Board: &wb})
	if err != nil {
		return err
	}
	h.last, h.lastMsg, h.lastSent = key, msg, now
	for w := range h.watchers {
		w.offer(msg)
	}
	return nil
}

// wallboard is GET /api/wallboard: the board now.
func (s *Server) wallboard(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	now := s.now()
	wb, err := postgres.LoadWallboard(r.Context(), s.o.DB, now, s.o.InstanceLease)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wallboardMessage{Type: "board", ServerTime: now, Board: &wb})
	return nil
}

// wallboardEvents is GET /api/wallboard/events: the board's websocket. It sends a "board"
// message at once (or within a refresh) and again whenever the board changes; the browser
// sends nothing. It closes when the supervisor's session ends.
func (s *Server) wallboardEvents(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	if !s.originAllowed(r) {
		return forbidden("origin %q is not allowed", r.Header.Get("Origin"))
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: slices.Sorted(maps.Keys(s.origins))})
	if err != nil {
		return nil // Accept has answered
	}
	defer conn.CloseNow()
	c := &watcher{send: make(chan []byte, 1), done: make(chan struct{})}
	if !s.wall.add(c) {
		conn.Close(endShutdown.status, endShutdown.text)
		return nil
	}
	defer s.wall.remove(c)
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
			conn.Close(c.end.status, c.end.text)
			return nil
		case <-ping.C:
			if !s.sessionAlive(ctx, sess) {
				msg, _ := json.Marshal(message{Type: endExpired.message, ServerTime: s.now()})
				write(ctx, conn, msg)
				conn.Close(endExpired.status, endExpired.text)
				return nil
			}
			pctx, cancel := context.WithTimeout(ctx, writeTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return nil
			}
		}
	}
}

// sessionAlive reports whether sess is still a live session (a database error counts as
// alive: the next ping asks again).
func (s *Server) sessionAlive(ctx context.Context, sess *postgres.Session) bool {
	live, err := s.sessions.SessionsOf(ctx, sess.Agent.ID)
	if err != nil {
		return true
	}
	return slices.ContainsFunc(live, func(l postgres.Session) bool { return l.ID == sess.ID })
}
