package agentdesk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/sync/errgroup"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// agentChannel is the PostgreSQL channel on which the ACD (and session changes) announce
// that an agent changed, with the agent's id as payload.
const agentChannel = "hotline_agent"

// Maintenance periods of the hub.
const (
	// sessionTouchEvery is how often the sessions of open websockets are marked seen; well
	// under the idle timeout.
	sessionTouchEvery = time.Minute
	// purgeEvery is how often expired sessions are deleted.
	purgeEvery = 5 * time.Minute
	// reloaders is how many batches of agents' snapshots are read at once.
	reloaders = 2
	// maxBatch is how many agents' snapshots a reloader reads together at most.
	maxBatch = 256
	// reloadRetry is how soon a snapshot that could not be read is tried again.
	reloadRetry = time.Second
)

// endReason is why the server closes a websocket: the message the desk gets first, if any,
// and the close status.
type endReason struct {
	message string // type of the last message; "" sends none
	status  websocket.StatusCode
	text    string
}

// Why websockets end.
var (
	endReplaced = endReason{"session_replaced", websocket.StatusNormalClosure, "session replaced by a new login"}
	endLogout   = endReason{"logged_out", websocket.StatusNormalClosure, "logged out"}
	endExpired  = endReason{"session_expired", websocket.StatusNormalClosure, "session expired"}
	endSlow     = endReason{"", websocket.StatusTryAgainLater, "too slow: reconnect"}
	endShutdown = endReason{"", websocket.StatusServiceRestart, "server shutting down: reconnect"}
)

// client is one websocket of a session.
type client struct {
	sess postgres.Session
	send chan []byte
	done chan struct{} // closed when the hub lets the client go; end says why
	end  endReason
	last []byte // the snapshot last sent; nil before the first
}

// agentConns are the websockets of one agent on this instance and what was last read of
// the agent.
type agentConns struct {
	agent   hotline.Agent
	clients map[*client]bool
	part    *agentPart
}

// hub keeps the open websockets and pushes agents' snapshots to them. A change of an agent
// marks it dirty; reloaders read the snapshots of dirty agents, a batch of them at a time
// each, and an agent is in one batch at a time, so that a snapshot read after a change is
// always the last pushed. Pushing never blocks: a browser whose buffer is full is dropped and
// reconnects for a fresh snapshot.
type hub struct {
	s *Server

	mu      sync.Mutex
	wake    *sync.Cond
	agents  map[int64]*agentConns
	dirty   map[int64]bool
	busy    map[int64]bool
	queue   []int64
	counts  map[string]queueCount // nil until read
	stopped bool

	stmts sync.Map // query → *sqlx.Stmt: the snapshot's queries, prepared
}

func newHub(s *Server) *hub {
	h := &hub{s: s, agents: map[int64]*agentConns{}, dirty: map[int64]bool{}, busy: map[int64]bool{}}
	h.wake = sync.NewCond(&h.mu)
	return h
}

// prepared returns query prepared on the snapshots' pool.
func (h *hub) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if st, ok := h.stmts.Load(query); ok {
		return st.(*sqlx.Stmt), nil
	}
	db := h.s.o.SnapshotDB
	if db == nil {
		db = h.s.o.DB
	}
	st, err := db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := h.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return st, nil
}

// add registers c and asks for its first snapshot. It reports false when the hub has
// stopped.
func (h *hub) add(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return false
	}
	id := c.sess.Agent.ID
	ac := h.agents[id]
	if ac == nil {
		ac = &agentConns{agent: c.sess.Agent, clients: map[*client]bool{}}
		h.agents[id] = ac
	}
	ac.clients[c] = true
	h.markLocked(id)
	return true
}

// remove forgets c, gone by itself.
func (h *hub) remove(c *client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.forgetLocked(c)
}

func (h *hub) forgetLocked(c *client) bool {
	id := c.sess.Agent.ID
	ac := h.agents[id]
	if ac == nil || !ac.clients[c] {
		return false
	}
	delete(ac.clients, c)
	if len(ac.clients) == 0 {
		delete(h.agents, id)
	}
	return true
}

