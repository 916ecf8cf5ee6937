package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// TestMain gives the tests a PostgreSQL server whose template database is migrated; each test
// takes its own copy with pgtest.DB.
func TestMain(m *testing.M) {
	pgtest.Main(m, func(ctx context.Context, url string) error {
		db, err := sqlx.Open("postgres", url)
		if err != nil {
			return err
		}
		defer db.Close()
		return postgres.Migrate(ctx, db.DB, quiet())
	})
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
