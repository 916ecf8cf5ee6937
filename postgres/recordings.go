package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk/workorder"
)

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

// SetWorkOrderRules sets the calendar and limits of the orders voice messages make; until
// set, working days are Monday to Friday in China Standard Time with the default limits.
func (s *Store) SetWorkOrderRules(r WorkOrderRules) { s.workOrders = r }

// weekdays is the calendar of working days when none is configured: Monday to Friday, of
// the day t is in China Standard Time whatever zone it is given in.
type weekdays struct{}

func (weekdays) WorkingDay(t time.Time) bool {
	wd := t.In(chinaTime).Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

func (weekdays) Location() *time.Location { return chinaTime }

func (s *Store) workOrderRules() WorkOrderRules { return s.workOrders.OrDefault() }

// OrDefault fills what r lacks: Monday to Friday in China Standard Time for the calendar,
// workorder.DefaultLimits for the limits.
func (r WorkOrderRules) OrDefault() WorkOrderRules {
	if r.Calendar == nil {
		r.Calendar = weekdays{}
	}
	if r.Limits.WorkingDays == nil {
		r.Limits = workorder.DefaultLimits
	}
	return r
}

const messageRecordingInsert = `
	INSERT INTO hotline.recordings (call_id, kind, name, duration_ms, work_order_id)
	VALUES ($1, 'message', $2, $3, $4)`

// saveMessageOrder stores a voice message left in the IVR: a work order (category help unless
// the flow gave a category of the practice, titled 语音留言, the call's queue) and the
// recording linked to it, in tx. It returns the order's number.
func (s *Store) saveMessageOrder(ctx context.Context, tx *sqlx.Tx, m hotline.Message) (string, error) {
	cat := workorder.Category(m.Category)
	if !cat.Valid() {
		cat = workorder.HelpRequest
	}
	secs := int(m.Duration.Round(time.Second) / time.Second)
	desc := fmt.Sprintf("语音留言录音 %d 秒，请收听录音后处理。", secs)
	if n := len(m.CallerNumber); n >= 4 && digits(m.CallerNumber[n-4:], 4, 4) {
		desc = "来电尾号 " + m.CallerNumber[n-4:] + "。" + desc
	}
	var queue sql.NullString
	if err := tx.GetContext(ctx, &queue, `SELECT (SELECT queue_id FROM hotline.queue_entries
		WHERE call_id = $1::uuid ORDER BY id DESC LIMIT 1)`, m.CallID); err != nil {
		return "", fmt.Errorf("queue of the call: %w", err)
	}
	caller := m.CallerNumber
	if !digits(caller, 3, 20) {
		caller = ""
	}
	id, err := createWorkOrder(ctx, tx, s.workOrderRules(), s.now(), NewWorkOrder{CallID: m.CallID, CitizenID: m.CitizenID,
		CallerNumber: caller, Category: cat, Urgency: workorder.Normal, Title: "语音留言", Description: desc,
		QueueID: queue.String, Note: "语音留言自动生成"})
	if err != nil {
		return "", fmt.Errorf("work order: %w", err)
	}
	if _, err := tx.ExecContext(ctx, messageRecordingInsert, m.CallID, m.RecordingName, m.Duration.Milliseconds(), id); err != nil {
		return "", fmt.Errorf("recording: %w", missingRef(err))
	}
	var number string
	if err := tx.GetContext(ctx, &number, `SELECT number FROM hotline.work_orders WHERE id = $1`, id); err != nil {
		return "", err
	}
	return number, nil
}

// RecordingFilter selects recordings for the supervisors' list; zero fields select all.
type RecordingFilter struct {
	// From and To bound when the recording started: From <= started_at < To.
	From, To time.Time
	Queue    string
	AgentID  int64
	// Number matches the end of the caller's number (the whole number, or its last digits).
	Number string
	// Kind is conversation or message.
	Kind          string
	Limit, Offset int
}

// RecordingRow is a recording as the supervisors' list shows it. CallerNumber is the full
// number: the caller of the API masks it.
type RecordingRow struct {
	ID           int64     `db:"id" json:"id"`
	CallID       string    `db:"call_id" json:"call_id"`
	Kind         string    `db:"kind" json:"kind"`
	StartedAt    time.Time `db:"started_at" json:"started_at"`
	DurationMs   int64     `db:"duration_ms" json:"duration_ms"`
	CallerNumber string    `db:"caller_number" json:"-"`
	QueueID      string    `db:"queue_id" json:"queue_id"`
	QueueName    string    `db:"queue_name" json:"queue_name"`
	AgentID      int64     `db:"agent_id" json:"agent_id"`
	AgentName    string    `db:"agent_name" json:"agent_name"`
	WorkOrder    string    `db:"work_order" json:"work_order"`
}

const recordingSearch = `
SELECT r.id, r.call_id::text AS call_id, r.kind, r.started_at, r.duration_ms, c.caller_number,
       coalesce(c.queue_id, '') AS queue_id, coalesce(q.name, '') AS queue_name,
       coalesce(r.agent_id, c.agent_id, 0) AS agent_id, coalesce(a.display_name, '') AS agent_name,
       coalesce(w.number, '') AS work_order, count(*) OVER () AS total
FROM hotline.recordings r
JOIN hotline.calls c ON c.id = r.call_id
LEFT JOIN hotline.queues q ON q.id = c.queue_id
LEFT JOIN hotline.agents a ON a.id = coalesce(r.agent_id, c.agent_id)
LEFT JOIN hotline.work_orders w ON w.id = r.work_order_id
WHERE ($1::timestamptz IS NULL OR r.started_at >= $1)
  AND ($2::timestamptz IS NULL OR r.started_at < $2)
  AND ($3 = '' OR c.queue_id = $3)
  AND ($4 = 0 OR coalesce(r.agent_id, c.agent_id) = $4)
  AND ($5 = '' OR c.caller_number LIKE '%' || $5)
  AND ($6 = '' OR r.kind = $6)
ORDER BY r.started_at DESC, r.id DESC
LIMIT $7 OFFSET $8`

// SearchRecordings returns the recordings f selects, newest first, and how many there are
// in all.
func SearchRecordings(ctx context.Context, db *sqlx.DB, f RecordingFilter) ([]RecordingRow, int, error) {
	var rows []struct {
		RecordingRow
		Total int `db:"total"`
	}
	var from, to sql.NullTime
	from.Time, from.Valid = f.From, !f.From.IsZero()
	to.Time, to.Valid = f.To, !f.To.IsZero()
	if err := db.SelectContext(ctx, &rows, recordingSearch, from, to, f.Queue, f.AgentID, f.Number, f.Kind, f.Limit, f.Offset); err != nil {
		return nil, 0, fmt.Errorf("search recordings: %w", err)
	}
	out := make([]RecordingRow, len(rows))
	total := 0
	for i, r := range rows {
		out[i], total = r.RecordingRow, r.Total
	}
	if len(rows) == 0 && f.Offset > 0 {
		// Past the last page: the count still says how many there are.
		if err := db.GetContext(ctx, &total, `SELECT count(*) FROM (`+strings.Replace(recordingSearch, "LIMIT $7 OFFSET $8", "", 1)+`) s`,
			from, to, f.Queue, f.AgentID, f.Number, f.Kind); err != nil {
			return nil, 0, fmt.Errorf("count recordings: %w", err)
		}
	}
	return out, total, nil
}

// RecordingChoice is a queue or agent the recordings can be filtered by.
type RecordingChoice struct {
	ID   string `db:"id" json:"id"`
	Name string `db:"name" json:"name"`
}

// RecordingChoices returns the queues and the agents (every desk user who may take calls,
// active or not: old recordings keep theirs) to filter recordings by, by name.
func RecordingChoices(ctx context.Context, db *sqlx.DB) (queues, agents []RecordingChoice, err error) {
	if err := db.SelectContext(ctx, &queues, `SELECT id, name FROM hotline.queues ORDER BY name`); err != nil {
		return nil, nil, fmt.Errorf("recording filters: %w", err)
	}
	if err := db.SelectContext(ctx, &agents, `SELECT id::text AS id, display_name AS name FROM hotline.agents
		WHERE role IN ('agent', 'supervisor') ORDER BY display_name, id`); err != nil {
		return nil, nil, fmt.Errorf("recording filters: %w", err)
	}
	return queues, agents, nil
}
