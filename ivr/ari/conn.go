package ari

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Default lifecycle settings of a Conn.
const (
	DefaultBackoffInitial   = 500 * time.Millisecond
	DefaultBackoffMax       = 5 * time.Second
	DefaultPingInterval     = 4 * time.Second
	DefaultPingTimeout      = 5 * time.Second
	DefaultReconcileGrace   = time.Second
	DefaultReconcileTimeout = 5 * time.Second
	maxEventSize            = 4 << 20
)

// ConnOptions configures a Conn; zero fields take the defaults.
type ConnOptions struct {
	// Logger receives connection lifecycle logs (key "node").
	Logger *slog.Logger
	// Handler receives the events no inbox owns, above all StasisStart of new
	// calls. It runs on the websocket reader goroutine: it must not block, and
	// it claims a new call by creating an inbox (c.Router().NewInbox) owning
	// the channel before it returns.
	Handler func(c *Conn, ev Event)
	// OnReconcile is called after every (re)connect with what differs between
	// the node and the calls this controller owns. Its ctx ends with the
	// websocket session.
	OnReconcile func(ctx context.Context, r Reconciliation)
	// BackoffInitial and BackoffMax bound the wait between reconnect
	// attempts, doubling from the first to the second (0.5 s to 5 s).
	BackoffInitial, BackoffMax time.Duration
	// PingInterval and PingTimeout detect a silent network drop: Asterisk
	// never pings, so the client does; a ping unanswered within PingTimeout
	// ends the session. A drop is noticed within PingInterval+PingTimeout.
	PingInterval, PingTimeout time.Duration
	// ReconcileGrace is how long reconciliation waits before confirming a
	// difference, so that a StasisStart or originate racing with it is not
	// reported.
	ReconcileGrace time.Duration
	// ReconcileTimeout bounds each look at the node during reconciliation; a
	// look that fails is tried again with backoff (default 5 s).
	ReconcileTimeout time.Duration
	// HTTPClient is used for REST and the websocket handshake (it must not
	// have a Timeout); nil means one built on NewTransport.
	HTTPClient *http.Client
}

// Reconciliation is the difference between a node and the calls this
// controller owns, computed after a (re)connect: events sent while the
// websocket was down are lost and never replayed.
type Reconciliation struct {
	Node string
	App  string
	// Unowned are channels in the application that no inbox owns: calls that
	// entered while disconnected, or whose controller died. The engine
	// resumes them, hands them to an agent or ends them politely; none may
	// stay in Stasis forever.
	Unowned []Channel
	// Gone are owned channel ids that are no longer in the application:
	// they hung up or left while the socket was down, or the node restarted.
	// Close their inboxes: a restarted Asterisk may reuse the ids.
	Gone []string
}

// Health is the state of one node connection, for /readyz and metrics.
type Health struct {
	Node           string
	App            string
	Connected      bool
	Replaced       bool // another websocket took the application over
	LastConnect    time.Time
	LastError      string
	Reconnects     uint64 // successful connects after the first
	EventsReceived uint64
	DecodeErrors   uint64
	Inboxes        int64
	// ReconcileErrors counts reconciliations that failed and were tried again.
	ReconcileErrors uint64
}

// Conn is the link to one Asterisk node for one application: the REST
// client, the events websocket with its reconnect loop, and the router of
// its events.
type Conn struct {
	node   Node
	client *Client
	router *Router
	opts   ConnOptions
	log    *slog.Logger
	sleep  func(ctx context.Context, d time.Duration) bool // replaced in tests
	// gate, when set, holds every connection attempt until it returns (the application's
	// lease held); an error ends Run.
	gate func(ctx context.Context) error

	events atomic.Uint64 // events received, kept out of mu: updated per event
	// reconcileErrors counts failed looks at the node during reconciliation.
	reconcileErrors atomic.Uint64

	mu     sync.Mutex
	health Health
	// endSession ends the websocket session in progress, if any.
	endSession context.CancelFunc
}

// NewConn returns a Conn for node; Run starts it.
func NewConn(node Node, opts ConnOptions) (*Conn, error) {
	if node.Name == "" || node.App == "" {
		return nil, fmt.Errorf("ari: node needs a name and an app: %v", node)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	opts.BackoffInitial = orDefault(opts.BackoffInitial, DefaultBackoffInitial)
	opts.BackoffMax = orDefault(opts.BackoffMax, DefaultBackoffMax)
	opts.PingInterval = orDefault(opts.PingInterval, DefaultPingInterval)
	opts.PingTimeout = orDefault(opts.PingTimeout, DefaultPingTimeout)
	opts.ReconcileGrace = orDefault(opts.ReconcileGrace, DefaultReconcileGrace)
	opts.ReconcileTimeout = orDefault(opts.ReconcileTimeout, DefaultReconcileTimeout)
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Transport: NewTransport()}
	}
	log := opts.Logger.With(slog.String("node", node.Name), slog.String("app", node.App))
	client, err := NewClient(node.URL, node.User, node.Password, WithHTTPClient(opts.HTTPClient), WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node.Name, err)
	}
	c := &Conn{node: node, client: client, opts: opts, log: log, sleep: sleepCtx}
	c.health = Health{Node: node.Name, App: node.App}
	c.router = NewRouter(node.Name, func(ev Event) {
		if c.opts.Handler != nil {
			c.opts.Handler(c, ev)
		}
	})
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Name returns the node's configured name.
func (c *Conn) Name() string { return c.node.Name }

