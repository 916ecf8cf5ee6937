package main

import (
	"context"
	"net"

	"github.com/jmoiron/sqlx"
	"github.com/spf13/cobra"
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
	return a.runDraining(ctx, h, ln)
}
