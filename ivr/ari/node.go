package ari

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Node is the configuration of one Asterisk node: its HTTP base URL (e.g.
// "http://10.0.0.5:8088"), ARI user and password, and the Stasis application
// this controller instance serves on it.
//
// Ownership rule: Asterisk gives an application to the LAST websocket that
// connected for it (the previous one gets ApplicationReplaced and then
// nothing). Each controller instance must therefore use its own App name per
// node (e.g. "hotline-a", "hotline-b", with the dialplan spreading calls over
// them); two instances with the same name would steal each other's calls.
type Node struct {
	Name     string
	URL      string
	User     string
	Password string
	App      string
}

// String describes the node without its password.
func (n Node) String() string {
	return fmt.Sprintf("%s(%s app=%s user=%s password=[redacted])", n.Name, n.URL, n.App, n.User)
}

// GoString describes the node for %#v without its password.
func (n Node) GoString() string { return "ari.Node" + n.String() }

// LogValue keeps the password out of structured logs.
func (n Node) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", n.Name), slog.String("url", n.URL),
		slog.String("app", n.App), slog.String("user", n.User))
}

// Cluster is the set of node connections of one controller instance. Each
// call is bound to the node its channel lives on: use that node's Conn for
// its REST calls and inbox.
type Cluster struct {
	nodes []Node
	opts  ConnOptions
	log   *slog.Logger
	// gate, when set, holds each configured connection until its application's lease is held.
	gate func(ctx context.Context, app string) error

	mu    sync.Mutex
	conns []*Conn
}

// NewCluster returns a Cluster with one Conn per node, all sharing opts.
func NewCluster(nodes []Node, opts ConnOptions) (*Cluster, error) {
	if len(nodes) == 0 {
		return nil, fmt.Errorf("ari: no node configured")
	}
	seen := make(map[string]bool)
	cl := &Cluster{log: opts.Logger, nodes: nodes, opts: opts}
	if cl.log == nil {
		cl.log = slog.New(slog.DiscardHandler)
	}
	for _, n := range nodes {
		if seen[n.Name] {
			return nil, fmt.Errorf("ari: duplicate node name %q", n.Name)
		}
		seen[n.Name] = true
		c, err := NewConn(n, opts)
		if err != nil {
			return nil, err
		}
		cl.conns = append(cl.conns, c)
	}
	return cl, nil
}

// Conns returns the node connections in configuration order, then those of the applications
// adopted since.
func (cl *Cluster) Conns() []*Conn {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return append([]*Conn(nil), cl.conns...)
}

// Conn returns the connection of the named node to its configured application, or nil.
func (cl *Cluster) Conn(name string) *Conn {
	for _, c := range cl.Conns()[:len(cl.nodes)] {
		if c.node.Name == name {
			return c
		}
	}
	return nil
}

// Run runs every node connection until ctx ends, then returns nil. A node
// whose application was replaced by another connection stops: that is
// logged at error level and shown by Health, Ready and the metrics, while
// the other nodes go on.
func (cl *Cluster) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, c := range cl.Conns()[:len(cl.nodes)] {
		if cl.gate != nil {
			c.gate = func(ctx context.Context) error { return cl.gate(ctx, c.App()) }
		}
		wg.Go(func() {
			for {
				err := c.Run(ctx)
				if err == nil {
					return
				}
				if cl.gate == nil {
					cl.log.Error("ari node stopped: another connection took the application (two instances use one application name?)",
						slog.String("node", c.Name()), slog.String("app", c.App()), slog.String("error", err.Error()))
					return
				}
				// With leases the application comes back: the connection waits at the gate
				// until its lease is this instance's again.
				cl.log.Error("ari node: another instance took the application; waiting for its lease to come back",
					slog.String("node", c.Name()), slog.String("app", c.App()), slog.String("error", err.Error()))
			}
		})
	}
	wg.Wait()
	return nil
}

// SetGate makes Run hold each configured connection until gate returns, before every
// connection attempt: the controller connects to its application only while it holds the
// application's lease, and a connection whose application another instance took waits for
// the lease to come back rather than stopping. A gate that fails leaves the connection down.
// Call it before Run.
func (cl *Cluster) SetGate(gate func(ctx context.Context, app string) error) { cl.gate = gate }

