package arisim

import (
	"bufio"
	"os"
	"path/filepath"
	"testing"

	"github.com/foshan-hotline/hotline/internal/repotest"
)

// TestTimingSample replays a sample of timing.jsonl — the set-up, the 200 pings, the first
// plays and stops, the first DTMF round trips and the clean-up — rather than all of its 2,600
// lines, which take two and a half minutes of real time and repeat the same exchanges.
func TestTimingSample(t *testing.T) {
	src := filepath.Join(repotest.Shared(t, "ari-transcripts"), "timing.jsonl")
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sample := filepath.Join(t.TempDir(), "timing-sample.jsonl")
	out, err := os.Create(sample)
	if err != nil {
		t.Fatal(err)
	}
	keep := func(n int) bool {
		return n <= 295 || (n >= 1418 && n <= 1459) || n >= 2618
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	n, kept := 0, 0
	for sc.Scan() {
		n++
		if keep(n) {
			kept++
			out.Write(append(sc.Bytes(), '\n'))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	if n < 2600 {
		t.Fatalf("timing.jsonl has %d lines; the sample's line ranges assume the recorded 2,637", n)
	}
	for _, d := range replayTranscript(t, sample, Options{RecordingDir: t.TempDir()}) {
		t.Error(d)
	}
	t.Logf("replayed %d of %d lines", kept, n)
}
