package arisim

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// DefaultBuiltinSounds gives plausible durations for prompts a stock
// Asterisk ships (core sounds, English), used when a sound is not found
// in Options.SoundDirs. The values follow the recorded playbacks.
func DefaultBuiltinSounds() map[string]time.Duration {
	m := map[string]time.Duration{
		"beep":            260 * time.Millisecond,
		"hello-world":     1400 * time.Millisecond,
		"demo-congrats":   24 * time.Second,
		"ss-noservice":    3500 * time.Millisecond,
		"vm-goodbye":      900 * time.Millisecond,
		"pbx-invalid":     2 * time.Second,
		"silence/1":       time.Second,
		"tt-monkeys":      12 * time.Second,
		"conf-onlyperson": 2500 * time.Millisecond,
	}
	for d := 0; d <= 9; d++ {
		m[fmt.Sprintf("digits/%d", d)] = 820 * time.Millisecond
	}
	return m
}

type mediaKind int

const (
	mediaOK mediaKind = iota
	mediaMissing
	mediaVanish // started, never finished (bad scheme, missing recording)
)

type media struct {
	kind mediaKind
	dur  time.Duration
	uri  string
	file string // path of the WAV played, if any
	lang string
	url  string // control-API URL serving the WAV
}

// resolveMedia finds what a media URI plays and how long it lasts.
func (s *Sim) resolveMedia(uri, lang string) media {
	scheme, rest, found := strings.Cut(uri, ":")
	if !found {
		return media{kind: mediaVanish, uri: uri}
	}
	m := media{uri: uri, lang: lang}
	switch scheme {
	case "sound":
		if f := s.findSound(rest, lang); f.path != "" {
			m.dur, m.file, m.lang = f.dur, f.path, f.lang
			m.url = "/sounds/" + f.lang + "/" + rest + ".wav"
			return m
		}
		if d, ok := s.builtin[rest]; ok {
			m.dur = d
			return m
		}
		m.kind = mediaMissing
	case "recording":
		path := s.storedPath(rest)
		d, err := wavDuration(path)
		if path == "" || err != nil {
			m.kind = mediaVanish
			return m
		}
		m.dur, m.file, m.url = d, path, "/recordings/"+rest+".wav"
	case "digits", "characters":
		m.dur = time.Duration(len(rest)) * 750 * time.Millisecond
	case "number":
		m.dur = 1200 * time.Millisecond
	case "tone":
		m.kind = mediaMissing
	default:
		m.kind = mediaVanish
	}
	return m
}

// soundEntry is a sound file found for a name and language, and its length.
type soundEntry struct {
	path, lang string
	dur        time.Duration
}

// findSound is soundFile and wavDuration, remembered: prompts do not change while the
// simulator runs, and looking them up on disk for every playback is most of its work under
// load. Recordings, which do change, are not looked up here.
func (s *Sim) findSound(name, lang string) soundEntry {
	key := lang + "|" + name
	if e, ok := s.sounds.Load(key); ok {
		return e.(soundEntry)
	}
	var e soundEntry
	if path, l := s.soundFile(name, lang); path != "" {
		if d, err := wavDuration(path); err == nil {
			e = soundEntry{path: path, lang: l, dur: d}
		}
	}
	s.sounds.Store(key, e)
	return e
}

// soundFile finds <dir>/<name>.wav for lang, then for its base language
// (zh for zh_CN), then English.
func (s *Sim) soundFile(name, lang string) (string, string) {
	if strings.Contains(name, "..") {
		return "", ""
	}
	cands := []string{lang}
	if base, _, cut := strings.Cut(lang, "_"); cut {
		cands = append(cands, base)
	}
	cands = append(cands, "en")
	for _, l := range cands {
		dir := s.opts.SoundDirs[l]
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(name)+".wav")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, l
		}
	}
	return "", ""
}

// wavDuration reads a RIFF/WAVE header and returns the audio length.
func wavDuration(path string) (time.Duration, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("open wav: %w", err)
	}
	defer f.Close()
	var hdr [12]byte
	if _, err := io.ReadFull(f, hdr[:]); err != nil {
		return 0, fmt.Errorf("read wav header: %w", err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return 0, errors.New("not a RIFF/WAVE file")
	}
	var byteRate uint32
	for {
		var ch [8]byte
		if _, err := io.ReadFull(f, ch[:]); err != nil {
			return 0, fmt.Errorf("read wav chunk: %w", err)
		}
		size := binary.LittleEndian.Uint32(ch[4:8])
		switch string(ch[0:4]) {
		case "fmt ":
			buf := make([]byte, size)
			if _, err := io.ReadFull(f, buf); err != nil || size < 16 {
				return 0, errors.New("bad fmt chunk")
			}
			byteRate = binary.LittleEndian.Uint32(buf[8:12])
		case "data":
			if byteRate == 0 {
				return 0, errors.New("data before fmt")
			}
			return time.Duration(float64(size) / float64(byteRate) * float64(time.Second)), nil
		default:
			if _, err := f.Seek(int64(size+size%2), io.SeekCurrent); err != nil {
				return 0, fmt.Errorf("skip chunk: %w", err)
			}
		}
	}
}

// newUUID returns a random lowercase UUIDv4, as Asterisk uses for ids.
func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

type soundFormat struct {
	Language string `json:"language"`
	Format   string `json:"format"`
}

type soundJSON struct {
	ID      string        `json:"id"`
	Formats []soundFormat `json:"formats"`
}

func (s *Sim) soundInfo(name string) (soundJSON, bool) {
	out := soundJSON{ID: name, Formats: []soundFormat{}}
	langs := make([]string, 0, len(s.opts.SoundDirs))
	for l := range s.opts.SoundDirs {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	for _, l := range langs {
		if p := filepath.Join(s.opts.SoundDirs[l], filepath.FromSlash(name)+".wav"); fileExists(p) {
			out.Formats = append(out.Formats, soundFormat{Language: l, Format: "wav"})
		}
	}
	if _, ok := s.builtin[name]; ok {
		for _, l := range []string{"en_US_f_Allison", "en_US", "en"} {
			out.Formats = append(out.Formats, soundFormat{l, "gsm"}, soundFormat{l, "slin"})
		}
	}
	return out, len(out.Formats) > 0
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

func init() {
	handle("GET", "sounds", func(s *Sim, r *req) resp {
		names := make([]string, 0, len(s.builtin))
		for n := range s.builtin {
			names = append(names, n)
		}
		sort.Strings(names)
		out := make([]soundJSON, 0, len(names))
		for _, n := range names {
			if si, ok := s.soundInfo(n); ok {
				out = append(out, si)
			}
		}
		return ok(out)
	})
	handle("GET", "sounds/{soundId}", func(s *Sim, r *req) resp {
		si, found := s.soundInfo(r.vars["soundId"])
		if !found {
			return fail(errSoundNotFound)
		}
		return ok(si)
	})
}
