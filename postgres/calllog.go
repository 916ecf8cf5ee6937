package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/foshan-hotline/hotline"
)

// ErrCallLogClosed is returned by a CallLog's Step, EndCall and Flush after Close.
var ErrCallLogClosed = errors.New("call log closed")

// errNoCall marks a call end whose call has no row: nothing was updated.
var errNoCall = errors.New("no such call")

// CallLogOptions tunes a CallLog; a zero field takes its default.
type CallLogOptions struct {
	// MaxBatch is how many records make a batch be written at once (default 500).
	MaxBatch int
	// MaxDelay is how long a record waits for its batch to fill (default 20 ms).
	MaxDelay time.Duration
	// Buffer is how many records may be queued before Step and EndCall block (default 8192).
	Buffer int
	// Retries is how many times a batch that failed for a passing reason (a lost connection)
	// is tried again before it is written row by row (default 3; negative for none).
	Retries int
	// Backoff is the wait before the first retry; it doubles with each (default 50 ms).
	Backoff time.Duration
	// WriteTimeout bounds each statement (default 10 s).
	WriteTimeout time.Duration
}

func (o CallLogOptions) withDefaults() CallLogOptions {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 500
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 20 * time.Millisecond
	}
	if o.Buffer <= 0 {
		o.Buffer = 8192
	}
	if o.Retries < 0 {
		o.Retries = 0
	} else if o.Retries == 0 {
		o.Retries = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = 50 * time.Millisecond
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	return o
}

// CallLog writes call records to PostgreSQL: the calls row at once when a call starts, and
// its IVR path and end through one writer goroutine that batches them. Records of a call are
// written in the order they were given (the end after the steps before it). Nothing is
// dropped: when the queue is full, callers wait; a batch the database refuses is retried, then
// written row by row so one bad record does not keep the others out, and a record that still
// cannot be written is logged and counted as failed. CallLog is safe for concurrent use.
type CallLog struct {
	db   *sqlx.DB
	log  *slog.Logger
	opts CallLogOptions

	in     chan logItem
	mu     sync.RWMutex // held for reading while queueing, for writing by Close
	closed bool
	done   chan struct{}      // closed when the writer has stopped
	ctx    context.Context    // the writer's; cancelled when Close gives up
	cancel context.CancelFunc // cancels ctx

	pending, written, failed, batches atomic.Int64
}

// CallLogStats counts a CallLog's records since it was made.
type CallLogStats struct {
	Pending int64 // queued or being written
	Written int64 // written (two records merged into one row count as two)
	Failed  int64 // given up after retries
	Batches int64 // statements that wrote records
}

// logItem is what travels to the writer: a step, an end, a flush request or the stop.
type logItem struct {
	kind  itemKind
	step  hotline.CallStep
	end   hotline.CallEnd
	flush chan struct{}
}

type itemKind uint8

const (
	itemStep itemKind = iota
	itemEnd
	itemFlush
	itemStop
)

// NewCallLog starts a CallLog writing to db, logging with logger. Close it to write what is
// queued and stop its goroutine.
func NewCallLog(db *sqlx.DB, logger *slog.Logger, opts CallLogOptions) *CallLog {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	l := &CallLog{
		db:     db,
		log:    logger,
		opts:   opts,
		in:     make(chan logItem, opts.Buffer),
		done:   make(chan struct{}),
		ctx:    ctx,
		cancel: cancel,
	}
	go l.run()
	return l
}

const callInsert = `
	INSERT INTO hotline.calls (id, node, channel_id, caller_number, language, flow_version_id, started_at, instance_id)
	VALUES ($1, $2, $3, $4, COALESCE(NULLIF($5::text, ''), 'zh'), NULLIF($6::bigint, 0), $7, NULLIF($8, ''))
	ON CONFLICT (id) DO NOTHING`

