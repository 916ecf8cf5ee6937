package repotest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRoot(t *testing.T) {
	root := Root(t)
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("Root = %s, which has no go.mod", root)
	}
	if got, want := Path(t, "flows"), filepath.Join(root, "flows"); got != want {
		t.Errorf("Path = %s, want %s", got, want)
	}
	if st, err := os.Stat(Shared(t, "ari-transcripts")); err != nil || !st.IsDir() {
		t.Errorf("Shared(ari-transcripts): %v", err)
	}
}
