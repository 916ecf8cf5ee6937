package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline"
)

// Personal information on request (PIPL): everything the hotline holds about one person, and
// its erasure where the law does not require keeping it. A person is a citizen of the
// platform, the phone numbers they called from, or both.

// PrivacySubject names whose information is asked for.
type PrivacySubject struct {
	// CitizenID is the platform's citizen (0 for a caller who is not registered); their
	// registered mobile joins Numbers.
	CitizenID int64
	// Numbers are the phone numbers the person called from or asked to be called back on.
	Numbers []string
}

// resolve adds the citizen's registered mobile to the numbers; a citizen that does not
// exist is an error wrapping hotline.ErrNotFound.
func (s PrivacySubject) resolve(ctx context.Context, q sqlx.QueryerContext) (PrivacySubject, error) {
	out := PrivacySubject{CitizenID: s.CitizenID, Numbers: append([]string{}, s.Numbers...)}
	if s.CitizenID != 0 {
		var mobile string
		err := sqlx.GetContext(ctx, q, &mobile, `SELECT mobile FROM platform.citizens WHERE id = $1`, s.CitizenID)
		if errors.Is(err, sql.ErrNoRows) {
			return out, fmt.Errorf("citizen %d: %w", s.CitizenID, hotline.ErrNotFound)
		}
		if err != nil {
			return out, fmt.Errorf("citizen %d: %w", s.CitizenID, err)
		}
		out.Numbers = append(out.Numbers, mobile)
	}
	if out.CitizenID == 0 && len(out.Numbers) == 0 {
		return out, fmt.Errorf("a citizen or a phone number is required: %w", hotline.ErrInvalid)
	}
	return out, nil
}

// The hotline's rows about a subject, as JSON objects of the rows (every column): the
// export follows the schema as it grows.
const (
	privacyCalls = `SELECT c.id FROM hotline.calls c
		WHERE ($1 <> 0 AND c.citizen_id = $1) OR c.caller_number = ANY($2)`
	privacySections = `
SELECT 'calls' AS section, coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.started_at), '[]') AS rows
  FROM hotline.calls c WHERE c.id = ANY($3::uuid[])
UNION ALL
SELECT 'call_steps', coalesce(jsonb_agg(to_jsonb(s) ORDER BY s.call_id, s.seq), '[]')
  FROM hotline.call_steps s WHERE s.call_id = ANY($3::uuid[])
UNION ALL
SELECT 'queue_entries', coalesce(jsonb_agg(to_jsonb(q) ORDER BY q.entered_at), '[]')
  FROM hotline.queue_entries q WHERE q.call_id = ANY($3::uuid[])
UNION ALL
SELECT 'survey_answers', coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.answered_at), '[]')
  FROM hotline.survey_answers a WHERE a.call_id = ANY($3::uuid[])
UNION ALL
SELECT 'recordings', coalesce(jsonb_agg(to_jsonb(r) ORDER BY r.created_at), '[]')
  FROM hotline.recordings r WHERE r.call_id = ANY($3::uuid[])
UNION ALL
SELECT 'callbacks', coalesce(jsonb_agg(to_jsonb(b) ORDER BY b.requested_at), '[]')
  FROM hotline.callbacks b WHERE b.number = ANY($2) OR b.call_id = ANY($3::uuid[])
UNION ALL
SELECT 'work_orders', coalesce(jsonb_agg(to_jsonb(w) ORDER BY w.created_at), '[]')
  FROM hotline.work_orders w
 WHERE ($1 <> 0 AND w.citizen_id = $1) OR w.caller_number = ANY($2) OR w.call_id = ANY($3::uuid[])
UNION ALL
SELECT 'work_order_events', coalesce(jsonb_agg(to_jsonb(e) ORDER BY e.at), '[]')
  FROM hotline.work_order_events e
 WHERE e.work_order_id IN (SELECT w.id FROM hotline.work_orders w
        WHERE ($1 <> 0 AND w.citizen_id = $1) OR w.caller_number = ANY($2) OR w.call_id = ANY($3::uuid[]))
UNION ALL
SELECT 'pin_attempts', coalesce(jsonb_agg(jsonb_build_object('at', p.at, 'ok', p.ok, 'call_id', p.call_id) ORDER BY p.at), '[]')
  FROM hotline.pin_attempts p WHERE $1 <> 0 AND p.citizen_id = $1
UNION ALL
SELECT 'audit_log', coalesce(jsonb_agg(jsonb_build_object('at', l.at, 'action', l.action,
        'by', coalesce(a.display_name, ''), 'object_type', l.object_type, 'object_id', l.object_id,
        'detail', l.detail) ORDER BY l.seq), '[]')
  FROM hotline.audit_log l LEFT JOIN hotline.agents a ON a.id = l.actor_id
 WHERE ($1 <> 0 AND l.object_type = 'citizen' AND l.object_id = $1::text)
    OR (l.object_type = 'call' AND l.object_id = ANY($3::text[]))`
)

