package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"
)

// CallStates keeps where each live call is (hotline.call_states), so that another controller
// instance can resume the call when this one dies. Writes never wait for the database: the
// latest state of each call is kept in memory and written in batches, the newer replacing
// the older (a call that moved three nodes between two batches costs one row). Every write is
// fenced: it carries the epoch of the application's lease it was made under and is discarded
// by the database once that epoch has moved on; the instance is then told it lost the
// application (OnLost) and stops acting on its calls.
type CallStates struct {
	db     *sqlx.DB
	holder string
	log    *slog.Logger
	every  time.Duration
	onLost func(app string, epoch int64)

	mu      sync.Mutex
	pending map[string]stateItem // by call id
	kick    chan struct{}
	done    chan struct{}

	written, discarded, batches, failures atomic.Uint64
	inflight                              atomic.Int64
}

// stateItem is the latest write asked for a call: a state, or its deletion.
type stateItem struct {
	app     string
	epoch   int64
	node    string
	channel string
	state   []byte // nil deletes
	// written are closed once this state, or a newer one of the call, is written (or
	// discarded because the lease moved on): the waiters of SaveStateWait.
	written []chan struct{}
}

// NewCallStates returns the writer of holder's call states on db, flushing every every (50 ms
// when 0). onLost, which may be nil, hears of an application whose lease moved on.
func NewCallStates(db *sqlx.DB, holder string, log *slog.Logger, every time.Duration, onLost func(app string, epoch int64)) *CallStates {
	if every <= 0 {
		every = 50 * time.Millisecond
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &CallStates{db: db, holder: holder, log: log, every: every, onLost: onLost,
		pending: map[string]stateItem{}, kick: make(chan struct{}, 1), done: make(chan struct{})}
}

// SetOnLost sets who hears of a lost application; call it before Run.
func (w *CallStates) SetOnLost(f func(app string, epoch int64)) { w.onLost = f }

// SaveState queues the state of a call on node and channel, made under the lease of app at
// epoch. It never blocks.
func (w *CallStates) SaveState(callID, app string, epoch int64, node, channel string, state []byte) {
	w.put(callID, stateItem{app: app, epoch: epoch, node: node, channel: channel, state: state})
}

// DropState queues the deletion of an ended call's state.
func (w *CallStates) DropState(callID, app string, epoch int64) {
	w.put(callID, stateItem{app: app, epoch: epoch})
}

// SaveStateWait is SaveState that returns once the state is written, or ctx ends first.
// A call control acknowledged to an agent is thereby one that an adopter resumes.
func (w *CallStates) SaveStateWait(ctx context.Context, callID, app string, epoch int64, node, channel string, state []byte) error {
	done := make(chan struct{})
	w.put(callID, stateItem{app: app, epoch: epoch, node: node, channel: channel, state: state, written: []chan struct{}{done}})
	w.Flush()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("call state of %s not written yet: %w", callID, ctx.Err())
	}
}

// put queues it for callID; whoever waited for the state it replaces waits for it.
func (w *CallStates) put(callID string, it stateItem) {
	w.mu.Lock()
	if old, ok := w.pending[callID]; ok {
		it.written = append(it.written, old.written...)
	}
	w.pending[callID] = it
	w.mu.Unlock()
}

// tellWritten tells the waiters of the states of ids that they were written or discarded.
func tellWritten(ids []string, batch map[string]stateItem) {
	for _, id := range ids {
		for _, ch := range batch[id].written {
			close(ch)
		}
	}
}

