package prompts

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// wavBytes builds a WAV file of the given format with n sample frames of a
// square wave, plus an optional extra chunk before the data.
func wavBytes(format, channels, rate, bits, frames int, extra string) []byte {
	le := binary.LittleEndian
	data := make([]byte, frames*channels*bits/8)
	for i := 0; i+1 < len(data); i += 2 {
		v := int16(8000)
		if (i/40)%2 == 0 {
			v = -8000
		}
		le.PutUint16(data[i:], uint16(v))
	}
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt ")
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, uint16(format))
	b = le.AppendUint16(b, uint16(channels))
	b = le.AppendUint32(b, uint32(rate))
	b = le.AppendUint32(b, uint32(rate*channels*bits/8))
	b = le.AppendUint16(b, uint16(channels*bits/8))
	b = le.AppendUint16(b, uint16(bits))
	if extra != "" {
		b = append(b, "LIST"...)
		b = le.AppendUint32(b, uint32(len(extra)))
		b = append(b, extra...)
		if len(extra)%2 == 1 {
			b = append(b, 0)
		}
	}
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	le.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// telephoneWAV returns a valid prompt file lasting d.
func telephoneWAV(d time.Duration) []byte {
	return wavBytes(formatPCM, 1, SampleRate, 16, int(d.Seconds()*SampleRate), "")
}

func TestParseWAV(t *testing.T) {
	good := telephoneWAV(1500 * time.Millisecond)
	tests := []struct {
		name      string
		data      []byte
		bad       bool
		telephone bool
		duration  time.Duration
	}{
		{name: "telephone", data: good, telephone: true, duration: 1500 * time.Millisecond},
		{name: "extra odd chunk", data: wavBytes(formatPCM, 1, SampleRate, 16, 4000, "abc"), telephone: true, duration: 500 * time.Millisecond},
		{name: "22 kHz", data: wavBytes(formatPCM, 1, 22050, 16, 22050, ""), duration: time.Second},
		{name: "stereo", data: wavBytes(formatPCM, 2, SampleRate, 16, 8000, ""), duration: time.Second},
		{name: "8-bit", data: wavBytes(formatPCM, 1, SampleRate, 8, 8000, ""), duration: time.Second},
		{name: "a-law", data: wavBytes(6, 1, SampleRate, 16, 8000, ""), duration: time.Second},
		{name: "truncated", data: good[:len(good)-10], bad: true},
		{name: "not riff", data: append([]byte("RIFX"), good[4:]...), bad: true},
		{name: "too short", data: good[:20], bad: true},
		{name: "no data chunk", data: func() []byte {
			b := append([]byte(nil), good[:36]...)
			binary.LittleEndian.PutUint32(b[4:], 28)
			return b
		}(), bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := parseWAV(tt.data)
			if got, want := err != nil, tt.bad; got != want {
				t.Fatalf("parseWAV error = %v, want error %v", err, want)
			}
			if tt.bad {
				if !errors.Is(err, ErrBadWAV) {
					t.Errorf("error %v does not wrap ErrBadWAV", err)
				}
				return
			}
			if got, want := info.Telephone(), tt.telephone; got != want {
				t.Errorf("Telephone() = %v, want %v (%+v)", got, want, info)
			}
			if got, want := info.Duration(), tt.duration; got != want {
				t.Errorf("Duration() = %v, want %v", got, want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.wav")
	if err := os.WriteFile(path, telephoneWAV(750*time.Millisecond), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Duration(path)
	if err != nil {
		t.Fatalf("Duration: %v", err)
	}
	if got, want := d, 750*time.Millisecond; got != want {
		t.Errorf("Duration = %v, want %v", got, want)
	}
	if _, err := Duration(filepath.Join(t.TempDir(), "none.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Duration of a missing file: error %v, want os.ErrNotExist", err)
	}
}