// PrivacyExport is everything the hotline holds about a subject.
type PrivacyExport struct {
	Subject     PrivacySubject             `json:"subject"`
	GeneratedAt time.Time                  `json:"generated_at"`
	Sections    map[string]json.RawMessage `json:"sections"`
}

// ExportPersonalData returns the hotline's rows about subject: its calls with their IVR
// steps, queue entries, survey answers and recordings (the list; the audio stays on the
// Asterisk nodes), callbacks, work orders with their history, PIN attempts and the audit rows
// of who looked at the person's record and why. It writes an audit row privacy_export by
// actor (0: an operator at the command line).
func ExportPersonalData(ctx context.Context, db *sqlx.DB, subject PrivacySubject, actor int64) (PrivacyExport, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return PrivacyExport{}, fmt.Errorf("privacy export: %w", err)
	}
	defer tx.Rollback()
	subject, err = subject.resolve(ctx, tx)
	if err != nil {
		return PrivacyExport{}, fmt.Errorf("privacy export: %w", err)
	}
	var calls []string
	if err := tx.SelectContext(ctx, &calls, privacyCalls, subject.CitizenID, pq.Array(subject.Numbers)); err != nil {
		return PrivacyExport{}, fmt.Errorf("privacy export: calls: %w", err)
	}
	rows, err := tx.QueryContext(ctx, privacySections, subject.CitizenID, pq.Array(subject.Numbers), pq.Array(calls))
	if err != nil {
		return PrivacyExport{}, fmt.Errorf("privacy export: %w", err)
	}
	out := PrivacyExport{Subject: subject, GeneratedAt: time.Now(), Sections: map[string]json.RawMessage{}}
	for rows.Next() {
		var name string
		var data []byte
		if err := rows.Scan(&name, &data); err != nil {
			rows.Close()
			return PrivacyExport{}, fmt.Errorf("privacy export: %w", err)
		}
		out.Sections[name] = data
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return PrivacyExport{}, fmt.Errorf("privacy export: %w", err)
	}
	if err := auditPrivacy(ctx, tx, "privacy_export", subject, actor, map[string]any{"calls": len(calls)}); err != nil {
		return PrivacyExport{}, err
	}
	if err := tx.Commit(); err != nil {
		return PrivacyExport{}, fmt.Errorf("privacy export: %w", err)
	}
	return out, nil
}

// Erasure is what an erasure did.
type Erasure struct {
	// Calls anonymised: number and citizen removed, IVR input and step details cleared.
	Calls int64 `json:"calls"`
	// Steps whose input or detail was cleared.
	Steps int64 `json:"steps"`
	// Callbacks whose number was removed; pending ones are cancelled.
	Callbacks int64 `json:"callbacks"`
	// Recordings are the recordings to delete from the nodes; their rows go once the file is
	// gone (DeleteRecording).
	Recordings []hotline.Recording `json:"recordings"`
	// WorkOrdersKept are work orders kept whole: the record of a public service the
	// government must keep for its archive period.
	WorkOrdersKept int64 `json:"work_orders_kept"`
}

const (
	eraseCalls = `UPDATE hotline.calls SET caller_number = '', citizen_id = NULL WHERE id = ANY($1::uuid[])`
	eraseSteps = `UPDATE hotline.call_steps SET input = NULL
		WHERE call_id = ANY($1::uuid[]) AND input IS NOT NULL`
	eraseCallbacks = `UPDATE hotline.callbacks
		SET number = '', status = CASE WHEN status IN ('pending', 'assigned') THEN 'cancelled' ELSE status END
		WHERE number = ANY($2) OR call_id = ANY($1::uuid[])`
	eraseRecordings = `SELECT id, call_id, kind, name, format, node, started_at FROM hotline.recordings WHERE call_id = ANY($1::uuid[])`
	keptWorkOrders  = `SELECT count(*) FROM hotline.work_orders
		WHERE ($1 <> 0 AND citizen_id = $1) OR caller_number = ANY($2)`
)

