// Package throwaway runs a private, disposable PostgreSQL cluster from the
// system's server binaries, for the demo and for tests.
//
// Start runs initdb in a new temporary directory and starts the server with
// settings that trade durability for speed (fsync, synchronous_commit and
// full_page_writes off). The server listens on a Unix socket inside that
// directory and, with Options.TCP, on a free loopback port. The superuser
// role connects over the socket without a password; TCP needs the generated
// password, which URL includes.
//
// Callers stop the cluster themselves, and should make sure they do:
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	c, err := throwaway.Start(ctx, throwaway.Options{})
//	if err != nil {
//		return err
//	}
//	defer c.Stop()
//
// Stop shuts the server down (fast shutdown) and removes the directory; it
// may be called any number of times. Should the process die without calling
// it (SIGKILL, a panic, a test timeout), a small shell watchdog between us
// and initdb or the postmaster receives a parent-death signal, stops the
// program (the postmaster with an immediate shutdown) and removes the
// directory. The server runs in its own process group, so a terminal's
// Ctrl-C reaches only the caller, which then stops the cluster in order.
//
// One leftover remains possible: when the caller is root and Options.Dir
// is a directory the server's user may not write to, that user can empty
// but not remove an abandoned cluster's directory. The default, the temp
// directory (/tmp is sticky and world-writable), has no such leftover.
//
// PostgreSQL refuses to run as root. When the calling process is root, initdb
// and the server run as the "postgres" system user (Options.RunAs), which
// then owns the directory; root still reaches the socket. An ordinary user
// runs them as itself.
//
// The binaries are found in Options.BinDir, else in $HOTLINE_PG_BINDIR, else
// on PATH, else in the highest version under /usr/lib/postgresql/*/bin.
// Linux only: the watchdog is /bin/sh and relies on Linux's parent-death
// signal.
package throwaway

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/lib/pq" // the "postgres" database/sql driver
)

// Options configure a cluster. The zero value is a usable configuration.
type Options struct {
	// BinDir is the directory holding initdb and postgres. Empty means
	// $HOTLINE_PG_BINDIR, then PATH, then /usr/lib/postgresql/*/bin.
	BinDir string
	// Dir is the parent of the cluster's own temporary directory; empty
	// means os.TempDir(). Unix socket paths are short (about 100 bytes),
	// so keep it short.
	Dir string
	// TCP makes the server also listen on a free port of 127.0.0.1 and URL
	// return TCP URLs (with the superuser's password).
	TCP bool
	// User is the superuser role's name; empty means "postgres".
	User string
	// RunAs is the system user that runs the server when the caller is
	// root; empty means "postgres". Ignored for other callers.
	RunAs string
	// Settings are extra or overriding server settings (name → value),
	// passed as postgres -c name=value.
	Settings map[string]string
	// StartTimeout bounds the wait for the server to accept connections;
	// zero means one minute. The ctx given to Start bounds it as well.
	StartTimeout time.Duration
	// StopTimeout bounds the wait for a fast shutdown before Stop forces
	// the server down; zero means 30 seconds.
	StopTimeout time.Duration
	// Logger receives start and stop events; nil discards them.
	Logger *slog.Logger
}

// ErrStopped reports a use of a cluster after Stop.
var ErrStopped = errors.New("throwaway cluster stopped")

// Cluster is a running throwaway PostgreSQL cluster.
type Cluster struct {
	dir      string
	dataDir  string
	logPath  string
	user     string
	password string
	tcp      bool
	port     int
	pid      int
	version  int // server_version_num, e.g. 150018

	acct         account
	bins         binaries
	settings     map[string]string // Options.Settings, for restarts
	srv          *server
	admin        *sql.DB
	startTimeout time.Duration
	stopTimeout  time.Duration
	log          *slog.Logger

	mu       sync.Mutex // guards stopped; held through a restart
	stopped  bool
	stopOnce sync.Once
	stopErr  error
}

// socketPort is the port number in the socket file's name when the server
// listens on its private socket only; no one else uses that directory.
const socketPort = 5432

