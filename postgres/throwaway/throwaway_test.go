package throwaway_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foshan-hotline/hotline/postgres/throwaway"
)

func TestMain(m *testing.M) {
	// The abandoned-cluster test runs this binary as a child that starts a
	// cluster and is then killed.
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

// start starts a cluster and stops it when the test ends.
func start(t *testing.T, opts throwaway.Options) *throwaway.Cluster {
	t.Helper()
	c, err := throwaway.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return c
}

// open connects to url and closes the pool when the test ends.
func open(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatalf("sql.Open(%s): %v", url, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// queryString runs a query returning one text value.
func queryString(t *testing.T, db *sql.DB, q string, args ...any) string {
	t.Helper()
	var s string
	if err := db.QueryRowContext(context.Background(), q, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

func TestStartQueryStop(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		tcp  bool
	}{
		{name: "unix socket", tcp: false},
		{name: "tcp", tcp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := throwaway.Start(context.Background(), throwaway.Options{TCP: tt.tcp, User: "boss"})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			defer c.Stop()

			url := c.URL("postgres")
			if got, want := strings.Contains(url, "@127.0.0.1:"), tt.tcp; got != want {
				t.Errorf("URL %s: TCP address present = %v, want %v", url, got, want)
			}
			db := open(t, url)
			if got, want := queryString(t, db, "SELECT current_user"), "boss"; got != want {
				t.Errorf("current_user = %q, want %q", got, want)
			}
			if got, want := queryString(t, db, "SELECT rolsuper::text FROM pg_roles WHERE rolname = current_user"), "true"; got != want {
				t.Errorf("rolsuper = %q, want %q", got, want)
			}
			if got, want := queryString(t, db, "SHOW fsync"), "off"; got != want {
				t.Errorf("fsync = %q, want %q", got, want)
			}
			if got, want := queryString(t, db, "SHOW server_encoding"), "UTF8"; got != want {
				t.Errorf("server_encoding = %q, want %q", got, want)
			}
			if got, want := queryString(t, db, "SHOW listen_addresses") != "", tt.tcp; got != want {
				t.Errorf("listening on TCP = %v, want %v", got, want)
			}
			db.Close()

			if !processAlive(c.PID()) {
				t.Fatalf("postmaster %d not running while the cluster is up", c.PID())
			}
			if _, err := os.Stat(c.Dir()); err != nil {
				t.Fatalf("cluster directory: %v", err)
			}
			if err := c.Stop(); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if processAlive(c.PID()) {
				t.Errorf("postmaster %d still running after Stop", c.PID())
			}
			if _, err := os.Stat(c.Dir()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("cluster directory after Stop: %v, want not exist", err)
			}
			if err := c.Stop(); err != nil {
				t.Errorf("second Stop: %v", err)
			}
			err = c.CreateDatabase(context.Background(), "late", "")
			if got, want := err, throwaway.ErrStopped; !errors.Is(got, want) {
				t.Errorf("CreateDatabase after Stop = %v, want %v", got, want)
			}
		})
	}
}

func TestTCPNeedsPassword(t *testing.T) {
	t.Parallel()
	c := start(t, throwaway.Options{TCP: true})
	withPassword := c.URL("postgres")
	noPassword := strings.Replace(withPassword, ":"+passwordOf(t, withPassword)+"@", "@", 1)
	if noPassword == withPassword {
		t.Fatalf("URL %s carries no password", withPassword)
	}
	db := open(t, noPassword)
	if err := db.Ping(); err == nil {
		t.Errorf("TCP connection without password succeeded, want authentication failure")
	}
}

// passwordOf extracts the password of a postgres:// URL.
func passwordOf(t *testing.T, url string) string {
	t.Helper()
	rest := strings.TrimPrefix(url, "postgres://")
	userinfo, _, ok := strings.Cut(rest, "@")
	_, pw, ok2 := strings.Cut(userinfo, ":")
	if !ok || !ok2 {
		t.Fatalf("no password in %s", url)
	}
	return pw
}

func TestCreateDatabaseCopiesTemplate(t *testing.T) {
	t.Parallel()
	c := start(t, throwaway.Options{})
	ctx := context.Background()
	if err := c.CreateDatabase(ctx, "Tmpl-1", ""); err != nil {
		t.Fatalf("CreateDatabase template: %v", err)
	}
	tmpl := open(t, c.URL("Tmpl-1"))
	if _, err := tmpl.ExecContext(ctx, `CREATE TABLE district (code text PRIMARY KEY, name text NOT NULL);
		INSERT INTO district VALUES ('440604', '禅城区')`); err != nil {
		t.Fatalf("filling template: %v", err)
	}
	tmpl.Close() // copying needs the template without sessions

	if err := c.CreateDatabase(ctx, "copy", "Tmpl-1"); err != nil {
		t.Fatalf("CreateDatabase copy: %v", err)
	}
	cp := open(t, c.URL("copy"))
	if got, want := queryString(t, cp, "SELECT name FROM district WHERE code = $1", "440604"), "禅城区"; got != want {
		t.Errorf("copied row = %q, want %q", got, want)
	}

	// Dropping disconnects the copy's open session.
	if err := c.DropDatabase(ctx, "copy"); err != nil {
		t.Fatalf("DropDatabase with an open session: %v", err)
	}
	admin := open(t, c.URL("postgres"))
	if got, want := queryString(t, admin, "SELECT count(*)::text FROM pg_database WHERE datname = 'copy'"), "0"; got != want {
		t.Errorf("databases named copy after drop = %s, want %s", got, want)
	}
	if err := c.DropDatabase(ctx, "copy"); err != nil {
		t.Errorf("DropDatabase of a missing database: %v", err)
	}
	if err := c.CreateDatabase(ctx, "other", "no_such_template"); err == nil {
		t.Errorf("CreateDatabase from a missing template succeeded")
	}
}

// reachableTempDir returns a test directory that the server's system user
// can enter even when the test runs as root (t.TempDir makes 0700 ones).
func reachableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestMissingBinaries(t *testing.T) {
	empty := t.TempDir()
	parent := t.TempDir()
	tests := []struct {
		name   string
		opts   throwaway.Options
		env    string
		naming string
	}{
		{name: "option", opts: throwaway.Options{BinDir: empty, Dir: parent}, naming: "Options.BinDir=" + empty},
		{name: "environment", opts: throwaway.Options{Dir: parent}, env: empty, naming: throwaway.BinDirEnv + "=" + empty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(throwaway.BinDirEnv, tt.env)
			c, err := throwaway.Start(context.Background(), tt.opts)
			if err == nil {
				c.Stop()
				t.Fatalf("Start with no binaries succeeded")
			}
			if !errors.Is(err, throwaway.ErrNoBinaries) {
				t.Errorf("error %v is not ErrNoBinaries", err)
			}
			for _, want := range []string{"apt-get install postgresql", throwaway.BinDirEnv, tt.naming, "initdb"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("failed starts left %d entries in Options.Dir", len(left))
	}
}

func TestStartFailureReportsLogAndCleansUp(t *testing.T) {
	t.Parallel()
	parent := reachableTempDir(t)
	c, err := throwaway.Start(context.Background(), throwaway.Options{
		Dir:      parent,
		Settings: map[string]string{"shared_buffers": "lots"},
	})
	if err == nil {
		c.Stop()
		t.Fatalf("Start with an invalid setting succeeded")
	}
	if want := `invalid value for parameter "shared_buffers"`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not include the log line %q", err, want)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("failed start left %v in Options.Dir", left)
	}
}

func TestStartCancelled(t *testing.T) {
	t.Parallel()
	parent := reachableTempDir(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, err := throwaway.Start(ctx, throwaway.Options{Dir: parent})
	if err == nil {
		c.Stop()
		t.Fatalf("Start with a cancelled context succeeded")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v is not context.Canceled", err)
	}
	if left, _ := os.ReadDir(parent); len(left) != 0 {
		t.Errorf("cancelled start left %v in Options.Dir", left)
	}
}

func TestDirTooLongForSocket(t *testing.T) {
	t.Parallel()
	long := reachableTempDir(t) + "/" + strings.Repeat("d", 100)
	if err := os.Mkdir(long, 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := throwaway.Start(context.Background(), throwaway.Options{Dir: long})
	if err == nil {
		c.Stop()
		t.Fatalf("Start in a directory too long for a socket succeeded")
	}
	if want := "too long for a Unix socket"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if left, _ := os.ReadDir(long); len(left) != 0 {
		t.Errorf("failed start left %v", left)
	}
}

func TestRunAsUnknownUser(t *testing.T) {
	t.Parallel()
	c, err := throwaway.Start(context.Background(), throwaway.Options{RunAs: "no-such-user-hotline"})
	if os.Geteuid() != 0 {
		// An ordinary user runs the server as itself; RunAs is ignored.
		if err != nil {
			t.Fatalf("Start as an ordinary user with RunAs set: %v", err)
		}
		c.Stop()
		return
	}
	if err == nil {
		c.Stop()
		t.Fatalf("Start as root with an unknown RunAs user succeeded")
	}
	if !errors.Is(err, throwaway.ErrNoServerUser) {
		t.Errorf("error %v is not ErrNoServerUser", err)
	}
	if want := "no-such-user-hotline"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the user %q", err, want)
	}
}

// processAlive reports whether pid is a live (not zombie) process.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

func TestDirUnreachableForServerUser(t *testing.T) {
	t.Parallel()
	private := t.TempDir() // mode 0700, owned by us
	c, err := throwaway.Start(context.Background(), throwaway.Options{Dir: private})
	if os.Geteuid() != 0 {
		// We run the server ourselves, so our own directory is fine.
		if err != nil {
			t.Fatalf("Start in a private directory as an ordinary user: %v", err)
		}
		c.Stop()
		return
	}
	if err == nil {
		c.Stop()
		t.Fatalf("Start as root in a directory the server user cannot enter succeeded")
	}
	if want := "cannot enter"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
}

// openDB opens a pool and checks the connection.
func openDB(url string) (*sql.DB, error) {
	db, err := sql.Open("postgres", url)
	if err != nil {
		return nil, err
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