// Flush asks for the pending states to be written now.
func (w *CallStates) Flush() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Sync writes the pending states and returns once they are written or ctx ends.
func (w *CallStates) Sync(ctx context.Context) error {
	for {
		if w.Pending() == 0 && w.inflight.Load() == 0 {
			return nil
		}
		w.Flush()
		select {
		case <-ctx.Done():
			return fmt.Errorf("call states: %d not written: %w", w.Pending(), ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Pending returns how many calls have a state not yet written.
func (w *CallStates) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}

// Run writes the pending states until ctx ends, then writes what is left (for up to 2 s).
// A batch that fails is kept, under the newer states of its calls, and tried again.
func (w *CallStates) Run(ctx context.Context) {
	defer close(w.done)
	t := time.NewTicker(w.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			w.flush(fctx)
			cancel()
			return
		case <-t.C:
		case <-w.kick:
		}
		w.flush(ctx)
	}
}

// flush writes what is pending, one statement per application and epoch.
func (w *CallStates) flush(ctx context.Context) {
	w.mu.Lock()
	if len(w.pending) == 0 {
		w.mu.Unlock()
		return
	}
	batch := w.pending
	w.pending = make(map[string]stateItem, len(batch))
	w.inflight.Add(1)
	w.mu.Unlock()
	defer w.inflight.Add(-1)

	type fence struct {
		app   string
		epoch int64
	}
	groups := map[fence][]string{}
	for id, it := range batch {
		f := fence{it.app, it.epoch}
		groups[f] = append(groups[f], id)
	}
	for f, ids := range groups {
		held, err := w.write(ctx, f.app, f.epoch, ids, batch)
		if err != nil {
			w.failures.Add(1)
			w.log.Warn("call states not written; trying again", "app", f.app, "calls", len(ids), "err", err)
			w.mu.Lock()
			for _, id := range ids {
				if newer, ok := w.pending[id]; ok {
					newer.written = append(newer.written, batch[id].written...)
					w.pending[id] = newer
				} else {
					w.pending[id] = batch[id]
				}
			}
			w.mu.Unlock()
			continue
		}
		w.batches.Add(1)
		tellWritten(ids, batch)
		if !held {
			w.discarded.Add(uint64(len(ids)))
			w.log.Warn("call states discarded: the application's lease moved on", "app", f.app, "epoch", f.epoch, "calls", len(ids))
			if w.onLost != nil {
				w.onLost(f.app, f.epoch)
			}
			continue
		}
		w.written.Add(uint64(len(ids)))
	}
}

// stateUpsert writes states and deletes ended calls' under the lease of $1 at epoch $2 held
// by $3; the lease row is share-locked, so a takeover waits for the write and every later
// write sees the new epoch. held is false when the lease is no longer this holder's.
const stateUpsert = `
	WITH l AS (
		SELECT 1 FROM hotline.app_leases WHERE app = $1 AND epoch = $2 AND holder = $3 FOR SHARE),
	up AS (
		INSERT INTO hotline.call_states AS s (call_id, app, epoch, node, channel_id, state, updated_at)
		SELECT r.call_id, $1, $2, r.node, r.channel_id, r.state, now()
		FROM unnest($4::uuid[], $5::text[], $6::text[], $7::jsonb[]) AS r (call_id, node, channel_id, state), l
		ON CONFLICT (call_id) DO UPDATE SET app = EXCLUDED.app, epoch = EXCLUDED.epoch, node = EXCLUDED.node,
			channel_id = EXCLUDED.channel_id, state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
		WHERE s.epoch <= EXCLUDED.epoch
		RETURNING 1),
	del AS (
		DELETE FROM hotline.call_states s USING l
		WHERE s.call_id = ANY($8::uuid[]) AND s.epoch <= $2
		RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM l) AS held, (SELECT count(*) FROM up) + (SELECT count(*) FROM del) AS n`

func (w *CallStates) write(ctx context.Context, app string, epoch int64, ids []string, batch map[string]stateItem) (bool, error) {
	var up, nodes, chans, states, del []string
	for _, id := range ids {
		it := batch[id]
		if it.state == nil {
			del = append(del, id)
			continue
		}
		up = append(up, id)
		nodes = append(nodes, it.node)
		chans = append(chans, it.channel)
		states = append(states, string(it.state))
	}
	var res struct {
		Held bool  `db:"held"`
		N    int64 `db:"n"`
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := w.db.GetContext(ctx, &res, stateUpsert, app, epoch, w.holder, pq.Array(up), pq.Array(nodes),
		pq.Array(chans), pq.Array(states), pq.Array(del))
	if err != nil {
		return false, fmt.Errorf("write call states: %w", err)
	}
	return res.Held, nil
}

// SavedState is a call's persisted state as read back.
type SavedState struct {
	CallID    string `db:"call_id"`
	Node      string `db:"node"`
	ChannelID string `db:"channel_id"`
	Epoch     int64  `db:"epoch"`
	State     []byte `db:"state"`
}

// LoadStates returns the states of the calls of app on node, by channel id, those this writer
// holds not yet written included (and the calls it is about to delete left out).
func (w *CallStates) LoadStates(ctx context.Context, app, node string) (map[string][]byte, error) {
	var rows []SavedState
	if err := w.db.SelectContext(ctx, &rows, `
		SELECT call_id, node, channel_id, epoch, state FROM hotline.call_states
		WHERE app = $1 AND node = $2`, app, node); err != nil {
		return nil, fmt.Errorf("load call states of %s on %s: %w", app, node, err)
	}
	// What this writer has not written yet is newer: a call ended a moment ago is not
	// mistaken for one whose caller hung up while nobody listened.
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string][]byte, len(rows))
	for _, r := range rows {
		if it, ok := w.pending[r.CallID]; ok {
			if it.state != nil && it.app == app && it.node == node {
				out[it.channel] = it.state
			}
			continue
		}
		out[r.ChannelID] = r.State
	}
	for _, it := range w.pending {
		if it.state != nil && it.app == app && it.node == node {
			out[it.channel] = it.state
		}
	}
	return out, nil
}

// adoptCalls moves the calls $4, adopted under the lease of $1 at epoch $2 held by $3, to the
// adopting instance: their call rows, waiting queue entries and offers not over (pending, or
// accepted with the conversation going on) become its own, so the ACD offers them from here and
// nobody releases them as a dead instance's. It returns the pending offers, which the adopter
// cancels (the agent's phone rang for a controller that is gone) before the call waits again.
const adoptCalls = `
	WITH l AS (
		SELECT 1 FROM hotline.app_leases WHERE app = $1 AND epoch = $2 AND holder = $3 FOR SHARE),
	me AS (SELECT id FROM hotline.instances WHERE id = $3),
	c AS (
		UPDATE hotline.calls SET instance_id = $3 FROM l
		WHERE id = ANY($4::uuid[]) AND ended_at IS NULL RETURNING 1),
	e AS (
		UPDATE hotline.queue_entries SET instance_id = (SELECT id FROM me) FROM l
		WHERE call_id = ANY($4::uuid[]) AND left_at IS NULL RETURNING 1),
	o AS (
		UPDATE hotline.offers SET instance_id = (SELECT id FROM me) FROM l
		WHERE call_id = ANY($4::uuid[])
		  AND (state = 'pending' OR (state = 'accepted' AND talk_ended_at IS NULL))
		RETURNING id, state)
	SELECT id FROM o WHERE state = 'pending'
	UNION ALL SELECT -1 WHERE NOT EXISTS (SELECT 1 FROM l)`

// AdoptCalls makes the calls adopted under the lease of app at epoch this instance's (see
// adoptCalls) and returns their pending offers. It fails when the lease is no longer held.
func (w *CallStates) AdoptCalls(ctx context.Context, app string, epoch int64, callIDs []string) ([]int64, error) {
	var ids []int64
	if err := w.db.SelectContext(ctx, &ids, adoptCalls, app, epoch, w.holder, pq.Array(callIDs)); err != nil {
		return nil, fmt.Errorf("adopt calls of %s: %w", app, err)
	}
	if len(ids) == 1 && ids[0] == -1 {
		return nil, fmt.Errorf("adopt calls of %s: lease at epoch %d lost", app, epoch)
	}
	return ids, nil
}

var (
	statesWrittenDesc = prometheus.NewDesc("hotline_call_states_written_total",
		"Call states written for adoption by another instance.", nil, nil)
	statesDiscardedDesc = prometheus.NewDesc("hotline_call_states_discarded_total",
		"Call states discarded because the application's lease had moved on (fencing).", nil, nil)
	statesBatchesDesc = prometheus.NewDesc("hotline_call_states_batches_total",
		"Batches of call states written.", nil, nil)
	statesFailuresDesc = prometheus.NewDesc("hotline_call_states_write_failures_total",
		"Batches of call states that failed and were kept to try again.", nil, nil)
	statesPendingDesc = prometheus.NewDesc("hotline_call_states_pending",
		"Calls whose latest state is not written yet.", nil, nil)
)

// Collector returns the writer's counters for a prometheus.Registerer.
func (w *CallStates) Collector() prometheus.Collector { return statesCollector{w} }

type statesCollector struct{ w *CallStates }

func (c statesCollector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c statesCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(statesWrittenDesc, prometheus.CounterValue, float64(c.w.written.Load()))
	ch <- prometheus.MustNewConstMetric(statesDiscardedDesc, prometheus.CounterValue, float64(c.w.discarded.Load()))
	ch <- prometheus.MustNewConstMetric(statesBatchesDesc, prometheus.CounterValue, float64(c.w.batches.Load()))
	ch <- prometheus.MustNewConstMetric(statesFailuresDesc, prometheus.CounterValue, float64(c.w.failures.Load()))
	ch <- prometheus.MustNewConstMetric(statesPendingDesc, prometheus.GaugeValue, float64(c.w.Pending()))
}
