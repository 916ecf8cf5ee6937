// Package postgres is the hotline's data access on PostgreSQL: the embedded schema migrations
// and plain-SQL queries (sqlx, lib/pq) for everything the IVR and the agent desk read and write.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"log/slog"

	"github.com/pressly/goose/v3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// newMigrator returns a goose provider over the embedded migrations.
func newMigrator(db *sql.DB) (*goose.Provider, error) {
	p, err := goose.NewProvider(goose.DialectPostgres, db, mustSub(migrations, "migrations"))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration and logs each one applied.
func Migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	p, err := newMigrator(db)
	if err != nil {
		return err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range results {
		log.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}

// SchemaVersion returns the version of the newest applied migration and of the newest
// embedded one; they differ when the database needs migrating.
func SchemaVersion(ctx context.Context, db *sql.DB) (applied, embedded int64, err error) {
	p, err := newMigrator(db)
	if err != nil {
		return 0, 0, err
	}
	applied, err = p.GetDBVersion(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("schema version: %w", err)
	}
	srcs := p.ListSources()
	if len(srcs) > 0 {
		embedded = srcs[len(srcs)-1].Version
	}
	return applied, embedded, nil
}

// MigrateURL opens the database at url, applies every pending migration quietly and closes
// it: what a test's template database needs (pgtest.Main(m, postgres.MigrateURL)).
func MigrateURL(ctx context.Context, url string) error {
	db, err := sql.Open("postgres", url)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	return Migrate(ctx, db, slog.New(slog.DiscardHandler))
}
