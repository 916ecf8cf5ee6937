package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"

	"github.com/foshan-hotline/hotline"
)

// ErrBadInput is wrapped by the errors of IVRServices for arguments that cannot be stored: a
// callback number that is not 3 to 20 digits, a survey level outside 1–5, an unknown queue
// outcome; and by those of Store.UnlockPIN without a reason or without anyone who unlocks.
var ErrBadInput = errors.New("invalid input")

// IVRServices are the actions of call flow nodes on the hotline's data (PIN verification,
// callbacks, messages, surveys, queues) on the Store's database and clock. It is safe for
// concurrent use.
type IVRServices struct {
	store *Store

	mu     sync.Mutex
	handle map[string]handleSample // queue id → recent average handling time
}

// NewIVRServices returns the IVR's services on store.
func NewIVRServices(store *Store) *IVRServices { return &IVRServices{store: store} }

// VerifyPIN checks an ID number and its phone-service PIN with the Store's lockout rule,
// recording the attempt against the call, and returns the citizen when the pair is right (see
// Store.VerifyIDNumberPIN). Until then a number nobody registered, an inactive account, one
// without a PIN, an ordinary and a real-name user's number all take the same path and time and
// fail alike, as a *PINError matching hotline.ErrPINMismatch or hotline.ErrPINLocked; only after
// the right PIN is an ordinary user refused with hotline.ErrNotRealName. An invalid number is
// hotline.ErrIDNumber. Neither the ID number nor the PIN appears in an error.
func (s *IVRServices) VerifyPIN(ctx context.Context, callID, idNumber, pin string) (*hotline.Citizen, error) {
	return s.store.VerifyIDNumberPIN(ctx, idNumber, pin, callID)
}

// callbackInsert returns no row when the queue named is unknown; no queue ("") is allowed.
const callbackInsert = `
	INSERT INTO hotline.callbacks (call_id, number, queue_id, requested_at)
	SELECT $1, $2, q.id, $4
	FROM (SELECT NULLIF($3::text, '') AS id) a
	LEFT JOIN hotline.queues q ON q.id = a.id
	WHERE a.id IS NULL OR q.id IS NOT NULL
	RETURNING id`

// RequestCallback registers a pending callback to number (3 to 20 digits) for the agents of
// queue ("" for any). An unknown queue is an error wrapping hotline.ErrNotFound.
func (s *IVRServices) RequestCallback(ctx context.Context, callID, number, queue string) error {
	if !digits(number, 3, 20) {
		return fmt.Errorf("callback for call %s: number of %d characters, want 3 to 20 digits: %w", callID, len(number), ErrBadInput)
	}
	var id int64
	err := s.store.db.GetContext(ctx, &id, callbackInsert, callID, number, queue, s.store.now())
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("callback for call %s: unknown queue %q: %w", callID, queue, hotline.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("callback for call %s: %w", callID, missingRef(err))
	}
	return nil
}

// SaveMessage turns a recorded message into a work order (category help, titled 语音留言,
// linked to the citizen when known, see saveMessageOrder), the recording row linked to the
// call and the work order, and the order's history, all or nothing.
func (s *IVRServices) SaveMessage(ctx context.Context, m hotline.Message) error {
	_, err := s.saveMessage(ctx, m)
	return err
}

// SaveMessageNumber is SaveMessage returning the new work order's number, for a flow that
// reads it to the caller.
func (s *IVRServices) SaveMessageNumber(ctx context.Context, m hotline.Message) (string, error) {
	return s.saveMessage(ctx, m)
}

func (s *IVRServices) saveMessage(ctx context.Context, m hotline.Message) (string, error) {
	what := "save message of call " + m.CallID
	if m.RecordingName == "" {
		return "", fmt.Errorf("%s: no recording: %w", what, ErrBadInput)
	}
	tx, err := s.store.db.BeginTxx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback()
	number, err := s.store.saveMessageOrder(ctx, tx, m)
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("%s: commit: %w", what, err)
	}
	return number, nil
}

// surveyUpsert flags the call for a follow-up when asked and stores the answer with the call's
// agent; it returns no row when the call does not exist. A second answer replaces the first.
// The call's row names its agent only once the call has ended, and the survey runs before:
// the agent is then the one who last answered an offer of the call.
const surveyUpsert = `
	WITH c AS (
		UPDATE hotline.calls
		SET follow_up = follow_up OR $3
		WHERE id = $1
		RETURNING id, agent_id
	)
	INSERT INTO hotline.survey_answers (call_id, score, agent_id, answered_at)
	SELECT c.id, $2, ` + surveyAgent + `, $4 FROM c
	ON CONFLICT (call_id) DO UPDATE SET score = EXCLUDED.score, answered_at = EXCLUDED.answered_at
	RETURNING call_id`

// surveyAgent is the agent a survey answer of call c (a row with id and agent_id) credits: the
// call's, or the last one who answered an offer of it.
const surveyAgent = `COALESCE(c.agent_id, (SELECT o.agent_id FROM hotline.offers o
	WHERE o.call_id = c.id AND o.state = 'accepted'
	ORDER BY o.decided_at DESC NULLS LAST, o.id DESC LIMIT 1))`

// SaveSurvey stores the caller's satisfaction level (1 very satisfied … 5 very dissatisfied)
// and, when followUp, flags the call for a follow-up (回访). An unknown call is an error
// wrapping hotline.ErrNotFound.
func (s *IVRServices) SaveSurvey(ctx context.Context, callID string, level int, followUp bool) error {
	if level < 1 || level > 5 {
		return fmt.Errorf("survey of call %s: level %d, want 1 to 5: %w", callID, level, ErrBadInput)
	}
	var id string
	if err := s.store.get(ctx, "survey of call "+callID, &id, surveyUpsert, callID, level, followUp, s.store.now()); err != nil {
		return err
	}
	return nil
}

// digits reports whether s is between min and max ASCII digits long.
func digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// missingRef wraps hotline.ErrNotFound around a foreign-key violation: the record refers to a
// call, citizen or queue that does not exist.
func missingRef(err error) error {
	if pe := pq.As(err, pqerror.ForeignKeyViolation); pe != nil {
		return fmt.Errorf("%w (%s): %w", hotline.ErrNotFound, pe.Constraint, err)
	}
	return err
}