// App returns the Stasis application name.
func (c *Conn) App() string { return c.node.App }

// Client returns the REST client of the node.
func (c *Conn) Client() *Client { return c.client }

// Router returns the router of the node's events.
func (c *Conn) Router() *Router { return c.router }

// Health returns the connection's current state.
func (c *Conn) Health() Health {
	c.mu.Lock()
	h := c.health
	c.mu.Unlock()
	h.EventsReceived = c.events.Load()
	h.ReconcileErrors = c.reconcileErrors.Load()
	h.Inboxes = c.router.Stats().Inboxes
	return h
}

func (c *Conn) update(f func(h *Health)) {
	c.mu.Lock()
	f(&c.health)
	c.mu.Unlock()
}

// Run keeps the websocket connected until ctx ends (then it returns nil),
// reconnecting with backoff. It returns an error wrapping
// ErrApplicationReplaced when another connection took the application over
// (Health.Replaced is then set): fighting back would make two controllers
// steal each other's calls.
func (c *Conn) Run(ctx context.Context) error {
	delay := c.opts.BackoffInitial
	for {
		if c.gate != nil {
			if err := c.gate(ctx); err != nil {
				return nil
			}
		}
		connected, err := c.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrApplicationReplaced) {
			return fmt.Errorf("node %s app %s: %w", c.node.Name, c.node.App, err)
		}
		if connected {
			delay = c.opts.BackoffInitial
		}
		c.update(func(h *Health) { h.LastError = err.Error() })
		c.log.Warn("ari websocket down; reconnecting", slog.String("error", err.Error()), slog.Duration("backoff", delay))
		if !c.sleep(ctx, delay) {
			return nil
		}
		delay = nextBackoff(delay, c.opts.BackoffMax)
	}
}

// nextBackoff doubles d up to max.
func nextBackoff(d, max time.Duration) time.Duration {
	return min(d*2, max)
}

// sleepCtx waits d or until ctx ends; it reports whether d elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Reconnect ends the websocket session in progress; Run connects again (through its gate,
// when it has one). The controller uses it when it lost the application's lease without
// Asterisk saying so, so that the connection waits for the lease before it subscribes again.
func (c *Conn) Reconnect() {
	c.mu.Lock()
	end := c.endSession
	c.mu.Unlock()
	if end != nil {
		end()
	}
}

// eventsURL returns the websocket URL; credentials go in a header only.
func (c *Conn) eventsURL() string {
	u := *c.client.base
	u.Path = c.client.fullPath("/events")
	u.RawQuery = url.Values{"app": {c.node.App}}.Encode()
	return u.String()
}

// session runs one websocket connection; connected reports whether the
// handshake succeeded.
func (c *Conn) session(ctx context.Context) (connected bool, err error) {
	dialCtx, cancelDial := context.WithTimeout(ctx, 10*time.Second)
	ws, resp, err := websocket.Dial(dialCtx, c.eventsURL(), &websocket.DialOptions{
		HTTPClient: c.opts.HTTPClient,
		HTTPHeader: http.Header{"Authorization": {c.client.auth}},
	})
	cancelDial()
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			e := newError(http.MethodGet, c.client.fullPath("/events"), resp)
			resp.Body.Close()
			return false, fmt.Errorf("connect events websocket: %w", e)
		}
		return false, fmt.Errorf("connect events websocket: %w", err)
	}
	ws.SetReadLimit(maxEventSize)
	c.update(func(h *Health) {
		if !h.LastConnect.IsZero() {
			h.Reconnects++
		}
		h.Connected, h.LastConnect, h.LastError, h.Replaced = true, time.Now(), "", false
	})
	c.log.Info("ari websocket connected")
	defer c.update(func(h *Health) { h.Connected = false })

	sctx, cancel := context.WithCancel(ctx)
	c.mu.Lock()
	c.endSession = cancel
	c.mu.Unlock()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	defer ws.CloseNow()

	pingErr := make(chan error, 1)
	wg.Go(func() { c.pinger(sctx, ws, pingErr) })
	wg.Go(func() { c.reconcile(sctx) })

	err = c.read(sctx, ws)
	select {
	case perr := <-pingErr:
		err = perr // the read failed because the pinger closed the socket
	default:
	}
	if errors.Is(err, ErrApplicationReplaced) {
		ws.Close(websocket.StatusNormalClosure, "application replaced")
	}
	return true, err
}

