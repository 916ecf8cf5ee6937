package acd_test

import (
	"testing"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// TestMain gives the tests a PostgreSQL server whose template database is migrated; each test
// takes its own copy.
func TestMain(m *testing.M) {
	pgtest.Main(m, postgres.MigrateURL)
}