// maxSocketPath is the room for a Unix socket path (sun_path less its NUL).
const maxSocketPath = 107

// Start creates and starts a cluster and waits until it accepts
// connections. On error nothing is left behind; the error includes the tail
// of the server's log when the server failed.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	bins, err := findBinaries(opts.BinDir)
	if err != nil {
		return nil, err
	}
	acct, err := serverAccount(opts.RunAs)
	if err != nil {
		return nil, err
	}
	if err := acct.checkReach(orDefault(opts.Dir, os.TempDir())); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(opts.Dir, "hotline-pg-")
	if err != nil {
		return nil, fmt.Errorf("creating cluster directory: %w", err)
	}
	c := &Cluster{
		dir:          dir,
		dataDir:      filepath.Join(dir, "data"),
		logPath:      filepath.Join(dir, "postgres.log"),
		user:         orDefault(opts.User, "postgres"),
		tcp:          opts.TCP,
		acct:         acct,
		bins:         bins,
		settings:     opts.Settings,
		startTimeout: orDefault(opts.StartTimeout, time.Minute),
		stopTimeout:  orDefault(opts.StopTimeout, 30*time.Second),
		log:          log,
	}
	begin := time.Now()
	if err := c.start(ctx, bins, opts); err != nil {
		c.Stop()
		return nil, err
	}
	log.Info("throwaway postgres started", "dir", c.dir, "pid", c.pid, "version", c.version,
		"port", c.port, "tcp", c.tcp, "elapsed", time.Since(begin))
	return c, nil
}

// start does Start's work on the new cluster c; its caller cleans up.
func (c *Cluster) start(ctx context.Context, bins binaries, opts Options) error {
	if n := len(filepath.Join(c.dir, ".s.PGSQL.65535")); n > maxSocketPath {
		return fmt.Errorf("cluster directory %s is too long for a Unix socket (%d > %d bytes): use a shorter Options.Dir",
			c.dir, n, maxSocketPath)
	}
	if err := c.acct.chown(c.dir); err != nil {
		return err
	}
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("creating server log: %w", err)
	}
	defer logFile.Close() // the children hold their own descriptors
	if err := c.acct.chown(c.logPath); err != nil {
		return err
	}
	if err := c.initdb(ctx, bins, logFile); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(ctx, c.startTimeout)
	defer cancel()
	// A free TCP port may be taken between our probe and the server's
	// bind; try a few times before giving up.
	attempts := 1
	if c.tcp {
		attempts = 3
	}
	for i := 1; ; i++ {
		err = c.launch(ctx, bins, opts.Settings, logFile)
		if err == nil || i == attempts || !strings.Contains(tail(c.logPath, 10), "could not bind") {
			return err
		}
		c.log.Warn("throwaway postgres: port taken, retrying", "port", c.port)
	}
}

// initdb creates the data directory with the superuser role and its
// password (trust on the socket, the password over TCP).
func (c *Cluster) initdb(ctx context.Context, bins binaries, logFile *os.File) error {
	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("generating password: %w", err)
	}
	c.password = hex.EncodeToString(secret)
	pwfile := filepath.Join(c.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing password file: %w", err)
	}
	defer os.Remove(pwfile)
	if err := c.acct.chown(pwfile); err != nil {
		return err
	}
	args := []string{
		"-D", c.dataDir, "-U", c.user, "--pwfile=" + pwfile,
		"--auth-local=trust", "--auth-host=scram-sha-256",
		"-E", "UTF8", "--no-locale", "--no-sync",
	}
	if err := runInitdb(ctx, c.acct, c.dir, bins.initdb, args, logFile); err != nil {
		return fmt.Errorf("%w; log %s:\n%s", err, c.logPath, tail(c.logPath, 20))
	}
	return nil
}

