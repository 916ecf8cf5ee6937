package ivr_test

import (
	"context"
	"testing"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// TestMain gives the tests that read the platform's data a real PostgreSQL: a throwaway
// cluster with the schema migrated (see package pgtest).
func TestMain(m *testing.M) {
	pgtest.Main(m, func(ctx context.Context, url string) error {
		return postgres.MigrateURL(ctx, url)
	})
}