// ErasePersonalData removes or anonymises what the hotline holds about subject and the law
// does not require it to keep: the calls lose the number, the citizen and what was keyed in;
// callbacks lose the number; recordings are returned for deletion from the nodes. Work orders
// (the record of the service), PIN attempts (a security measure) and the audit log
// (accountability) are kept. An audit row privacy_erase by actor records what was done.
func ErasePersonalData(ctx context.Context, db *sqlx.DB, subject PrivacySubject, actor int64) (Erasure, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return Erasure{}, fmt.Errorf("privacy erase: %w", err)
	}
	defer tx.Rollback()
	subject, err = subject.resolve(ctx, tx)
	if err != nil {
		return Erasure{}, fmt.Errorf("privacy erase: %w", err)
	}
	var calls []string
	if err := tx.SelectContext(ctx, &calls, privacyCalls, subject.CitizenID, pq.Array(subject.Numbers)); err != nil {
		return Erasure{}, fmt.Errorf("privacy erase: calls: %w", err)
	}
	var e Erasure
	if err := tx.SelectContext(ctx, &e.Recordings, eraseRecordings, pq.Array(calls)); err != nil {
		return Erasure{}, fmt.Errorf("privacy erase: recordings: %w", err)
	}
	steps := eraseSteps
	if ok, err := hasColumn(ctx, tx, "hotline", "call_steps", "detail"); err != nil {
		return Erasure{}, err
	} else if ok {
		steps = `UPDATE hotline.call_steps SET input = NULL, detail = NULL
			WHERE call_id = ANY($1::uuid[]) AND (input IS NOT NULL OR detail IS NOT NULL)`
	}
	for _, u := range []struct {
		query string
		n     *int64
		args  []any
	}{
		{steps, &e.Steps, []any{pq.Array(calls)}},
		{eraseCalls, &e.Calls, []any{pq.Array(calls)}},
		{eraseCallbacks, &e.Callbacks, []any{pq.Array(calls), pq.Array(subject.Numbers)}},
	} {
		res, err := tx.ExecContext(ctx, u.query, u.args...)
		if err != nil {
			return Erasure{}, fmt.Errorf("privacy erase: %w", err)
		}
		*u.n, _ = res.RowsAffected()
	}
	if err := tx.GetContext(ctx, &e.WorkOrdersKept, keptWorkOrders, subject.CitizenID, pq.Array(subject.Numbers)); err != nil {
		return Erasure{}, fmt.Errorf("privacy erase: %w", err)
	}
	detail := map[string]any{"calls": e.Calls, "steps": e.Steps, "callbacks": e.Callbacks,
		"recordings": len(e.Recordings), "work_orders_kept": e.WorkOrdersKept}
	if err := auditPrivacy(ctx, tx, "privacy_erase", subject, actor, detail); err != nil {
		return Erasure{}, err
	}
	if err := tx.Commit(); err != nil {
		return Erasure{}, fmt.Errorf("privacy erase: %w", err)
	}
	return e, nil
}

// auditPrivacy writes the audit row of an export or erasure: the citizen, or the first
// number's last four digits.
func auditPrivacy(ctx context.Context, tx *sqlx.Tx, action string, s PrivacySubject, actor int64, detail map[string]any) error {
	objectType, objectID := "citizen", fmt.Sprint(s.CitizenID)
	masked := make([]string, len(s.Numbers))
	for i, n := range s.Numbers {
		masked[i] = lastFour(n)
	}
	detail["numbers"] = masked
	if s.CitizenID == 0 {
		objectType, objectID = "caller", masked[0]
	}
	raw, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	var by any
	if actor != 0 {
		by = actor
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO hotline.audit_log (actor_id, action, object_type, object_id, detail)
		VALUES ($1, $2, $3, $4, $5)`, by, action, objectType, objectID, raw); err != nil {
		return fmt.Errorf("%s: audit: %w", action, err)
	}
	return nil
}

// lastFour masks a phone number but its last four digits.
func lastFour(n string) string {
	if len(n) <= 4 {
		return n
	}
	return strings.Repeat("*", len(n)-4) + n[len(n)-4:]
}

// hasColumn reports whether a table has a column.
func hasColumn(ctx context.Context, q sqlx.QueryerContext, schema, table, column string) (bool, error) {
	var ok bool
	err := sqlx.GetContext(ctx, q, &ok, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = $1 AND table_name = $2 AND column_name = $3)`, schema, table, column)
	return ok, err
}

// Retention is how long the hotline keeps what it records of calls.
type Retention struct {
	// CallSteps: the IVR path of calls that ended longer ago is deleted (the call's own row,
	// its outcome and timing, stays for the statistics).
	CallSteps time.Duration
}

// PurgeExpired deletes what is past its retention and returns how many rows went.
func PurgeExpired(ctx context.Context, db *sqlx.DB, r Retention, now time.Time) (int64, error) {
	if r.CallSteps <= 0 {
		return 0, nil
	}
	res, err := db.ExecContext(ctx, `DELETE FROM hotline.call_steps s USING hotline.calls c
		WHERE s.call_id = c.id AND c.ended_at < $1`, now.Add(-r.CallSteps))
	if err != nil {
		return 0, fmt.Errorf("purge expired call steps: %w", err)
	}
	return res.RowsAffected()
}
