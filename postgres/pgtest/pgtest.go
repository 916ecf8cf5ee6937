// Package pgtest gives every test its own fresh PostgreSQL database.
//
// A test binary shares one server: TestMain calls Main, which starts a
// throwaway cluster (or uses the server named by $HOTLINE_TEST_DATABASE_URL),
// creates a template database, lets prepare fill it (apply migrations, load
// fixtures) and runs the tests. DB and URL then copy the template into a new
// database for the calling test, which is fast, and drop it when the test
// ends. Tests may call them from parallel tests.
//
//	func TestMain(m *testing.M) {
//		pgtest.Main(m, func(ctx context.Context, url string) error {
//			return migrateUp(ctx, url)
//		})
//	}
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		db := pgtest.DB(t)
//		...
//	}
//
// The throwaway cluster lives on a memory file system (/dev/shm) where there
// is one: copying the template there takes tens of milliseconds rather than
// hundreds on a slow disk. Keep test data small accordingly.
//
// Without PostgreSQL's server binaries and without the variable, Main makes
// the test binary fail with a message saying how to install them: tests are
// never skipped for a missing database.
//
// The package keeps the server in package state: one per test binary is its
// purpose.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline/postgres/throwaway"
)

// URLEnv names the environment variable that points the tests at an
// existing server instead of a throwaway cluster. Its value is a lib/pq URL
// (postgres://user:password@host:port/dbname?sslmode=...) whose user may
// create databases; pgtest creates and drops its own databases there,
// named pgtest_*, and leaves the URL's database alone.
const URLEnv = "HOTLINE_TEST_DATABASE_URL"

// current is the server of this test binary, set by Main.
var current *harness

// Main runs the tests of a package that uses DB or URL, and exits. Call it
// from TestMain. prepare, which may be nil, receives the URL of the
// template database; what it leaves there is in every test's database. Its
// connections to the template must be closed when it returns (any left are
// terminated). Main stops the cluster, or drops its databases from an
// external server, when the tests end or the process is interrupted.
func Main(m *testing.M, prepare func(ctx context.Context, url string) error) {
	os.Exit(run(m, prepare))
}

// run is Main without the exit, so deferred work happens.
func run(m *testing.M, prepare func(ctx context.Context, url string) error) int {
	h, err := setup(context.Background(), prepare)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		return 1
	}
	current = h
	stopWatching := h.closeOnSignal()
	code := m.Run()
	stopWatching()
	if err := h.close(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// harness is the server of a test binary and its template database.
type harness struct {
	admin    *sqlx.DB               // to a database other than the copies
	urlFor   func(db string) string // the URL of a database on the server
	stop     func() error           // stops a throwaway cluster; nil for an external server
	cluster  *throwaway.Cluster     // the throwaway cluster; nil for an external server
	version  int                    // server_version_num
	prefix   string                 // of every database this binary creates
	template string

	createMu sync.Mutex // serializes copies of the template
	n        atomic.Int64

	mu   sync.Mutex
	live map[string]bool // databases created and not yet dropped
}

// setup starts or reaches the server and prepares the template database.
func setup(ctx context.Context, prepare func(ctx context.Context, url string) error) (*harness, error) {
	h, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := h.prepareTemplate(ctx, prepare); err != nil {
		if cerr := h.close(); cerr != nil {
			err = fmt.Errorf("%w (and cleaning up: %v)", err, cerr)
		}
		return nil, err
	}
	return h, nil
}

// connect starts a throwaway cluster, or reaches the external server when
// URLEnv is set.
func connect(ctx context.Context) (*harness, error) {
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return nil, fmt.Errorf("naming databases: %w", err)
	}
	h := &harness{prefix: "pgtest_" + hex.EncodeToString(suffix), live: map[string]bool{}}
	h.template = h.prefix + "_template"

	adminURL := os.Getenv(URLEnv)
	if adminURL != "" {
		urlFor, err := externalURLs(adminURL)
		if err != nil {
			return nil, err
		}
		h.urlFor = urlFor
	} else {
		// A memory file system makes copying the template several times
		// faster where there is one; the temp dir serves otherwise.
		c, err := throwaway.Start(ctx, throwaway.Options{Dir: throwaway.MemoryDir()})
		if err != nil {
			return nil, fmt.Errorf("no test database: %w (or set %s to use an existing server)", err, URLEnv)
		}
		h.urlFor, h.stop, h.cluster = c.URL, c.Stop, c
		adminURL = c.URL("postgres")
	}
	admin, err := sqlx.Open("postgres", adminURL)
	if err == nil {
		err = admin.GetContext(ctx, &h.version, "SHOW server_version_num")
	}
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		if h.stop != nil {
			h.stop()
		}
		return nil, fmt.Errorf("connecting to the test server: %w", err)
	}
	h.admin = admin
	return h, nil
}

