package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline"
)

// FlowDraft is the draft of a flow: one per flow, saved by a supervisor, published or
// discarded as a whole.
type FlowDraft struct {
	Flow string `db:"flow" json:"flow"`
	// BaseVersion is the published version the draft was started from; 0 for a new flow.
	BaseVersion int       `db:"base_version" json:"base_version"`
	Source      string    `db:"source" json:"source"`
	SavedBy     string    `db:"saved_by" json:"saved_by"`
	SavedAt     time.Time `db:"saved_at" json:"saved_at"`
}

// FlowSummary is a flow as the list shows it: its active version and its draft, if any.
type FlowSummary struct {
	Flow         string     `db:"flow" json:"flow"`
	Version      int        `db:"version" json:"version"` // 0 when only a draft exists
	VersionID    int64      `db:"version_id" json:"version_id,omitempty"`
	PublishedBy  string     `db:"published_by" json:"published_by"`
	PublishedAt  *time.Time `db:"published_at" json:"published_at,omitempty"`
	Draft        bool       `db:"draft" json:"draft"`
	DraftSavedBy string     `db:"draft_saved_by" json:"draft_saved_by,omitempty"`
	DraftSavedAt *time.Time `db:"draft_saved_at" json:"draft_saved_at,omitempty"`
}

const (
	flowDraftColumns = `d.flow, coalesce(d.base_version, 0) AS base_version, d.source,
	coalesce(a.display_name, '') AS saved_by, d.saved_at`
	flowDraftOf = `SELECT ` + flowDraftColumns + `
FROM hotline.flow_drafts d LEFT JOIN hotline.agents a ON a.id = d.saved_by WHERE d.flow = $1`
	flowDraftAll = `SELECT ` + flowDraftColumns + `
FROM hotline.flow_drafts d LEFT JOIN hotline.agents a ON a.id = d.saved_by ORDER BY d.flow`
	// A draft is based on the version published when it was last saved: whoever saved it
	// had that version before them.
	flowDraftSave = `
INSERT INTO hotline.flow_drafts (flow, source, base_version, saved_by, saved_at)
VALUES ($1, $2, (SELECT version FROM hotline.flow_versions WHERE flow = $1 AND active), $3, now())
ON CONFLICT (flow) DO UPDATE SET source = EXCLUDED.source, base_version = EXCLUDED.base_version,
	saved_by = EXCLUDED.saved_by, saved_at = EXCLUDED.saved_at`
	flowDraftDelete     = `DELETE FROM hotline.flow_drafts WHERE flow = $1`
	flowDraftForPublish = `SELECT flow, source, coalesce(base_version, 0) AS base_version FROM hotline.flow_drafts WHERE flow = $1 FOR UPDATE`
	flowSummaries       = `
SELECT coalesce(v.flow, d.flow) AS flow, coalesce(v.version, 0) AS version, coalesce(v.id, 0) AS version_id,
       coalesce(pa.display_name, '') AS published_by, v.published_at,
       d.flow IS NOT NULL AS draft, coalesce(da.display_name, '') AS draft_saved_by, d.saved_at AS draft_saved_at
FROM (SELECT * FROM hotline.flow_versions WHERE active) v
FULL JOIN hotline.flow_drafts d ON d.flow = v.flow
LEFT JOIN hotline.agents pa ON pa.id = v.published_by
LEFT JOIN hotline.agents da ON da.id = d.saved_by
ORDER BY 1`
)

// FlowSummaries lists every flow with its active version and its draft, by name.
func FlowSummaries(ctx context.Context, db *sqlx.DB) ([]FlowSummary, error) {
	var out []FlowSummary
	if err := db.SelectContext(ctx, &out, flowSummaries); err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	return out, nil
}

// FlowDraftOf returns the draft of a flow; hotline.ErrNotFound when it has none.
func FlowDraftOf(ctx context.Context, db *sqlx.DB, name string) (FlowDraft, error) {
	var d FlowDraft
	err := db.GetContext(ctx, &d, flowDraftOf, name)
	if errors.Is(err, sql.ErrNoRows) {
		return FlowDraft{}, fmt.Errorf("draft of flow %q: %w", name, hotline.ErrNotFound)
	}
	if err != nil {
		return FlowDraft{}, fmt.Errorf("flow draft: %w", err)
	}
	return d, nil
}

// FlowDrafts returns every draft, by flow name.
func FlowDrafts(ctx context.Context, db *sqlx.DB) ([]FlowDraft, error) {
	var out []FlowDraft
	if err := db.SelectContext(ctx, &out, flowDraftAll); err != nil {
		return nil, fmt.Errorf("flow drafts: %w", err)
	}
	return out, nil
}

