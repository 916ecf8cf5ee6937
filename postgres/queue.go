package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/foshan-hotline/hotline"
)

// Queue wait estimates.
const (
	// DefaultHandleTime is the handling time assumed per caller ahead when a queue has no
	// recent answered calls to learn from.
	DefaultHandleTime = 3 * time.Minute
	// handleTimeSamples is how many of a queue's last answered calls make its average.
	handleTimeSamples = 20
	// handleTimeWindow is how far back answered calls count.
	handleTimeWindow = 2 * time.Hour
	// handleTimeTTL is how long an average is reused before it is asked for again.
	handleTimeTTL = 30 * time.Second
)

// queueOutcomes are the ways a call leaves a queue.
var queueOutcomes = []string{hotline.QueueAnswered, hotline.QueueAbandoned, hotline.QueueOverflow,
	hotline.QueueMessage, hotline.QueueCallback}

// queueEntryInsert returns no row when the queue does not exist. The entry belongs to the
// controller instance that owns the call (hotline.calls.instance_id), when that instance is
// registered with the ACD; the ACD offers only the entries of live instances. It asks for an
// assignment round.
const queueEntryInsert = `
	WITH e AS (
		INSERT INTO hotline.queue_entries (call_id, queue_id, priority, entered_at, instance_id)
		SELECT $1, q.id, $3, $4, i.id
		FROM hotline.queues q
		LEFT JOIN hotline.calls c ON c.id = $1
		LEFT JOIN hotline.instances i ON i.id = c.instance_id
		WHERE q.id = $2
		RETURNING id, queue_id)
	SELECT e.id, pg_notify('hotline_acd', e.queue_id)::text AS notified FROM e`

// EnterQueue puts the call in queue with priority (higher is served first) and returns its
// entry. An unknown queue or call is an error wrapping hotline.ErrNotFound.
func (s *IVRServices) EnterQueue(ctx context.Context, callID, queue string, priority int) (hotline.QueueEntry, error) {
	var row struct {
		ID       int64  `db:"id"`
		Notified string `db:"notified"`
	}
	err := s.store.db.GetContext(ctx, &row, queueEntryInsert, callID, queue, priority, s.store.now())
	if errors.Is(err, sql.ErrNoRows) {
		return hotline.QueueEntry{}, fmt.Errorf("call %s enters queue: unknown queue %q: %w", callID, queue, hotline.ErrNotFound)
	}
	if err != nil {
		return hotline.QueueEntry{}, fmt.Errorf("call %s enters queue %q: %w", callID, queue, missingRef(err))
	}
	return hotline.QueueEntry{ID: row.ID, Queue: queue}, nil
}

// queuePositionQuery counts the waiting entries of the queue served before or with this one,
// in the ACD's order: effective priority (priority raised by the wait, at the queue's ageing
// rate), then arrival (id breaks ties); a call transferred back by an agent keeps its first
// arrival (waiting_since). Entries of an instance whose heartbeat is older than
// $3 are not waiting: nobody can answer them; entries of no instance (no ACD runs) are.
const queuePositionQuery = `
	SELECT me.left_at IS NOT NULL AS gone,
	       (SELECT count(*)
	        FROM hotline.queue_entries w
	        LEFT JOIN hotline.instances i ON i.id = w.instance_id
	        WHERE w.queue_id = me.queue_id AND w.left_at IS NULL
	          AND (w.instance_id IS NULL OR i.heartbeat_at > $3)
	          AND ((w.priority - me.priority) * 60 + EXTRACT(EPOCH FROM (COALESCE(me.waiting_since, me.entered_at) - COALESCE(w.waiting_since, w.entered_at))) * q.ageing_per_minute > 0
	               OR ((w.priority - me.priority) * 60 + EXTRACT(EPOCH FROM (COALESCE(me.waiting_since, me.entered_at) - COALESCE(w.waiting_since, w.entered_at))) * q.ageing_per_minute = 0
	                   AND (COALESCE(w.waiting_since, w.entered_at), w.id) <= (COALESCE(me.waiting_since, me.entered_at), me.id)))
	       ) AS position
	FROM hotline.queue_entries me
	JOIN hotline.queues q ON q.id = me.queue_id
	WHERE me.id = $1 AND me.queue_id = $2`

