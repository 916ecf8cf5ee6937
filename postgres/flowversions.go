package postgres

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
)

// The database is the source of truth of the published call flows: hotline.flow_versions
// keeps every version of every flow, one of them active; hotline.flow_drafts one draft per
// flow. Every publish, import and rollback writes an audit row with the diff and notifies
// FlowsChannel in the same transaction, so that every instance loads the new set once it is
// committed.

// FlowsChannel is the LISTEN/NOTIFY channel told of every change of the published flows;
// the payload is the flow's name.
const FlowsChannel = "hotline_flows"

// Audit actions of the flows (object_type flow, object_id the flow's name); the detail has
// version, from_version and diff (a unified diff), and restored_from for a rollback.
const (
	AuditFlowPublish  = "flow_publish"
	AuditFlowRollback = "flow_rollback"
	AuditFlowImport   = "flow_import"
)

// FlowSource is a flow document to publish.
type FlowSource struct {
	Name   string
	Source string
}

// FlowVersion is a published version of a flow. Source is empty in lists.
type FlowVersion struct {
	ID           int64     `db:"id" json:"id"`
	Flow         string    `db:"flow" json:"flow"`
	Version      int       `db:"version" json:"version"`
	Checksum     string    `db:"checksum" json:"checksum"`
	PublishedBy  string    `db:"published_by" json:"published_by"` // the desk user's name; "" for the system
	PublishedAt  time.Time `db:"published_at" json:"published_at"`
	Active       bool      `db:"active" json:"active"`
	RestoredFrom int       `db:"restored_from" json:"restored_from,omitempty"`
	// PromptsUpto is the highest prompt revision when it was published: the version plays,
	// of each prompt, the newest revision up to it (see SavePromptOverride).
	PromptsUpto int64  `db:"prompts_upto" json:"prompts_upto"`
	Source      string `db:"source" json:"source,omitempty"`
}

// FlowVerifier checks the whole set of flows a publish would leave active, by name; an error
// refuses the publish.
type FlowVerifier func(ctx context.Context, set map[string]string) error

const (
	flowsLock         = `SELECT pg_advisory_xact_lock(hashtext('hotline.flow_versions'))`
	activeFlowVersion = `SELECT id, version, checksum, source, prompts_upto FROM hotline.flow_versions WHERE flow = $1 AND active FOR UPDATE`
	retireFlowVersion = `UPDATE hotline.flow_versions SET active = false WHERE id = $1`
	insertFlowVersion = `
INSERT INTO hotline.flow_versions (flow, version, source, checksum, published_by, active, restored_from, prompts_upto)
VALUES ($1, (SELECT coalesce(max(version), 0) + 1 FROM hotline.flow_versions WHERE flow = $1), $2, $3, $4, true, $5, $6)
RETURNING id, version`
	flowAudit = `
INSERT INTO hotline.audit_log (actor_id, action, object_type, object_id, detail)
VALUES ($1, $2, 'flow', $3, $4)`
	flowNotify = `SELECT pg_notify('` + FlowsChannel + `', $1)`

	flowVersionColumns = `v.id, v.flow, v.version, v.checksum, coalesce(a.display_name, '') AS published_by,
	v.published_at, v.active, coalesce(v.restored_from, 0) AS restored_from, v.prompts_upto`
	activeFlowSources = `SELECT ` + flowVersionColumns + `, v.source
FROM hotline.flow_versions v LEFT JOIN hotline.agents a ON a.id = v.published_by
WHERE v.active ORDER BY v.flow`
	flowVersionList = `SELECT ` + flowVersionColumns + `
FROM hotline.flow_versions v LEFT JOIN hotline.agents a ON a.id = v.published_by
WHERE v.flow = $1 ORDER BY v.version DESC`
	flowVersionSource = `SELECT ` + flowVersionColumns + `, v.source
FROM hotline.flow_versions v LEFT JOIN hotline.agents a ON a.id = v.published_by
WHERE v.flow = $1 AND v.version = $2`
)

