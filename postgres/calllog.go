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

// ErrCallLogClosed is returned by a CallLog's StartCall, Step, EndCall and Flush after Close.
var ErrCallLogClosed = errors.New("call log closed")

// errNoCall marks a call end whose call has no row: nothing was updated.
var errNoCall = errors.New("no such call")

// CallLogOptions tunes a CallLog; a zero field takes its default.
type CallLogOptions struct {
	// MaxBatch is how many records make a batch be written at once (default 500).
	MaxBatch int
	// MaxDelay is how long a record waits for its batch to fill (default 20 ms).
	MaxDelay time.Duration
	// Buffer is how many records are held in memory (default 8192). Beyond it records go to
	// the spool file in SpoolDir and are replayed from there in order.
	Buffer int
	// SpoolDir is where records beyond Buffer are kept on disk. Empty keeps them in memory
	// without bound (counted in hotline_call_log_spilled_total all the same).
	SpoolDir string
	// Backoff is the wait before retrying a batch that failed for a passing reason (a lost
	// connection, a timeout); it doubles with each try up to MaxBackoff (default 50 ms).
	Backoff time.Duration
	// MaxBackoff bounds the wait between retries (default 2 s). A batch is retried until it
	// is written or the log is closed and Close gives up.
	MaxBackoff time.Duration
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
	if o.Backoff <= 0 {
		o.Backoff = 50 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 2 * time.Second
	}
	if o.MaxBackoff < o.Backoff {
		o.MaxBackoff = o.Backoff
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 10 * time.Second
	}
	return o
}

// CallLog writes call records to PostgreSQL through one writer goroutine that batches them:
// each call's start, its IVR path and its end. Queueing never waits: records are held in
// memory up to Buffer and beyond it in a spool file, and replayed in the order given, so a
// call's start is written before its steps and its end after them. Nothing is dropped for a
// passing failure: a batch the database cannot take (down, restarting, hung) is retried with
// backoff until it is written. A batch refused for its data is written row by row so one bad
// record does not keep the others out; a record that still cannot be written is logged and
// counted as failed. Writing a call's start also closes, as node_lost, an open row of another
// call on the same channel (a controller restarted and took the channel over). CallLog is safe
// for concurrent use.
type CallLog struct {
	db   *sqlx.DB
	log  *slog.Logger
	opts CallLogOptions

	mu      sync.Mutex // guards the fields below
	closed  bool
	mem     []logItem // oldest first
	memHead int
	spool   *spool                   // nil until first needed
	spooled int64                    // records in the spool not yet read back
	queued  int64                    // records ever queued
	handled int64                    // records the writer is done with (written or given up)
	flushAt int64                    // the writer writes at once until handled reaches this
	changed chan struct{}            // closed and replaced when handled moves
	starts  map[string]chan struct{} // calls whose start is queued, closed when written

	wake   chan struct{}      // capacity 1: something was queued, a flush or the stop
	done   chan struct{}      // closed when the writer has stopped
	ctx    context.Context    // the writer's; cancelled when Close gives up
	cancel context.CancelFunc // cancels ctx

	pending, written, failed, batches, spilled, retries, orphans atomic.Int64
}

// CallLogStats counts a CallLog's records since it was made.
type CallLogStats struct {
	Pending int64 // queued or being written
	Written int64 // written (two records merged into one row count as two)
	Failed  int64 // given up: refused for their data, or left when Close gave up
	Batches int64 // statements that wrote records
	Spilled int64 // records queued to the spool file (or beyond Buffer) because memory was full
	Retries int64 // batches tried again after a passing failure
	Orphans int64 // open call rows closed as node_lost because a new call took their channel
}

// logItem is one record for the writer.
type logItem struct {
	kind  itemKind
	start hotline.CallRecord
	step  hotline.CallStep
	end   hotline.CallEnd
	rec   *hotline.Recording // a pointer: recordings are rare, and every item has room for each kind
}

type itemKind uint8

