package postgres_test

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres"
)

// benchURLEnv names the database the IVR lookup benchmark reads.
const benchURLEnv = "HOTLINE_BENCH_DATABASE_URL"

// BenchmarkIVRLookups measures the lookups the IVR makes on every call, one at a time on a
// warm pool, and reports the median and 99th percentile latency of each (p50-us, p99-us).
// It reads a seeded database (1,000,000 citizens for the published figures):
//
//	hotline seed --citizens 1000000 --seed 1   # with HOTLINE_DATABASE_URL set
//	HOTLINE_BENCH_DATABASE_URL=postgres://... go test -run '^$' -bench IVRLookups -benchtime 20000x ./postgres
//
// The keys are a random sample of existing rows, drawn before timing starts.
func BenchmarkIVRLookups(b *testing.B) {
	url := os.Getenv(benchURLEnv)
	if url == "" {
		b.Fatalf("%s is not set: this benchmark needs a seeded database. Seed one "+
			"(hotline seed --citizens 1000000 with HOTLINE_DATABASE_URL set), then run "+
			"%s=<that URL> go test -run '^$' -bench IVRLookups ./postgres", benchURLEnv, benchURLEnv)
	}
	ctx := context.Background()
	db, err := postgres.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	keys, err := pii.GenerateKeys() // no lookup here opens or hashes an ID number
	if err != nil {
		b.Fatal(err)
	}
	protector, err := pii.NewProtector(keys)
	if err != nil {
		b.Fatal(err)
	}
	store := postgres.New(db, protector, nil)

	mobiles := sample[string](b, db, `SELECT mobile FROM platform.citizens ORDER BY random() LIMIT 10000`)
	accounts := sample[int64](b, db, `SELECT id FROM platform.utility_accounts ORDER BY random() LIMIT 10000`)
	cases := sample[string](b, db, `SELECT case_number FROM platform.applications ORDER BY random() LIMIT 10000`)

	b.Run("CitizenByMobile", func(b *testing.B) {
		latencies(b, func(i int) error {
			_, err := store.CitizenByMobile(ctx, mobiles[i%len(mobiles)])
			return err
		})
	})
	b.Run("LatestBill", func(b *testing.B) {
		latencies(b, func(i int) error {
			_, err := store.LatestBill(ctx, accounts[i%len(accounts)])
			return err
		})
	})
	b.Run("ApplicationByCaseNumber", func(b *testing.B) {
		latencies(b, func(i int) error {
			_, err := store.ApplicationByCaseNumber(ctx, cases[i%len(cases)])
			return err
		})
	})
}

// sample runs a query for benchmark keys, in random order.
func sample[T any](b *testing.B, db *sqlx.DB, query string) []T {
	b.Helper()
	var keys []T
	if err := db.Select(&keys, query); err != nil {
		b.Fatalf("sample keys: %v", err)
	}
	if len(keys) == 0 {
		b.Fatalf("sample keys: %s found no rows; is the database seeded?", query)
	}
	rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return keys
}

// latencies times each call of op and reports the p50 and p99 latency in microseconds.
func latencies(b *testing.B, op func(i int) error) {
	b.Helper()
	if err := op(0); err != nil { // warm the connection
		b.Fatal(err)
	}
	var lat []time.Duration
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		err := op(i)
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(percentile(lat, 50))/float64(time.Microsecond), "p50-us")
	b.ReportMetric(float64(percentile(lat, 99))/float64(time.Microsecond), "p99-us")
}

// percentile returns the p-th percentile (nearest rank) of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (len(sorted)*p + 99) / 100 // ceil(n*p/100), 1-based
	return sorted[max(rank, 1)-1]
}
