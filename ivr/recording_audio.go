package ivr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
)

// maxRecordingBytes bounds a recording read for the desk: an hour of 8 kHz 16-bit audio.
const maxRecordingBytes = 60 * 60 * 16000

// RecordingAudio reads a recording's file from the Asterisk node that holds it (ARI GET
// /recordings/stored/{name}/file), for the desk to play. A recording whose node is not
// recorded is looked for on every connected node. A recording no node has is
// hotline.ErrNotFound.
func (e *Engine) RecordingAudio(ctx context.Context, rec hotline.Recording) (io.ReadCloser, error) {
	name := rec.Name // stored recordings are named without their format
	var conns []*ari.Conn
	if c := e.connOf(rec.Node); c != nil {
		conns = append(conns, c)
	} else {
		e.mu.Lock()
		for _, n := range slices.Sorted(maps.Keys(e.conns)) {
			conns = append(conns, e.conns[n])
		}
		e.mu.Unlock()
	}
	for _, c := range conns {
		var buf bytes.Buffer
		rctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
		_, _, err := c.Client().StoredRecording(name).Download(rctx, &limitedBuffer{b: &buf, max: maxRecordingBytes})
		cancel()
		switch {
		case err == nil:
			return io.NopCloser(&buf), nil
		case errors.Is(err, ari.ErrNotFound):
			continue
		default:
			return nil, fmt.Errorf("recording %s on %s: %w", rec.Name, c.Name(), err)
		}
	}
	return nil, fmt.Errorf("recording %s: %w", rec.Name, hotline.ErrNotFound)
}

// limitedBuffer refuses to grow past max bytes.
type limitedBuffer struct {
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if l.b.Len()+len(p) > l.max {
		return 0, fmt.Errorf("recording larger than %d bytes", l.max)
	}
	return l.b.Write(p)
}