// dropLocked lets c go for reason.
func (h *hub) dropLocked(c *client, reason endReason) {
	if h.forgetLocked(c) {
		c.end = reason
		close(c.done)
	}
}

// endSession closes the websockets of session id on this instance.
func (h *hub) endSession(id string, reason endReason) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ac := range h.agents {
		for c := range ac.clients {
			if c.sess.ID == id {
				h.dropLocked(c, reason)
			}
		}
	}
}

// mark asks for agent id's snapshot to be read again, if they are connected here.
func (h *hub) mark(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.markLocked(id)
}

func (h *hub) markLocked(id int64) {
	if h.agents[id] == nil || h.dirty[id] {
		return
	}
	h.dirty[id] = true
	if !h.busy[id] {
		h.queue = append(h.queue, id)
		h.wake.Signal()
	}
}

// markAll asks for every connected agent's snapshot: after the listener missed
// notifications.
func (h *hub) markAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id := range h.agents {
		h.markLocked(id)
	}
}

// message is what the websocket sends: a snapshot (the first after connecting), an update
// (a later snapshot), or the end of the session.
type message struct {
	Type       string          `json:"type"`
	ServerTime time.Time       `json:"server_time"`
	Snapshot   json.RawMessage `json:"snapshot,omitempty"`
}

// pushLocked sends snap to c unless c already has it; a full buffer drops c.
func (h *hub) pushLocked(c *client, snap []byte, now time.Time) {
	if c.last != nil && bytes.Equal(c.last, snap) {
		return
	}
	kind := "update"
	if c.last == nil {
		kind = "snapshot"
	}
	msg, err := json.Marshal(message{Type: kind, ServerTime: now, Snapshot: snap})
	if err != nil {
		h.s.log.Error("agent events: encode", "agent_id", c.sess.Agent.ID, "err", err)
		return
	}
	select {
	case c.send <- msg:
		c.last = snap
	default:
		h.s.log.Info("agent events: browser too slow, dropped", "agent_id", c.sess.Agent.ID)
		h.dropLocked(c, endSlow)
	}
}

// publishLocked pushes the snapshot of ac, composed with the current counts, to its clients.
func (h *hub) publishLocked(ac *agentConns) {
	if ac.part == nil {
		return
	}
	snap, err := json.Marshal(compose(*ac.part, h.counts))
	if err != nil {
		h.s.log.Error("agent events: encode", "agent_id", ac.agent.ID, "err", err)
		return
	}
	now := h.s.now()
	for c := range ac.clients {
		h.pushLocked(c, snap, now)
	}
}

// reloader reads the snapshots of dirty agents until the hub stops. It takes every agent
// waiting (up to maxBatch) at once and reads them together: a burst of offers costs a few
// queries, not a few per agent.
func (h *hub) reloader(ctx context.Context) {
	for {
		h.mu.Lock()
		for len(h.queue) == 0 && !h.stopped {
			h.wake.Wait()
		}
		if h.stopped {
			h.mu.Unlock()
			return
		}
		n := min(len(h.queue), maxBatch)
		batch := make([]reloadItem, 0, n)
		for _, id := range h.queue[:n] {
			delete(h.dirty, id)
			ac := h.agents[id]
			if ac == nil {
				continue
			}
			h.busy[id] = true
			batch = append(batch, reloadItem{agent: ac.agent, clients: slices.Collect(maps.Keys(ac.clients))})
		}
		h.queue = slices.Delete(h.queue, 0, n)
		if len(h.queue) > 0 {
			h.wake.Signal() // another reloader takes the rest
		}
		h.mu.Unlock()
		if len(batch) == 0 {
			continue
		}

		if err := h.reload(ctx, batch); err != nil && ctx.Err() == nil {
			// The database failed us: try again shortly rather than wait for the next change.
			h.s.log.Warn("agent events: reload", "agents", len(batch), "agent_id", batch[0].agent.ID, "err", err)
			time.AfterFunc(reloadRetry, func() {
				for _, it := range batch {
					h.mark(it.agent.ID)
				}
			})
		}

		h.mu.Lock()
		for _, it := range batch {
			id := it.agent.ID
			delete(h.busy, id)
			if h.dirty[id] {
				h.queue = append(h.queue, id)
				h.wake.Signal()
			}
		}
		h.mu.Unlock()
	}
}