// launch chooses the port, starts the server and waits until a connection
// succeeds.
func (c *Cluster) launch(ctx context.Context, bins binaries, extra map[string]string, logFile *os.File) error {
	c.port = socketPort
	if c.tcp {
		port, err := freePort()
		if err != nil {
			return err
		}
		c.port = port
	}
	return c.serve(ctx, bins, extra, logFile)
}

// serve starts the server on c.port and waits until a connection succeeds.
func (c *Cluster) serve(ctx context.Context, bins binaries, extra map[string]string, logFile *os.File) error {
	listen := ""
	if c.tcp {
		listen = "127.0.0.1"
	}
	settings := map[string]string{
		"listen_addresses":        listen,
		"port":                    strconv.Itoa(c.port),
		"unix_socket_directories": c.dir,
		"unix_socket_permissions": "0700",
		"fsync":                   "off",
		"synchronous_commit":      "off",
		"full_page_writes":        "off",
		"wal_level":               "minimal",
		"max_wal_senders":         "0",
		"shared_buffers":          "64MB",
		"max_connections":         "200",
		"jit":                     "off",
	}
	for k, v := range extra {
		settings[k] = v
	}
	args := []string{"-D", c.dataDir}
	for _, k := range sortedKeys(settings) {
		args = append(args, "-c", k+"="+settings[k])
	}
	srv, err := startServer(c.acct, c.dir, bins.postgres, args, logFile)
	if err != nil {
		return err
	}
	c.srv = srv
	return c.waitReady(ctx)
}

// waitReady polls until the postmaster reports itself ready and a real
// connection succeeds, the server exits, or ctx ends.
func (c *Cluster) waitReady(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		select {
		case <-c.srv.exited:
			return fmt.Errorf("postgres exited during start-up (%v); log %s:\n%s",
				c.srv.err, c.logPath, tail(c.logPath, 20))
		case <-ctx.Done():
			return fmt.Errorf("waiting for postgres to accept connections: %w (last error: %v); log %s:\n%s",
				ctx.Err(), lastErr, c.logPath, tail(c.logPath, 20))
		case <-tick.C:
		}
		pid, ready, err := postmasterPID(c.dataDir)
		if err != nil || !ready {
			lastErr = err
			continue
		}
		c.pid = pid
		if lastErr = c.connect(ctx); lastErr == nil {
			return nil
		}
	}
}

// connect opens the administrative connection pool (to the "postgres"
// database) and reads the server version.
func (c *Cluster) connect(ctx context.Context) error {
	db, err := sql.Open("postgres", c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("opening admin connection: %w", err)
	}
	if err := db.QueryRowContext(ctx, "SHOW server_version_num").Scan(&c.version); err != nil {
		db.Close()
		return fmt.Errorf("querying server version: %w", err)
	}
	db.SetMaxIdleConns(1)
	c.admin = db
	return nil
}

// Stop shuts the server down (fast shutdown: sessions are disconnected) and
// removes the cluster directory. It may be called more than once, also
// concurrently; every call returns the first call's result.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() {
		c.mu.Lock()
		c.stopped = true
		c.mu.Unlock()
		c.stopErr = c.stop()
	})
	return c.stopErr
}

// stop does Stop's work once.
func (c *Cluster) stop() error {
	var errs []error
	if c.admin != nil {
		if err := c.admin.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing admin connection: %w", err))
		}
	}
	if c.srv != nil && c.srv.running() {
		if err := c.shutdown(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, fmt.Errorf("removing cluster directory: %w", err))
	}
	c.log.Info("throwaway postgres stopped", "dir", c.dir, "pid", c.pid)
	return errors.Join(errs...)
}