const (
	itemStep itemKind = iota
	itemEnd
	itemStart
	itemRecording
)

// NewCallLog starts a CallLog writing to db, logging with logger. Close it to write what is
// queued and stop its goroutine. Records a previous process left in the spool directory are
// written first.
func NewCallLog(db *sqlx.DB, logger *slog.Logger, opts CallLogOptions) *CallLog {
	opts = opts.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &CallLog{
		db:      db,
		log:     logger,
		opts:    opts,
		changed: make(chan struct{}),
		starts:  make(map[string]chan struct{}),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		ctx:     ctx,
		cancel:  cancel,
	}
	if opts.SpoolDir != "" {
		if s, err := openSpool(opts.SpoolDir); err != nil {
			logger.Error("call log: spool unusable, records beyond the buffer stay in memory", "err", err)
		} else {
			l.spool = s
			if s.n > 0 {
				l.spooled = s.n
				l.queued = s.n
				l.pending.Add(s.n)
				logger.Info("call log: replaying records left in the spool", "count", s.n)
			}
		}
	}
	go l.run()
	if l.spooled > 0 {
		l.poke()
	}
	return l
}

// callClose closes the open call, if any, on the channel of each start ($1 ids, $2 nodes, $3
// channels, $4 start times) as node_lost. The open call is looked up per start through the
// index of open channels: joined the plain way, the planner scanned every open call once per
// batch (it counts few open calls in the statistics), 9 ms a batch at 10,000 calls in progress.
// The LIMIT keeps the lookup a subquery of its own; a channel has one open call at most.
const callClose = `
	UPDATE hotline.calls AS c SET ended_at = GREATEST(c.started_at, r.started_at::timestamptz), outcome = 'node_lost'
	FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS r (id, node, channel_id, started_at)
	CROSS JOIN LATERAL (
		SELECT o.id FROM hotline.calls o
		WHERE o.node = r.node AND o.channel_id = r.channel_id AND o.ended_at IS NULL AND o.id <> r.id
		LIMIT 1) AS open
	WHERE c.id = open.id`

const callInsert = `
	INSERT INTO hotline.calls (id, node, channel_id, caller_number, language, flow_version_id, started_at, instance_id)
	SELECT r.id, r.node, r.channel_id, r.caller_number, COALESCE(NULLIF(r.language, ''), 'zh'),
	       NULLIF(r.flow_version_id, 0), r.started_at::timestamptz, NULLIF(r.instance_id, '')
	FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[])
	     AS r (id, node, channel_id, caller_number, language, flow_version_id, started_at, instance_id)
	ON CONFLICT DO NOTHING`

// StartCall queues the call's row; it never waits for the database. The row is written
// before anything else queued for the call; AwaitStart tells when it is there. Starting a
// call already recorded changes nothing.
func (l *CallLog) StartCall(ctx context.Context, c hotline.CallRecord) error {
	if c.ID == "" || c.Node == "" || c.ChannelID == "" {
		return fmt.Errorf("call start %q: need a call id, node and channel", c.ID)
	}
	return l.enqueue(logItem{kind: itemStart, start: c})
}

// AwaitStart returns when the start of call queued by StartCall has been written (or given
// up on), or at once for a call not waiting for its start. Services that write rows
// referring to the call wait here so they never find it missing.
func (l *CallLog) AwaitStart(ctx context.Context, call string) error {
	l.mu.Lock()
	ch := l.starts[call]
	l.mu.Unlock()
	if ch == nil {
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the record of call %s: %w", call, ctx.Err())
	}
}

// Step queues one node of a call's path: at entry (LeftAt zero, Exit empty) and again at exit;
// the second write completes the first. Input is stored as given (the engine masks it).
// Step never waits; it fails only for an incomplete record or a closed log.
func (l *CallLog) Step(ctx context.Context, s hotline.CallStep) error {
	if s.CallID == "" || s.Seq <= 0 {
		return fmt.Errorf("call step %q #%d: need a call id and a positive seq", s.CallID, s.Seq)
	}
	return l.enqueue(logItem{kind: itemStep, step: s})
}