// StartCall inserts the call's row before it returns, so the steps that follow can refer to
// it. Starting a call already recorded changes nothing.
func (l *CallLog) StartCall(ctx context.Context, c hotline.CallRecord) error {
	_, err := l.db.ExecContext(ctx, callInsert, c.ID, c.Node, c.ChannelID, c.CallerNumber,
		c.Language, c.FlowVersionID, c.StartedAt, c.Instance)
	if err != nil {
		return fmt.Errorf("start call %s: %w", c.ID, err)
	}
	return nil
}

// Step queues one node of a call's path: at entry (LeftAt zero, Exit empty) and again at exit;
// the second write completes the first. Input is stored as given (the engine masks it).
// Step waits while the queue is full; it fails only when ctx ends first or the log is closed.
func (l *CallLog) Step(ctx context.Context, s hotline.CallStep) error {
	if s.CallID == "" || s.Seq <= 0 {
		return fmt.Errorf("call step %q #%d: need a call id and a positive seq", s.CallID, s.Seq)
	}
	return l.enqueue(ctx, logItem{kind: itemStep, step: s})
}

// EndCall queues the completion of a call's record: when it ended and was answered, its
// outcome, language, citizen, queue and follow-up flag. It is written after the call's steps
// queued before it. Give it a context that outlives the call (context.WithoutCancel of the
// call's) so a hang-up does not keep the end out of a full queue.
func (l *CallLog) EndCall(ctx context.Context, e hotline.CallEnd) error {
	if e.CallID == "" {
		return errors.New("call end: need a call id")
	}
	return l.enqueue(ctx, logItem{kind: itemEnd, end: e})
}

// Flush returns when every record queued before it has been written or given up on.
func (l *CallLog) Flush(ctx context.Context) error {
	done := make(chan struct{})
	if err := l.enqueue(ctx, logItem{kind: itemFlush, flush: done}); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flush call log: %w", ctx.Err())
	}
}

// Close writes everything queued and stops the writer. If ctx ends first, the writes in
// progress are abandoned, what is left is counted as failed, and the error says how much.
func (l *CallLog) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		select {
		case <-l.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("close call log: %w", ctx.Err())
		}
	}
	l.closed = true
	l.mu.Unlock()
	// No sender is queueing now and none will: the stop is the last item.
	select {
	case l.in <- logItem{kind: itemStop}:
	case <-ctx.Done():
		l.cancel()
		l.in <- logItem{kind: itemStop} // the writer, failing fast now, makes room
	}
	select {
	case <-l.done:
		l.cancel()
		return nil
	case <-ctx.Done():
		left := l.pending.Load()
		l.cancel()
		<-l.done
		return fmt.Errorf("close call log: %d records not written: %w", left, ctx.Err())
	}
}

// enqueue hands an item to the writer, waiting while the queue is full. A record is queued
// whenever there is room, even if ctx has ended.
func (l *CallLog) enqueue(ctx context.Context, it logItem) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrCallLogClosed
	}
	record := it.kind == itemStep || it.kind == itemEnd
	if record {
		l.pending.Add(1)
	}
	select {
	case l.in <- it:
		return nil
	default:
	}
	select {
	case l.in <- it:
		return nil
	case <-ctx.Done():
		if record {
			l.pending.Add(-1)
		}
		return fmt.Errorf("queue call record: %w", ctx.Err())
	}
}

// Stats returns the log's counters.
func (l *CallLog) Stats() CallLogStats {
	return CallLogStats{
		Pending: l.pending.Load(),
		Written: l.written.Load(),
		Failed:  l.failed.Load(),
		Batches: l.batches.Load(),
	}
}

// batch is what the writer has collected: steps merged by (call, seq), ends merged by call.
type batch struct {
	steps    []stepRow
	stepAt   map[stepKey]int
	ends     []endRow
	endAt    map[string]int
	received int
}

type stepKey struct {
	call string
	seq  int
}

// stepRow is a step to write and how many records it stands for.
type stepRow struct {
	hotline.CallStep
	records int
}

// endRow is a call end to write and how many records it stands for.
type endRow struct {
	hotline.CallEnd
	records int
}

