package prompts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ErrToolMissing is returned by Build when espeak-ng or sox is not installed.
var ErrToolMissing = errors.New("sound tool not found (apt-get install espeak-ng sox)")

// ErrWrongVoice is wrapped when espeak-ng would read a text in another
// language than its voice, as the plain cmn voice does with Han characters.
var ErrWrongVoice = errors.New("voice switches language")

// BuildOptions configures Build.
type BuildOptions struct {
	// Dir is the sounds directory holding manifest.yaml.
	Dir string
	// Espeak and Sox are the tool commands; empty means espeak-ng and sox
	// from PATH.
	Espeak, Sox string
	// Workers is how many files are rendered at once; 0 means one per CPU.
	Workers int
	// Force renders every file, even unchanged ones.
	Force bool
	// Logger receives a line per rendered or removed file; nil discards.
	Logger *slog.Logger
}

// BuildReport lists what Build did, by target key ("zh/common/welcome") or,
// for removed files, by path relative to the sounds directory.
type BuildReport struct {
	Generated []string
	Unchanged []string
	Removed   []string
}

// Build brings the audio files of the sounds directory in line with its
// manifest: it renders the files whose inputs changed or whose file is
// missing or invalid, removes WAV files no prompt owns, and rewrites the
// lock file. It stops at the first failed render, keeping what was done.
func Build(ctx context.Context, opts BuildOptions) (BuildReport, error) {
	var report BuildReport
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m, err := Load(opts.Dir)
	if err != nil {
		return report, err
	}
	tools, err := findTools(opts)
	if err != nil {
		return report, err
	}
	old, err := ReadLock(opts.Dir)
	if err != nil {
		return report, err
	}
	lock := Lock{}
	var jobs []Target
	for _, t := range m.Targets() {
		hash := t.Hash()
		if !opts.Force && old[t.Key()] == hash && validFile(t.Path(opts.Dir)) {
			lock[t.Key()] = hash
			report.Unchanged = append(report.Unchanged, t.Key())
			continue
		}
		jobs = append(jobs, t)
	}

	generated, renderErr := tools.renderAll(ctx, opts, jobs, log)
	for _, t := range generated {
		lock[t.Key()] = t.Hash()
		report.Generated = append(report.Generated, t.Key())
	}
	sort.Strings(report.Generated)

	removed, err := removeOrphans(opts.Dir, m)
	for _, path := range removed {
		log.Info("removed orphan sound", "path", path)
	}
	report.Removed = removed
	if err := errors.Join(renderErr, err, WriteLock(opts.Dir, lock)); err != nil {
		return report, err
	}
	return report, nil
}

// tools are the resolved espeak-ng and sox commands.
type tools struct{ espeak, sox string }

func findTools(opts BuildOptions) (tools, error) {
	var t tools
	for _, tool := range []struct {
		dst       *string
		name, def string
	}{{&t.espeak, opts.Espeak, "espeak-ng"}, {&t.sox, opts.Sox, "sox"}} {
		name := tool.name
		if name == "" {
			name = tool.def
		}
		path, err := exec.LookPath(name)
		if err != nil {
			return tools{}, fmt.Errorf("%w: %s: %v", ErrToolMissing, name, err)
		}
		*tool.dst = path
	}
	return t, nil
}

// renderAll renders jobs on a few workers and returns those that succeeded.
func (tl tools) renderAll(ctx context.Context, opts BuildOptions, jobs []Target, log *slog.Logger) ([]Target, error) {
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		done  []Target
		first error
		wg    sync.WaitGroup
	)
	queue := make(chan Target)
	for range workers {
		wg.Go(func() {
			for t := range queue {
				err := tl.render(ctx, t, t.Path(opts.Dir))
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("render %s: %w", t.Key(), err)
					cancel()
				}
				if err == nil {
					done = append(done, t)
					log.Info("rendered sound", "prompt", t.Key())
				}
				mu.Unlock()
			}
		})
	}
feed:
	for _, t := range jobs {
		select {
		case queue <- t:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	if first == nil && ctx.Err() != nil && len(done) < len(jobs) {
		first = fmt.Errorf("render sounds: %w", ctx.Err())
	}
	return done, first
}

// render writes the audio of t to path, through a temporary file in the same
// directory so that a failed render never leaves a half-written prompt.
func (tl tools) render(ctx context.Context, t Target, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("make sound directory: %w", err)
	}
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	defer os.Remove(tmp)
	out := []string{"-r", strconv.Itoa(SampleRate), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "wav", tmp}
	if tone := t.Prompt.Tone; tone != nil {
		secs := strconv.FormatFloat(tone.Seconds, 'f', -1, 64)
		args := append([]string{"-D", "-n"}, out...)
		args = append(args, "synth", secs, "sine", strconv.Itoa(tone.Hz), "fade", "q", "0.01", secs, "0.01", "gain", "-n", "-3")
		if err := run(ctx, nil, tl.sox, args...); err != nil {
			return err
		}
	} else {
		if err := tl.checkVoice(ctx, t); err != nil {
			return err
		}
		raw, err := os.CreateTemp("", "prompt-*.wav")
		if err != nil {
			return fmt.Errorf("make temporary file: %w", err)
		}
		raw.Close()
		defer os.Remove(raw.Name())
		if err := run(ctx, strings.NewReader(t.Text()), tl.espeak,
			"-v", t.Lang.Voice, "-s", strconv.Itoa(t.Lang.Rate), "-w", raw.Name(), "--stdin"); err != nil {
			return err
		}
		args := append([]string{"-D", raw.Name()}, out...)
		args = append(args,
			"silence", "1", "0.02", "0.1%", "reverse", "silence", "1", "0.02", "0.1%", "reverse",
			"rate", "-h", strconv.Itoa(SampleRate), "gain", "-n", "-3", "pad", "0.05", "0.05")
		if err := run(ctx, nil, tl.sox, args...); err != nil {
			return err
		}
	}
	info, err := ReadWAV(tmp)
	if err != nil {
		return err
	}
	if !info.Telephone() || info.DataBytes == 0 {
		return fmt.Errorf("%w: sox wrote %+v", ErrBadWAV, info)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("install sound: %w", err)
	}
	return nil
}

// checkVoice asks espeak-ng for the phonemes of the text and fails if the
// voice switches to another language for a text without Latin letters.
func (tl tools) checkVoice(ctx context.Context, t Target) error {
	text := t.Text()
	if strings.ContainsFunc(text, func(r rune) bool { return r < 0x80 && (r|0x20) >= 'a' && (r|0x20) <= 'z' }) {
		return nil
	}
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, tl.espeak, "-v", t.Lang.Voice, "-q", "-x", "--stdin")
	cmd.Stdin, cmd.Stdout = strings.NewReader(text), &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("espeak-ng phonemes: %w", err)
	}
	if i := bytes.IndexByte(out.Bytes(), '('); i >= 0 {
		return fmt.Errorf("%w: voice %s reads %q as %q", ErrWrongVoice, t.Lang.Voice, text, strings.TrimSpace(out.String()))
	}
	return nil
}

func run(ctx context.Context, stdin io.Reader, name string, args ...string) error {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin, cmd.Stderr = stdin, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", filepath.Base(name), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// validFile reports whether path holds a prompt-format WAV with samples.
func validFile(path string) bool {
	info, err := ReadWAV(path)
	return err == nil && info.Telephone() && info.DataBytes > 0
}