// EndCall queues the completion of a call's record: when it ended and was answered, its
// outcome, language, citizen, queue and follow-up flag. It is written after the call's steps
// queued before it. EndCall never waits.
func (l *CallLog) EndCall(ctx context.Context, e hotline.CallEnd) error {
	if e.CallID == "" {
		return errors.New("call end: need a call id")
	}
	return l.enqueue(logItem{kind: itemEnd, end: e})
}

// Recording queues the row of a conversation's recording: when it started and, saved again
// when it stops, its length. It is written after the call's start (a recording of a call with
// no row is refused as a step of one would be). Recording never waits.
func (l *CallLog) Recording(ctx context.Context, r hotline.Recording) error {
	if r.CallID == "" || r.Name == "" || r.Kind == "" || r.Node == "" {
		return fmt.Errorf("recording %q of call %q: need a call id, name, kind and node", r.Name, r.CallID)
	}
	return l.enqueue(logItem{kind: itemRecording, rec: &r})
}

// Flush returns when every record queued before it has been written or given up on.
func (l *CallLog) Flush(ctx context.Context) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrCallLogClosed
	}
	target := l.queued
	l.flushAt = max(l.flushAt, target)
	l.mu.Unlock()
	l.poke()
	return l.waitHandled(ctx, target)
}

// waitHandled returns when the writer is done with the first target records.
func (l *CallLog) waitHandled(ctx context.Context, target int64) error {
	for {
		l.mu.Lock()
		h, ch := l.handled, l.changed
		l.mu.Unlock()
		if h >= target {
			return nil
		}
		select {
		case <-ch:
		case <-l.done:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("flush call log: %w", ctx.Err())
		}
	}
}

// Close writes everything queued and stops the writer. If ctx ends first, the writes in
// progress are abandoned; what is left in memory is counted as failed, what is in the spool
// file stays there for the next start, and the error says how much.
func (l *CallLog) Close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.poke()
	select {
	case <-l.done:
		l.cancel()
		return nil
	case <-ctx.Done():
		l.cancel()
		<-l.done
		l.mu.Lock()
		mem, spooled := int64(len(l.mem)-l.memHead), l.spooled
		l.mem, l.memHead = nil, 0
		l.mu.Unlock()
		l.failed.Add(mem)
		l.pending.Add(-mem)
		return fmt.Errorf("close call log: %d records not written, %d kept in the spool: %w", mem, spooled, ctx.Err())
	}
}

// poke wakes the writer.
func (l *CallLog) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// enqueue hands a record to the writer without waiting: to memory while there is room and
// nothing is in the spool, else to the spool (or memory beyond the bound if there is none).
func (l *CallLog) enqueue(it logItem) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrCallLogClosed
	}
	if it.kind == itemStart {
		if _, ok := l.starts[it.start.ID]; !ok {
			l.starts[it.start.ID] = make(chan struct{})
		}
	}
	inMem := len(l.mem) - l.memHead
	switch {
	case l.spooled == 0 && inMem < l.opts.Buffer:
		l.mem = append(l.mem, it)
	case l.spool != nil:
		if err := l.spool.append(it); err != nil {
			l.log.Error("call log: spool write failed, record kept in memory", "err", err)
			l.mem = append(l.mem, it) // replayed after the spool: order within a call may suffer
		} else {
			l.spooled++
		}
		l.spilled.Add(1)
	default:
		l.mem = append(l.mem, it)
		l.spilled.Add(1)
	}
	l.queued++
	inMem = len(l.mem) - l.memHead
	l.mu.Unlock()
	l.pending.Add(1)
	if inMem == 1 || inMem >= l.opts.MaxBatch {
		l.poke()
	}
	return nil
}

