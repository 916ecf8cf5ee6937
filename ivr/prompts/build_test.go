package prompts

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// needTools fails the test when the sound tools are missing: the committed
// sounds cannot be rebuilt without them.
func needTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: apt-get install espeak-ng sox", tool)
		}
	}
}

const buildManifest = `languages:
  zh: {voice: cmn-latn-pinyin, required: true}
  yue: {voice: yue, required: true}
prompts:
  common/goodbye: {zh: 感谢您的来电，再见, yue: 多谢您的来电，再见}
  common/beep: {tone: {hz: 1000, seconds: 0.3}}
`

func TestBuildIncremental(t *testing.T) {
	needTools(t)
	ctx := context.Background()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ManifestFile), []byte(buildManifest))
	build := func(t *testing.T, force bool) BuildReport {
		t.Helper()
		r, err := Build(ctx, BuildOptions{Dir: dir, Force: force})
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		if err := Check(dir); err != nil {
			t.Fatalf("Check after Build: %v", err)
		}
		return r
	}
	list := func(keys []string) string { return strings.Join(keys, ",") }

	t.Run("first build renders everything", func(t *testing.T) {
		r := build(t, false)
		if got, want := list(r.Generated), "yue/common/beep,yue/common/goodbye,zh/common/beep,zh/common/goodbye"; got != want {
			t.Errorf("Generated = %s, want %s", got, want)
		}
		d, err := Duration(filepath.Join(dir, "zh", "common", "goodbye.wav"))
		if err != nil {
			t.Fatal(err)
		}
		// Nine syllables: a voice that read the characters as letters or
		// skipped them would be far outside this range.
		if d < 1500*time.Millisecond || d > 6*time.Second {
			t.Errorf("zh goodbye lasts %v, want 1.5 s to 6 s for nine syllables", d)
		}
	})
	t.Run("second build renders nothing", func(t *testing.T) {
		r := build(t, false)
		if got, want := len(r.Generated), 0; got != want {
			t.Errorf("Generated %v, want none", r.Generated)
		}
		if got, want := len(r.Unchanged), 4; got != want {
			t.Errorf("len(Unchanged) = %d, want %d", got, want)
		}
	})
	t.Run("changed text renders one file", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, ManifestFile), []byte(strings.Replace(buildManifest, "多谢", "感谢", 1)))
		r := build(t, false)
		if got, want := list(r.Generated), "yue/common/goodbye"; got != want {
			t.Errorf("Generated = %s, want %s", got, want)
		}
	})
	t.Run("missing and damaged files are rendered again", func(t *testing.T) {
		os.Remove(filepath.Join(dir, "zh", "common", "beep.wav"))
		writeFile(t, filepath.Join(dir, "yue", "common", "beep.wav"), []byte("RIFF"))
		r := build(t, false)
		if got, want := list(r.Generated), "yue/common/beep,zh/common/beep"; got != want {
			t.Errorf("Generated = %s, want %s", got, want)
		}
	})
	t.Run("orphans are removed", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, "zh", "old", "prompt.wav"), telephoneWAV(time.Second))
		r := build(t, false)
		if got, want := list(r.Removed), "zh/old/prompt.wav"; got != want {
			t.Errorf("Removed = %s, want %s", got, want)
		}
	})
	t.Run("force renders everything", func(t *testing.T) {
		if got, want := len(build(t, true).Generated), 4; got != want {
			t.Errorf("len(Generated) = %d, want %d", got, want)
		}
	})
	t.Run("a new voice renders its language again", func(t *testing.T) {
		writeFile(t, filepath.Join(dir, ManifestFile), []byte(strings.Replace(buildManifest, "voice: yue,", "voice: yue, rate: 140,", 1)))
		r := build(t, false)
		if got, want := list(r.Generated), "yue/common/goodbye"; got != want {
			t.Errorf("Generated = %s, want %s (a tone does not depend on the voice)", got, want)
		}
	})
}

func TestBuildRejectsWrongVoice(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	// The plain cmn voice reads many Han characters as English letters.
	writeFile(t, filepath.Join(dir, ManifestFile), []byte(strings.Replace(buildManifest, "cmn-latn-pinyin", "cmn", 1)))
	r, err := Build(context.Background(), BuildOptions{Dir: dir, Workers: 1})
	if !errors.Is(err, ErrWrongVoice) {
		t.Fatalf("Build = %v, want ErrWrongVoice", err)
	}
	if slices.Contains(r.Generated, "zh/common/goodbye") {
		t.Errorf("zh/common/goodbye was generated with the wrong voice")
	}
	if _, err := os.Stat(filepath.Join(dir, "zh", "common", "goodbye.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a file was left for the rejected prompt: %v", err)
	}
}

func TestBuildMissingTool(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ManifestFile), []byte(buildManifest))
	_, err := Build(context.Background(), BuildOptions{Dir: dir, Espeak: "no-such-espeak-ng"})
	if !errors.Is(err, ErrToolMissing) {
		t.Fatalf("Build = %v, want ErrToolMissing", err)
	}
	if !strings.Contains(err.Error(), "apt-get install espeak-ng sox") {
		t.Errorf("error %q does not say how to install the tools", err)
	}
}

func TestBuildCancelled(t *testing.T) {
	needTools(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ManifestFile), []byte(buildManifest))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, BuildOptions{Dir: dir}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Build = %v, want context.Canceled", err)
	}
}
