package throwaway

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// BinDirEnv is the environment variable naming the directory that holds
// PostgreSQL's server binaries (initdb, postgres). Options.BinDir overrides it.
const BinDirEnv = "HOTLINE_PG_BINDIR"

// ErrNoBinaries reports that PostgreSQL's server binaries could not be found.
// The error wrapping it says where Start looked and how to install them.
var ErrNoBinaries = errors.New("PostgreSQL server binaries (initdb, postgres) not found")

// installHint tells a person how to get the binaries; it ends every
// ErrNoBinaries message.
const installHint = "install the PostgreSQL server " +
	"(Debian/Ubuntu: apt-get install postgresql; Fedora/RHEL: dnf install postgresql-server; " +
	"macOS: brew install postgresql) or set " + BinDirEnv + " to the directory holding initdb and postgres"

// versionedBinDirs are the patterns where distributions put versioned server
// binaries that are not on PATH (Debian/Ubuntu, then the PGDG RPM layout).
var versionedBinDirs = []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin"}

// binaries are the paths of the server programs a cluster needs.
type binaries struct {
	initdb   string
	postgres string
}

// findBinaries locates initdb and postgres. An explicit dir (the option, or
// else the environment variable) is the only place looked at when given;
// otherwise PATH comes first and then the highest version of the
// distributions' versioned directories.
func findBinaries(dir string) (binaries, error) {
	source := "Options.BinDir"
	if dir == "" {
		dir, source = os.Getenv(BinDirEnv), BinDirEnv
	}
	if dir != "" {
		b, err := binariesIn(dir)
		if err != nil {
			return binaries{}, fmt.Errorf("%w in %s=%s (%v): %s", ErrNoBinaries, source, dir, err, installHint)
		}
		return b, nil
	}
	if initdb, err := exec.LookPath("initdb"); err == nil {
		// Prefer the postgres next to initdb so both come from one version.
		if b, err := binariesIn(filepath.Dir(initdb)); err == nil {
			return b, nil
		}
		if postgres, err := exec.LookPath("postgres"); err == nil {
			return binaries{initdb: initdb, postgres: postgres}, nil
		}
	}
	for _, d := range versionedDirs() {
		if b, err := binariesIn(d); err == nil {
			return b, nil
		}
	}
	return binaries{}, fmt.Errorf("%w on PATH or under %s: %s",
		ErrNoBinaries, strings.Join(versionedBinDirs, " or "), installHint)
}

// binariesIn returns the binaries of dir, or an error naming the first
// program missing there.
func binariesIn(dir string) (binaries, error) {
	b := binaries{initdb: filepath.Join(dir, "initdb"), postgres: filepath.Join(dir, "postgres")}
	for _, p := range []string{b.initdb, b.postgres} {
		if err := executable(p); err != nil {
			return binaries{}, err
		}
	}
	return b, nil
}

// executable reports whether path is a regular file someone may execute.
func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("no %s", filepath.Base(path))
	}
	if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not executable", path)
	}
	return nil
}

// versionedDirs lists the existing versioned binary directories, highest
// version first (so 16 beats 9.6, which beats 9.5).
func versionedDirs() []string {
	var dirs []string
	for _, pattern := range versionedBinDirs {
		m, _ := filepath.Glob(pattern)
		dirs = append(dirs, m...)
	}
	sort.SliceStable(dirs, func(i, j int) bool {
		return versionLess(dirVersion(dirs[j]), dirVersion(dirs[i]))
	})
	return dirs
}

// dirVersion extracts the version numbers from a directory such as
// /usr/lib/postgresql/15/bin or /usr/pgsql-9.6/bin.
func dirVersion(dir string) []int {
	name := filepath.Base(filepath.Dir(dir))
	name = strings.TrimPrefix(name, "pgsql-")
	var v []int
	for _, part := range strings.Split(name, ".") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil
		}
		v = append(v, n)
	}
	return v
}

// versionLess orders version number lists; unparseable (nil) sorts lowest.
func versionLess(a, b []int) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

// memoryDir is where Linux mounts a memory file system for everyone.
const memoryDir = "/dev/shm"

// MemoryDir returns a directory on a memory file system (tmpfs) suitable as
// Options.Dir, or "" when there is none we may write to. A cluster there
// starts and copies databases several times faster than on a slow disk
// (creating files dominates both), at the cost of RAM: right for tests,
// wrong for a million seeded citizens.
func MemoryDir() string {
	var fs syscall.Statfs_t
	if err := syscall.Statfs(memoryDir, &fs); err != nil || fs.Type != tmpfsMagic {
		return ""
	}
	if err := syscall.Access(memoryDir, 0o3); err != nil { // W_OK|X_OK
		return ""
	}
	return memoryDir
}

// tmpfsMagic is the statfs type of tmpfs (TMPFS_MAGIC in linux/magic.h).
const tmpfsMagic = 0x01021994
