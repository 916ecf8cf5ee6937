package prompts

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrBadWAV is wrapped by errors about a file that is not a well-formed WAV.
var ErrBadWAV = errors.New("not a well-formed WAV file")

// formatPCM is the wave format tag of integer PCM.
const formatPCM = 1

// The format of every prompt file, which Asterisk plays without transcoding
// (signed linear, "slin").
const (
	// SampleRate is the prompts' sample rate in Hz.
	SampleRate = 8000
	// Channels is the prompts' channel count: mono.
	Channels = 1
	// BitsPerSample is the prompts' sample size.
	BitsPerSample = 16
)

// WAVInfo is what the header of a WAV file says.
type WAVInfo struct {
	// Format is the wave format tag; 1 is integer PCM.
	Format int
	// Channels, SampleRate and BitsPerSample describe the samples.
	Channels      int
	SampleRate    int
	BitsPerSample int
	// DataBytes is the size of the sample data.
	DataBytes int64
}

// Duration returns how long the sample data plays.
func (w WAVInfo) Duration() time.Duration {
	bytesPerSecond := int64(w.SampleRate) * int64(w.Channels) * int64(w.BitsPerSample/8)
	if bytesPerSecond == 0 {
		return 0
	}
	return time.Duration(w.DataBytes * int64(time.Second) / bytesPerSecond)
}

// Telephone reports whether the file has the prompt format: PCM, 8000 Hz,
// mono, 16-bit.
func (w WAVInfo) Telephone() bool {
	return w.Format == formatPCM && w.SampleRate == SampleRate &&
		w.Channels == Channels && w.BitsPerSample == BitsPerSample
}

// ReadWAV parses the RIFF header of the WAV file at path.
func ReadWAV(path string) (WAVInfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return WAVInfo{}, fmt.Errorf("read wav: %w", err)
	}
	info, err := parseWAV(data)
	if err != nil {
		return WAVInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}

// Duration returns the playing time of the WAV file at path.
func Duration(path string) (time.Duration, error) {
	info, err := ReadWAV(path)
	if err != nil {
		return 0, err
	}
	return info.Duration(), nil
}

func parseWAV(data []byte) (WAVInfo, error) {
	le := binary.LittleEndian
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return WAVInfo{}, fmt.Errorf("%w: no RIFF WAVE header", ErrBadWAV)
	}
	if size := int64(le.Uint32(data[4:8])) + 8; size != int64(len(data)) {
		return WAVInfo{}, fmt.Errorf("%w: RIFF size %d, file size %d", ErrBadWAV, size, len(data))
	}
	var info WAVInfo
	haveFmt := false
	for off := 12; off+8 <= len(data); {
		id, size := string(data[off:off+4]), int64(le.Uint32(data[off+4:off+8]))
		body := int64(off + 8)
		if body+size > int64(len(data)) {
			return WAVInfo{}, fmt.Errorf("%w: chunk %q runs past the end", ErrBadWAV, id)
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return WAVInfo{}, fmt.Errorf("%w: fmt chunk of %d bytes", ErrBadWAV, size)
			}
			c := data[body:]
			info.Format = int(le.Uint16(c[0:2]))
			info.Channels = int(le.Uint16(c[2:4]))
			info.SampleRate = int(le.Uint32(c[4:8]))
			info.BitsPerSample = int(le.Uint16(c[14:16]))
			blockAlign := int(le.Uint16(c[12:14]))
			if info.Channels == 0 || blockAlign != info.Channels*info.BitsPerSample/8 {
				return WAVInfo{}, fmt.Errorf("%w: block align %d for %d channels of %d bits",
					ErrBadWAV, blockAlign, info.Channels, info.BitsPerSample)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return WAVInfo{}, fmt.Errorf("%w: data before fmt", ErrBadWAV)
			}
			info.DataBytes = size
			return info, nil
		}
		off = int(body + size + size%2) // chunks are padded to even sizes
	}
	return WAVInfo{}, fmt.Errorf("%w: no data chunk", ErrBadWAV)
}
