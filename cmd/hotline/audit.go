package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jmoiron/sqlx"
	"github.com/spf13/cobra"

	"github.com/foshan-hotline/hotline/postgres"
)

func (a *app) auditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check the tamper-evident audit log",
		Long: `Every row of the audit log (who viewed or searched whose record, unmasked, monitored, published
a flow, played a recording, forced an agent's state …) carries a SHA-256 hash chained to the row
before it. The database refuses to change or delete rows; someone who goes around that breaks
the chain, and 'audit verify' finds the first row that was altered, inserted or deleted.

Someone able to recompute every hash could rewrite the chain consistently: note the head
('audit head', also logged hourly by 'serve') somewhere the database's administrators cannot
change, and pass it to 'audit verify --anchor' to prove the rows up to it are the same.`,
	}
	var anchor string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Recompute the chain; exit status 1 at the first altered, inserted or deleted row",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var head *postgres.AuditHead
			if anchor != "" {
				h, err := postgres.ParseAuditHead(anchor)
				if err != nil {
					return fmt.Errorf("--anchor: %w", err)
				}
				head = &h
			}
			db, err := a.openConfigured(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			rep, err := postgres.VerifyAudit(cmd.Context(), db, head)
			if err != nil {
				return err
			}
			if rep.Problem != "" {
				return fmt.Errorf("audit log: %s (%d rows checked before it)", rep.Problem, rep.Rows)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "audit log ok: %d rows, head %s\n", rep.Rows, rep.Head)
			return err
		},
	}
	verify.Flags().StringVar(&anchor, "anchor", "", "a head noted before (seq:hash) that the chain must still contain")
	head := &cobra.Command{
		Use:   "head",
		Short: "Print the chain's head (seq:hash) to note outside the database",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := a.openConfigured(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			h, err := postgres.AuditHeadNow(cmd.Context(), db)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), h)
			return err
		},
	}
	cmd.AddCommand(verify, head)
	return cmd
}

// logAuditHead writes the audit chain's head to the log, which is shipped away from the
// database: a later 'audit verify --anchor' can prove the rows up to it unchanged.
func logAuditHead(ctx context.Context, log *slog.Logger, db *sqlx.DB) {
	h, err := postgres.AuditHeadNow(ctx, db)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("audit log head", "err", err)
		}
		return
	}
	log.Info("audit log head", "head", h.String())
}

// openConfigured opens database.url, which must be migrated to this binary's schema.
func (a *app) openConfigured(ctx context.Context) (*sqlx.DB, error) {
	if a.cfg.Database.URL == "" {
		return nil, errNoDatabase
	}
	db, err := a.openDatabase(ctx, a.cfg.Database.URL)
	if err != nil {
		return nil, err
	}
	if err := requireCurrentSchema(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
