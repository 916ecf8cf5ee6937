package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/foshan-hotline/hotline"
)

// DefaultCallbackSpacing is the wait before the next try of a callback that was not answered;
// the n-th retry waits n times as long.
const DefaultCallbackSpacing = 10 * time.Minute

// SetCallbackSpacing changes the wait between tries of a callback.
func (s *Store) SetCallbackSpacing(d time.Duration) { s.callbackSpacing = d }

const callbackRelease = `
	UPDATE hotline.callbacks SET status = 'pending', agent_id = NULL
	WHERE id = $1 AND status IN ('pending', 'assigned')`

const callbackAttemptInsert = `
	INSERT INTO hotline.callback_attempts
		(callback_id, offer_id, agent_id, call_id, attempt, started_at, ended_at, outcome, cause)
	SELECT $1, NULLIF($2::bigint, 0), NULLIF($3::bigint, 0), NULLIF($4, '')::uuid, c.attempts + 1, $5, $5, $6, $7
	FROM hotline.callbacks c
	WHERE c.id = $1
	RETURNING attempt`

const callbackAfterAttempt = `
	UPDATE hotline.callbacks SET
		attempts = $2,
		last_outcome = $3,
		status = CASE WHEN $3 = 'answered' THEN 'done'
		              WHEN $2 >= max_attempts THEN 'failed'
		              ELSE 'pending' END,
		agent_id = CASE WHEN $3 = 'answered' THEN agent_id END,
		done_at = CASE WHEN $3 = 'answered' OR $2 >= max_attempts THEN $4::timestamptz END,
		next_attempt_at = $4::timestamptz + $5 * $2 * interval '1 second'
	WHERE id = $1`

// CallbackAttempted records one try of a callback and schedules the next: answered ends it as
// done, the last allowed try that was not answered ends it as failed, any other waits
// (spacing × tries so far) for the next try. An outcome of "" means the agent did not take
// the work: the callback waits again at once, its tries unchanged.
func (s *Store) CallbackAttempted(ctx context.Context, task hotline.CallbackTask, offerID, agentID int64, callID, outcome, cause string) error {
	what := fmt.Sprintf("callback %d", task.ID)
	if outcome == "" {
		if _, err := s.db.ExecContext(ctx, callbackRelease, task.ID); err != nil {
			return fmt.Errorf("%s: release: %w", what, err)
		}
		return nil
	}
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{})
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback()
	now := s.now()
	var attempt int
	if err := tx.GetContext(ctx, &attempt, callbackAttemptInsert, task.ID, offerID, agentID, callID, now, outcome, cause); err != nil {
		if err == sql.ErrNoRows {
			return fmt.Errorf("%s: %w", what, hotline.ErrNotFound)
		}
		return fmt.Errorf("%s: record attempt: %w", what, missingRef(err))
	}
	spacing := s.callbackSpacing
	if spacing == 0 {
		spacing = DefaultCallbackSpacing
	}
	if _, err := tx.ExecContext(ctx, callbackAfterAttempt, task.ID, attempt, outcome, now, spacing.Seconds()); err != nil {
		return fmt.Errorf("%s: schedule: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}
