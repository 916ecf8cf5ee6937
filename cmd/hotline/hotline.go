package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"

	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/sync/errgroup"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/agentdesk/acd"
	"github.com/foshan-hotline/hotline/agentdesk/flowedit"
	"github.com/foshan-hotline/hotline/agentdesk/web"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/ops"
	"github.com/foshan-hotline/hotline/postgres"
)

// system is the running hotline: the engine on every Asterisk node, the ACD, the agent API
// and the HTTP server.
type system struct {
	db         *sqlx.DB
	snapshots  *sqlx.DB // the desk's pool for agents' snapshots; db when it has none
	store      *postgres.Store
	engine     *ivr.Engine
	cluster    *ari.Cluster
	calls      *postgres.CallLog
	acd        *postgres.ACD
	dispatcher *acd.Dispatcher
	commands   *postgres.CommandBus
	desk       *agentdesk.Server
	flows      *flowedit.Service
	phones     *deskPhones // nil without softphone.registrar
	calendars  *postgres.Calendars
	url        string // the database's, for the listeners
	mux        *http.ServeMux
	probes     *ops.Probes
	reg        *prometheus.Registry
}

// callFlows is what the engine runs, read from ivr.flows_dir and ivr.sounds_dir.
type callFlows struct {
	lib       *flow.Library
	manifest  *prompts.Manifest
	calendars map[string]*flow.Calendar
}

// loadCallFlows reads and checks the flows, prompts and calendars, before anything slower is
// started: a mistake in them is reported at once.
func (a *app) loadCallFlows() (*callFlows, error) {
	lib, err := a.loadFlows()
	if err != nil {
		return nil, err
	}
	manifest, err := prompts.Load(a.cfg.IVR.SoundsDir)
	if err != nil {
		return nil, err
	}
	cals, err := a.loadCalendars()
	if err != nil {
		return nil, err
	}
	return &callFlows{lib: lib, manifest: manifest, calendars: cals}, nil
}

