package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
)

// MigrateDownTo rolls the schema back to version (0 for an empty database), undoing the applied
// migrations above it newest first, and logs each one undone. It destroys data: tests and
// operators repairing a database use it, never the running service.
func MigrateDownTo(ctx context.Context, db *sql.DB, version int64, log *slog.Logger) error {
	p, err := newMigrator(db)
	if err != nil {
		return err
	}
	results, err := p.DownTo(ctx, version)
	if err != nil {
		return fmt.Errorf("roll back migrations to version %d: %w", version, err)
	}
	for _, r := range results {
		log.Info("migration rolled back", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}
