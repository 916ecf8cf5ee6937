package prompts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const checkManifest = `languages:
  zh: {voice: cmn-latn-pinyin, required: true}
  yue: {voice: yue, required: true}
  en: {voice: en-gb}
prompts:
  common/goodbye: {zh: 感谢您的来电再见, yue: 多谢您的来电再见, en: Goodbye.}
  num/0: {zh: 零, yue: 零}
  common/beep: {tone: {hz: 1000, seconds: 0.4}}
`

// fakeSounds writes a sounds directory with a valid hand-made file for every
// target, of a duration that fits its text, and a matching lock.
func fakeSounds(t *testing.T) (string, *Manifest) {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, ManifestFile), []byte(checkManifest))
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	lock := Lock{}
	for _, tg := range m.Targets() {
		lo, hi := plausible(tg)
		writeFile(t, tg.Path(dir), telephoneWAV((lo+hi)/2))
		lock[tg.Key()] = tg.Hash()
	}
	if err := WriteLock(dir, lock); err != nil {
		t.Fatal(err)
	}
	return dir, m
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, dir string)
		path   string
		want   error
	}{
		{"missing file", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "yue", "num", "0.wav"))
		}, "yue/num/0.wav", ErrMissing},
		{"orphan file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "zh", "num", "1.wav"), telephoneWAV(time.Second))
		}, "zh/num/1.wav", ErrOrphan},
		{"orphan optional language file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "en", "num", "0.wav"), telephoneWAV(time.Second))
		}, "en/num/0.wav", ErrOrphan},
		{"orphan non-wav file", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "zh", "notes.txt"), []byte("x"))
		}, "zh/notes.txt", ErrOrphan},
		{"undeclared language directory", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "fr", "num", "0.wav"), telephoneWAV(time.Second))
		}, "fr/", ErrOrphan},
		{"wrong sample rate", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "zh", "num", "0.wav"), wavBytes(formatPCM, 1, 16000, 16, 8000, ""))
		}, "zh/num/0.wav", ErrBadFormat},
		{"stereo", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "zh", "num", "0.wav"), wavBytes(formatPCM, 2, SampleRate, 16, 4000, ""))
		}, "zh/num/0.wav", ErrBadFormat},
		{"not a wav", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "zh", "num", "0.wav"), []byte("ID3 an mp3 in disguise"))
		}, "zh/num/0.wav", ErrBadFormat},
		{"silent stub", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "zh", "num", "0.wav"), telephoneWAV(10*time.Millisecond))
		}, "zh/num/0.wav", ErrDuration},
		{"far too long for its text", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "yue", "num", "0.wav"), telephoneWAV(5*time.Second))
		}, "yue/num/0.wav", ErrDuration},
		{"beep of the wrong length", func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, "en", "common", "beep.wav"), telephoneWAV(time.Second))
		}, "en/common/beep.wav", ErrDuration},
		{"text changed without a build", func(t *testing.T, dir string) {
			text := strings.Replace(checkManifest, "多谢", "感谢", 1)
			writeFile(t, filepath.Join(dir, ManifestFile), []byte(text))
		}, "yue/common/goodbye.wav", ErrStale},
		{"no lock", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, LockFile))
		}, "zh/common/goodbye.wav", ErrStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, _ := fakeSounds(t)
			if err := Check(dir); err != nil {
				t.Fatalf("Check before breaking: %v", err)
			}
			tt.damage(t, dir)
			err := Check(dir)
			var ce *CheckError
			if !errors.As(err, &ce) {
				t.Fatalf("Check = %v, want a *CheckError", err)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Check = %v, want %v", err, tt.want)
			}
			found := false
			for _, p := range ce.Problems {
				found = found || (p.Path == tt.path && errors.Is(p.Err, tt.want))
			}
			if !found {
				t.Errorf("no problem %q at %s in:\n%v", tt.want, tt.path, err)
			}
		})
	}
}

func TestCheckBadManifest(t *testing.T) {
	dir, _ := fakeSounds(t)
	writeFile(t, filepath.Join(dir, "catalogue.yaml"), []byte("prompts: {}\n"))
	if err := Check(dir); !errors.Is(err, ErrInvalidManifest) {
		t.Errorf("Check = %v, want ErrInvalidManifest", err)
	}
	if err := Check(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Check of an empty directory = %v, want os.ErrNotExist", err)
	}
}

func TestRemoveOrphans(t *testing.T) {
	dir, m := fakeSounds(t)
	writeFile(t, filepath.Join(dir, "zh", "old", "deep", "gone.wav"), telephoneWAV(time.Second))
	writeFile(t, filepath.Join(dir, "zh", "readme.txt"), []byte("kept"))
	removed, err := removeOrphans(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(removed, ","), "zh/old/deep/gone.wav"; got != want {
		t.Errorf("removed %s, want %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "zh", "old")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty directory zh/old left behind: %v", err)
	}
	if err := Check(dir); !errors.Is(err, ErrOrphan) {
		t.Errorf("Check = %v, want the kept readme.txt reported as an orphan", err)
	}
}
