package main

import (
	"context"
	"net"

	"github.com/jmoiron/sqlx"
	"github.com/spf13/cobra"

	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/postgres"
)

func (a *app) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the ARI controller and the agent desk",
		Long: `Run the hotline: connect to every configured Asterisk node over ARI, run the call flows,
and serve the agent desk with /healthz, /readyz and /metrics on http.listen. Needs database.url
with a current schema ('hotline migrate'). SIGTERM or Ctrl-C shuts down gracefully: new calls
hear the busy apology, calls in progress get shutdown.drain_timeout to finish, then the
callers still on the line hear an apology and are hung up.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.cfg.Database.URL == "" {
				return errNoDatabase
			}
			flows, err := a.loadCallFlows()
			if err != nil {
				return err
			}
			ln, err := listen("http.listen", a.cfg.HTTP.Listen)
			if err != nil {
				return err
			}
			defer ln.Close()
			db, err := a.openDatabase(cmd.Context(), a.cfg.Database.URL)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := requireCurrentSchema(cmd.Context(), db); err != nil {
				return err
			}
			return a.serve(cmd.Context(), db, flows, ln)
		},
	}
}

// serve runs the hotline on db, serving HTTP on ln, until ctx ends.
func (a *app) serve(ctx context.Context, db *sqlx.DB, flows *callFlows, ln net.Listener) error {
	h, err := a.newHotline(ctx, db, a.cfg.Database.URL, flows)
	if err != nil {
		return err
	}
	stop, err := a.failover(ctx, h)
	if err != nil {
		return err
	}
	defer stop()
	return a.runDraining(ctx, h, ln)
}

// failover holds the instance's Stasis applications under leases, persists where each call
// is and, with failover.adopt, takes over the applications (and calls) of instances that die
// (failover.*). The returned stop writes the last call states once the calls have ended.
func (a *app) failover(ctx context.Context, h *system) (stop func(), err error) {
	fc := a.cfg.Failover
	if !fc.Enabled {
		return func() {}, nil
	}
	if err := fc.check(); err != nil {
		return nil, err
	}
	instance := h.acd.Instance()
	states := postgres.NewCallStates(h.db, instance, a.log.With("component", "callstates"), 0, h.engine.LeaseLost)
	err = h.engine.SetFailover(ivr.Failover{Leases: postgres.NewLeases(h.db, instance), States: states,
		TTL: fc.LeaseTTL, Renew: fc.RenewEvery, Grace: fc.TakeoverGrace, Adopt: fc.Adopt})
	if err != nil {
		return nil, err
	}
	h.reg.MustRegister(states.Collector(), h.engine.FailoverCollector())
	// A drain that runs out of time hands the calls left to another instance rather than
	// hang them up, when there is one.
	h.engine.SetHandover(func(ctx context.Context) {
		n, err := h.engine.HandOff(ctx, states.Sync)
		if err != nil {
			a.log.Error("hand calls off", "calls", n, "err", err)
		}
	})
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		states.Run(sctx)
	}()
	return func() {
		cancel()
		<-done
	}, nil
}
