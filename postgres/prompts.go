package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/prompts"
)

// Prompts changed in the desk live in hotline.prompt_overrides (migration 00026), one row per
// revision, newest current. Published flow versions pin them: a version plays, of each prompt
// and language, the newest revision whose id is at most its prompts_upto, the highest id
// when it was published. A revision is saved under the flows' advisory lock, so no revision
// with a lower id commits after a publish that could have missed it.

// Sources of a prompt revision.
const (
	// PromptRendered is a text spoken by the server's espeak-ng and sox.
	PromptRendered = "render"
	// PromptUploaded is a recording uploaded and converted with sox.
	PromptUploaded = "upload"
	// PromptShipped goes back to the file of the sounds directory; it has no audio.
	PromptShipped = "shipped"
)

// AuditPromptChange is the audit action of every prompt revision (object_type prompt,
// object_id lang/id); the detail has the revision id, source, text and the audio's SHA-256.
const AuditPromptChange = "prompt_change"

// PromptOverride is a revision of a prompt saved in the desk, without its audio.
type PromptOverride struct {
	ID         int64     `db:"id" json:"id"`
	Prompt     string    `db:"prompt" json:"prompt"`
	Lang       string    `db:"lang" json:"lang"`
	Source     string    `db:"source" json:"source"`
	Text       string    `db:"text" json:"text"`
	SHA256     string    `db:"sha256" json:"sha256,omitempty"`
	DurationMs int       `db:"duration_ms" json:"duration_ms"`
	CreatedBy  string    `db:"created_by" json:"created_by"` // the desk user's name
	CreatedAt  time.Time `db:"created_at" json:"created_at"`
}

// Media returns the sound name, relative to a language directory, the revision plays; "" for
// a return to the shipped file.
func (o PromptOverride) Media() string {
	if o.Source == PromptShipped {
		return ""
	}
	return prompts.OverrideName(o.Prompt, o.SHA256)
}

// NewPromptOverride is a revision to save. Audio is nil for PromptShipped.
type NewPromptOverride struct {
	Prompt, Lang, Source, Text string
	Audio                      []byte
	Duration                   time.Duration
	By                         int64
	IP                         string
}

const (
	promptOverrideColumns = `o.id, o.prompt, o.lang, o.source, o.text, o.sha256, o.duration_ms,
	coalesce(a.display_name, '') AS created_by, o.created_at`
	promptOverrideInsert = `
INSERT INTO hotline.prompt_overrides (prompt, lang, source, text, audio, sha256, duration_ms, created_by)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`
	promptOverrideByID = `SELECT ` + promptOverrideColumns + `
FROM hotline.prompt_overrides o LEFT JOIN hotline.agents a ON a.id = o.created_by WHERE o.id = $1`
	promptOverridesCurrent = `SELECT DISTINCT ON (o.prompt, o.lang) ` + promptOverrideColumns + `
FROM hotline.prompt_overrides o LEFT JOIN hotline.agents a ON a.id = o.created_by
ORDER BY o.prompt, o.lang, o.id DESC`
	promptOverrideHistory = `SELECT ` + promptOverrideColumns + `
FROM hotline.prompt_overrides o LEFT JOIN hotline.agents a ON a.id = o.created_by
WHERE o.prompt = $1 ORDER BY o.id DESC LIMIT 100`
	promptOverrideAudio = `SELECT audio FROM hotline.prompt_overrides WHERE id = $1 AND audio IS NOT NULL`
	// The revisions a flow version plays: per prompt and language the newest up to its mark.
	promptPinsOf = `SELECT DISTINCT ON (o.prompt, o.lang) o.id, o.prompt, o.lang, o.source, o.sha256
FROM hotline.prompt_overrides o
WHERE o.id <= (SELECT prompts_upto FROM hotline.flow_versions WHERE id = $1)
ORDER BY o.prompt, o.lang, o.id DESC`
	promptPinsLatest = `SELECT DISTINCT ON (o.prompt, o.lang) o.id, o.prompt, o.lang, o.source, o.sha256
FROM hotline.prompt_overrides o ORDER BY o.prompt, o.lang, o.id DESC`
	promptAudit = `INSERT INTO hotline.audit_log (actor_id, action, object_type, object_id, detail, ip)
VALUES ($1, '` + AuditPromptChange + `', 'prompt', $2, $3, NULLIF($4, '')::inet)`
	activePromptMarks = `SELECT flow, prompts_upto FROM hotline.flow_versions WHERE active`
	promptsHighest    = `SELECT coalesce(max(id), 0) FROM hotline.prompt_overrides`
)

