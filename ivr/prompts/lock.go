package prompts

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// LockFile is the name of the file recording what each audio file was made
// from.
const LockFile = "sounds.lock"

// pipeline names the conversion settings; change it whenever the espeak-ng
// or sox arguments change, so that Build renders every file again.
const pipeline = "espeak-ng -v VOICE -s RATE | sox -D silence-trim 0.02s/0.1% rate-h 8000 mono s16 gain-n-3 pad 0.05 v1"

// Lock maps a target key ("zh/common/welcome") to the hash of its inputs.
type Lock map[string]string

// Hash returns the hash of everything the target's audio is made from.
func (t Target) Hash() string {
	h := sha256.New()
	if tone := t.Prompt.Tone; tone != nil {
		fmt.Fprintf(h, "tone\x00%d\x00%s\x00%s", tone.Hz, strconv.FormatFloat(tone.Seconds, 'g', -1, 64), pipeline)
	} else {
		fmt.Fprintf(h, "speech\x00%s\x00%d\x00%s\x00%s", t.Lang.Voice, t.Lang.Rate, t.Text(), pipeline)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// ReadLock reads the lock file of the sounds directory dir; a missing file is
// an empty lock.
func ReadLock(dir string) (Lock, error) {
	data, err := os.ReadFile(filepath.Join(dir, LockFile))
	if errors.Is(err, os.ErrNotExist) {
		return Lock{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read sound lock: %w", err)
	}
	lock := Lock{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, hash, ok := strings.Cut(line, " ")
		if !ok || strings.ContainsAny(hash, " \t") {
			return nil, fmt.Errorf("%s:%d: want \"lang/id hash\"", LockFile, n)
		}
		lock[key] = hash
	}
	return lock, nil
}

// WriteLock writes lock to the sounds directory dir, sorted by key.
func WriteLock(dir string, lock Lock) error {
	keys := make([]string, 0, len(lock))
	for k := range lock {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Written by `hotline sounds build`: language/prompt id, hash of text, voice and settings.\n")
	for _, k := range keys {
		b.WriteString(k + " " + lock[k] + "\n")
	}
	tmp := filepath.Join(dir, "."+LockFile+".tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write sound lock: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, LockFile)); err != nil {
		return fmt.Errorf("write sound lock: %w", err)
	}
	return nil
}