// current is the active version of a flow as a publish sees it.
type current struct {
	ID       int64  `db:"id"`
	Version  int    `db:"version"`
	Checksum string `db:"checksum"`
	Source   string `db:"source"`
	// PromptsUpto is its mark of prompt revisions.
	PromptsUpto int64 `db:"prompts_upto"`
}

func checksum(src string) string {
	sum := sha256.Sum256([]byte(src))
	return hex.EncodeToString(sum[:])
}

func publisher(by int64) sql.NullInt64 {
	return sql.NullInt64{Int64: by, Valid: by != 0}
}

// PublishFlows makes flows the active versions, in one transaction: a flow whose text is
// unchanged keeps its version, a changed one gets the next version number, audited as an
// import with its diff. It returns the active version id of each flow, which calls record
// as the version they ran. by is the desk user, or 0 for the system. The caller has checked
// the flows.
func PublishFlows(ctx context.Context, db *sqlx.DB, flows []FlowSource, by int64) (map[string]int64, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("publish flows: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, flowsLock); err != nil {
		return nil, fmt.Errorf("publish flows: %w", err)
	}
	ids := make(map[string]int64, len(flows))
	for _, f := range flows {
		cur, err := activeVersion(ctx, tx, f.Name)
		if err != nil {
			return nil, err
		}
		if cur.ID != 0 && cur.Checksum == checksum(f.Source) {
			ids[f.Name] = cur.ID
			continue
		}
		upto, err := highestPrompt(ctx, tx)
		if err != nil {
			return nil, err
		}
		v, err := publishVersion(ctx, tx, f.Name, f.Source, cur, by, AuditFlowImport, 0, upto)
		if err != nil {
			return nil, err
		}
		ids[f.Name] = v.ID
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("publish flows: %w", err)
	}
	return ids, nil
}

// activeVersion returns the flow's active version, locked, or the zero current for a flow
// never published.
func activeVersion(ctx context.Context, tx *sqlx.Tx, name string) (current, error) {
	var cur current
	err := tx.GetContext(ctx, &cur, activeFlowVersion, name)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return current{}, fmt.Errorf("flow %s: %w", name, err)
	}
	return cur, nil
}

