package throwaway_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/postgres/throwaway"
)

// childEnv switches this test binary into the child that starts a cluster,
// reports it and waits to be killed; its value is "dir:" and the
// cluster's parent directory (empty for the default).
const childEnv = "HOTLINE_THROWAWAY_TEST_CHILD"

// childRestartEnv, set, makes the child restart its cluster before reporting it, so the
// watchdog under test is the one the restart started.
const childRestartEnv = "HOTLINE_THROWAWAY_TEST_CHILD_RESTART"

// childMain starts a cluster, prints "dir pid" and blocks until killed.
func childMain() int {
	c, err := throwaway.Start(context.Background(), throwaway.Options{Dir: strings.TrimPrefix(os.Getenv(childEnv), "dir:")})
	if err != nil {
		fmt.Println("error:", err)
		return 2
	}
	if os.Getenv(childRestartEnv) != "" {
		if err := c.Restart(context.Background(), 0); err != nil {
			c.Stop()
			fmt.Println("error:", err)
			return 2
		}
	}
	fmt.Println(c.Dir(), c.PID())
	select {} // the server's waiting goroutine keeps the runtime busy
}

// TestAbandonedClusterCleansUp kills (SIGKILL) a process that owns a
// cluster, so no Stop runs, and checks that the postmaster exits and the
// cluster directory disappears on their own.
//
// The watchdog runs as the server's user. When we are root, that user can
// empty the cluster directory but remove the directory itself only from a
// parent it may write to (such as /tmp, which is sticky and world-writable):
// under a parent only root may write, an empty directory stays behind.
func TestAbandonedClusterCleansUp(t *testing.T) {
	rootOnly := reachableTempDir(t) // 0755, owned by us
	tests := []struct {
		name      string
		parent    string
		restart   bool // the cluster was restarted before its owner died
		wantEmpty bool // the directory stays, empty, instead of vanishing
	}{
		{name: "default temp dir", parent: ""},
		{name: "after a restart", parent: "", restart: true},
		{name: "parent only we may write", parent: rootOnly, wantEmpty: os.Geteuid() == 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, pid := startChild(t, tt.parent, tt.restart)
			// A liveness bound, not a timing assertion: cleanup normally
			// takes a fraction of a second.
			deadline := time.Now().Add(30 * time.Second)
			for processAlive(pid) || (!tt.wantEmpty && exists(dir)) || (tt.wantEmpty && !isEmpty(dir)) {
				if time.Now().After(deadline) {
					alive, left := processAlive(pid), exists(dir)
					// Don't leave the cluster to the next test run.
					if alive {
						_ = syscall.Kill(pid, syscall.SIGQUIT)
					}
					os.RemoveAll(dir)
					t.Fatalf("30 s after the owner's death: postmaster %d alive = %v, directory %s exists = %v",
						pid, alive, dir, left)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if tt.wantEmpty {
				if err := os.Remove(dir); err != nil {
					t.Errorf("removing the emptied directory: %v", err)
				}
			}
		})
	}
}

// startChild runs this binary as a child that starts a cluster under
// parent (and restarts it), kills the child once the cluster is up, and
// returns the cluster's directory and postmaster PID.
func startChild(t *testing.T, parent string, restart bool) (dir string, pid int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=dir:"+parent)
	if restart {
		cmd.Env = append(cmd.Env, childRestartEnv+"=1")
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting child: %v", err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading child's report: %v", err)
	}
	if _, err := fmt.Sscan(line, &dir, &pid); err != nil || strings.HasPrefix(line, "error:") {
		t.Fatalf("child: %s", line)
	}
	if !processAlive(pid) {
		t.Fatalf("postmaster %d not running before the kill", pid)
	}
	return dir, pid
}

// TestAbandonedInitdbCleansUp kills a process while it runs initdb for a
// cluster and checks that initdb exits and the directory disappears.
func TestAbandonedInitdbCleansUp(t *testing.T) {
	parent := reachableTempDir(t)
	// Sticky and world-writable like /tmp, so the server's user may remove
	// the cluster directory also when we are root.
	if err := os.Chmod(parent, 0o1777); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=dir:"+parent)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting child: %v", err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()

	// Kill the child once initdb has begun to fill the data directory.
	// Should initdb have finished by then, the server's watchdog is tested
	// instead, which TestAbandonedClusterCleansUp covers too.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m, _ := filepath.Glob(filepath.Join(parent, "hotline-pg-*", "data", "base")); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("initdb did not start within 30 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	deadline = time.Now().Add(30 * time.Second)
	for !isEmpty(parent) || len(processesMentioning(parent)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("30 s after the owner's death: left in %s: %v; processes: %v",
				parent, entries(parent), processesMentioning(parent))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processesMentioning lists the live processes whose command line contains s.
func processesMentioning(s string) []string {
	var found []string
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		pid, _ := strconv.Atoi(filepath.Base(d))
		if err == nil && strings.Contains(string(b), s) && processAlive(pid) {
			found = append(found, fmt.Sprintf("%d %s", pid, strings.ReplaceAll(string(b), "\x00", " ")))
		}
	}
	return found
}

// entries lists the names in dir.
func entries(dir string) []string {
	list, _ := os.ReadDir(dir)
	var names []string
	for _, e := range list {
		names = append(names, e.Name())
	}
	return names
}

// isEmpty reports whether dir exists and has no entries.
func isEmpty(dir string) bool {
	entries, err := os.ReadDir(dir)
	return err == nil && len(entries) == 0
}

// exists reports whether path exists.
func exists(path string) bool {
	_, err := os.Stat(path)
	return !errors.Is(err, os.ErrNotExist)
}
