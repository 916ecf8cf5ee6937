package main

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

func TestMain(m *testing.M) {
	pgtest.Main(m, func(ctx context.Context, url string) error {
		db, err := sqlx.Open("postgres", url)
		if err != nil {
			return err
		}
		defer db.Close()
		return postgres.Migrate(ctx, db.DB, slog.New(slog.NewTextHandler(io.Discard, nil)))
	})
}