func (b *batch) add(it logItem) {
	b.received++
	switch it.kind {
	case itemStep:
		k := stepKey{it.step.CallID, it.step.Seq}
		if i, ok := b.stepAt[k]; ok {
			b.steps[i] = stepRow{mergeStep(b.steps[i].CallStep, it.step), b.steps[i].records + 1}
			return
		}
		b.stepAt[k] = len(b.steps)
		b.steps = append(b.steps, stepRow{it.step, 1})
	case itemEnd:
		if i, ok := b.endAt[it.end.CallID]; ok {
			b.ends[i] = endRow{it.end, b.ends[i].records + 1}
			return
		}
		b.endAt[it.end.CallID] = len(b.ends)
		b.ends = append(b.ends, endRow{it.end, 1})
	}
}

func (b *batch) reset() {
	b.steps = b.steps[:0]
	b.ends = b.ends[:0]
	clear(b.stepAt)
	clear(b.endAt)
	b.received = 0
}

// mergeStep completes an earlier record of a step with a later one: the later one's fields
// win where it has them.
func mergeStep(earlier, later hotline.CallStep) hotline.CallStep {
	if later.Flow == "" {
		later.Flow = earlier.Flow
	}
	if later.Node == "" {
		later.Node = earlier.Node
	}
	if later.Kind == "" {
		later.Kind = earlier.Kind
	}
	if later.EnteredAt.IsZero() {
		later.EnteredAt = earlier.EnteredAt
	}
	if later.LeftAt.IsZero() {
		later.LeftAt = earlier.LeftAt
	}
	if later.Exit == "" {
		later.Exit = earlier.Exit
	}
	if later.Input == "" {
		later.Input = earlier.Input
	}
	if later.Detail == "" {
		later.Detail = earlier.Detail
	}
	return later
}

// run is the writer: it collects records and writes them when MaxBatch are pending, when the
// oldest has waited MaxDelay, on a flush and at the stop.
func (l *CallLog) run() {
	defer close(l.done)
	b := &batch{stepAt: make(map[stepKey]int), endAt: make(map[string]int)}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var due <-chan time.Time
		if b.received > 0 {
			due = timer.C
		}
		select {
		case it := <-l.in:
			switch it.kind {
			case itemFlush:
				l.write(b)
				close(it.flush)
			case itemStop:
				l.write(b)
				return
			default:
				if b.received == 0 {
					timer.Reset(l.opts.MaxDelay)
				}
				b.add(it)
				if b.received >= l.opts.MaxBatch {
					l.write(b)
				}
			}
		case <-due:
			l.write(b)
		}
	}
}

// write writes a batch, steps first so a call's end follows its path, and empties it.
func (l *CallLog) write(b *batch) {
	if len(b.steps) > 0 {
		l.writeRows("step", len(b.steps), func(i int) (string, int) { return b.steps[i].CallID, b.steps[i].records },
			func(ctx context.Context, lo, hi int) ([]int, error) { return l.insertSteps(ctx, b.steps[lo:hi]) })
	}
	if len(b.ends) > 0 {
		l.writeRows("end", len(b.ends), func(i int) (string, int) { return b.ends[i].CallID, b.ends[i].records },
			func(ctx context.Context, lo, hi int) ([]int, error) { return l.updateEnds(ctx, b.ends[lo:hi]) })
	}
	b.reset()
}