// newHotline wires the controller on db (at url, for its listeners): flows published and
// pinned, prompts, data sources, call records, the ARI connections, the ACD and its
// dispatcher, call control across instances, the agent API, the operations endpoints.
func (a *app) newHotline(ctx context.Context, db *sqlx.DB, url string, flows *callFlows) (*system, error) {
	protector, err := protectorFromConfig(a.cfg.PII)
	if err != nil {
		return nil, err
	}
	h := &system{db: db, store: postgres.New(db, protector, nil), mux: http.NewServeMux(), reg: prometheus.NewRegistry(),
		probes: ops.NewProbes(a.cfg.Database.ConnectTimeout), url: url}
	// The calendars supervisors edit: the database's (the file seeds an empty one), held by
	// the engine and the work-order deadlines alike and changed in place.
	h.calendars, err = postgres.LoadCalendars(ctx, db, flows.calendars, a.log.With("component", "calendars"))
	if err != nil {
		return nil, err
	}
	flows.calendars = h.calendars.Live()
	lib, versions, err := a.databaseFlows(ctx, db, flows)
	if err != nil {
		return nil, err
	}
	instance := a.instance()
	h.store.SetCallbackSpacing(a.cfg.ACD.CallbackSpacing)
	orderRules, err := a.workOrderRules(flows.calendars)
	if err != nil {
		return nil, err
	}
	h.store.SetWorkOrderRules(orderRules)
	if err := a.cfg.CallLog.check(); err != nil {
		return nil, err
	}
	h.calls = postgres.NewCallLog(db, a.log, postgres.CallLogOptions{Buffer: a.cfg.CallLog.MemoryRecords, SpoolDir: a.cfg.CallLog.SpoolDir})
	h.acd = postgres.NewACD(h.store, instance)
	h.acd.SetLease(a.cfg.ACD.InstanceLease)
	services := postgres.NewIVRServices(h.store)
	h.engine, err = ivr.New(ivr.Config{
		Instance: instance, Flows: lib, Versions: versions, Manifest: flows.manifest, SoundsDir: a.cfg.IVR.SoundsDir,
		SoundURI: soundURI(a.cfg.IVR.SoundURI), Calendars: flows.calendars, Sources: &ivr.PlatformSources{Data: h.store},
		PromptPins: &postgres.PromptFiles{DB: db, Dir: a.cfg.IVR.SoundsDir},
		Services:   services, Recorder: h.calls, ACD: h.acd, Recordings: h.calls, Callbacks: h.store,
		HotlineNumber: a.cfg.IVR.HotlineNumber, TestNumbers: a.cfg.IVR.TestNumbers, Log: a.log,
	})
	if err != nil {
		return nil, err
	}
	h.flows = flowedit.New(a.flowEditOptions(db, url, flows, h.engine))
	h.dispatcher = acd.New(h.acd, h.engine, url, acd.Options{Lease: a.cfg.ACD.InstanceLease, Log: a.log.With("component", "acd")})
	h.commands = postgres.NewCommandBus(db, url, instance, h.engine, a.log.With("component", "commands"))
	phones, err := a.newDeskPhones(h)
	if err != nil {
		return nil, err
	}
	h.phones = phones
	h.snapshots = db
	if n := a.cfg.Database.SnapshotConns; n > 0 && url != "" {
		if h.snapshots, err = sqlx.Open("postgres", url); err != nil {
			return nil, fmt.Errorf("open the desk's snapshot pool: %w", err)
		}
		h.snapshots.SetMaxOpenConns(n)
		h.snapshots.SetMaxIdleConns(n)
	}
	h.desk, err = agentdesk.New(agentdesk.Options{
		DB: db, SnapshotDB: h.snapshots, DatabaseURL: url, States: h.acd, Log: a.log.With("component", "desk"), Phones: phonesOrNil(phones), Calendars: h.calendars,
		AllowedOrigins: a.cfg.HTTP.AllowedOrigins, SecureCookies: a.cfg.HTTP.SecureCookies,
		InstanceLease: a.cfg.ACD.InstanceLease, Flows: h.flows,
		Sessions: postgres.SessionOptions{IdleTimeout: a.cfg.Desk.IdleTimeout, AbsoluteTimeout: a.cfg.Desk.AbsoluteTimeout},
		Calls:    newDeskCalls(db, h.commands, h.engine, a.log.With("component", "monitor")), PII: protector, CallFlows: agentdesk.CallFlowsOf(lib),
		WorkOrders: orderRules, RecordingAudio: h.engine.RecordingAudio,
		RecordingRetention: a.cfg.ACD.RecordingRetention, Prompts: agentdesk.PromptOptions{Dir: a.cfg.IVR.SoundsDir},
	})
	if err != nil {
		return nil, err
	}
	h.mux.Handle("/api/", h.desk.Handler())
	h.mux.Handle("/desk/", web.New(web.Options{Log: a.log.With("component", "desk-web")}))
	nodes := make([]ari.Node, len(a.cfg.Asterisk.Nodes))
	for i, n := range a.cfg.Asterisk.Nodes {
		nodes[i] = ari.Node{Name: n.Name, URL: n.URL, User: n.Username, Password: n.Password, App: n.App}
	}
	h.cluster, err = ari.NewCluster(nodes, h.engine.Options(ari.ConnOptions{Logger: a.log}))
	if err != nil {
		return nil, err
	}
	h.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		h.cluster.Collector(), h.calls.Collector(), h.engine.Collector(), postgres.ReleaseCollector(),
		collectors.NewDBStatsCollector(db.DB, "main"))
	if h.snapshots != db {
		h.reg.MustRegister(collectors.NewDBStatsCollector(h.snapshots.DB, "desk_snapshots"))
	}
	h.probes.Add("database", db.PingContext)
	h.probes.Add("asterisk", func(context.Context) error { return h.cluster.Ready() })
	ops.Register(h.mux, h.probes, h.reg)
	if a.cfg.HTTP.Pprof {
		ops.RegisterProfiles(h.mux)
	}
	return h, nil
}