// externalURLs returns a function giving the URL of a database on the same
// server as base, a postgres:// URL.
func externalURLs(base string) (func(string) string, error) {
	u, err := parseURL(base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", URLEnv, err)
	}
	return func(db string) string {
		v := *u
		v.Path = "/" + db
		v.RawPath = ""
		return v.String()
	}, nil
}

// prepareTemplate creates the template, runs prepare on it and seals it:
// no session may stay connected or connect later, since either makes
// copying it fail.
func (h *harness) prepareTemplate(ctx context.Context, prepare func(ctx context.Context, url string) error) error {
	if err := h.exec(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(h.template)); err != nil {
		return fmt.Errorf("creating template database: %w", err)
	}
	h.track(h.template, true)
	if prepare != nil {
		if err := prepare(ctx, h.urlFor(h.template)); err != nil {
			return fmt.Errorf("preparing template database: %w", err)
		}
	}
	if err := h.exec(ctx, "ALTER DATABASE "+pq.QuoteIdentifier(h.template)+" WITH ALLOW_CONNECTIONS false"); err != nil {
		return fmt.Errorf("sealing template database: %w", err)
	}
	const terminate = `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`
	if _, err := h.admin.ExecContext(ctx, terminate, h.template); err != nil {
		return fmt.Errorf("closing sessions of the template database: %w", err)
	}
	return nil
}

// DB returns a connection pool to a new database for t, a copy of the
// template that Main prepared. The pool is closed and the database dropped
// when t ends.
func DB(t testing.TB) *sqlx.DB {
	t.Helper()
	return open(t, URL(t))
}

// URL returns the lib/pq URL of a new database for t, a copy of the
// template that Main prepared. The database is dropped when t ends, its
// open sessions disconnected.
func URL(t testing.TB) string {
	t.Helper()
	return newDatabase(t, harnessOf(t).template)
}

// EmptyDB returns a connection pool to a new database for t without the
// template's content (a copy of PostgreSQL's template0), for tests of
// migrations themselves. It is closed and dropped when t ends.
func EmptyDB(t testing.TB) *sqlx.DB {
	t.Helper()
	return open(t, EmptyURL(t))
}

// EmptyURL returns the lib/pq URL of a new database for t without the
// template's content, dropped when t ends.
func EmptyURL(t testing.TB) string {
	t.Helper()
	return newDatabase(t, "template0")
}

// open opens and checks a pool that is closed when t ends.
func open(t testing.TB, url string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatalf("pgtest: opening %s: %v", url, err)
	}
	// Registered after newDatabase's cleanup, so it runs before the drop.
	t.Cleanup(func() { db.Close() })
	if err := db.PingContext(t.Context()); err != nil {
		t.Fatalf("pgtest: connecting to the test database: %v", err)
	}
	return db
}

// Restart restarts the test binary's throwaway server, as an operator
// restarting PostgreSQL does: a fast shutdown disconnects every session, the
// server stays down for down (new connections are refused) and starts again
// on the same data and address, and Restart returns once it accepts
// connections. Databases and their data survive; pools reconnect on their
// own. Copies of the template wait for the restart to end. Every test of the
// binary loses its sessions, so a test that restarts the server should not
// run in parallel with others.
//
// A failure is reported with t.Errorf, so Restart may run on a goroutine of
// its own while the test drives load; it returns whether the server is up
// again. With an external server (URLEnv) it fails: pgtest does not own
// that server.
func Restart(t testing.TB, down time.Duration) bool {
	t.Helper()
	h := current
	if h == nil {
		t.Errorf("pgtest: no test server: call pgtest.Main(m, prepare) from TestMain")
		return false
	}
	if h.cluster == nil {
		t.Errorf("pgtest: Restart needs the throwaway server; %s names a server pgtest does not own", URLEnv)
		return false
	}
	h.createMu.Lock()
	defer h.createMu.Unlock()
	if err := h.cluster.Restart(t.Context(), down); err != nil {
		t.Errorf("pgtest: restarting the test server: %v", err)
		return false
	}
	return true
}