// reloadItem is an agent to reload and their websockets when the reload began.
type reloadItem struct {
	agent   hotline.Agent
	clients []*client
}

// reload reads the snapshots of a batch of agents and pushes them, having ended the
// websockets of the batch's sessions that are gone. One query checks every session of the
// batch (a read: touchSessions marks them seen every minute) while one query per part of the
// snapshot reads it for every agent.
func (h *hub) reload(ctx context.Context, batch []reloadItem) error {
	var ids []string
	agents := make([]hotline.Agent, 0, len(batch))
	for _, it := range batch {
		agents = append(agents, it.agent)
		for _, c := range it.clients {
			ids = append(ids, c.sess.ID)
		}
	}
	var alive []string
	var parts []agentPart
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		alive, err = h.s.sessions.LiveSessions(gctx, ids)
		return err
	})
	g.Go(func() (err error) {
		parts, err = h.s.loadAgents(gctx, agents)
		return err
	})
	if err := g.Wait(); err != nil {
		return err
	}
	if len(alive) < len(ids) {
		live := make(map[string]bool, len(alive))
		for _, id := range alive {
			live[id] = true
		}
		for _, it := range batch {
			if !slices.ContainsFunc(it.clients, func(c *client) bool { return !live[c.sess.ID] }) {
				continue
			}
			if err := h.endGone(ctx, it.agent, it.clients, alive); err != nil {
				return err
			}
		}
	}
	h.mu.Lock()
	counts := h.counts
	h.mu.Unlock()
	if counts == nil {
		var err error
		if counts, err = h.s.loadQueueCounts(ctx); err != nil {
			return err
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.counts == nil {
		h.counts = counts
	}
	for i, a := range agents {
		ac := h.agents[a.ID]
		if ac == nil {
			continue
		}
		ac.part = &parts[i]
		h.publishLocked(ac)
	}
	return nil
}

// endGone closes the websockets whose session is not among alive, telling each why: a newer
// session of the agent replaced it, it expired, or the agent logged out (or was logged out).
// An agent left without a session by an expiry is logged out of the ACD.
func (h *hub) endGone(ctx context.Context, agent hotline.Agent, clients []*client, alive []string) error {
	live, err := h.s.sessions.SessionsOf(ctx, agent.ID)
	if err != nil {
		return err
	}
	now := h.s.now()
	reasons := map[*client]endReason{}
	expired := false
	for _, c := range clients {
		switch {
		case slices.Contains(alive, c.sess.ID):
			continue
		case len(live) > 0:
			reasons[c] = endReplaced
		case !now.Before(c.sess.ExpiresAt):
			reasons[c] = endExpired
			expired = true
		default:
			reasons[c] = endLogout
		}
	}
	if expired {
		h.s.logoutExpired(ctx, agent)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for c, reason := range reasons {
		h.dropLocked(c, reason)
	}
	return nil
}

// logoutExpired logs agent, whose last session expired, out of the ACD.
func (s *Server) logoutExpired(ctx context.Context, a hotline.Agent) {
	if a.Endpoint == "" {
		return
	}
	err := s.states.Logout(ctx, a.ID, "session_expired")
	switch {
	case err == nil:
		s.phoneOffline(a.ID)
		s.log.Info("agent logged out: session expired", "agent_id", a.ID)
	case errors.Is(err, hotline.ErrConflict), errors.Is(err, hotline.ErrNotFound):
		s.log.Info("agent's session expired; not logged out of the ACD", "agent_id", a.ID, "err", err)
	default:
		s.log.Warn("log out agent whose session expired", "agent_id", a.ID, "err", err)
	}
}

// refreshQueues reads the queue counts and pushes the snapshots they change.
func (h *hub) refreshQueues(ctx context.Context) error {
	counts, err := h.s.loadQueueCounts(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if maps.EqualFunc(counts, h.counts, equalCount) {
		return nil
	}
	h.counts = counts
	for _, ac := range h.agents {
		h.publishLocked(ac)
	}
	return nil
}

func equalCount(a, b queueCount) bool {
	return a.ID == b.ID && a.Name == b.Name && a.Waiting == b.Waiting && a.Offered == b.Offered && a.AgentsAvailable == b.AgentsAvailable &&
		(a.OldestEnteredAt == nil) == (b.OldestEnteredAt == nil) &&
		(a.OldestEnteredAt == nil || a.OldestEnteredAt.Equal(*b.OldestEnteredAt))
}

// touchSessions keeps the sessions of open websockets alive and rereads the agents of those
// that are gone.
func (h *hub) touchSessions(ctx context.Context) error {
	h.mu.Lock()
	owner := map[string]int64{}
	for id, ac := range h.agents {
		for c := range ac.clients {
			owner[c.sess.ID] = id
		}
	}
	h.mu.Unlock()
	if len(owner) == 0 {
		return nil
	}
	alive, err := h.s.sessions.TouchSessions(ctx, slices.Collect(maps.Keys(owner)))
	if err != nil {
		return err
	}
	for _, id := range alive {
		delete(owner, id)
	}
	for _, agentID := range owner {
		h.mark(agentID)
	}
	return nil
}

// purgeSessions deletes expired sessions and logs out of the ACD the agents left without one.
func (h *hub) purgeSessions(ctx context.Context) error {
	left, err := h.s.sessions.PurgeSessions(ctx)
	if err != nil {
		return err
	}
	for _, id := range left {
		a, err := h.s.sessions.UserByID(ctx, id)
		if err != nil {
			return err
		}
		h.s.logoutExpired(ctx, a)
	}
	return nil
}

// stop ends every websocket and the reloaders.
func (h *hub) stop() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stopped = true
	for _, ac := range h.agents {
		for c := range ac.clients {
			h.dropLocked(c, endShutdown)
		}
	}
	h.wake.Broadcast()
}

// run listens for agent changes and keeps the websockets current until ctx ends.
func (h *hub) run(ctx context.Context, url string) error {
	log := h.s.log
	l := pq.NewListener(url, 250*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		switch {
		case err != nil:
			log.Warn("agent events: listener", "event", ev.String(), "err", err)
		case ev == pq.ListenerEventReconnected:
			log.Info("agent events: listener reconnected; resyncing agents")
		}
	})
	defer l.Close()
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		h.stop()
		wg.Wait()
	}()
	go func() {
		<-ctx.Done()
		l.Close() // unblocks Listen while the database is unreachable
	}()
	if err := l.Listen(agentChannel); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("agent events: listen on %s: %w", agentChannel, err)
	}

	for range reloaders {
		wg.Go(func() { h.reloader(ctx) })
	}
	wg.Go(func() { h.maintain(ctx, l) })
	// Agents who connected before the listener did may have missed changes.
	h.markAll()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n, ok := <-l.Notify:
			if !ok {
				return nil
			}
			if n == nil { // the connection was lost and is back: anything may have changed
				h.markAll()
				continue
			}
			id, err := strconv.ParseInt(n.Extra, 10, 64)
			if err != nil {
				log.Warn("agent events: notification without an agent id", "payload", n.Extra)
				continue
			}
			h.mark(id)
		}
	}
}

// maintain refreshes queue counts, keeps sessions of open websockets alive, purges expired
// sessions and pings the listener's connection (so that a dead one is noticed) until ctx
// ends.
func (h *hub) maintain(ctx context.Context, l *pq.Listener) {
	queues := time.NewTicker(h.s.o.QueueRefresh)
	defer queues.Stop()
	touch := time.NewTicker(sessionTouchEvery)
	defer touch.Stop()
	purge := time.NewTicker(purgeEvery)
	defer purge.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return
		case <-queues.C:
			err = h.refreshQueues(ctx)
		case <-touch.C:
			err = h.touchSessions(ctx)
			if perr := l.Ping(); perr != nil {
				h.s.log.Warn("agent events: listener ping", "err", perr)
			}
		case <-purge.C:
			err = h.purgeSessions(ctx)
		}
		if err != nil && ctx.Err() == nil {
			h.s.log.Warn("agent events: maintenance", "err", err)
		}
	}
}