// SavePromptOverride stores a revision of a prompt with its audit row, in one transaction
// under the flows' lock (see above), and returns it.
func SavePromptOverride(ctx context.Context, db *sqlx.DB, n NewPromptOverride) (PromptOverride, error) {
	var sum string
	if n.Audio != nil {
		sum = prompts.Sum(n.Audio)
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return PromptOverride{}, fmt.Errorf("save prompt: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, flowsLock); err != nil {
		return PromptOverride{}, fmt.Errorf("save prompt: %w", err)
	}
	var id int64
	if err := tx.GetContext(ctx, &id, promptOverrideInsert, n.Prompt, n.Lang, n.Source, n.Text, n.Audio, sum,
		n.Duration.Milliseconds(), publisher(n.By)); err != nil {
		return PromptOverride{}, fmt.Errorf("save prompt %s/%s: %w", n.Lang, n.Prompt, err)
	}
	detail, err := json.Marshal(map[string]any{"revision": id, "source": n.Source, "text": n.Text, "sha256": sum,
		"duration_ms": n.Duration.Milliseconds()})
	if err != nil {
		return PromptOverride{}, err
	}
	if _, err := tx.ExecContext(ctx, promptAudit, publisher(n.By), n.Lang+"/"+n.Prompt, detail, normalIP(n.IP)); err != nil {
		return PromptOverride{}, fmt.Errorf("audit prompt change: %w", err)
	}
	var out PromptOverride
	if err := tx.GetContext(ctx, &out, promptOverrideByID, id); err != nil {
		return PromptOverride{}, fmt.Errorf("save prompt: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return PromptOverride{}, fmt.Errorf("save prompt: %w", err)
	}
	return out, nil
}

// CurrentPromptOverrides returns the newest revision of every changed prompt and language.
func CurrentPromptOverrides(ctx context.Context, db *sqlx.DB) ([]PromptOverride, error) {
	var out []PromptOverride
	if err := db.SelectContext(ctx, &out, promptOverridesCurrent); err != nil {
		return nil, fmt.Errorf("prompt overrides: %w", err)
	}
	return out, nil
}

// PromptOverrideHistory returns the revisions of a prompt in every language, newest first
// (the last hundred).
func PromptOverrideHistory(ctx context.Context, db *sqlx.DB, prompt string) ([]PromptOverride, error) {
	var out []PromptOverride
	if err := db.SelectContext(ctx, &out, promptOverrideHistory, prompt); err != nil {
		return nil, fmt.Errorf("prompt history: %w", err)
	}
	return out, nil
}

// PromptOverrideByID returns a revision; hotline.ErrNotFound when there is none.
func PromptOverrideByID(ctx context.Context, db *sqlx.DB, id int64) (PromptOverride, error) {
	var out PromptOverride
	err := db.GetContext(ctx, &out, promptOverrideByID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return PromptOverride{}, fmt.Errorf("prompt revision %d: %w", id, hotline.ErrNotFound)
	}
	if err != nil {
		return PromptOverride{}, fmt.Errorf("prompt revision: %w", err)
	}
	return out, nil
}

// PromptOverrideAudio returns the audio of a revision; hotline.ErrNotFound when there is
// none or it has none.
func PromptOverrideAudio(ctx context.Context, db sqlx.QueryerContext, id int64) ([]byte, error) {
	var audio []byte
	err := sqlx.GetContext(ctx, db, &audio, promptOverrideAudio, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("audio of prompt revision %d: %w", id, hotline.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("prompt audio: %w", err)
	}
	return audio, nil
}

// ActivePromptMarks returns, by flow name, the prompts_upto of its active version: a
// revision with a higher id is not yet played by that flow.
func ActivePromptMarks(ctx context.Context, db *sqlx.DB) (map[string]int64, error) {
	rows, err := db.QueryContext(ctx, activePromptMarks)
	if err != nil {
		return nil, fmt.Errorf("prompt marks: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var name string
		var upto int64
		if err := rows.Scan(&name, &upto); err != nil {
			return nil, fmt.Errorf("prompt marks: %w", err)
		}
		out[name] = upto
	}
	return out, rows.Err()
}

// PromptFiles gives the engine the prompt revisions of each flow version, writing their
// files into the sounds directory when this instance lacks them (the audio is in the
// database; another instance may have saved it). *PromptFiles implements ivr.PromptPins.
type PromptFiles struct {
	DB *sqlx.DB
	// Dir is the sounds directory (ivr.sounds_dir).
	Dir string

	mu sync.Mutex // serialises file writes
}

// pinRow is a revision as a flow version plays it.
type pinRow struct {
	ID     int64  `db:"id"`
	Prompt string `db:"prompt"`
	Lang   string `db:"lang"`
	Source string `db:"source"`
	SHA256 string `db:"sha256"`
}

// PromptPins returns, by "lang/id", the sound name (relative to a language directory) of
// each changed prompt flow version versionID plays; version 0 (a draft on a test call) plays
// the newest revisions. A prompt brought back to its shipped file has no entry.
func (p *PromptFiles) PromptPins(ctx context.Context, versionID int64) (map[string]string, error) {
	var rows []pinRow
	var err error
	if versionID == 0 {
		err = p.DB.SelectContext(ctx, &rows, promptPinsLatest)
	} else {
		err = p.DB.SelectContext(ctx, &rows, promptPinsOf, versionID)
	}
	if err != nil {
		return nil, fmt.Errorf("prompt pins of version %d: %w", versionID, err)
	}
	out := map[string]string{}
	for _, r := range rows {
		if r.Source == PromptShipped {
			continue
		}
		o := PromptOverride{ID: r.ID, Prompt: r.Prompt, Lang: r.Lang, Source: r.Source, SHA256: r.SHA256}
		if err := p.ensure(ctx, o); err != nil {
			return nil, err
		}
		out[r.Lang+"/"+r.Prompt] = o.Media()
	}
	return out, nil
}

// Path returns the file of a revision in the sounds directory.
func (p *PromptFiles) Path(o PromptOverride) string {
	return filepath.Join(p.Dir, o.Lang, filepath.FromSlash(o.Media())+".wav")
}

// Write installs a revision's audio in the sounds directory, through a temporary file so
// that a player never sees half of it. The name is the audio's hash: an existing file is
// already right.
func (p *PromptFiles) Write(o PromptOverride, audio []byte) error {
	path := p.Path(o)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("install prompt: %w", err)
	}
	// A temporary name of its own: another instance may be writing the same file.
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("install prompt: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(audio)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("install prompt: %w", err)
	}
	return nil
}

// ensure writes a revision's file from the database when it is missing.
func (p *PromptFiles) ensure(ctx context.Context, o PromptOverride) error {
	if _, err := os.Stat(p.Path(o)); err == nil {
		return nil
	}
	audio, err := PromptOverrideAudio(ctx, p.DB, o.ID)
	if err != nil {
		return err
	}
	return p.Write(o, audio)
}

// highestPrompt returns the highest revision id, the prompts_upto of a version published
// now; tx holds the flows' lock.
func highestPrompt(ctx context.Context, tx *sqlx.Tx) (int64, error) {
	var n int64
	if err := tx.GetContext(ctx, &n, promptsHighest); err != nil {
		return 0, fmt.Errorf("prompt revisions: %w", err)
	}
	return n, nil
}
