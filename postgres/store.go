package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the "postgres" database/sql driver

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/pii"
)

// Store reads the platform's data and the hotline's PIN records on PostgreSQL. It is safe for
// concurrent use; every method takes the caller's context and returns hotline.ErrNotFound
// (wrapped) when the record asked for does not exist.
type Store struct {
	db      *sqlx.DB
	pii     *pii.Protector
	now     func() time.Time
	checker func(hash, pin string) bool
}

// New returns a Store on db. protector opens and hashes ID numbers; clock tells the time used
// by the PIN lockout rule (nil means time.Now).
func New(db *sqlx.DB, protector *pii.Protector, clock func() time.Time) *Store {
	if clock == nil {
		clock = time.Now
	}
	return &Store{db: db, pii: protector, now: clock, checker: pii.CheckPIN}
}

// Connect opens a connection pool to the PostgreSQL database at url and checks that it
// answers before ctx ends.
func Connect(ctx context.Context, url string) (*sqlx.DB, error) {
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return db, nil
}

// Open connects to the database at url and returns a Store on it with the wall clock.
// Close the Store when done.
func Open(ctx context.Context, url string, protector *pii.Protector) (*Store, error) {
	db, err := Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	return New(db, protector, nil), nil
}

// DB returns the connection pool under the Store, for packages that keep their own queries.
func (s *Store) DB() *sqlx.DB { return s.db }

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Ping reports whether the database answers; /readyz uses it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// get runs a single-row query into dest, turning "no rows" into hotline.ErrNotFound wrapped
// with what.
func (s *Store) get(ctx context.Context, what string, dest any, query string, args ...any) error {
	if err := s.db.GetContext(ctx, dest, query, args...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", what, hotline.ErrNotFound)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// list runs a query into dest, a pointer to a slice, wrapping failures with what.
func (s *Store) list(ctx context.Context, what string, dest any, query string, args ...any) error {
	if err := s.db.SelectContext(ctx, dest, query, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
