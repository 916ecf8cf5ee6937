package throwaway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// ErrNoServerUser reports that the process runs as root and the system user
// the server should run as does not exist.
var ErrNoServerUser = errors.New("no system user to run PostgreSQL as")

// account is the system user that runs initdb and the server. The zero
// account means "the current user".
type account struct {
	name     string
	uid, gid int
}

// serverAccount decides who runs the server. PostgreSQL refuses to run as
// root, so a root process hands the cluster to an unprivileged system user.
func serverAccount(name string) (account, error) {
	if os.Geteuid() != 0 {
		return account{}, nil
	}
	if name == "" {
		name = "postgres"
	}
	u, err := user.Lookup(name)
	if err != nil {
		return account{}, fmt.Errorf("%w: running as root, which PostgreSQL refuses, and looking up user %q: %v "+
			"(install the postgresql package, which creates it, create it with useradd --system %s, "+
			"set Options.RunAs, or run as an ordinary user)", ErrNoServerUser, name, err, name)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return account{}, fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return account{}, fmt.Errorf("user %s: gid %q: %w", name, u.Gid, err)
	}
	if uid == 0 {
		return account{}, fmt.Errorf("%w: user %q is root", ErrNoServerUser, name)
	}
	return account{name: name, uid: uid, gid: gid}, nil
}

// switches reports whether processes must run under another identity.
func (a account) switches() bool { return a.name != "" }

// chown hands path to the account (a no-op for the current user).
func (a account) chown(path string) error {
	if !a.switches() {
		return nil
	}
	if err := os.Chown(path, a.uid, a.gid); err != nil {
		return fmt.Errorf("giving %s to user %s: %w", path, a.name, err)
	}
	return nil
}

// checkReach reports a clear error when the account cannot traverse every
// directory down to dir: otherwise initdb fails with a puzzling message. It
// looks at owner, primary group and other bits (not supplementary groups
// or ACLs), so it may reject a directory reachable in some other way.
func (a account) checkReach(dir string) error {
	if !a.switches() {
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for p := abs; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		mode := fi.Mode().Perm()
		var can bool
		switch {
		case int(st.Uid) == a.uid:
			can = mode&0o100 != 0
		case int(st.Gid) == a.gid:
			can = mode&0o010 != 0
		default:
			can = mode&0o001 != 0
		}
		if !can {
			return fmt.Errorf("user %s, which runs PostgreSQL because we are root, cannot enter %s (mode %v): "+
				"choose an Options.Dir (or TMPDIR) it can reach", a.name, p, mode)
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// sysProcAttr returns the attributes every child gets: its own process group,
// so a terminal's Ctrl-C reaches only us and we shut the cluster down in
// order; a parent-death signal, so an abandoned child does not linger; and
// the account's identity when it differs from ours.
func (a account) sysProcAttr(deathSignal syscall.Signal) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: deathSignal}
	if a.switches() {
		attr.Credential = &syscall.Credential{Uid: uint32(a.uid), Gid: uint32(a.gid), Groups: []uint32{}}
	}
	return attr
}

// watchdogScript runs a PostgreSQL program (initdb or the postmaster) as a
// background job and waits for it. The script itself receives SIGTERM when
// our process dies (its parent-death signal): it then signals the program,
// waits for it and removes the cluster directory, so an abandoned cluster
// cleans up after itself. The programs cannot be our direct children for
// this: the postmaster keeps its own children running, and neither removes
// the directory.
//
// $1 is the directory to remove, $2 the signal for the program (QUIT is
// the postmaster's immediate shutdown), the rest the program's command line.
const watchdogScript = `dir=$1 sig=$2
shift 2
pid=
trap 'if [ -n "$pid" ]; then kill -"$sig" "$pid" 2>/dev/null; wait "$pid"; fi; rm -rf -- "$dir"; exit 143' TERM
"$@" &
pid=$!
wait "$pid"
`

// watchdog returns the command running program under the watchdog, as the
// account, in dir, with its output going to log.
func watchdog(acct account, dir, sig, program string, args []string, log *os.File) *exec.Cmd {
	shArgs := append([]string{"-c", watchdogScript, "throwaway-watchdog", dir, sig, program}, args...)
	cmd := exec.Command("/bin/sh", shArgs...)
	cmd.Dir = dir
	cmd.Env = serverEnv()
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = acct.sysProcAttr(syscall.SIGTERM)
	return cmd
}

// server is a running watchdog with its postmaster.
type server struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the watchdog has exited
	err    error         // the watchdog's exit status, set before exited closes
}

// startServer starts the watchdog, which starts postgres with args. The
// child is started and waited for on one locked OS thread: Linux sends the
// parent-death signal when the thread that forked the child exits, and Go
// may otherwise retire that thread while the cluster still runs.
func startServer(acct account, dir, postgres string, args []string, log *os.File) (*server, error) {
	cmd := watchdog(acct, dir, "QUIT", postgres, args, log)

	s := &server{cmd: cmd, exited: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread ends with this goroutine, after
		// the child has exited, so its parent-death signal is harmless.
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		s.err = cmd.Wait()
		close(s.exited)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("starting postgres: %w", err)
	}
	return s, nil
}

// running reports whether the watchdog (and so, normally, the postmaster)
// has not exited yet.
func (s *server) running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// killGroup kills the watchdog's process group, the last resort when the
// postmaster does not stop.
func (s *server) killGroup() {
	if s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// runInitdb creates the data directory under the watchdog. The end of ctx
// stops initdb (and so removes the directory).
func runInitdb(ctx context.Context, acct account, dir, initdb string, args []string, log *os.File) error {
	cmd := watchdog(acct, dir, "TERM", initdb, args, log)
	// Lock the thread for the same reason as in startServer.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = cmd.Process.Signal(syscall.SIGTERM) })
	defer stop()
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("initdb: %w", ctx.Err())
		}
		return fmt.Errorf("initdb: %w", err)
	}
	return nil
}

// serverEnv is our environment without the variables that would point
// PostgreSQL's programs at another cluster, and with a neutral locale.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C")
}

// postmasterPID reads the postmaster's PID and whether it reports itself
// ready from the postmaster.pid file of a data directory.
func postmasterPID(dataDir string) (pid int, ready bool, err error) {
	b, err := os.ReadFile(dataDir + "/postmaster.pid")
	if err != nil {
		return 0, false, err
	}
	lines := strings.Split(string(b), "\n")
	pid, err = strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || pid <= 0 {
		return 0, false, fmt.Errorf("postmaster.pid: bad pid %q", lines[0])
	}
	// Line 8 holds the status since PostgreSQL 10; older servers lack it
	// and are judged by a connection alone.
	ready = len(lines) < 8 || strings.TrimSpace(lines[7]) == "ready"
	return pid, ready, nil
}

// tail returns the last n lines of the file at path, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	b = bytes.TrimRight(b, "\n")
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