// read dispatches events until the socket fails.
func (c *Conn) read(ctx context.Context, ws *websocket.Conn) error {
	// Reads wait without a context, which the websocket library would otherwise watch
	// anew for every message; ctx ending closes the socket instead, which ends the read.
	stop := context.AfterFunc(ctx, func() { ws.CloseNow() })
	defer stop()
	var buf bytes.Buffer // reused: decoded events copy what they keep
	for {
		_, r, err := ws.Reader(context.Background())
		if err == nil {
			buf.Reset()
			_, err = buf.ReadFrom(r)
		}
		if err != nil {
			return fmt.Errorf("read events websocket: %w", err)
		}
		received := time.Now()
		ev, err := DecodeEvent(buf.Bytes())
		if err != nil {
			c.update(func(h *Health) { h.DecodeErrors++ })
			c.log.Error("ari event not decoded", slog.String("error", err.Error()))
			continue
		}
		ev.Base().Node, ev.Base().Received = c.node.Name, received
		c.events.Add(1)
		if _, ok := ev.(*ApplicationReplaced); ok {
			c.update(func(h *Health) { h.Replaced = true })
			c.router.Dispatch(ev)
			return ErrApplicationReplaced
		}
		c.router.Dispatch(ev)
	}
}

// pinger pings the server; on a missing pong it reports why on errc, then
// closes the socket so that the reader fails.
func (c *Conn) pinger(ctx context.Context, ws *websocket.Conn, errc chan<- error) {
	t := time.NewTicker(c.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, c.opts.PingTimeout)
		err := ws.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			errc <- fmt.Errorf("websocket ping: no pong within %v: %w", c.opts.PingTimeout, err)
			ws.CloseNow()
			return
		}
	}
}

// reconcile compares the node with the owned channels after a connect and
// reports the differences that survive ReconcileGrace. A comparison that fails
// (the node slow or refusing) is tried again, with backoff, while the session
// lasts: a connect is the only time events lost in a gap can be made up for.
func (c *Conn) reconcile(ctx context.Context) {
	delay := c.opts.BackoffInitial
	for {
		err := c.reconcileOnce(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		c.reconcileErrors.Add(1)
		c.log.Error("ari reconciliation failed; trying again", slog.String("error", err.Error()), slog.Duration("backoff", delay))
		if !sleepCtx(ctx, delay) {
			return
		}
		delay = nextBackoff(delay, c.opts.BackoffMax)
	}
}

// reconcileOnce compares once (twice, ReconcileGrace apart, when it finds a
// difference) and reports.
func (c *Conn) reconcileOnce(ctx context.Context) error {
	unowned, gone, err := c.differences(ctx)
	if err == nil && (len(unowned) > 0 || len(gone) > 0) {
		t := time.NewTimer(c.opts.ReconcileGrace)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		var unowned2 []Channel
		var gone2 []string
		unowned2, gone2, err = c.differences(ctx)
		unowned = intersectChannels(unowned, unowned2)
		gone = intersect(gone, gone2)
	}
	if err != nil {
		return err
	}
	if len(unowned) > 0 || len(gone) > 0 {
		c.log.Warn("ari reconciliation found differences", slog.Int("unowned", len(unowned)), slog.Int("gone", len(gone)))
	}
	if c.opts.OnReconcile != nil {
		c.opts.OnReconcile(ctx, Reconciliation{Node: c.node.Name, App: c.node.App, Unowned: unowned, Gone: gone})
	}
	return nil
}

// differences reads the application and the channel list once.
func (c *Conn) differences(ctx context.Context) (unowned []Channel, gone []string, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ReconcileTimeout)
	defer cancel()
	app, err := c.client.Application(c.node.App).Get(ctx)
	if errors.Is(err, ErrNotFound) {
		app, err = &Application{Name: c.node.App}, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reconcile: %w", err)
	}
	channels, err := c.client.ListChannels(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("reconcile: %w", err)
	}
	byID := make(map[string]Channel, len(channels))
	// The Local pairs of which the controller owns one half: it created both (an originate
	// of Local/… into the application subscribes both halves), so neither is an orphan.
	ownedPairs := map[string]bool{}
	for _, ch := range channels {
		byID[ch.ID] = ch
		if pair, ok := LocalPair(ch.Name); ok && c.router.Owns(ChannelRef(ch.ID)) {
			ownedPairs[pair] = true
		}
	}
	inApp := make(map[string]bool, len(app.ChannelIDs))
	for _, id := range app.ChannelIDs {
		inApp[id] = true
		ch, exists := byID[id]
		if !exists || c.router.Owns(ChannelRef(id)) {
			continue
		}
		if pair, ok := LocalPair(ch.Name); ok && ownedPairs[pair] {
			continue
		}
		unowned = append(unowned, ch)
	}
	for _, id := range c.router.OwnedChannels() {
		if !inApp[id] {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	return unowned, gone, nil
}

// LocalPair returns the name a Local channel's two halves share ("Local/1@ctx-0000001a"
// of "…;1" and "…;2").
func LocalPair(name string) (string, bool) {
	if !strings.HasPrefix(name, "Local/") {
		return "", false
	}
	base, half, ok := strings.Cut(name, ";")
	return base, ok && (half == "1" || half == "2")
}

func intersect(a, b []string) []string {
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func intersectChannels(a, b []Channel) []Channel {
	var out []Channel
	for _, ch := range a {
		if slices.ContainsFunc(b, func(o Channel) bool { return o.ID == ch.ID }) {
			out = append(out, ch)
		}
	}
	return out
}
