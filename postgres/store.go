package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
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
	stmts   sync.Map // query text → *sqlx.Stmt

	callbackSpacing time.Duration
	// workOrders are the deadline rules of the orders voice messages make (SetWorkOrderRules).
	workOrders WorkOrderRules
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

// Close closes the prepared statements and the connection pool.
func (s *Store) Close() error {
	s.stmts.Range(func(_, st any) bool {
		st.(*sqlx.Stmt).Close()
		return true
	})
	return s.db.Close()
}

// Ping reports whether the database answers; /readyz uses it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	return nil
}

// prepared returns query as a statement prepared once per pooled connection. The IVR's
// lookups run thousands of times a minute; planning a join costs more than executing it, and a
// prepared statement is planned once per connection.
func (s *Store) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sqlx.Stmt), nil
	}
	st, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return st, nil
}

// get runs a single-row query into dest, turning "no rows" into hotline.ErrNotFound wrapped
// with what.
func (s *Store) get(ctx context.Context, what string, dest any, query string, args ...any) error {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return fmt.Errorf("%s: prepare: %w", what, err)
	}
	if err := st.GetContext(ctx, dest, args...); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%s: %w", what, hotline.ErrNotFound)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// list runs a query into dest, a pointer to a slice, wrapping failures with what.
func (s *Store) list(ctx context.Context, what string, dest any, query string, args ...any) error {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return fmt.Errorf("%s: prepare: %w", what, err)
	}
	if err := st.SelectContext(ctx, dest, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