// harnessOf returns the binary's server or fails t.
func harnessOf(t testing.TB) *harness {
	t.Helper()
	if current == nil {
		t.Fatalf("pgtest: no test server: call pgtest.Main(m, prepare) from TestMain")
	}
	return current
}

// newDatabase copies template into a new database named after t and
// registers its drop.
func newDatabase(t testing.TB, template string) string {
	t.Helper()
	h := harnessOf(t)
	name := h.name(t.Name())
	if err := h.create(t.Context(), name, template); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := h.drop(ctx, name); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return h.urlFor(name)
}

// name makes a database name unique to this binary and readable in
// pg_stat_activity: prefix, a sequence number and the test's name, within
// PostgreSQL's 63 bytes.
func (h *harness) name(testName string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s_%d_", h.prefix, h.n.Add(1))
	underscore := true
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 63 {
			break
		}
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		switch {
		case ok:
			b.WriteRune(r)
			underscore = false
		case !underscore:
			b.WriteByte('_')
			underscore = true
		}
	}
	return strings.TrimRight(b.String(), "_")
}

// create copies template into database name. Copies are serialized:
// PostgreSQL refuses to copy a database others are connected to, and the
// copies would only compete for the same disk anyway.
func (h *harness) create(ctx context.Context, name, template string) error {
	h.createMu.Lock()
	defer h.createMu.Unlock()
	q := "CREATE DATABASE " + pq.QuoteIdentifier(name) + " TEMPLATE " + pq.QuoteIdentifier(template)
	if err := h.exec(ctx, q); err != nil {
		return fmt.Errorf("creating test database %s: %w", name, err)
	}
	h.track(name, true)
	return nil
}

// drop drops database name and disconnects its sessions.
func (h *harness) drop(ctx context.Context, name string) error {
	q := "DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name)
	if h.version >= 130000 {
		q += " WITH (FORCE)"
	} else {
		const terminate = `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`
		if _, err := h.admin.ExecContext(ctx, terminate, name); err != nil {
			return fmt.Errorf("disconnecting test database %s: %w", name, err)
		}
	}
	if err := h.exec(ctx, q); err != nil {
		return fmt.Errorf("dropping test database %s: %w", name, err)
	}
	h.track(name, false)
	return nil
}

// exec runs a statement on the admin connection.
func (h *harness) exec(ctx context.Context, q string) error {
	_, err := h.admin.ExecContext(ctx, q)
	return err
}

// track records whether database name exists.
func (h *harness) track(name string, exists bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if exists {
		h.live[name] = true
	} else {
		delete(h.live, name)
	}
}

// close stops the throwaway cluster, or drops what is left of this
// binary's databases on the external server.
func (h *harness) close() error {
	if h.stop != nil {
		h.admin.Close()
		return h.stop()
	}
	defer h.admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h.mu.Lock()
	names := make([]string, 0, len(h.live))
	for name := range h.live {
		names = append(names, name)
	}
	h.mu.Unlock()
	var first error
	for _, name := range names {
		if err := h.drop(ctx, name); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// closeOnSignal cleans up and exits when the process is interrupted or
// terminated while tests run; the returned function stops watching.
func (h *harness) closeOnSignal() (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			fmt.Fprintf(os.Stderr, "pgtest: %v: removing test databases\n", sig)
			if err := h.close(); err != nil {
				fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
			}
			os.Exit(1)
		case <-done:
		}
	}()
	return func() {
		signal.Stop(sigs)
		close(done)
	}
}

// parseURL parses a postgres:// or postgresql:// URL.
func parseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if uerr, ok := err.(*url.Error); ok {
		err = uerr.Err // the message would repeat the URL, password and all
	}
	if err != nil {
		return nil, fmt.Errorf("not a URL: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("want a postgres:// URL, got scheme %q", u.Scheme)
	}
	return u, nil
}