// handleTimeQuery averages, in seconds, the time from answer to hang-up of the queue's last
// answered calls since $2; NULL when there are none.
const handleTimeQuery = `
	SELECT EXTRACT(EPOCH FROM avg(h.t))::float8
	FROM (SELECT c.ended_at - e.left_at AS t
	      FROM hotline.queue_entries e
	      JOIN hotline.calls c ON c.id = e.call_id
	      WHERE e.queue_id = $1 AND e.outcome = 'answered' AND e.left_at > $2
	        AND c.ended_at >= e.left_at
	      ORDER BY e.left_at DESC
	      LIMIT $3) h`

// QueueStatus returns the entry's position among the calls waiting in its queue (1 is next,
// in the order the ACD offers them; calls of an instance that stopped answering do not count)
// and the estimated wait: the position times the average handling time of the queue's last
// answered calls (DefaultHandleTime without any in the last two hours). An entry that does not
// exist or has left its queue is an error wrapping hotline.ErrNotFound.
func (s *IVRServices) QueueStatus(ctx context.Context, e hotline.QueueEntry) (int, time.Duration, error) {
	var st struct {
		Gone     bool `db:"gone"`
		Position int  `db:"position"`
	}
	what := fmt.Sprintf("status of queue entry %d", e.ID)
	live := s.store.now().Add(-DefaultLease)
	if err := s.store.get(ctx, what, &st, queuePositionQuery, e.ID, e.Queue, live); err != nil {
		return 0, 0, err
	}
	if st.Gone {
		return 0, 0, fmt.Errorf("%s: left the queue: %w", what, hotline.ErrNotFound)
	}
	handle, err := s.handleTime(ctx, e.Queue)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w", what, err)
	}
	return st.Position, time.Duration(st.Position) * handle, nil
}

// handleTime returns the queue's average handling time, asking the database at most once per
// handleTimeTTL: every waiting caller hears an estimate every few seconds.
func (s *IVRServices) handleTime(ctx context.Context, queue string) (time.Duration, error) {
	now := s.store.now()
	s.mu.Lock()
	c, ok := s.handle[queue]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < handleTimeTTL && !now.Before(c.at) {
		return c.d, nil
	}
	var secs sql.NullFloat64
	if err := s.store.db.GetContext(ctx, &secs, handleTimeQuery, queue, now.Add(-handleTimeWindow), handleTimeSamples); err != nil {
		return 0, fmt.Errorf("handling time of queue %q: %w", queue, err)
	}
	d := DefaultHandleTime
	if secs.Valid {
		d = time.Duration(secs.Float64 * float64(time.Second)).Round(time.Second)
	}
	s.mu.Lock()
	if s.handle == nil {
		s.handle = make(map[string]handleSample)
	}
	s.handle[queue] = handleSample{d: d, at: now}
	s.mu.Unlock()
	return d, nil
}

// handleSample is a queue's average handling time and when it was read.
type handleSample struct {
	d  time.Duration
	at time.Time
}

const queueLeaveUpdate = `
	UPDATE hotline.queue_entries
	SET left_at = $3, outcome = $2
	WHERE id = $1 AND left_at IS NULL
	RETURNING id`

const queueEntryExistsQuery = `
	SELECT EXISTS (SELECT 1 FROM hotline.queue_entries WHERE id = $1)`

// LeaveQueue records when and how (a hotline.Queue* outcome) the call left the queue. An
// entry that has already left keeps its first outcome: the ACD answering a call and the caller
// hanging up may race, and the first one to be recorded is what happened.
func (s *IVRServices) LeaveQueue(ctx context.Context, e hotline.QueueEntry, outcome string) error {
	what := fmt.Sprintf("leave queue entry %d", e.ID)
	if !slices.Contains(queueOutcomes, outcome) {
		return fmt.Errorf("%s: outcome %q: %w", what, outcome, ErrBadInput)
	}
	var id int64
	err := s.store.db.GetContext(ctx, &id, queueLeaveUpdate, e.ID, outcome, s.store.now())
	if err == nil {
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, err)
	}
	var exists bool
	if err := s.store.db.GetContext(ctx, &exists, queueEntryExistsQuery, e.ID); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !exists {
		return fmt.Errorf("%s: %w", what, hotline.ErrNotFound)
	}
	return nil
}
