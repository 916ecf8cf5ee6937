package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// FlowSource is a flow document to publish.
type FlowSource struct {
	Name   string
	Source string
}

const (
	activeFlowVersion = `SELECT id, checksum FROM hotline.flow_versions WHERE flow = $1 AND active FOR UPDATE`
	retireFlowVersion = `UPDATE hotline.flow_versions SET active = false WHERE id = $1`
	insertFlowVersion = `
INSERT INTO hotline.flow_versions (flow, version, source, checksum, published_by, active)
VALUES ($1, (SELECT coalesce(max(version), 0) + 1 FROM hotline.flow_versions WHERE flow = $1), $2, $3, $4, true)
RETURNING id`
)

// PublishFlows makes flows the active versions, in one transaction: a flow whose text is
// unchanged keeps its version, a changed one gets the next version number. It returns the
// active version id of each flow, which calls record as the version they ran. by is the
// publishing desk user, or 0 for the system.
func PublishFlows(ctx context.Context, db *sqlx.DB, flows []FlowSource, by int64) (map[string]int64, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("publish flows: %w", err)
	}
	defer tx.Rollback()
	var publisher sql.NullInt64
	if by != 0 {
		publisher = sql.NullInt64{Int64: by, Valid: true}
	}
	ids := make(map[string]int64, len(flows))
	for _, f := range flows {
		sum := sha256.Sum256([]byte(f.Source))
		checksum := hex.EncodeToString(sum[:])
		var cur struct {
			ID       int64  `db:"id"`
			Checksum string `db:"checksum"`
		}
		err := tx.GetContext(ctx, &cur, activeFlowVersion, f.Name)
		switch {
		case err == nil && cur.Checksum == checksum:
			ids[f.Name] = cur.ID
			continue
		case err == nil:
			if _, err := tx.ExecContext(ctx, retireFlowVersion, cur.ID); err != nil {
				return nil, fmt.Errorf("publish flow %s: %w", f.Name, err)
			}
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("publish flow %s: %w", f.Name, err)
		}
		var id int64
		if err := tx.GetContext(ctx, &id, insertFlowVersion, f.Name, f.Source, checksum, publisher); err != nil {
			return nil, fmt.Errorf("publish flow %s: %w", f.Name, err)
		}
		ids[f.Name] = id
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("publish flows: %w", err)
	}
	return ids, nil
}
