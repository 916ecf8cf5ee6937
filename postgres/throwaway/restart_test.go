package throwaway_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/postgres/throwaway"
)

// TestRestart restarts a cluster: a session open before the restart is cut
// off, no connection succeeds while the server is down, a new one succeeds
// afterwards on the same URL, and committed data survives.
func TestRestart(t *testing.T) {
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
			t.Parallel()
			c := start(t, throwaway.Options{TCP: tt.tcp})
			url, port, oldPID := c.URL("postgres"), c.Port(), c.PID()
			ctx := context.Background()

			db := open(t, url)
			if _, err := db.Exec(`CREATE TABLE kept (note text); INSERT INTO kept VALUES ('before the restart')`); err != nil {
				t.Fatal(err)
			}
			before, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer before.Close()
			if err := before.PingContext(ctx); err != nil {
				t.Fatal(err)
			}

			restarted := make(chan error, 1)
			go func() { restarted <- c.Restart(ctx, 2*time.Second) }()
			// The old postmaster exits early in the two seconds the server
			// stays down; the bound only keeps a broken restart from hanging.
			deadline := time.Now().Add(time.Minute)
			for processAlive(oldPID) {
				if time.Now().After(deadline) {
					t.Fatalf("postmaster %d still running a minute into the restart", oldPID)
				}
				time.Sleep(10 * time.Millisecond)
			}
			var note string
			if err := before.QueryRowContext(ctx, "SELECT note FROM kept").Scan(&note); err == nil {
				t.Errorf("a session from before the restart still answers while the server is down")
			}
			if during, err := openDB(url); err == nil {
				during.Close()
				t.Errorf("a new connection succeeded while the server was down")
			}

			if err := <-restarted; err != nil {
				t.Fatalf("Restart: %v", err)
			}
			if c.URL("postgres") != url || c.Port() != port {
				t.Errorf("after the restart URL %s port %d, want %s port %d", c.URL("postgres"), c.Port(), url, port)
			}
			if c.PID() == oldPID || !processAlive(c.PID()) {
				t.Errorf("postmaster %d after the restart (was %d): want a new, running one", c.PID(), oldPID)
			}
			after, err := openDB(url)
			if err != nil {
				t.Fatalf("connecting after the restart: %v", err)
			}
			defer after.Close()
			if got, want := queryString(t, after, "SELECT note FROM kept"), "before the restart"; got != want {
				t.Errorf("after the restart the table holds %q, want %q", got, want)
			}
			// The pool from before the restart recovers: its dead sessions
			// are discarded and new ones opened.
			if got, want := queryString(t, db, "SELECT count(*)::text FROM kept"), "1"; got != want {
				t.Errorf("old pool after the restart: %s rows, want %s", got, want)
			}

			pid := c.PID()
			if err := c.Stop(); err != nil {
				t.Fatalf("Stop: %v", err)
			}
			if processAlive(pid) {
				t.Errorf("postmaster %d still running after Stop", pid)
			}
			if _, err := os.Stat(c.Dir()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("cluster directory after Stop: %v, want not exist", err)
			}
			if err := c.Restart(ctx, 0); !errors.Is(err, throwaway.ErrStopped) {
				t.Errorf("Restart after Stop = %v, want %v", err, throwaway.ErrStopped)
			}
		})
	}
}

// TestRestartCancelled leaves the server down when ctx ends during the
// wait, and Stop still cleans up.
func TestRestartCancelled(t *testing.T) {
	t.Parallel()
	c := start(t, throwaway.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := c.Restart(ctx, time.Hour)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Restart with a short context = %v, want %v", err, context.DeadlineExceeded)
	}
	if db, err := openDB(c.URL("postgres")); err == nil {
		db.Close()
		t.Errorf("the server answers after a cancelled restart")
	}
	if err := c.Stop(); err != nil {
		t.Errorf("Stop after a cancelled restart: %v", err)
	}
	if _, err := os.Stat(c.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory after Stop: %v, want not exist", err)
	}
}
