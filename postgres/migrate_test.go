package postgres_test

import (
	"context"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// schemas returns which of the platform and hotline schemas exist.
func schemas(t *testing.T, db *sqlx.DB) []string {
	t.Helper()
	var got []string
	if err := db.Select(&got, `SELECT nspname FROM pg_namespace WHERE nspname IN ('platform', 'hotline') ORDER BY nspname`); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestMigrationsFromEmpty applies the migrations to a database that has never seen them.
func TestMigrationsFromEmpty(t *testing.T) {
	db := pgtest.EmptyDB(t)
	ctx := context.Background()
	if applied, embedded, err := postgres.SchemaVersion(ctx, db.DB); err != nil || applied != 0 || embedded < 2 {
		t.Fatalf("empty database: applied %d, embedded %d, %v; want 0 and at least 2", applied, embedded, err)
	}
	if err := postgres.Migrate(ctx, db.DB, quiet()); err != nil {
		t.Fatal(err)
	}
	applied, embedded, err := postgres.SchemaVersion(ctx, db.DB)
	if err != nil {
		t.Fatal(err)
	}
	if applied != embedded {
		t.Errorf("after migrating: applied %d, embedded %d", applied, embedded)
	}
	if got := schemas(t, db); len(got) != 2 {
		t.Errorf("schemas = %v, want hotline and platform", got)
	}
}

// TestMigrationsDownAndUp rolls the schema back to nothing and forward again.
func TestMigrationsDownAndUp(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()

	applied, embedded, err := postgres.SchemaVersion(ctx, db.DB)
	if err != nil {
		t.Fatal(err)
	}
	if embedded < 2 || applied != embedded {
		t.Fatalf("fresh test database: applied %d, embedded %d; want equal and at least 2", applied, embedded)
	}
	if got := schemas(t, db); len(got) != 2 {
		t.Fatalf("schemas = %v, want hotline and platform", got)
	}

	// Down to empty.
	if err := postgres.MigrateDownTo(ctx, db.DB, 0, quiet()); err != nil {
		t.Fatal(err)
	}
	if got := schemas(t, db); len(got) != 0 {
		t.Errorf("after rolling back to 0, schemas %v remain", got)
	}
	if applied, _, err := postgres.SchemaVersion(ctx, db.DB); err != nil || applied != 0 {
		t.Errorf("after rolling back to 0: applied %d, %v; want 0", applied, err)
	}

	// Up from empty, twice (the second is a no-op).
	for i := 0; i < 2; i++ {
		if err := postgres.Migrate(ctx, db.DB, quiet()); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
		applied, again, err := postgres.SchemaVersion(ctx, db.DB)
		if err != nil {
			t.Fatal(err)
		}
		if applied != embedded || again != embedded {
			t.Errorf("after migrate #%d: applied %d, embedded %d; want %d", i+1, applied, again, embedded)
		}
	}
	if got := schemas(t, db); len(got) != 2 {
		t.Errorf("after migrating up, schemas = %v, want hotline and platform", got)
	}

	// One step down and up again.
	if err := postgres.MigrateDownTo(ctx, db.DB, embedded-1, quiet()); err != nil {
		t.Fatal(err)
	}
	if applied, _, err := postgres.SchemaVersion(ctx, db.DB); err != nil || applied != embedded-1 {
		t.Errorf("after one step down: applied %d, %v; want %d", applied, err, embedded-1)
	}
	if err := postgres.Migrate(ctx, db.DB, quiet()); err != nil {
		t.Fatal(err)
	}
}
