package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// BenchmarkCallStates writes the states of 1,000 calls that each entered a node, a batch at
// a time as the writer does: the cost per state written, fenced, in the database.
func BenchmarkCallStates(b *testing.B) {
	db := pgtest.DB(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, ok, err := postgres.NewLeases(db, "a").Acquire(ctx, "hotline-a", time.Minute, 0, true); err != nil || !ok {
		b.Fatal(ok, err)
	}
	w := postgres.NewCallStates(db, "a", nil, 20*time.Millisecond, nil)
	go w.Run(ctx)
	const calls = 1000
	ids := make([]string, calls)
	for i := range ids {
		ids[i] = fmt.Sprintf("7f8a1f0e-0000-4000-8000-%012d", i)
	}
	state := []byte(`{"id":"x","caller":"13800138000","lang":"zh","stack":[{"flow":"main","vars":{}},{"flow":"bills","vars":{"kind":"\"water\"","number":"\"440100123456\""},"resume":"bills/next"}],"node":"account_by_number","seq":12,"nodes":12}`)
	b.ResetTimer()
	for b.Loop() {
		for i, id := range ids {
			w.SaveState(id, "hotline-a", 1, "ast1", fmt.Sprint("ch-", i), state)
		}
		if err := w.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*calls), "ns/state")
}
