package sipua

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestWAVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWAVWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	want := []int16{0, 1, -1, 32767, -32768, 1234}
	if err := w.Write(want[:3]); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(want[3:]); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, err := ReadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("read %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("read %v, want %v", got, want)
		}
	}
}

func TestReadWAVRefusesOtherFormats(t *testing.T) {
	h := wavHeader(4)
	h[24] = 0x44 // 44100 Hz
	h[25] = 0xac
	path := filepath.Join(t.TempDir(), "cd.wav")
	if err := os.WriteFile(path, append(h, 0, 0, 0, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadWAV(path); !errors.Is(err, ErrWAVFormat) {
		t.Errorf("ReadWAV of a 44.1 kHz file = %v, want ErrWAVFormat", err)
	}
	if err := os.WriteFile(path, []byte("not a wav"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadWAV(path); !errors.Is(err, ErrWAVFormat) {
		t.Errorf("ReadWAV of text = %v, want ErrWAVFormat", err)
	}
}

func TestReadWAVProjectPrompt(t *testing.T) {
	pcm, err := ReadWAV("../sounds/zh/common/please_wait.wav")
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) < SampleRate/2 {
		t.Errorf("prompt has %d samples, want at least half a second", len(pcm))
	}
}
