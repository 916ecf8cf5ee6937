package throwaway_test

import (
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestOrdinaryUser runs some of these tests again as an unprivileged user
// ("nobody"), so that a root run also covers the code path in which the
// server runs as the caller itself.
func TestOrdinaryUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("already running as an ordinary user: every other test covers that path")
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("running as root needs the user nobody for this test: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)

	// The go tool's build directory is root's; copy the binary out of it.
	bin := filepath.Join(reachableTempDir(t), "throwaway.test")
	if err := copyFile(os.Args[0], bin, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := "^(TestStartQueryStop|TestCreateDatabaseCopiesTemplate|TestAbandonedClusterCleansUp)$"
	cmd := exec.Command(bin, "-test.run="+tests, "-test.count=1", "-test.v")
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = append(os.Environ(), "TMPDIR="+os.TempDir(), "HOME="+os.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}},
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("tests as user nobody: %v\n%s", err, out)
	}
	for _, name := range []string{"TestStartQueryStop", "TestCreateDatabaseCopiesTemplate", "TestAbandonedClusterCleansUp"} {
		if !strings.Contains(string(out), "--- PASS: "+name) {
			t.Errorf("%s did not pass as user nobody:\n%s", name, out)
		}
	}
}

// copyFile copies src to dst with mode perm.
func copyFile(src, dst string, perm os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