// take removes up to n of the oldest records: from memory, then from the spool.
func (l *CallLog) take(n int) []logItem {
	l.mu.Lock()
	defer l.mu.Unlock()
	if inMem := len(l.mem) - l.memHead; inMem > 0 {
		k := min(n, inMem)
		items := make([]logItem, k)
		copy(items, l.mem[l.memHead:l.memHead+k])
		clear(l.mem[l.memHead : l.memHead+k])
		l.memHead += k
		if l.memHead == len(l.mem) {
			l.mem, l.memHead = l.mem[:0], 0
		} else if l.memHead > 4096 && l.memHead > len(l.mem)/2 {
			l.mem = append(l.mem[:0], l.mem[l.memHead:]...)
			l.memHead = 0
		}
		return items
	}
	if l.spooled > 0 {
		before := l.spool.n
		items, err := l.spool.take(n)
		l.spooled = l.spool.n
		if lost := (before - l.spool.n) - int64(len(items)); lost > 0 || err != nil {
			l.log.Error("call log: spool records unreadable", "count", lost, "err", err)
			l.failed.Add(lost)
			l.pending.Add(-lost)
			l.handled += lost
		}
		return items
	}
	return nil
}

// backlog says how many records wait and whether they must be written at once (a flush, the
// stop, or a full batch).
func (l *CallLog) backlog() (n int64, now bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n = int64(len(l.mem)-l.memHead) + l.spooled
	return n, l.closed || l.flushAt > l.handled || l.spooled > 0 || n >= int64(l.opts.MaxBatch)
}

