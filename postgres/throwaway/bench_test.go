package throwaway_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/postgres/throwaway"
)

// BenchmarkStart measures Start (initdb, server start, first connection);
// Stop is reported separately as stop-ms/op.
func BenchmarkStart(b *testing.B) {
	for _, bb := range dirBenchmarks(b) {
		b.Run(bb.name, func(b *testing.B) { benchmarkStart(b, bb.dir) })
	}
}

// dirBenchmarks are the places a cluster can live: the temp dir (disk,
// usually) and, where there is one, the memory file system.
func dirBenchmarks(b *testing.B) []struct{ name, dir string } {
	dirs := []struct{ name, dir string }{{name: "tempdir", dir: ""}}
	if m := throwaway.MemoryDir(); m != "" {
		dirs = append(dirs, struct{ name, dir string }{name: "memory", dir: m})
	} else {
		b.Log("no memory file system: benchmarking the temp dir only")
	}
	return dirs
}

func benchmarkStart(b *testing.B, dir string) {
	ctx := context.Background()
	var stopping time.Duration
	for b.Loop() {
		c, err := throwaway.Start(ctx, throwaway.Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		t0 := time.Now()
		if err := c.Stop(); err != nil {
			b.Fatal(err)
		}
		stopping += time.Since(t0)
		b.StartTimer()
	}
	b.ReportMetric(float64(stopping.Milliseconds())/float64(b.N), "stop-ms/op")
}

// BenchmarkCreateDatabase measures CREATE DATABASE ... TEMPLATE from a
// template holding a schema of 40 small tables with indexes, about the
// size of the hotline's migrated schema; dropping is not timed.
func BenchmarkCreateDatabase(b *testing.B) {
	for _, bb := range dirBenchmarks(b) {
		b.Run(bb.name, func(b *testing.B) { benchmarkCreateDatabase(b, bb.dir) })
	}
}

func benchmarkCreateDatabase(b *testing.B, dir string) {
	ctx := context.Background()
	c, err := throwaway.Start(ctx, throwaway.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Stop()
	if err := c.CreateDatabase(ctx, "tmpl", ""); err != nil {
		b.Fatal(err)
	}
	db, err := openDB(c.URL("tmpl"))
	if err != nil {
		b.Fatal(err)
	}
	for i := range 40 {
		q := fmt.Sprintf(`CREATE TABLE t%d (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE,
			amount bigint CHECK (amount >= 0), created_at timestamptz NOT NULL DEFAULT now());
			INSERT INTO t%[1]d (name, amount) SELECT 'row' || g, g FROM generate_series(1, 20) g`, i)
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	db.Close()

	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("copy%d", i)
		if err := c.CreateDatabase(ctx, name, "tmpl"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := c.DropDatabase(ctx, name); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
