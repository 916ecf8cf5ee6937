// Package repotest locates the repository and the material beside it for tests: the shipped
// flows and sounds under the module root, and the recorded Asterisk behaviour in ../shared.
package repotest

import (
	"os"
	"path/filepath"
	"testing"
)

// Root returns the directory holding go.mod, found by walking up from the test's directory.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// Path returns a path under the repository root, such as Path(t, "sounds").
func Path(t testing.TB, elem ...string) string {
	t.Helper()
	return filepath.Join(append([]string{Root(t)}, elem...)...)
}

// Shared returns ../shared/<name> beside the repository (the recorded Asterisk transcripts
// and API description); the test fails, never skips, when it is missing.
func Shared(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Root(t), "..", "shared", name)
	if st, err := os.Stat(p); err != nil || !st.IsDir() {
		t.Fatalf("%s not found: it is expected beside the repository, at ../shared/%s from the directory holding go.mod", p, name)
	}
	return p
}
