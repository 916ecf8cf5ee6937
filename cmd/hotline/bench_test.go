package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// TestBenchCalls runs 'hotline bench calls' small on a seeded test database: the controller
// runs as a child process (this test binary acting as hotline), every call completes without
// error, the controller's stacks and lookups are reported, and the samples file holds the
// three key→play delays of each call.
func TestBenchCalls(t *testing.T) {
	t.Setenv(actAsHotline, "1") // for the child the bench starts
	root := repotest.Root(t)
	key := func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	env := []string{
		"HOTLINE_DATABASE_URL=" + pgtest.URL(t),
		"HOTLINE_PII_SEAL_KEY=" + key(),
		"HOTLINE_PII_LOOKUP_KEY=" + key(),
		"HOTLINE_IVR_FLOWS_DIR=" + filepath.Join(root, "flows"),
		"HOTLINE_IVR_SOUNDS_DIR=" + filepath.Join(root, "sounds"),
		"HOTLINE_LOG_LEVEL=warn",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, logs syncBuffer
	if err := run(ctx, []string{"seed", "--citizens", "200"}, env, &out, &logs); err != nil {
		t.Fatalf("seed: %v\n%s", err, logs.String())
	}
	samples := filepath.Join(t.TempDir(), "samples.csv")
	out = syncBuffer{}
	args := []string{"bench", "calls", "--calls", "12", "--speed", "20", "--ramp", "500ms", "--samples", samples}
	if err := run(ctx, args, env, &out, &logs); err != nil {
		t.Fatalf("bench: %v\n%s", err, logs.String())
	}
	var row []string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "| 12 |") {
			row = strings.Split(strings.Trim(l, "| "), " | ")
		}
	}
	t.Log("\n" + out.String())
	if len(row) < 4 {
		t.Fatalf("no result row in:\n%s", out.String())
	}
	if got, want := row[2]+" completed, "+row[3]+" errors", "12 completed, 0 errors"; got != want {
		t.Errorf("got %s, want %s\n%s", got, want, out.String())
	}
	// The controller's own figures: its stacks, and its lookups (two a call: the citizen and
	// the accounts) read from its /metrics.
	for _, want := range []string{"controller stacks at the peak: ", "the lookups themselves (the controller's histogram): p50 ≤ "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the bench's output lacks %q:\n%s", want, out.String())
		}
	}
	f, err := os.Open(samples)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	lines := 0
	for sc.Scan() {
		if lines++; lines == 1 {
			if got, want := sc.Text(), "key_at,lookup,delay_us"; got != want {
				t.Errorf("header %q, want %q", got, want)
			}
			continue
		}
		if fields := strings.Split(sc.Text(), ","); len(fields) != 3 {
			t.Errorf("sample %q: want 3 fields", sc.Text())
		}
	}
	if got, want := lines-1, 12*3; got != want {
		t.Errorf("%d samples, want %d", got, want)
	}
}
