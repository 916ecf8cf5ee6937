package prompts

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode"
)

// Problems Check reports; each Problem wraps one of them.
var (
	// ErrMissing means a prompt has no audio file in a language it needs.
	ErrMissing = errors.New("missing sound file")
	// ErrOrphan means a file in a language directory belongs to no prompt,
	// or a directory is not a declared language.
	ErrOrphan = errors.New("orphan sound file")
	// ErrBadFormat means a file is not an 8 kHz mono 16-bit PCM WAV.
	ErrBadFormat = errors.New("bad sound format")
	// ErrDuration means a file's length does not fit its text.
	ErrDuration = errors.New("implausible sound duration")
	// ErrStale means a file was not built from the manifest's current text,
	// voice and settings, per the lock file.
	ErrStale = errors.New("stale sound file (run hotline sounds build)")
)

// Problem is one finding of Check about one path.
type Problem struct {
	// Path is relative to the sounds directory, with forward slashes.
	Path string
	Err  error
}

// CheckError lists every problem Check found.
type CheckError struct {
	Problems []Problem
}

// Error returns one line per problem.
func (e *CheckError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Path + ": " + p.Err.Error()
	}
	return fmt.Sprintf("%d sound problems:\n%s", len(e.Problems), strings.Join(lines, "\n"))
}

// Unwrap returns the problems' errors, so errors.Is finds ErrMissing and the
// others.
func (e *CheckError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p.Err
	}
	return errs
}

// minDuration is the shortest sound Check accepts: shorter is a broken render.
const minDuration = 100 * time.Millisecond

// Check verifies the sounds directory dir against its manifest and lock
// file: every prompt has a valid file in each language it needs, built from
// its current text, and no file is left over. It needs no external tool. It
// returns a *CheckError listing every problem, or the manifest's error.
func Check(dir string) error {
	m, err := Load(dir)
	if err != nil {
		return err
	}
	lock, err := ReadLock(dir)
	if err != nil {
		return err
	}
	var probs []Problem
	add := func(path string, err error) { probs = append(probs, Problem{Path: filepath.ToSlash(path), Err: err}) }
	for _, t := range m.Targets() {
		rel, _ := filepath.Rel(dir, t.Path(dir))
		info, err := ReadWAV(t.Path(dir))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			add(rel, ErrMissing)
			continue
		case err != nil:
			add(rel, fmt.Errorf("%w: %w", ErrBadFormat, err))
			continue
		case !info.Telephone():
			add(rel, fmt.Errorf("%w: format %d, %d Hz, %d channels, %d bits; want PCM, 8000 Hz, mono, 16 bits",
				ErrBadFormat, info.Format, info.SampleRate, info.Channels, info.BitsPerSample))
			continue
		}
		if lo, hi := plausible(t); info.Duration() < lo || info.Duration() > hi {
			add(rel, fmt.Errorf("%w: %v, want %v to %v", ErrDuration, info.Duration(), lo, hi))
		}
		if lock[t.Key()] != t.Hash() {
			add(rel, ErrStale)
		}
	}
	orphans, err := findOrphans(dir, m)
	if err != nil {
		return err
	}
	for _, o := range orphans {
		add(o, ErrOrphan)
	}
	if len(probs) == 0 {
		return nil
	}
	sort.SliceStable(probs, func(i, j int) bool { return probs[i].Path < probs[j].Path })
	return &CheckError{Problems: probs}
}

// plausible returns the range of durations that fit a target: a tone lasts
// its length; speech takes roughly 0.1 to 1 s a syllable (a Han character or
// a Latin word) plus padding.
func plausible(t Target) (lo, hi time.Duration) {
	if tone := t.Prompt.Tone; tone != nil {
		d := time.Duration(tone.Seconds * float64(time.Second))
		return d - 20*time.Millisecond, d + 20*time.Millisecond
	}
	units := 0
	inWord := false
	for _, r := range t.Text() {
		switch {
		case unicode.Is(unicode.Han, r):
			units++
			inWord = false
		case r < 0x80 && unicode.IsLetter(r):
			if !inWord {
				units++
			}
			inWord = true
		default:
			inWord = false
		}
	}
	lo = max(minDuration, time.Duration(units)*100*time.Millisecond)
	return lo, time.Duration(units)*time.Second + time.Second
}

// findOrphans lists, relative to dir, the files in language directories that
// no target owns and the directories of dir that are not a language.
func findOrphans(dir string, m *Manifest) ([]string, error) {
	owned := map[string]bool{}
	for _, t := range m.Targets() {
		owned[t.Path(dir)] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list sounds: %w", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, ok := m.Language(e.Name()); !ok {
			out = append(out, e.Name()+"/")
			continue
		}
		err := filepath.WalkDir(filepath.Join(dir, e.Name()), func(path string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() && d.Name() == OverrideDir {
				return filepath.SkipDir // the desk's changed prompts, kept by the database
			}
			if err != nil || d.IsDir() || owned[path] {
				return err
			}
			rel, err := filepath.Rel(dir, path)
			out = append(out, filepath.ToSlash(rel))
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("list sounds: %w", err)
		}
	}
	return out, nil
}

// removeOrphans deletes the orphan WAV files (and left-over temporary files)
// of the language directories, then their empty directories, and returns
// what it removed. Other orphans are left for Check to report.
func removeOrphans(dir string, m *Manifest) ([]string, error) {
	orphans, err := findOrphans(dir, m)
	if err != nil {
		return nil, err
	}
	var removed []string
	var errs []error
	for _, rel := range orphans {
		if !strings.HasSuffix(rel, ".wav") && !strings.HasSuffix(rel, ".wav.tmp") {
			continue
		}
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.Remove(path); err != nil {
			errs = append(errs, fmt.Errorf("remove orphan sound: %w", err))
			continue
		}
		removed = append(removed, rel)
		// Remove directories left empty, up to the language directory.
		for d := filepath.Dir(path); filepath.Dir(d) != filepath.Clean(dir); d = filepath.Dir(d) {
			if os.Remove(d) != nil {
				break
			}
		}
	}
	return removed, errors.Join(errs...)
}