// writeRows writes rows 0..n-1 with exec, which returns the rows it found nothing to update
// for. A batch refused for a passing reason (a lost connection) is tried again with backoff,
// then given up; a batch refused for its data is written row by row, so one bad record keeps
// no other out. Rows not written are logged and counted as failed. row tells a row's call and
// how many records it stands for.
func (l *CallLog) writeRows(what string, n int, row func(i int) (call string, records int),
	exec func(ctx context.Context, lo, hi int) (missing []int, err error)) {
	// attempt writes rows lo..hi-1 and accounts for them unless it fails as a whole.
	attempt := func(lo, hi int) (lost int64, err error) {
		ctx, cancel := context.WithTimeout(l.ctx, l.opts.WriteTimeout)
		defer cancel()
		missing, err := exec(ctx, lo, hi)
		if err != nil {
			return 0, err
		}
		for _, i := range missing {
			call, r := row(lo + i)
			lost += int64(r)
			l.log.Warn("call log: record refused", "kind", what, "call_id", call, "err", errNoCall)
		}
		if written := records(row, lo, hi) - lost; written > 0 {
			l.batches.Add(1)
			l.written.Add(written)
		}
		l.failed.Add(lost)
		return lost, nil
	}
	total := records(row, 0, n)
	defer l.pending.Add(-total)

	var err error
	for try := 0; ; try++ {
		if _, err = attempt(0, n); err == nil {
			return
		}
		if permanent(err) || try >= l.opts.Retries || !l.sleep(l.opts.Backoff<<try) {
			break
		}
	}
	if !permanent(err) {
		l.failed.Add(total)
		l.log.Error("call log: records not written", "kind", what, "count", total, "err", err)
		return
	}
	var lost int64
	for i := range n {
		m, rowErr := attempt(i, i+1)
		if rowErr != nil {
			call, r := row(i)
			m, err = int64(r), rowErr
			l.failed.Add(m)
			l.log.Warn("call log: record refused", "kind", what, "call_id", call, "err", rowErr)
		}
		lost += m
	}
	if lost > 0 {
		l.log.Error("call log: records not written", "kind", what, "count", lost, "batch", total, "err", err)
	}
}

// records sums the records rows lo..hi-1 stand for.
func records(row func(i int) (string, int), lo, hi int) int64 {
	var sum int64
	for i := lo; i < hi; i++ {
		_, r := row(i)
		sum += int64(r)
	}
	return sum
}

// sleep waits d unless the writer is cancelled first; it reports whether it waited.
func (l *CallLog) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-l.ctx.Done():
		return false
	}
}

// permanent reports whether err is about the data written, so trying the same batch again
// cannot help: data exceptions, integrity and cardinality violations, a call with no row.
func permanent(err error) bool {
	if errors.Is(err, errNoCall) {
		return true
	}
	if pe := pq.As(err); pe != nil {
		switch pe.Code.Class() {
		case "21", "22", "23":
			return true
		}
	}
	return false
}

// The batch statements take one array per column, so they are the same text for any number of
// rows. Times travel as RFC 3339 text, empty for NULL.
const stepsUpsert = `
	INSERT INTO hotline.call_steps AS s (call_id, seq, flow, node, kind, entered_at, left_at, exit, input, detail)
	SELECT r.call_id::uuid, r.seq, r.flow, r.node, r.kind, NULLIF(r.entered_at, '')::timestamptz,
	       NULLIF(r.left_at, '')::timestamptz, NULLIF(r.exit, ''), NULLIF(r.input, ''), NULLIF(r.detail, '')
	FROM unnest($1::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
	            $8::text[], $9::text[], $10::text[])
	     AS r (call_id, seq, flow, node, kind, entered_at, left_at, exit, input, detail)
	ON CONFLICT (call_id, seq) DO UPDATE SET
		flow = EXCLUDED.flow,
		node = EXCLUDED.node,
		kind = EXCLUDED.kind,
		entered_at = COALESCE(EXCLUDED.entered_at, s.entered_at),
		left_at = COALESCE(EXCLUDED.left_at, s.left_at),
		exit = COALESCE(EXCLUDED.exit, s.exit),
		input = COALESCE(EXCLUDED.input, s.input),
		detail = COALESCE(EXCLUDED.detail, s.detail)`

const endsUpdate = `
	UPDATE hotline.calls AS c SET
		ended_at = NULLIF(r.ended_at, '')::timestamptz,
		answered_at = COALESCE(NULLIF(r.answered_at, '')::timestamptz, c.answered_at),
		outcome = COALESCE(NULLIF(r.outcome, ''), c.outcome),
		language = COALESCE(NULLIF(r.language, ''), c.language),
		citizen_id = COALESCE(NULLIF(r.citizen_id, 0), c.citizen_id),
		queue_id = COALESCE(NULLIF(r.queue_id, ''), c.queue_id),
		agent_id = COALESCE(NULLIF(r.agent_id, 0), c.agent_id),
		follow_up = c.follow_up OR r.follow_up
	FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[],
	            $8::boolean[], $9::bigint[])
	     AS r (id, ended_at, answered_at, outcome, language, citizen_id, queue_id, follow_up, agent_id)
	WHERE c.id = r.id
	RETURNING c.id::text`

