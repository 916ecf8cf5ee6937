package main

import (
	"github.com/spf13/cobra"

	"github.com/foshan-hotline/hotline/postgres"
)

func (a *app) migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations",
		Long: `Apply the schema migrations embedded in this binary to database.url, in order. Migrations
are append-only; 'serve' refuses to start on a database that is behind.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.cfg.Database.URL == "" {
				return errNoDatabase
			}
			db, err := a.openDatabase(cmd.Context(), a.cfg.Database.URL)
			if err != nil {
				return err
			}
			defer db.Close()
			return postgres.Migrate(cmd.Context(), db.DB, a.log)
		},
	}
}