// SaveFlowDraft saves source as the draft of a flow (a new flow when none is published) by
// desk user by, and notifies FlowsChannel: test calls run the drafts. Saving does not check
// the source; publishing does.
func SaveFlowDraft(ctx context.Context, db *sqlx.DB, name, source string, by int64) (FlowDraft, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return FlowDraft{}, fmt.Errorf("save flow draft: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, flowDraftSave, name, source, publisher(by)); err != nil {
		return FlowDraft{}, fmt.Errorf("save flow draft %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, flowNotify, name); err != nil {
		return FlowDraft{}, fmt.Errorf("notify flow %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return FlowDraft{}, fmt.Errorf("save flow draft: %w", err)
	}
	return FlowDraftOf(ctx, db, name)
}

// DeleteFlowDraft discards the draft of a flow; hotline.ErrNotFound when it has none.
func DeleteFlowDraft(ctx context.Context, db *sqlx.DB, name string) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("discard flow draft: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, flowDraftDelete, name)
	if err != nil {
		return fmt.Errorf("discard flow draft %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("draft of flow %q: %w", name, hotline.ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, flowNotify, name); err != nil {
		return fmt.Errorf("notify flow %s: %w", name, err)
	}
	return tx.Commit()
}

// PublishFlowDraft publishes the draft of a flow as its next version, in one transaction:
// verify must accept the set of flows that would be active (the published ones with the
// draft in place of its flow; it checks them and runs their scenario tests), then the new
// version becomes active, the draft is gone, the audit log has the diff and FlowsChannel is
// notified. Publishes are serialised; the draft cannot change meanwhile. hotline.ErrNotFound
// when the flow has no draft, hotline.ErrConflict when the draft is the published text or
// another version was published since the draft was last saved (publishing it would undo
// that version unseen); an error of verify is returned as it is. A draft with the published
// text is a new version when prompts were changed since that version: it plays them.
func PublishFlowDraft(ctx context.Context, db *sqlx.DB, name string, by int64, verify FlowVerifier) (FlowVersion, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return FlowVersion{}, fmt.Errorf("publish flow: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, flowsLock); err != nil {
		return FlowVersion{}, fmt.Errorf("publish flow: %w", err)
	}
	var d struct {
		Flow   string `db:"flow"`
		Source string `db:"source"`
		Base   int    `db:"base_version"`
	}
	switch err := tx.GetContext(ctx, &d, flowDraftForPublish, name); {
	case errors.Is(err, sql.ErrNoRows):
		return FlowVersion{}, fmt.Errorf("flow %q has no draft to publish: %w", name, hotline.ErrNotFound)
	case err != nil:
		return FlowVersion{}, fmt.Errorf("publish flow: %w", err)
	}
	cur, err := activeVersion(ctx, tx, name)
	if err != nil {
		return FlowVersion{}, err
	}
	if d.Base != cur.Version {
		return FlowVersion{}, fmt.Errorf("the draft of %s was started from version %d, but version %d has been published since: "+
			"compare them and save the draft again: %w", name, d.Base, cur.Version, hotline.ErrConflict)
	}
	upto, err := highestPrompt(ctx, tx)
	if err != nil {
		return FlowVersion{}, err
	}
	// The same text is a new version when prompts changed since: it plays them.
	if cur.ID != 0 && cur.Checksum == checksum(d.Source) && upto == cur.PromptsUpto {
		return FlowVersion{}, fmt.Errorf("the draft of %s is the same as version %d: %w", name, cur.Version, hotline.ErrConflict)
	}
	set, err := activeSet(ctx, tx)
	if err != nil {
		return FlowVersion{}, err
	}
	set[name] = d.Source
	if verify != nil {
		if err := verify(ctx, set); err != nil {
			return FlowVersion{}, err
		}
	}
	v, err := publishVersion(ctx, tx, name, d.Source, cur, by, AuditFlowPublish, 0, upto)
	if err != nil {
		return FlowVersion{}, err
	}
	if _, err := tx.ExecContext(ctx, flowDraftDelete, name); err != nil {
		return FlowVersion{}, fmt.Errorf("publish flow %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return FlowVersion{}, fmt.Errorf("publish flow: %w", err)
	}
	return v, nil
}

// ListenFlows calls changed with the flow's name each time the published flows or the drafts
// change, and with "" after the listener (re)connects, when a change may have been missed,
// until ctx ends. changed runs on the listener's goroutine.
func ListenFlows(ctx context.Context, url string, changed func(name string), onError func(error)) error {
	l := newListener(url, onError)
	defer l.Close()
	if err := l.Listen(FlowsChannel); err != nil {
		return fmt.Errorf("listen %s: %w", FlowsChannel, err)
	}
	changed("")
	ping := time.NewTicker(time.Minute)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-l.Notify:
			if n == nil {
				changed("")
			} else {
				changed(n.Extra)
			}
		case <-ping.C:
			go l.Ping()
		}
	}
}

// newListener opens a LISTEN connection to url that reconnects by itself.
func newListener(url string, onError func(error)) *pq.Listener {
	return pq.NewListener(url, 100*time.Millisecond, 10*time.Second, func(_ pq.ListenerEventType, err error) {
		if err != nil && onError != nil {
			onError(err)
		}
	})
}
