package prompts

import (
	"testing"

	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr/speech"
)

// TestCommittedSounds is `hotline sounds check` on the repository's sounds.
func TestCommittedSounds(t *testing.T) {
	if err := Check(repotest.Path(t, "sounds")); err != nil {
		t.Fatalf("sounds/ does not match its manifest (run hotline sounds build):\n%v", err)
	}
}

// TestManifestHasSpeechFragments: every fragment the speech package can say
// is a prompt with the same text, in Mandarin and Cantonese.
func TestManifestHasSpeechFragments(t *testing.T) {
	m, err := Load(repotest.Path(t, "sounds"))
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