func (l *CallLog) insertSteps(ctx context.Context, rows []stepRow) ([]int, error) {
	n := len(rows)
	calls, flows, nodes, kinds := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	entered, left, exits, inputs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	seqs, details := make([]int64, n), make([]string, n)
	for i, r := range rows {
		calls[i], seqs[i], flows[i], nodes[i], kinds[i] = r.CallID, int64(r.Seq), r.Flow, r.Node, r.Kind
		entered[i], left[i], exits[i], inputs[i] = timeText(r.EnteredAt), timeText(r.LeftAt), r.Exit, r.Input
		details[i] = r.Detail
	}
	_, err := l.db.ExecContext(ctx, stepsUpsert, pq.Array(calls), pq.Array(seqs), pq.Array(flows),
		pq.Array(nodes), pq.Array(kinds), pq.Array(entered), pq.Array(left), pq.Array(exits), pq.Array(inputs),
		pq.Array(details))
	if err != nil {
		return nil, fmt.Errorf("write %d call steps: %w", n, err)
	}
	return nil, nil
}

func (l *CallLog) updateEnds(ctx context.Context, rows []endRow) ([]int, error) {
	n := len(rows)
	ids, ended, answered, outcomes := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	langs, queues := make([]string, n), make([]string, n)
	citizens, agents, followUps := make([]int64, n), make([]int64, n), make([]bool, n)
	for i, r := range rows {
		ids[i], ended[i], answered[i], outcomes[i] = r.CallID, timeText(r.EndedAt), timeText(r.AnsweredAt), r.Outcome
		langs[i], queues[i], citizens[i], followUps[i] = r.Language, r.QueueID, r.CitizenID, r.FollowUp
		agents[i] = r.AgentID
	}
	var updated []string
	err := l.db.SelectContext(ctx, &updated, endsUpdate, pq.Array(ids), pq.Array(ended), pq.Array(answered),
		pq.Array(outcomes), pq.Array(langs), pq.Array(citizens), pq.Array(queues), pq.Array(followUps), pq.Array(agents))
	if err != nil {
		return nil, fmt.Errorf("write %d call ends: %w", n, err)
	}
	if len(updated) == n {
		return nil, nil
	}
	found := make(map[string]bool, len(updated))
	for _, id := range updated {
		found[id] = true
	}
	var missing []int
	for i, r := range rows {
		if !found[r.CallID] {
			missing = append(missing, i)
		}
	}
	return missing, nil
}

// timeText is t as PostgreSQL reads a timestamptz, or "" (NULL) for the zero time.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339Nano)
}

// Collector returns the log's metrics for a prometheus.Registerer: records pending, written
// and failed, and the statements that wrote them.
func (l *CallLog) Collector() prometheus.Collector {
	return &callLogCollector{
		log:     l,
		pending: prometheus.NewDesc("hotline_call_log_pending", "Call records queued or being written.", nil, nil),
		written: prometheus.NewDesc("hotline_call_log_written_total", "Call records written.", nil, nil),
		failed:  prometheus.NewDesc("hotline_call_log_failed_total", "Call records given up after retries.", nil, nil),
		batches: prometheus.NewDesc("hotline_call_log_batches_total", "Statements that wrote call records.", nil, nil),
	}
}

// callLogCollector reads a CallLog's counters when scraped.
type callLogCollector struct {
	log                               *CallLog
	pending, written, failed, batches *prometheus.Desc
}

func (c *callLogCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *callLogCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.log.Stats()
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(s.Pending))
	ch <- prometheus.MustNewConstMetric(c.written, prometheus.CounterValue, float64(s.Written))
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(s.Failed))
	ch <- prometheus.MustNewConstMetric(c.batches, prometheus.CounterValue, float64(s.Batches))
}
