package prompts

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/foshan-hotline/hotline/ivr/speech"
)

// repoSounds returns the sounds directory of the repository, found by walking
// up to the directory holding go.mod.
func repoSounds(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "sounds")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// TestCommittedSounds is `hotline sounds check` on the repository's sounds.
func TestCommittedSounds(t *testing.T) {
	if err := Check(repoSounds(t)); err != nil {
		t.Fatalf("sounds/ does not match its manifest (run hotline sounds build):\n%v", err)
	}
}

// TestManifestHasSpeechFragments: every fragment the speech package can say
// is a prompt with the same text, in Mandarin and Cantonese.
func TestManifestHasSpeechFragments(t *testing.T) {
	m, err := Load(repoSounds(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range speech.Inventory() {
		for _, lang := range []speech.Lang{speech.Mandarin, speech.Cantonese} {
			want, _ := speech.FragmentText(f, lang)
			got, ok := m.Text(string(f), string(lang))
			if !ok {
				t.Errorf("prompt %s has no %s text", f, lang)
				continue
			}
			if got != want {
				t.Errorf("prompt %s in %s is %q, speech says %q", f, lang, got, want)
			}
		}
	}
}