// shutdown asks the postmaster for a fast shutdown, then an immediate one,
// then kills the watchdog's process group, waiting for the watchdog to exit
// after each step.
func (c *Cluster) shutdown() error {
	pid := c.pid
	if pid == 0 {
		// Start failed before the server reported its PID.
		pid, _, _ = postmasterPID(c.dataDir)
	}
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGINT, c.stopTimeout}, {syscall.SIGQUIT, 10 * time.Second}}
	for _, step := range steps {
		if pid > 0 {
			_ = syscall.Kill(pid, step.sig)
		} else {
			// No postmaster PID: let the watchdog stop whatever it started.
			_ = syscall.Kill(c.srv.cmd.Process.Pid, syscall.SIGTERM)
		}
		select {
		case <-c.srv.exited:
			return nil
		case <-time.After(step.wait):
			c.log.Warn("throwaway postgres: still running", "pid", pid, "signal", step.sig.String())
		}
	}
	c.srv.killGroup()
	<-c.srv.exited
	return fmt.Errorf("postgres (pid %d) ignored shutdown requests and was killed", pid)
}

// Restart stops the server as Stop does (fast shutdown: sessions are
// disconnected), leaves it down for the given duration, starts it again on
// the same data directory and port and waits until it accepts connections,
// as a database server restarted by its operator does. Data committed before
// the restart survives it. A restart that fails to start the server leaves
// the cluster down; Stop still cleans up. Stop waits for a restart in
// progress; Restart after Stop returns ErrStopped. The end of ctx cuts the
// wait short and bounds the start-up (as does Options.StartTimeout).
//
// PID returns the new postmaster's ID afterwards; the accessors are not
// meant to be called during a restart.
func (c *Cluster) Restart(ctx context.Context, down time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return ErrStopped
	}
	begin := time.Now()
	if c.admin != nil {
		c.admin.Close()
		c.admin = nil
	}
	if c.srv != nil && c.srv.running() {
		if err := c.shutdown(); err != nil {
			return fmt.Errorf("restart: %w", err)
		}
	}
	c.log.Info("throwaway postgres down for a restart", "dir", c.dir, "pid", c.pid, "down", down)
	c.pid = 0
	select {
	case <-ctx.Done():
		return fmt.Errorf("restart: server left down: %w", ctx.Err())
	case <-time.After(down):
	}
	logFile, err := os.OpenFile(c.logPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("restart: opening server log: %w", err)
	}
	defer logFile.Close() // the children hold their own descriptors
	ctx, cancel := context.WithTimeout(ctx, c.startTimeout)
	defer cancel()
	if err := c.serve(ctx, c.bins, c.settings, logFile); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	c.log.Info("throwaway postgres restarted", "dir", c.dir, "pid", c.pid, "port", c.port,
		"elapsed", time.Since(begin))
	return nil
}

// URL returns a lib/pq connection URL for database dbname as the superuser:
// over the Unix socket (postgres://postgres@/db?host=/dir&port=5432&...)
// or, with Options.TCP, over loopback TCP with the password.
func (c *Cluster) URL(dbname string) string {
	if c.tcp {
		u := url.URL{
			Scheme:   "postgres",
			User:     url.UserPassword(c.user, c.password),
			Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
			Path:     "/" + dbname,
			RawQuery: "sslmode=disable",
		}
		return u.String()
	}
	u := url.URL{Scheme: "postgres", User: url.User(c.user), Path: "/" + dbname}
	// The port is explicit so that a PGPORT in the environment cannot
	// redirect the client to a socket that does not exist. Slashes are
	// left readable; they are allowed in a query.
	host := strings.ReplaceAll(url.QueryEscape(c.dir), "%2F", "/")
	return fmt.Sprintf("%s?host=%s&port=%d&sslmode=disable", u.String(), host, c.port)
}

// Dir returns the cluster's directory (data, socket and log), which Stop
// removes.
func (c *Cluster) Dir() string { return c.dir }

// LogPath returns the path of the server's log file.
func (c *Cluster) LogPath() string { return c.logPath }

// PID returns the postmaster's process ID.
func (c *Cluster) PID() int { return c.pid }

// Port returns the TCP port, or the port number in the socket's name.
func (c *Cluster) Port() int { return c.port }

// Version returns the server's version number, e.g. 150018 for 15.18.
func (c *Cluster) Version() int { return c.version }

// freePort asks the kernel for a port of 127.0.0.1 nobody listens on.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// orDefault returns v, or def when v is the zero value.
func orDefault[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
