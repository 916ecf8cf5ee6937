package seed_test

import (
	"errors"
	"regexp"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
	"github.com/foshan-hotline/hotline/postgres/seed"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, postgres.MigrateURL)
}

// testCitizens keeps the suite fast while leaving room for the proportions to show.
const testCitizens = 2000

// protector returns a Protector with fixed keys, so every test seals alike.
func protector(t *testing.T) *pii.Protector {
	t.Helper()
	k := pii.Keys{Seal: make([]byte, pii.KeySize), Lookup: make([]byte, pii.KeySize)}
	for i := range k.Seal {
		k.Seal[i], k.Lookup[i] = byte(i), byte(100+i)
	}
	p, err := pii.NewProtector(k)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func options(t *testing.T, citizens int, s int64) seed.Options {
	return seed.Options{Citizens: citizens, Seed: s, Protector: protector(t), PINCost: bcrypt.MinCost}
}

// seeded returns a fresh database seeded with opts and the run's summary.
func seeded(t *testing.T, opts seed.Options) (*sqlx.DB, seed.Summary) {
	t.Helper()
	db := pgtest.DB(t)
	sum, err := seed.Run(t.Context(), db, opts)
	if err != nil {
		t.Fatalf("seed.Run: %v", err)
	}
	return db, sum
}

func checksum(t *testing.T, db *sqlx.DB) string {
	t.Helper()
	s, err := seed.Checksum(t.Context(), db)
	if err != nil {
		t.Fatalf("seed.Checksum: %v", err)
	}
	return s
}

func TestSameSeedSameData(t *testing.T) {
	t.Parallel()
	a, sumA := seeded(t, options(t, 1000, 7))
	b, sumB := seeded(t, options(t, 1000, 7))
	c, _ := seeded(t, options(t, 1000, 8))
	if got, want := checksum(t, b), checksum(t, a); got != want {
		t.Errorf("same seed: checksum %s, want %s", got, want)
	}
	if got, other := checksum(t, c), checksum(t, a); got == other {
		t.Errorf("seeds 7 and 8 gave the same checksum %s", got)
	}
	// The sealed ID numbers repeat byte for byte, not merely their plaintext.
	var encA, encB []byte
	const q = `SELECT id_number_enc FROM platform.citizens WHERE id = 500`
	if err := a.GetContext(t.Context(), &encA, q); err != nil {
		t.Fatal(err)
	}
	if err := b.GetContext(t.Context(), &encB, q); err != nil {
		t.Fatal(err)
	}
	if string(encA) != string(encB) {
		t.Errorf("sealed ID numbers differ between runs with the same seed")
	}
	if len(sumA.Citizens) == 0 || len(sumA.Citizens) != len(sumB.Citizens) {
		t.Fatalf("demo citizens: %d and %d", len(sumA.Citizens), len(sumB.Citizens))
	}
	for i := range sumA.Citizens {
		if got, want := sumB.Citizens[i], sumA.Citizens[i]; got.Mobile != want.Mobile || got.PIN != want.PIN ||
			got.IDNumber != want.IDNumber || got.CaseNumber != want.CaseNumber {
			t.Errorf("demo citizen %d: %+v, want %+v", i, got, want)
		}
	}
	if got, want := sumB.Staff[0].Password, sumA.Staff[0].Password; got != want {
		t.Errorf("staff password %q, want %q", got, want)
	}
}

func TestNotEmptyAndReplace(t *testing.T) {
	t.Parallel()
	opts := options(t, 300, 3)
	db, _ := seeded(t, opts)
	want := checksum(t, db)
	if _, err := seed.Run(t.Context(), db, opts); !errors.Is(err, seed.ErrNotEmpty) {
		t.Fatalf("second run: %v, want ErrNotEmpty", err)
	}
	opts.Replace = true
	if _, err := seed.Run(t.Context(), db, opts); err != nil {
		t.Fatalf("run with Replace: %v", err)
	}
	if got := checksum(t, db); got != want {
		t.Errorf("after Replace: checksum %s, want %s", got, want)
	}
}

// schemaShape lists the constraints and indexes of the platform and hotline schemas.
func schemaShape(t *testing.T, db *sqlx.DB) []string {
	t.Helper()
	const q = `
		SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
		WHERE connamespace IN ('platform'::regnamespace, 'hotline'::regnamespace)
		UNION ALL
		SELECT pg_get_indexdef(indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE c.relnamespace IN ('platform'::regnamespace, 'hotline'::regnamespace)
		ORDER BY 1`
	var shape []string
	if err := db.SelectContext(t.Context(), &shape, q); err != nil {
		t.Fatal(err)
	}
	return shape
}

func TestConstraintsSurvive(t *testing.T) {
	t.Parallel()
	t.Run("after a load", func(t *testing.T) {
		t.Parallel()
		db := pgtest.DB(t)
		before := schemaShape(t, db)
		if _, err := seed.Run(t.Context(), db, options(t, 200, 1)); err != nil {
			t.Fatal(err)
		}
		after := schemaShape(t, db)
		if got, want := len(after), len(before); got != want {
			t.Fatalf("%d constraints and indexes after seeding, want %d", got, want)
		}
		for i := range before {
			if after[i] != before[i] {
				t.Errorf("after seeding: %s, want %s", after[i], before[i])
			}
		}
		// Identity sequences continue after the explicit ids.
		var id int64
		const q = `INSERT INTO platform.departments (name, phone) VALUES ('测试局', '0757-00000000') RETURNING id`
		if err := db.GetContext(t.Context(), &id, q); err != nil {
			t.Fatalf("insert after seeding: %v", err)
		}
		if id <= 1 {
			t.Errorf("new department id %d, want one after the seeded ids", id)
		}
	})
	t.Run("after a failed load", func(t *testing.T) {
		t.Parallel()
		db := pgtest.DB(t)
		// A stricter rule than the generator's makes COPY fail halfway through the bills.
		const strict = `ALTER TABLE platform.bills ADD CONSTRAINT test_small_bills CHECK (amount_fen < 15000)`
		if _, err := db.ExecContext(t.Context(), strict); err != nil {
			t.Fatal(err)
		}
		before := schemaShape(t, db)
		if _, err := seed.Run(t.Context(), db, options(t, 200, 1)); err == nil {
			t.Fatal("seed.Run succeeded despite the violated constraint")
		}
		after := schemaShape(t, db)
		if got, want := len(after), len(before); got != want {
			t.Fatalf("%d constraints and indexes after the failure, want %d", got, want)
		}
		for i := range before {
			if after[i] != before[i] {
				t.Errorf("after the failure: %s, want %s", after[i], before[i])
			}
		}
		var n int
		if err := db.GetContext(t.Context(), &n, `SELECT count(*) FROM platform.citizens`); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d citizens left behind by the failed load", n)
		}
	})
}

func TestOptions(t *testing.T) {
	t.Parallel()
	db := pgtest.DB(t)
	for _, tc := range []struct {
		name string
		opts seed.Options
	}{
		{"no protector", seed.Options{Citizens: 1}},
		{"negative citizens", seed.Options{Citizens: -1, Protector: protector(t)}},
		{"too many citizens", seed.Options{Citizens: seed.MaxCitizens + 1, Protector: protector(t)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := seed.Run(t.Context(), db, tc.opts); !errors.Is(err, seed.ErrOptions) {
				t.Errorf("seed.Run: %v, want ErrOptions", err)
			}
		})
	}
}

var (
	mobileRE = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
	caseRE   = regexp.MustCompile(`^[0-9]{16}$`)
)

// now is the data's today in the tests that inspect it.
var now = time.Date(2025, 8, 20, 15, 0, 0, 0, time.FixedZone("CST", 8*3600))
