package ivr

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
)

// Recordings keeps the rows of recorded conversations.
type Recordings interface {
	// Recording stores a recording's row, or queues it without waiting to be stored until it
	// is; saving the same name again updates its length.
	Recording(ctx context.Context, r hotline.Recording) error
}

// RecordingStore is what purging expired recordings needs.
type RecordingStore interface {
	ExpiredRecordings(ctx context.Context, kind string, before time.Time, limit int) ([]hotline.Recording, error)
	DeleteRecording(ctx context.Context, id int64) error
}

// recordConversation records the bridge of a conversation and writes its row at once, so that
// a recording is never on a node without the hotline knowing; the returned function, called
// when the conversation ends, writes its length.
func (c *call) recordConversation(bridgeID string, o hotline.Offer) (done func()) {
	if c.e.cfg.Recordings == nil {
		return func() {}
	}
	rec := hotline.Recording{CallID: c.id, AgentID: o.AgentID, Kind: hotline.RecordingConversation, Node: c.conn.Name(),
		Name: fmt.Sprintf("conv-%s-%d", c.id, o.ID), Format: "wav", StartedAt: time.Now()}
	ctx, cancel := context.WithTimeout(c.ctx, c.e.cfg.RequestTimeout)
	_, err := c.conn.Client().Bridge(bridgeID).Record(ctx, ari.RecordOptions{Name: rec.Name, Format: rec.Format, IfExists: ari.IfExistsOverwrite})
	cancel()
	if err != nil {
		c.log.Error("record conversation", "err", err)
		return func() {}
	}
	save := func() {
		if err := c.store(func(ctx context.Context) error { return c.e.cfg.Recordings.Recording(ctx, rec) }); err != nil {
			c.log.Error("save recording", "recording", rec.Name, "err", err)
		}
	}
	save()
	return func() {
		// Destroying the bridge ends the recording; its length is the conversation's.
		rec.Duration = time.Since(rec.StartedAt)
		save()
	}
}

// PurgeRecordings deletes the recordings of a kind older than retention: the file on the node
// that holds it, then the row. A recording whose node is not connected now is kept for the
// next run. It returns how many were deleted.
func (e *Engine) PurgeRecordings(ctx context.Context, store RecordingStore, kind string, retention time.Duration) (int, error) {
	before := e.cfg.Now().Add(-retention)
	deleted := 0
	for {
		batch, err := store.ExpiredRecordings(ctx, kind, before, 100)
		if err != nil {
			return deleted, err
		}
		progress := false
		for _, r := range batch {
			conn := e.connOf(r.Node)
			if conn == nil {
				e.cfg.Log.Warn("expired recording on a node not connected; kept for now", "recording", r.Name, "node_name", r.Node)
				continue
			}
			rctx, cancel := context.WithTimeout(ctx, e.cfg.RequestTimeout)
			err := conn.Client().StoredRecording(r.Name).Delete(rctx)
			cancel()
			if err != nil && !errors.Is(err, ari.ErrNotFound) {
				e.cfg.Log.Warn("delete expired recording", "recording", r.Name, "node_name", r.Node, "err", err)
				continue
			}
			if err := store.DeleteRecording(ctx, r.ID); err != nil {
				return deleted, err
			}
			deleted++
			progress = true
		}
		if len(batch) < 100 || !progress {
			return deleted, nil
		}
	}
}
