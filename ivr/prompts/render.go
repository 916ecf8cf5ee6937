package prompts

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// OverrideDir is the directory, in each language directory of the sounds directory, of the
// prompts changed in the desk: <lang>/_override/<id>/<sha256>.wav. Its name cannot be a
// prompt id segment, so it never holds a manifest prompt; Check and Build leave it alone.
const OverrideDir = "_override"

// OverrideName returns the sound name, relative to a language directory and without
// ".wav", of a changed prompt's audio with the given SHA-256 (hex): named by content, a new
// revision never replaces a file a call may be playing.
func OverrideName(id, sum string) string { return OverrideDir + "/" + id + "/" + sum }

// Sum returns the hex SHA-256 of audio, the content part of an OverrideName.
func Sum(audio []byte) string {
	s := sha256.Sum256(audio)
	return hex.EncodeToString(s[:])
}

// ErrNotAudio is wrapped when sox cannot read an uploaded file as audio.
var ErrNotAudio = errors.New("not audio sox can read")

// Renderer turns a text or an uploaded recording into a prompt file, with the pipeline of
// Build.
type Renderer struct {
	t tools
}

// NewRenderer finds espeak-ng and sox (empty names mean those from PATH); ErrToolMissing
// when either is not installed.
func NewRenderer(espeak, sox string) (*Renderer, error) {
	t, err := findTools(BuildOptions{Espeak: espeak, Sox: sox})
	if err != nil {
		return nil, err
	}
	return &Renderer{t: t}, nil
}

// HasSox reports whether sox is installed (sox name, or sox from PATH for ""), which
// converting an upload needs even without espeak-ng.
func HasSox(sox string) (string, bool) {
	if sox == "" {
		sox = "sox"
	}
	path, err := exec.LookPath(sox)
	return path, err == nil
}

// ValidText returns why text cannot be a prompt text (empty, spaces around it, ASCII digits,
// control characters), or "".
func ValidText(text string) string { return validateText(text) }

// Render speaks text in lang with the pipeline of Build and returns the WAV (8 kHz mono
// 16-bit PCM). ErrWrongVoice when the voice would read it in another language.
func (r *Renderer) Render(ctx context.Context, lang Language, text string) ([]byte, error) {
	if why := validateText(text); why != "" {
		return nil, fmt.Errorf("%w: %s", ErrInvalidManifest, why)
	}
	dir, err := os.MkdirTemp("", "prompt-render-")
	if err != nil {
		return nil, fmt.Errorf("render prompt: %w", err)
	}
	defer os.RemoveAll(dir)
	t := Target{Lang: lang, Prompt: &Prompt{ID: "prompt", Texts: map[string]string{lang.Code: text}}}
	path := filepath.Join(dir, "prompt.wav")
	if err := r.t.render(ctx, t, path); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// Convert reads an uploaded recording of any format sox knows and returns it as a prompt
// file: resampled to 8 kHz, mono, 16-bit PCM, peak-normalised to -3 dBFS, no dither.
// ErrNotAudio when sox cannot read it; an error when it plays longer than maxLen.
func Convert(ctx context.Context, sox string, in []byte, maxLen time.Duration) ([]byte, WAVInfo, error) {
	dir, err := os.MkdirTemp("", "prompt-upload-")
	if err != nil {
		return nil, WAVInfo{}, fmt.Errorf("convert prompt: %w", err)
	}
	defer os.RemoveAll(dir)
	src, dst := filepath.Join(dir, "upload"), filepath.Join(dir, "prompt.wav")
	if err := os.WriteFile(src, in, 0o600); err != nil {
		return nil, WAVInfo{}, fmt.Errorf("convert prompt: %w", err)
	}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, sox, "-D", src,
		"-r", strconv.Itoa(SampleRate), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "wav", dst,
		"remix", "-", "rate", "-h", strconv.Itoa(SampleRate), "gain", "-n", "-3")
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, WAVInfo{}, ctx.Err()
		}
		return nil, WAVInfo{}, fmt.Errorf("%w: %s", ErrNotAudio, bytes.TrimSpace(stderr.Bytes()))
	}
	out, err := os.ReadFile(dst)
	if err != nil {
		return nil, WAVInfo{}, fmt.Errorf("convert prompt: %w", err)
	}
	info, err := parseWAV(out)
	if err != nil {
		return nil, WAVInfo{}, err
	}
	switch {
	case !info.Telephone():
		return nil, WAVInfo{}, fmt.Errorf("%w: sox wrote %+v", ErrBadWAV, info)
	case info.Duration() < minDuration:
		return nil, WAVInfo{}, fmt.Errorf("%w: %v of sound is too short for a prompt", ErrNotAudio, info.Duration())
	case maxLen > 0 && info.Duration() > maxLen:
		return nil, WAVInfo{}, fmt.Errorf("%w: plays %v, longer than %v", ErrTooLong, info.Duration().Round(100*time.Millisecond), maxLen)
	}
	return out, info, nil
}

// ErrTooLong is wrapped when an uploaded recording plays longer than allowed.
var ErrTooLong = errors.New("recording too long")

// ParseWAV parses the RIFF header of WAV data.
func ParseWAV(data []byte) (WAVInfo, error) { return parseWAV(data) }
