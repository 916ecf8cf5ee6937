package ivr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/prometheus/client_golang/prometheus"
)

// Config is what the engine runs on. Flows, Manifest, Sources, Services and Recorder are
// required; the rest has defaults.
type Config struct {
	// Instance names this controller instance among several on one database; "" for one.
	Instance string
	// Flows are the validated flows; Entry names the one a call starts in ("main").
	Flows *flow.Library
	Entry string
	// Versions maps flow names to their published version ids, recorded with each call.
	Versions map[string]int64
	// Manifest and SoundsDir are the prompts; SoundURI prefixes a prompt id to make the
	// media URI Asterisk plays ("sound:hotline/").
	Manifest  *prompts.Manifest
	SoundsDir string
	SoundURI  string
	// PromptPins gives the revisions of prompts changed in the desk each flow version
	// plays; nil plays the shipped files.
	PromptPins PromptPins
	// Language is the default and fallback prompt language ("zh").
	Language  string
	Calendars map[string]*flow.Calendar
	Sources   flow.Sources
	Services  Services
	Recorder  Recorder
	// ACD receives how the offers of agents to queued calls went; nil when no agent answers
	// (queued calls hold, then overflow).
	ACD ACD
	// Recordings keeps the rows of the conversations the engine records from their bridge;
	// nil records none.
	Recordings Recordings
	// Callbacks records the tries of callbacks; nil places none.
	Callbacks Callbacks
	// HotlineNumber is the caller ID of calls the hotline places to citizens ("12345").
	HotlineNumber string
	// TestNumbers are the caller numbers of test calls, which run the flows' drafts
	// (SetDrafts) rather than the published flows.
	TestNumbers []string
	Log         *slog.Logger
	// Location is the time zone of business hours and spoken dates (China Standard Time).
	Location *time.Location
	// Now is the clock of business hours; nil means time.Now.
	Now func() time.Time
	// MaxNodes ends a call that executes more nodes (a runaway guard); default 1000.
	MaxNodes int
	// PlaybackGrace is added to a prompt's length before the watchdog stops it; default 3 s.
	PlaybackGrace time.Duration
	// RequestTimeout bounds each ARI request; default 5 s.
	RequestTimeout time.Duration
	// StoreTimeout bounds each write of the call record and each service call; default 3 s.
	StoreTimeout time.Duration
	// TransferCheck is how often a transferred call that hears nothing checks that its far
	// end is still there (its hang-up may have been lost with the websocket); default 15 s.
	TransferCheck time.Duration
}

// Engine runs the calls of one controller instance.
type Engine struct {
	cfg   Config
	voice *voice
	flows atomic.Pointer[pinned]
	// drafts are what test calls run; nil when they run the published flows.
	drafts atomic.Pointer[pinned]
	ctx    context.Context
	calls  sync.WaitGroup

	keyToPlay *latency
	lookups   *prometheus.HistogramVec // hotline_ivr_lookup_seconds
	pins      pinCache

	// fo holds the applications under leases and adopts those of dead instances (adopt.go);
	// nil without SetFailover.
	fo *failover
	// hiddenVars caches per flow the variables a saved call state leaves out.
	hiddenVars sync.Map

	mu     sync.Mutex
	active map[liveKey]*call
	byCall map[string]*call // by call id
	conns  map[string]*ari.Conn
	stats  Stats

	adm admission // the door: limits, draining, refusals (admission.go)
}

// liveKey names a live call: channel ids are unique per Asterisk node only (without
// systemname they are <epoch>.<counter>, and two nodes can hand out the same one).
type liveKey struct{ node, channel string }

// pinned is a set of flows with their versions; a call keeps the set it started with.
type pinned struct {
	lib      *flow.Library
	versions map[string]int64
}

// Stats are the engine's counters.
type Stats struct {
	Active  int
	Started uint64
	Ended   uint64
	Runaway uint64
	// Orphans counts the channels found in the application after a reconnect that no call
	// owned, and which the engine took over to end politely.
	Orphans uint64
	// Adoptions counts the applications taken over from dead instances, Resumed the calls
	// resumed from their saved state, Fenced the calls left to the instance that took their
	// application over.
	Adoptions, Resumed, Fenced uint64
	ByOutcome                  map[string]uint64
}

