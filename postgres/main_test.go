package postgres_test

import (
	"io"
	"log/slog"
	"testing"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// TestMain gives the tests a PostgreSQL server whose template database is migrated; each test
// takes its own copy with pgtest.DB.
func TestMain(m *testing.M) {
	pgtest.Main(m, postgres.MigrateURL)
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
