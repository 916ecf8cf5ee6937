package sipua

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// SampleRate is the audio rate of a call: G.711 carries 8000 samples a second.
const SampleRate = 8000

// ErrWAVFormat is wrapped by errors about a WAV file the phone cannot send: it sends 8 kHz
// mono 16-bit PCM, the format of the hotline's prompts.
var ErrWAVFormat = errors.New("WAV file is not 8 kHz mono 16-bit PCM")

// ReadWAV reads the samples of an 8 kHz mono 16-bit PCM WAV file.
func ReadWAV(path string) ([]int16, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read wav: %w", err)
	}
	pcm, err := decodeWAV(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pcm, nil
}

func decodeWAV(data []byte) ([]int16, error) {
	le := binary.LittleEndian
	if len(data) < 12 || string(data[0:4]) != "RIFF" || string(data[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: no RIFF/WAVE header", ErrWAVFormat)
	}
	var fmtSeen bool
	for off := 12; off+8 <= len(data); {
		id, size := string(data[off:off+4]), int(le.Uint32(data[off+4:off+8]))
		body := off + 8
		if size < 0 || body+size > len(data) {
			size = len(data) - body // a truncated last chunk: take what is there
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return nil, fmt.Errorf("%w: short fmt chunk", ErrWAVFormat)
			}
			format, channels := le.Uint16(data[body:]), le.Uint16(data[body+2:])
			rate, bits := le.Uint32(data[body+4:]), le.Uint16(data[body+14:])
			if format != 1 || channels != 1 || rate != SampleRate || bits != 16 {
				return nil, fmt.Errorf("%w: format %d, %d channels, %d Hz, %d bits (convert with: sox IN -r 8000 -c 1 -b 16 OUT.wav)",
					ErrWAVFormat, format, channels, rate, bits)
			}
			fmtSeen = true
		case "data":
			if !fmtSeen {
				return nil, fmt.Errorf("%w: data before fmt", ErrWAVFormat)
			}
			pcm := make([]int16, size/2)
			for i := range pcm {
				pcm[i] = int16(le.Uint16(data[body+2*i:]))
			}
			return pcm, nil
		}
		off = body + size + size%2
	}
	return nil, fmt.Errorf("%w: no data chunk", ErrWAVFormat)
}

// WAVWriter writes 8 kHz mono 16-bit PCM to a WAV file as it comes; Close writes the sizes
// into the header.
type WAVWriter struct {
	w       io.WriteSeeker
	samples int64
	buf     []byte
}

// NewWAVWriter starts a WAV file on w.
func NewWAVWriter(w io.WriteSeeker) (*WAVWriter, error) {
	ww := &WAVWriter{w: w}
	if _, err := w.Write(wavHeader(0)); err != nil {
		return nil, fmt.Errorf("write wav header: %w", err)
	}
	return ww, nil
}

// Write appends samples.
func (w *WAVWriter) Write(pcm []int16) error {
	w.buf = w.buf[:0]
	for _, s := range pcm {
		w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(s))
	}
	if _, err := w.w.Write(w.buf); err != nil {
		return fmt.Errorf("write wav: %w", err)
	}
	w.samples += int64(len(pcm))
	return nil
}

// Close writes the final sizes into the header; it does not close the underlying file.
func (w *WAVWriter) Close() error {
	if _, err := w.w.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("finish wav: %w", err)
	}
	if _, err := w.w.Write(wavHeader(w.samples * 2)); err != nil {
		return fmt.Errorf("finish wav: %w", err)
	}
	_, err := w.w.Seek(0, io.SeekEnd)
	return err
}

// wavHeader returns the 44-byte header of a PCM WAV file with dataBytes of samples.
func wavHeader(dataBytes int64) []byte {
	le := binary.LittleEndian
	h := make([]byte, 0, 44)
	h = append(h, "RIFF"...)
	h = le.AppendUint32(h, uint32(36+dataBytes))
	h = append(h, "WAVEfmt "...)
	h = le.AppendUint32(h, 16)
	h = le.AppendUint16(h, 1) // PCM
	h = le.AppendUint16(h, 1) // mono
	h = le.AppendUint32(h, SampleRate)
	h = le.AppendUint32(h, SampleRate*2)
	h = le.AppendUint16(h, 2)
	h = le.AppendUint16(h, 16)
	h = append(h, "data"...)
	h = le.AppendUint32(h, uint32(dataBytes))
	return h
}