// publishVersion retires cur and inserts source as the flow's next active version, playing
// the prompt revisions up to promptsUpto, with its audit row and notification, in tx.
func publishVersion(ctx context.Context, tx *sqlx.Tx, name, source string, cur current, by int64, action string, restoredFrom int, promptsUpto int64) (FlowVersion, error) {
	if cur.ID != 0 {
		if _, err := tx.ExecContext(ctx, retireFlowVersion, cur.ID); err != nil {
			return FlowVersion{}, fmt.Errorf("publish flow %s: %w", name, err)
		}
	}
	v := FlowVersion{Flow: name, Checksum: checksum(source), Active: true, RestoredFrom: restoredFrom, Source: source}
	restored := sql.NullInt64{Int64: int64(restoredFrom), Valid: restoredFrom != 0}
	if err := tx.QueryRowContext(ctx, insertFlowVersion, name, source, v.Checksum, publisher(by), restored, promptsUpto).Scan(&v.ID, &v.Version); err != nil {
		return FlowVersion{}, fmt.Errorf("publish flow %s: %w", name, err)
	}
	detail := map[string]any{"version": v.Version, "from_version": cur.Version,
		"diff": UnifiedDiff(cur.Source, source, fmt.Sprintf("%s v%d", name, cur.Version), fmt.Sprintf("%s v%d", name, v.Version))}
	if restoredFrom != 0 {
		detail["restored_from"] = restoredFrom
	}
	if promptsUpto != cur.PromptsUpto {
		detail["prompts_upto"], detail["from_prompts_upto"] = promptsUpto, cur.PromptsUpto
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		return FlowVersion{}, err
	}
	if _, err := tx.ExecContext(ctx, flowAudit, publisher(by), action, name, raw); err != nil {
		return FlowVersion{}, fmt.Errorf("audit flow %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, flowNotify, name); err != nil {
		return FlowVersion{}, fmt.Errorf("notify flow %s: %w", name, err)
	}
	var out FlowVersion
	if err := tx.GetContext(ctx, &out, flowVersionSource, name, v.Version); err != nil {
		return FlowVersion{}, fmt.Errorf("publish flow %s: %w", name, err)
	}
	return out, nil
}

// ActiveFlows returns the active version of every flow, with its source, by name.
func ActiveFlows(ctx context.Context, db sqlx.QueryerContext) ([]FlowVersion, error) {
	var out []FlowVersion
	if err := sqlx.SelectContext(ctx, db, &out, activeFlowSources); err != nil {
		return nil, fmt.Errorf("active flows: %w", err)
	}
	return out, nil
}

// FlowVersions returns the versions of a flow, newest first, without their sources;
// hotline.ErrNotFound for a flow never published.
func FlowVersions(ctx context.Context, db *sqlx.DB, name string) ([]FlowVersion, error) {
	var out []FlowVersion
	if err := db.SelectContext(ctx, &out, flowVersionList, name); err != nil {
		return nil, fmt.Errorf("flow versions: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("flow %q: %w", name, hotline.ErrNotFound)
	}
	return out, nil
}

// FlowVersionSource returns version v of a flow with its source; hotline.ErrNotFound when
// there is none.
func FlowVersionSource(ctx context.Context, db *sqlx.DB, name string, v int) (FlowVersion, error) {
	var out FlowVersion
	err := db.GetContext(ctx, &out, flowVersionSource, name, v)
	if errors.Is(err, sql.ErrNoRows) {
		return FlowVersion{}, fmt.Errorf("flow %q version %d: %w", name, v, hotline.ErrNotFound)
	}
	if err != nil {
		return FlowVersion{}, fmt.Errorf("flow version: %w", err)
	}
	return out, nil
}

// activeSet returns the sources of the active flows, by name, in tx.
func activeSet(ctx context.Context, tx *sqlx.Tx) (map[string]string, error) {
	all, err := ActiveFlows(ctx, tx)
	if err != nil {
		return nil, err
	}
	set := make(map[string]string, len(all))
	for _, v := range all {
		set[v.Flow] = v.Source
	}
	return set, nil
}

// RollbackFlow publishes the source of an earlier version v of a flow as its next version
// (restored_from v), after verify accepts the set it would leave active: the history only
// grows, and calls record the new version. It is audited with the diff from the version it
// replaces. A draft of the flow stays. hotline.ErrNotFound for no such version,
// hotline.ErrConflict when v is the active version.
func RollbackFlow(ctx context.Context, db *sqlx.DB, name string, v int, by int64, verify FlowVerifier) (FlowVersion, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return FlowVersion{}, fmt.Errorf("roll back flow: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, flowsLock); err != nil {
		return FlowVersion{}, fmt.Errorf("roll back flow: %w", err)
	}
	var old FlowVersion
	switch err := tx.GetContext(ctx, &old, flowVersionSource, name, v); {
	case errors.Is(err, sql.ErrNoRows):
		return FlowVersion{}, fmt.Errorf("flow %q version %d: %w", name, v, hotline.ErrNotFound)
	case err != nil:
		return FlowVersion{}, fmt.Errorf("roll back flow: %w", err)
	}
	cur, err := activeVersion(ctx, tx, name)
	if err != nil {
		return FlowVersion{}, err
	}
	if cur.Version == v {
		return FlowVersion{}, fmt.Errorf("version %d of %s is the published one: %w", v, name, hotline.ErrConflict)
	}
	set, err := activeSet(ctx, tx)
	if err != nil {
		return FlowVersion{}, err
	}
	set[name] = old.Source
	if verify != nil {
		if err := verify(ctx, set); err != nil {
			return FlowVersion{}, err
		}
	}
	// A rollback restores the version's prompts as well as its text.
	out, err := publishVersion(ctx, tx, name, old.Source, cur, by, AuditFlowRollback, v, old.PromptsUpto)
	if err != nil {
		return FlowVersion{}, err
	}
	if err := tx.Commit(); err != nil {
		return FlowVersion{}, fmt.Errorf("roll back flow: %w", err)
	}
	return out, nil
}
