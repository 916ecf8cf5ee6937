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

	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/ops"
	"github.com/foshan-hotline/hotline/postgres"
)

// system is the running hotline: the engine on every Asterisk node, the HTTP server.
type system struct {
	db      *sqlx.DB
	store   *postgres.Store
	engine  *ivr.Engine
	cluster *ari.Cluster
	calls   *postgres.CallLog
	mux     *http.ServeMux
	probes  *ops.Probes
	reg     *prometheus.Registry
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

// newHotline wires the controller on db: flows published and pinned, prompts, data
// sources, call records, the ARI connections, the operations endpoints.
func (a *app) newHotline(ctx context.Context, db *sqlx.DB, flows *callFlows) (*system, error) {
	protector, err := protectorFromConfig(a.cfg.PII)
	if err != nil {
		return nil, err
	}
	h := &system{db: db, store: postgres.New(db, protector, nil), mux: http.NewServeMux(), reg: prometheus.NewRegistry(),
		probes: ops.NewProbes(a.cfg.Database.ConnectTimeout)}
	versions, err := a.publishFlows(ctx, db, flows.lib.Names())
	if err != nil {
		return nil, err
	}
	h.calls = postgres.NewCallLog(db, a.log, postgres.CallLogOptions{})
	h.engine, err = ivr.New(ivr.Config{
		Flows: flows.lib, Versions: versions, Manifest: flows.manifest, SoundsDir: a.cfg.IVR.SoundsDir,
		SoundURI: soundURI(a.cfg.IVR.SoundURI), Calendars: flows.calendars, Sources: &ivr.PlatformSources{Data: h.store},
		Services: postgres.NewIVRServices(h.store), Recorder: h.calls, Log: a.log,
	})
	if err != nil {
		return nil, err
	}
	nodes := make([]ari.Node, len(a.cfg.Asterisk.Nodes))
	for i, n := range a.cfg.Asterisk.Nodes {
		nodes[i] = ari.Node{Name: n.Name, URL: n.URL, User: n.Username, Password: n.Password, App: n.App}
	}
	h.cluster, err = ari.NewCluster(nodes, h.engine.Options(ari.ConnOptions{Logger: a.log}))
	if err != nil {
		return nil, err
	}
	h.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		h.cluster.Collector(), h.calls.Collector(), h.engine.Collector())
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
	err := g.Wait()
	cctx, cancel := context.WithTimeout(context.Background(), a.cfg.HTTP.ShutdownTimeout)
	defer cancel()
	if cerr := h.calls.Close(cctx); cerr != nil {
		a.log.Error("flush call records", "err", cerr)
	}
	return err
}
