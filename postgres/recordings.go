package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/foshan-hotline/hotline"
)

const recordingUpsert = `
	INSERT INTO hotline.recordings (call_id, kind, name, format, duration_ms, agent_id, node, started_at)
	VALUES ($1, $2, $3, $4, $5, NULLIF($6, 0), $7, $8)
	ON CONFLICT (name) DO UPDATE SET duration_ms = EXCLUDED.duration_ms
	RETURNING id`

// SaveRecording stores the row of a recording; saving the same name again updates its length.
func (s *Store) SaveRecording(ctx context.Context, r hotline.Recording) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, recordingUpsert, r.CallID, r.Kind, r.Name, r.Format,
		r.Duration.Milliseconds(), r.AgentID, r.Node, r.StartedAt)
	if err != nil {
		return 0, fmt.Errorf("save recording %s of call %s: %w", r.Name, r.CallID, missingRef(err))
	}
	return id, nil
}

const recordingsExpiredQuery = `
	SELECT id, call_id, COALESCE(agent_id, 0) AS agent_id, kind, node, name, format, started_at
	FROM hotline.recordings
	WHERE kind = $1 AND started_at < $2
	ORDER BY started_at
	LIMIT $3`

// ExpiredRecordings returns up to limit recordings of a kind started before before, oldest
// first.
func (s *Store) ExpiredRecordings(ctx context.Context, kind string, before time.Time, limit int) ([]hotline.Recording, error) {
	var out []hotline.Recording
	if err := s.db.SelectContext(ctx, &out, recordingsExpiredQuery, kind, before, limit); err != nil {
		return nil, fmt.Errorf("expired %s recordings: %w", kind, err)
	}
	return out, nil
}

const recordingDelete = `DELETE FROM hotline.recordings WHERE id = $1`

// DeleteRecording removes the row of a recording whose file is gone.
func (s *Store) DeleteRecording(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, recordingDelete, id); err != nil {
		return fmt.Errorf("delete recording %d: %w", id, err)
	}
	return nil
}