// Adopt connects to app on every node, with the options of the configured connections, and
// keeps those connections up until ctx ends: the controller took the application over from an
// instance that died. Their reconciliation hands over the channels the application still has.
func (cl *Cluster) Adopt(ctx context.Context, app string) ([]*Conn, error) {
	var conns []*Conn
	for _, n := range cl.nodes {
		n.App = app
		c, err := NewConn(n, cl.opts)
		if err != nil {
			return nil, err
		}
		conns = append(conns, c)
	}
	cl.mu.Lock()
	cl.conns = append(cl.conns, conns...)
	cl.mu.Unlock()
	for _, c := range conns {
		go func() {
			err := c.Run(ctx)
			if err != nil {
				cl.log.Warn("adopted application stopped", slog.String("node", c.Name()), slog.String("app", app),
					slog.String("error", err.Error()))
			}
			cl.mu.Lock()
			cl.conns = slices.DeleteFunc(cl.conns, func(o *Conn) bool { return o == c })
			cl.mu.Unlock()
		}()
	}
	return conns, nil
}

// Health returns the state of every node, in configuration order.
func (cl *Cluster) Health() []Health {
	conns := cl.Conns()
	out := make([]Health, len(conns))
	for i, c := range conns {
		out[i] = c.Health()
	}
	return out
}

// Ready reports whether every node is connected and owns its application;
// the error says which are not, for /readyz.
func (cl *Cluster) Ready() error {
	var errs []error
	for _, h := range cl.Health()[:len(cl.nodes)] {
		switch {
		case h.Replaced:
			errs = append(errs, fmt.Errorf("node %s: application %s replaced by another connection", h.Node, h.App))
		case !h.Connected:
			errs = append(errs, fmt.Errorf("node %s: events websocket down: %s", h.Node, h.LastError))
		}
	}
	return errors.Join(errs...)
}

// Collector returns a Prometheus collector of the nodes' health, to be
// registered by the caller (the package registers nothing globally).
func (cl *Cluster) Collector() prometheus.Collector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("hotline_ari_node_"+name, help, []string{"node", "app"}, nil)
	}
	return &collector{
		cl:           cl,
		connected:    d("connected", "1 when the node's events websocket is connected."),
		replaced:     d("application_replaced", "1 when another websocket took the node's application over."),
		lastConnect:  d("last_connect_timestamp_seconds", "Unix time of the last successful websocket connect."),
		reconnects:   d("reconnects_total", "Successful websocket reconnects."),
		events:       d("events_received_total", "Events received on the websocket."),
		decodeErrors: d("event_decode_errors_total", "Websocket messages that could not be decoded."),
		inboxes:      d("inboxes", "Open call inboxes."),
		unowned:      d("events_unowned_total", "Events no call owned, given to the default handler."),
	}
}

// collector exports Cluster health as Prometheus metrics.
type collector struct {
	cl                               *Cluster
	connected, replaced, lastConnect *prometheus.Desc
	reconnects, events, decodeErrors *prometheus.Desc
	inboxes, unowned                 *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.connected, c.replaced, c.lastConnect,
		c.reconnects, c.events, c.decodeErrors, c.inboxes, c.unowned} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	for _, conn := range c.cl.Conns() {
		h := conn.Health()
		st := conn.router.Stats()
		l := []string{h.Node, h.App}
		ch <- prometheus.MustNewConstMetric(c.connected, prometheus.GaugeValue, b(h.Connected), l...)
		ch <- prometheus.MustNewConstMetric(c.replaced, prometheus.GaugeValue, b(h.Replaced), l...)
		var last float64
		if !h.LastConnect.IsZero() {
			last = float64(h.LastConnect.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(c.lastConnect, prometheus.GaugeValue, last, l...)
		ch <- prometheus.MustNewConstMetric(c.reconnects, prometheus.CounterValue, float64(h.Reconnects), l...)
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(h.EventsReceived), l...)
		ch <- prometheus.MustNewConstMetric(c.decodeErrors, prometheus.CounterValue, float64(h.DecodeErrors), l...)
		ch <- prometheus.MustNewConstMetric(c.inboxes, prometheus.GaugeValue, float64(h.Inboxes), l...)
		ch <- prometheus.MustNewConstMetric(c.unowned, prometheus.CounterValue, float64(st.Unowned), l...)
	}
}