// soundURI makes sure the media prefix ends with a slash: "sound:hotline" → "sound:hotline/".
func soundURI(prefix string) string {
	if prefix != "" && prefix[len(prefix)-1] != '/' {
		return prefix + "/"
	}
	return prefix
}

// databaseFlows returns the published flows the engine starts on, from the database, which is
// their source of truth: the files of ivr.flows_dir only seed a database that has no flow
// yet ('hotline flows import' publishes them later).
func (a *app) databaseFlows(ctx context.Context, db *sqlx.DB, flows *callFlows) (*flow.Library, map[string]int64, error) {
	active, err := postgres.ActiveFlows(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	if len(active) == 0 {
		if _, err := a.publishFlows(ctx, db, flows.lib.Names()); err != nil {
			return nil, nil, err
		}
		a.log.Info("flows seeded from files", "dir", a.cfg.IVR.FlowsDir, "flows", len(flows.lib.Names()))
	}
	return flowedit.New(a.flowEditOptions(db, "", flows, nil)).Published(ctx)
}

// flowEditOptions are the options of the flow service on db, telling engine (nil for none).
func (a *app) flowEditOptions(db *sqlx.DB, url string, flows *callFlows, engine flowedit.Engine) flowedit.Options {
	cals := make([]string, 0, len(flows.calendars))
	for n := range flows.calendars {
		cals = append(cals, n)
	}
	sort.Strings(cals)
	o := flowedit.Options{DB: db, URL: url, FlowsDir: a.cfg.IVR.FlowsDir, SoundsDir: a.cfg.IVR.SoundsDir,
		Check: flow.Options{Manifest: flows.manifest, Calendars: cals, LookupTimeout: a.cfg.IVR.LookupTimeout},
		Log:   a.log.With("component", "flows")}
	if engine != nil {
		o.Engine = engine
	}
	return o
}

// publishFlows records the flows' texts as the active versions.
func (a *app) publishFlows(ctx context.Context, db *sqlx.DB, names []string) (map[string]int64, error) {
	sort.Strings(names)
	srcs := make([]postgres.FlowSource, 0, len(names))
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(a.cfg.IVR.FlowsDir, n+".yaml"))
		if err != nil {
			return nil, fmt.Errorf("publish flows: %w", err)
		}
		srcs = append(srcs, postgres.FlowSource{Name: n, Source: string(data)})
	}
	return postgres.PublishFlows(ctx, db, srcs, 0)
}

// run serves until ctx ends: the engine on the cluster and the HTTP server on ln, bound to
// http.listen. Calls in progress end politely and the call log is flushed before run returns.
func (h *system) run(ctx context.Context, a *app, ln net.Listener) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		err := h.engine.Run(gctx, h.cluster)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		return err
	})
	g.Go(func() error {
		return serveListener(gctx, a.log, "http", ln, h.mux, a.cfg.HTTP.ShutdownTimeout)
	})
	g.Go(func() error { return h.dispatcher.Run(gctx) })
	g.Go(func() error { return h.commands.Run(gctx) })
	g.Go(func() error { return h.desk.Run(gctx) })
	g.Go(func() error { return h.flows.Run(gctx) })
	g.Go(func() error { return h.calendars.Follow(gctx, h.url) })
	g.Go(func() error { h.housekeeping(gctx, a); return nil })
	err := g.Wait()
	if h.phones != nil {
		h.phones.Close() // hangs up and unregisters the agents' softphones
	}
	cctx, cancel := context.WithTimeout(context.Background(), a.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if cerr := h.calls.Close(cctx); cerr != nil {
		a.log.Error("flush call records", "err", cerr)
	}
	if h.snapshots != h.db {
		h.snapshots.Close()
	}
	return err
}

// instance is this controller's name among several on one database: acd.instance, else the
// host name and process id.
func (a *app) instance() string {
	if a.cfg.ACD.Instance != "" {
		return a.cfg.ACD.Instance
	}
	host, err := os.Hostname()
	if err != nil || postgres.ValidInstance(host) != nil || len(host) > 36 {
		host = "hotline"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}