// New returns an engine for cfg.
func New(cfg Config) (*Engine, error) {
	if cfg.Flows == nil || cfg.Manifest == nil || cfg.Sources == nil || cfg.Services == nil || cfg.Recorder == nil {
		return nil, errors.New("ivr: Flows, Manifest, Sources, Services and Recorder are required")
	}
	if a, ok := cfg.Recorder.(StartAwaiter); ok {
		cfg.Services = awaitingServices{cfg.Services, a}
	}
	if cfg.Entry == "" {
		cfg.Entry = "main"
	}
	if cfg.Flows.Flow(cfg.Entry) == nil {
		return nil, fmt.Errorf("ivr: no entry flow %q", cfg.Entry)
	}
	if cfg.Language == "" {
		cfg.Language = "zh"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Location == nil {
		cfg.Location = time.FixedZone("CST", 8*3600)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxNodes == 0 {
		cfg.MaxNodes = 1000
	}
	if cfg.PlaybackGrace == 0 {
		cfg.PlaybackGrace = 3 * time.Second
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 5 * time.Second
	}
	if cfg.StoreTimeout == 0 {
		cfg.StoreTimeout = 3 * time.Second
	}
	e := &Engine{
		cfg:       cfg,
		voice:     &voice{manifest: cfg.Manifest, dir: cfg.SoundsDir, uri: cfg.SoundURI, fallback: cfg.Language, lengths: map[string]time.Duration{}},
		ctx:       context.Background(),
		active:    map[liveKey]*call{},
		byCall:    map[string]*call{},
		conns:     map[string]*ari.Conn{},
		stats:     Stats{ByOutcome: map[string]uint64{}},
		keyToPlay: newLatency(),
		lookups:   newLookups(),
	}
	e.flows.Store(&pinned{lib: cfg.Flows, versions: cfg.Versions})
	return e, nil
}

// SetFlows replaces the flows new calls run; calls in progress finish on theirs.
func (e *Engine) SetFlows(lib *flow.Library, versions map[string]int64) error {
	if lib.Flow(e.cfg.Entry) == nil {
		return fmt.Errorf("ivr: no entry flow %q", e.cfg.Entry)
	}
	e.flows.Store(&pinned{lib: lib, versions: versions})
	return nil
}

// SetDrafts sets the flows test calls run (the published ones with the drafts in place);
// nil lib means the published flows.
func (e *Engine) SetDrafts(lib *flow.Library, versions map[string]int64) {
	if lib == nil || lib.Flow(e.cfg.Entry) == nil {
		e.drafts.Store(nil)
		return
	}
	e.drafts.Store(&pinned{lib: lib, versions: versions})
}

// flowsFor returns the flows a call from caller starts on: the drafts for a test number.
func (e *Engine) flowsFor(caller string) *pinned {
	if d := e.drafts.Load(); d != nil && slices.Contains(e.cfg.TestNumbers, caller) {
		return d
	}
	return e.flows.Load()
}

// Options returns the connection options that hand the engine its calls: the handler of new
// channels and the reconciliation after a reconnect.
func (e *Engine) Options(base ari.ConnOptions) ari.ConnOptions {
	base.Handler = e.handle
	base.OnReconcile = e.reconcile
	return base
}

// Run serves calls until ctx ends, then waits for the calls in progress to end: each ends
// politely, so shutting down loses no call record.
func (e *Engine) Run(ctx context.Context, cluster *ari.Cluster) error {
	e.attach(ctx, cluster)
	err := cluster.Run(ctx)
	e.calls.Wait()
	return err
}

// Wait blocks until every call has ended.
func (e *Engine) Wait() { e.calls.Wait() }

// Stats returns a snapshot of the counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Active = len(e.active)
	s.ByOutcome = make(map[string]uint64, len(e.stats.ByOutcome))
	for k, v := range e.stats.ByOutcome {
		s.ByOutcome[k] = v
	}
	return s
}

// handle takes the events nobody owns; it runs on the websocket reader and must not block.
// A StasisStart of a dialplan channel is a new call: the engine owns the channel before
// returning, so the call's next events reach its inbox.
func (e *Engine) handle(conn *ari.Conn, ev ari.Event) {
	if _, ok := ev.(*ari.ApplicationReplaced); ok && e.fo != nil {
		// At once, before the connection's Run returns and waits at its gate for the lease.
		e.fo.lost(conn.App(), 0, "application replaced")
		return
	}
	start, ok := ev.(*ari.StasisStart)
	if !ok {
		return // late events of ended calls
	}
	if len(start.Args) > 0 {
		e.strayLeg(conn, start.Channel) // a leg made for a call that no longer wants it
		return
	}
	inbox := conn.Router().NewInbox(ari.ChannelRef(start.Channel.ID))
	if !e.admit(conn, inbox, start.Channel) {
		return // draining or full: the caller hears the busy apology
	}
	e.startCall(conn, inbox, start.Channel, false)
}

// reconcile deals with what changed while a node's websocket was down. Channels in the
// application that no call owns are taken over and ended politely — no channel stays in
// Stasis forever; owned channels that are gone end their calls.
func (e *Engine) reconcile(ctx context.Context, r ari.Reconciliation) {
	for _, id := range r.Gone {
		e.mu.Lock()
		c := e.active[liveKey{r.Node, id}]
		e.mu.Unlock()
		if c != nil {
			c.lost.Store(true)
			c.cancel()
		}
	}
	conn := e.connOf(r.Node)
	if conn == nil || conn.App() != r.App {
		if conn = e.fo.conn(r.Node, r.App); conn == nil {
			return
		}
	}
	resume, gone, orphans := e.resumable(ctx, r, conn)
	if len(resume) > 0 || len(gone) > 0 {
		e.adoptResumed(ctx, r, conn, resume, gone)
	}
	orphans, strays := legsApart(orphans)
	for _, ch := range strays {
		e.strayLeg(conn, ch) // as if its StasisStart had come: hung up unless a call claims it
	}
	for _, ch := range orphans {
		e.mu.Lock()
		_, owned := e.active[liveKey{r.Node, ch.ID}]
		if !owned {
			e.stats.Orphans++
		}
		e.mu.Unlock()
		if owned {
			continue
		}
		inbox := conn.Router().NewInbox(ari.ChannelRef(ch.ID))
		e.startCall(conn, inbox, ch, true)
	}
}

// legsApart splits channels found without an owner into callers and the legs the controller
// made for calls: an originate puts a leg in Stasis with arguments ("hotline,agent,<call>"),
// the dialplan puts a caller there without. The other half of a Local leg goes with it and is
// in neither list.
func legsApart(chs []ari.Channel) (callers, legs []ari.Channel) {
	isLeg := func(ch ari.Channel) bool {
		return ch.Dialplan.AppName == "Stasis" && strings.Contains(ch.Dialplan.AppData, ",")
	}
	pairs := map[string]bool{}
	for _, ch := range chs {
		if isLeg(ch) {
			legs = append(legs, ch)
			if p, ok := ari.LocalPair(ch.Name); ok {
				pairs[p] = true
			}
		}
	}
	for _, ch := range chs {
		p, local := ari.LocalPair(ch.Name)
		if !isLeg(ch) && !(local && pairs[p]) {
			callers = append(callers, ch)
		}
	}
	return callers, legs
}

// connOf returns the connection of a node the engine runs on.
func (e *Engine) connOf(node string) *ari.Conn {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.conns[node]
}

// attach records the cluster's connections and the context calls run under.
func (e *Engine) attach(ctx context.Context, cluster *ari.Cluster) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ctx = ctx
	for _, c := range cluster.Conns() {
		e.conns[c.Name()] = c
	}
	if e.fo != nil {
		e.fo.start(ctx, cluster)
	}
}
