package postgres_test

import (
	"context"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// BenchmarkCallLogEnqueue measures what a call pays to record a step: "memory" queues within
// the buffer (the writer drains it to the database as it goes), "spool" with the database
// unreachable and a small buffer, so every record goes to the spool file.
//
//	go test -run '^$' -bench CallLogEnqueue -benchmem ./postgres
func BenchmarkCallLogEnqueue(b *testing.B) {
	ctx := context.Background()
	b.Run("memory", func(b *testing.B) {
		db := pgtest.DB(b)
		l := postgres.NewCallLog(db, quiet(), postgres.CallLogOptions{Buffer: 1 << 22})
		call := startCall(b, l, "chan-1")
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if err := l.Step(ctx, entry(call, i+1, "n")); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		must(b, l.Close(ctx))
	})
	b.Run("spool", func(b *testing.B) {
		proxy, through := pgtest.NewProxy(b, pgtest.URL(b))
		proxy.Down()
		db, err := sqlx.Open("postgres", through)
		must(b, err)
		defer db.Close()
		l := postgres.NewCallLog(db, quiet(), postgres.CallLogOptions{Buffer: 100, SpoolDir: b.TempDir()})
		call := newUUID()
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if err := l.Step(ctx, entry(call, i+1, "n")); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		closing, cancel := context.WithCancel(ctx)
		cancel()
		l.Close(closing) // the spool is left for the next start
	})
}