// markHandled records that the writer is done with n records and wakes those waiting.
func (l *CallLog) markHandled(n int64, starts []string) {
	l.mu.Lock()
	l.handled += n
	for _, id := range starts {
		if ch, ok := l.starts[id]; ok {
			close(ch)
			delete(l.starts, id)
		}
	}
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// waitDue waits until the backlog is due: the timer (the oldest record's delay) fired, or a
// wake-up found a full batch, a flush or the stop asked for. More records arriving do not
// restart the delay. It returns false when the log's context ended.
func (l *CallLog) waitDue(timer *time.Timer) bool {
	for {
		select {
		case <-timer.C:
			return true
		case <-l.wake:
			if _, now := l.backlog(); now {
				timer.Stop()
				return true
			}
		case <-l.ctx.Done():
			timer.Stop()
			return false
		}
	}
}

// Stats returns the log's counters.
func (l *CallLog) Stats() CallLogStats {
	return CallLogStats{
		Pending: l.pending.Load(),
		Written: l.written.Load(),
		Failed:  l.failed.Load(),
		Batches: l.batches.Load(),
		Spilled: l.spilled.Load(),
		Retries: l.retries.Load(),
		Orphans: l.orphans.Load(),
	}
}

// run is the writer: it writes when MaxBatch records are waiting, when the oldest has waited
// MaxDelay, on a flush and at the stop, after which it returns.
func (l *CallLog) run() {
	defer close(l.done)
	defer func() {
		if l.spool != nil {
			l.spool.close()
		}
	}()
	b := &batch{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		n, now := l.backlog()
		switch {
		case n == 0:
			l.mu.Lock()
			closed := l.closed
			l.mu.Unlock()
			if closed {
				return
			}
			select {
			case <-l.wake:
			case <-l.ctx.Done():
				return
			}
			continue
		case !now:
			timer.Reset(l.opts.MaxDelay)
			if !l.waitDue(timer) {
				return
			}
		}
		if l.ctx.Err() != nil {
			return
		}
		items := l.take(l.opts.MaxBatch)
		for _, it := range items {
			b.add(it)
		}
		starts := make([]string, len(b.starts.rows))
		for i, s := range b.starts.rows {
			starts[i] = s.ID
		}
		l.write(b)
		l.markHandled(int64(len(items)), starts)
	}
}

// batch is what the writer has collected, a row per call start, step (call, seq), call end
// and recording (name), the records of each merged into its row.
type batch struct {
	starts keyed[string, hotline.CallRecord]
	steps  keyed[stepKey, hotline.CallStep]
	ends   keyed[string, hotline.CallEnd]
	recs   keyed[string, hotline.Recording]
}

type stepKey struct {
	call string
	seq  int
}

func (b *batch) add(it logItem) {
	switch it.kind {
	case itemStart:
		b.starts.add(it.start.ID, it.start, first) // starting a call again changes nothing
	case itemStep:
		b.steps.add(stepKey{it.step.CallID, it.step.Seq}, it.step, mergeStep)
	case itemEnd:
		b.ends.add(it.end.CallID, it.end, last)
	case itemRecording:
		b.recs.add(it.rec.Name, *it.rec, last) // the later save (its length at the stop) completes it
	}
}

func (b *batch) reset() {
	b.starts.reset()
	b.steps.reset()
	b.ends.reset()
	b.recs.reset()
}

// keyed holds rows by key, in the order their first records came; each row counts the records
// merged into it.
type keyed[K comparable, T any] struct {
	rows    []T
	records []int
	at      map[K]int
}

// add merges v into the row of key (the row becomes merge(row, v)), or adds a row for it.
func (k *keyed[K, T]) add(key K, v T, merge func(earlier, later T) T) {
	if i, ok := k.at[key]; ok {
		k.rows[i] = merge(k.rows[i], v)
		k.records[i]++
		return
	}
	if k.at == nil {
		k.at = make(map[K]int)
	}
	k.at[key] = len(k.rows)
	k.rows = append(k.rows, v)
	k.records = append(k.records, 1)
}

func (k *keyed[K, T]) reset() {
	k.rows, k.records = k.rows[:0], k.records[:0]
	clear(k.at)
}

func first[T any](earlier, _ T) T { return earlier }
func last[T any](_, later T) T    { return later }

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

// write writes a batch, starts first so steps and recordings find their call, steps before
// ends so a call's end follows its path, and empties it.
func (l *CallLog) write(b *batch) {
	writeKeyed(l, "start", &b.starts, func(r hotline.CallRecord) string { return r.ID }, l.insertStarts)
	writeKeyed(l, "step", &b.steps, func(r hotline.CallStep) string { return r.CallID }, l.insertSteps)
	writeKeyed(l, "recording", &b.recs, func(r hotline.Recording) string { return r.CallID }, l.upsertRecordings)
	writeKeyed(l, "end", &b.ends, func(r hotline.CallEnd) string { return r.CallID }, l.updateEnds)
	b.reset()
}

// writeKeyed writes the rows of k, if any, with exec (see writeRows); call tells a row's call.
func writeKeyed[K comparable, T any](l *CallLog, what string, k *keyed[K, T], call func(T) string,
	exec func(ctx context.Context, rows []T) (missing []int, err error)) {
	if len(k.rows) == 0 {
		return
	}
	l.writeRows(what, len(k.rows), func(i int) (string, int) { return call(k.rows[i]), k.records[i] },
		func(ctx context.Context, lo, hi int) ([]int, error) { return exec(ctx, k.rows[lo:hi]) })
}

// writeRows writes rows 0..n-1 with exec, which returns the rows it found nothing to update
// for. A batch refused for a passing reason (a lost connection) is tried again with backoff
// until it is written or Close gives up; a batch refused for its data is written row by row, so one bad record keeps
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
		if permanent(err) {
			break
		}
		if try == 0 || try%20 == 0 {
			l.log.Warn("call log: database unavailable, retrying", "kind", what, "count", total, "tries", try+1, "err", err)
		}
		l.retries.Add(1)
		if !l.sleep(min(l.opts.Backoff<<min(try, 20), l.opts.MaxBackoff)) {
			l.failed.Add(total)
			l.log.Error("call log: records not written, the log was closed", "kind", what, "count", total, "err", err)
			return
		}
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

// surveysFromEnds saves the survey answers that ends carry, for calls whose answer is missing
// or differs (the answer is saved at once by the IVR too; this makes sure of it), crediting
// the agent IVRServices.SaveSurvey credits.
const surveysFromEnds = `
	INSERT INTO hotline.survey_answers AS s (call_id, score, agent_id, answered_at)
	SELECT c.id, r.score, ` + surveyAgent + `, COALESCE(NULLIF(r.answered_at, '')::timestamptz, now())
	FROM unnest($1::uuid[], $2::int[], $3::text[]) AS r (id, score, answered_at)
	JOIN hotline.calls c ON c.id = r.id
	ON CONFLICT (call_id) DO UPDATE SET score = EXCLUDED.score, answered_at = EXCLUDED.answered_at
	WHERE s.score IS DISTINCT FROM EXCLUDED.score`

func (l *CallLog) insertStarts(ctx context.Context, rows []hotline.CallRecord) ([]int, error) {
	n := len(rows)
	ids, nodes, channels, callers := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	langs, started, instances, flows := make([]string, n), make([]string, n), make([]string, n), make([]int64, n)
	for i, r := range rows {
		ids[i], nodes[i], channels[i], callers[i] = r.ID, r.Node, r.ChannelID, r.CallerNumber
		langs[i], started[i], instances[i], flows[i] = r.Language, timeText(r.StartedAt), r.Instance, r.FlowVersionID
	}
	tx, err := l.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("write %d call starts: %w", n, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, callClose, pq.Array(ids), pq.Array(nodes), pq.Array(channels), pq.Array(started))
	if err != nil {
		return nil, fmt.Errorf("close calls on the channels of %d call starts: %w", n, err)
	}
	closed, _ := res.RowsAffected()
	if _, err := tx.ExecContext(ctx, callInsert, pq.Array(ids), pq.Array(nodes), pq.Array(channels), pq.Array(callers),
		pq.Array(langs), pq.Array(flows), pq.Array(started), pq.Array(instances)); err != nil {
		return nil, fmt.Errorf("write %d call starts: %w", n, err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("write %d call starts: %w", n, err)
	}
	if closed > 0 {
		l.orphans.Add(closed)
		l.log.Warn("call log: open calls on a channel taken over closed as node_lost", "count", closed)
	}
	return nil, nil
}

func (l *CallLog) insertSteps(ctx context.Context, rows []hotline.CallStep) ([]int, error) {
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

// recordingsUpsert is recordingUpsert for a batch: a recording saved again gets its length.
const recordingsUpsert = `
	INSERT INTO hotline.recordings (call_id, kind, name, format, duration_ms, agent_id, node, started_at)
	SELECT r.call_id, r.kind, r.name, r.format, r.duration_ms, NULLIF(r.agent_id, 0), r.node, r.started_at::timestamptz
	FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], $8::text[])
	     AS r (call_id, kind, name, format, duration_ms, agent_id, node, started_at)
	ON CONFLICT (name) DO UPDATE SET duration_ms = EXCLUDED.duration_ms`

func (l *CallLog) upsertRecordings(ctx context.Context, rows []hotline.Recording) ([]int, error) {
	n := len(rows)
	calls, kinds, names, formats := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	nodes, started, durations, agents := make([]string, n), make([]string, n), make([]int64, n), make([]int64, n)
	for i, r := range rows {
		calls[i], kinds[i], names[i], formats[i] = r.CallID, r.Kind, r.Name, r.Format
		nodes[i], started[i], durations[i], agents[i] = r.Node, timeText(r.StartedAt), r.Duration.Milliseconds(), r.AgentID
	}
	_, err := l.db.ExecContext(ctx, recordingsUpsert, pq.Array(calls), pq.Array(kinds), pq.Array(names),
		pq.Array(formats), pq.Array(durations), pq.Array(agents), pq.Array(nodes), pq.Array(started))
	if err != nil {
		return nil, fmt.Errorf("write %d recordings: %w", n, missingRef(err))
	}
	return nil, nil
}

func (l *CallLog) updateEnds(ctx context.Context, rows []hotline.CallEnd) ([]int, error) {
	n := len(rows)
	ids, ended, answered, outcomes := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	langs, queues := make([]string, n), make([]string, n)
	citizens, agents, followUps := make([]int64, n), make([]int64, n), make([]bool, n)
	for i, r := range rows {
		ids[i], ended[i], answered[i], outcomes[i] = r.CallID, timeText(r.EndedAt), timeText(r.AnsweredAt), r.Outcome
		langs[i], queues[i], citizens[i], followUps[i] = r.Language, r.QueueID, r.CitizenID, r.FollowUp
		agents[i] = r.AgentID
	}
	var surveyed, surveyAt []string
	var scores []int64
	for _, r := range rows {
		if r.Survey >= 1 && r.Survey <= 5 { // a level out of range must not keep the end out
			surveyed, scores, surveyAt = append(surveyed, r.CallID), append(scores, int64(r.Survey)), append(surveyAt, timeText(r.SurveyAt))
		}
	}
	tx, err := l.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("write %d call ends: %w", n, err)
	}
	defer tx.Rollback()
	var updated []string
	err = tx.SelectContext(ctx, &updated, endsUpdate, pq.Array(ids), pq.Array(ended), pq.Array(answered),
		pq.Array(outcomes), pq.Array(langs), pq.Array(citizens), pq.Array(queues), pq.Array(followUps), pq.Array(agents))
	if err != nil {
		return nil, fmt.Errorf("write %d call ends: %w", n, err)
	}
	if len(surveyed) > 0 {
		if _, err := tx.ExecContext(ctx, surveysFromEnds, pq.Array(surveyed), pq.Array(scores), pq.Array(surveyAt)); err != nil {
			return nil, fmt.Errorf("write %d survey answers: %w", len(surveyed), err)
		}
	}
	if err := tx.Commit(); err != nil {
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

// Collector returns the log's metrics for a prometheus.Registerer: records pending, written,
// failed, spilled beyond memory, retried batches, the statements that wrote records, and
// the open calls closed as node_lost when their channel was taken over.
func (l *CallLog) Collector() prometheus.Collector {
	return &callLogCollector{
		log:     l,
		pending: prometheus.NewDesc("hotline_call_log_pending", "Call records queued or being written.", nil, nil),
		written: prometheus.NewDesc("hotline_call_log_written_total", "Call records written.", nil, nil),
		failed:  prometheus.NewDesc("hotline_call_log_failed_total", "Call records refused for their data or left when the log was closed.", nil, nil),
		batches: prometheus.NewDesc("hotline_call_log_batches_total", "Statements that wrote call records.", nil, nil),
		spilled: prometheus.NewDesc("hotline_call_log_spilled_total", "Call records queued beyond the memory buffer, to the spool file.", nil, nil),
		retries: prometheus.NewDesc("hotline_call_log_retries_total", "Batches of call records tried again after the database failed.", nil, nil),
		orphans: prometheus.NewDesc("hotline_call_log_orphans_closed_total", "Open call rows closed as node_lost because a new call took their channel.", nil, nil),
	}
}

// callLogCollector reads a CallLog's counters when scraped.
type callLogCollector struct {
	log                                                          *CallLog
	pending, written, failed, batches, spilled, retries, orphans *prometheus.Desc
}

func (c *callLogCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *callLogCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.log.Stats()
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(s.Pending))
	ch <- prometheus.MustNewConstMetric(c.written, prometheus.CounterValue, float64(s.Written))
	ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(s.Failed))
	ch <- prometheus.MustNewConstMetric(c.batches, prometheus.CounterValue, float64(s.Batches))
	ch <- prometheus.MustNewConstMetric(c.spilled, prometheus.CounterValue, float64(s.Spilled))
	ch <- prometheus.MustNewConstMetric(c.retries, prometheus.CounterValue, float64(s.Retries))
	ch <- prometheus.MustNewConstMetric(c.orphans, prometheus.CounterValue, float64(s.Orphans))
}
