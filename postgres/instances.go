package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/foshan-hotline/hotline"
)

// Controller instances. Each instance heartbeats (ACD.Heartbeat, every second from its
// dispatcher); an instance whose heartbeat is older than the lease (DefaultLease) is dead for
// the others: its calls are not offered nor counted as waiting, its agents are not routed, and
// the first live instance to look releases them (ReleaseDead). Times are the Store's clock.

const instanceUpsert = `
	INSERT INTO hotline.instances (id, started_at, heartbeat_at) VALUES ($1, $2, $2)
	ON CONFLICT (id) DO UPDATE SET heartbeat_at = EXCLUDED.heartbeat_at`

// Heartbeat tells the other instances that this one is live.
func (a *ACD) Heartbeat(ctx context.Context) error {
	if _, err := a.store.db.ExecContext(ctx, instanceUpsert, a.instance, a.store.now()); err != nil {
		return fmt.Errorf("heartbeat of instance %s: %w", a.instance, err)
	}
	return nil
}

const instanceStart = `
	INSERT INTO hotline.instances (id, started_at, heartbeat_at) VALUES ($1, $2, $2)
	ON CONFLICT (id) DO UPDATE SET started_at = EXCLUDED.started_at, heartbeat_at = EXCLUDED.heartbeat_at`

// Start registers this instance as starting now. What an earlier process of the same instance
// left behind (calls started, queued and offered before NewACD) is released as if it had died: its
// calls cannot have survived it, so their rows are closed as node_lost, their queue entries lost, their pending offers
// cancelled, and the agents ringing or talking for them are released. Agents' sessions are
// left alone: they log in again and take over.
func (a *ACD) Start(ctx context.Context) error {
	err := a.inTx(ctx, func(tx *sqlx.Tx) error {
		now := a.store.now()
		if _, err := a.txExec(ctx, tx, instanceStart, a.instance, now); err != nil {
			return err
		}
		born := sql.NullTime{Time: a.born, Valid: true}
		_, err := a.release(ctx, tx, []string{a.instance}, false, born, now, "instance_restarted")
		return err
	})
	if err != nil {
		return fmt.Errorf("start instance %s: %w", a.instance, err)
	}
	return nil
}

// deadInstancesQuery lists the instances other than $2 whose heartbeat is older than $1 and
// that still own something: agents logged in, pending offers, waiting calls, agents on calls.
const deadInstancesQuery = `
	SELECT i.id FROM hotline.instances i
	WHERE i.heartbeat_at <= $1 AND i.id <> $2
	  AND (EXISTS (SELECT 1 FROM hotline.agent_status st WHERE st.instance_id = i.id AND st.state <> 'offline')
	       OR EXISTS (SELECT 1 FROM hotline.offers o WHERE o.instance_id = i.id AND o.state = 'pending')
	       OR EXISTS (SELECT 1 FROM hotline.queue_entries e
	                  WHERE e.instance_id = i.id AND e.left_at IS NULL AND e.offer_id IS NULL)
	       OR EXISTS (SELECT 1 FROM hotline.agent_status st JOIN hotline.offers o ON o.id = st.offer_id
	                  WHERE o.instance_id = i.id AND st.state = 'talking')
	       OR EXISTS (SELECT 1 FROM hotline.calls c WHERE c.instance_id = i.id AND c.ended_at IS NULL))
	ORDER BY i.id`

// ReleaseDead releases what belongs to the instances whose heartbeat is older than lease
// (this one excepted): their open call rows are closed as node_lost, their calls' pending
// offers are cancelled and their waiting calls leave their queues as hotline.QueueLost (so
// they are no longer counted in a later caller's position or wait); agents
// ringing for those calls become available again, agents talking on them go to wrap-up, and
// agents whose desk session was on a dead instance are logged out with cause instance_lost
// unless they are still ringing or talking on a live instance's call (they are released when
// it ends). It returns how many agents it released.
func (a *ACD) ReleaseDead(ctx context.Context, lease time.Duration) (int, error) {
	now := a.store.now()
	var dead []string
	if err := a.store.db.SelectContext(ctx, &dead, deadInstancesQuery, now.Add(-lease), a.instance); err != nil {
		return 0, fmt.Errorf("release dead instances: %w", err)
	}
	if len(dead) == 0 {
		return 0, nil
	}
	var n int
	err := a.inTx(ctx, func(tx *sqlx.Tx) (err error) {
		n, err = a.release(ctx, tx, dead, true, sql.NullTime{}, now, "instance_lost")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("release dead instances %v: %w", dead, err)
	}
	return n, nil
}

// releaseAgentsLock locks, in id order, the agents on calls of the instances $1 (offered
// before $3, if not NULL) and, when $2, those logged in on them; call_lost says whether the
// agent's call is one of those.
const releaseAgentsLock = `
	SELECT st.agent_id,
	       COALESCE(st.state IN ('ringing', 'talking') AND o.instance_id = ANY($1)
	                AND ($3::timestamptz IS NULL OR o.offered_at < $3)
	                AND ($3::timestamptz IS NULL OR st.state = 'ringing'
	                     OR NOT EXISTS (SELECT 1 FROM hotline.call_states s WHERE s.call_id = o.call_id)), false) AS call_lost,
	       COALESCE(q.wrap_up_seconds, 0) AS wrap_up_seconds
	FROM hotline.agent_status st
	LEFT JOIN hotline.offers o ON o.id = st.offer_id
	LEFT JOIN hotline.queues q ON q.id = o.queue_id
	WHERE st.state <> 'offline'
	  AND ((st.state IN ('ringing', 'talking') AND o.instance_id = ANY($1)
	        AND ($3::timestamptz IS NULL OR o.offered_at < $3))
	       OR ($2 AND st.instance_id = ANY($1)))
	ORDER BY st.agent_id
	FOR UPDATE OF st`

const releaseOffers = `
	UPDATE hotline.offers SET state = 'cancelled', decided_at = $2, cause = $3
	WHERE state = 'pending' AND instance_id = ANY($1) AND ($4::timestamptz IS NULL OR offered_at < $4)`

const releaseEntries = `
	UPDATE hotline.queue_entries e SET left_at = $2, outcome = 'lost'
	WHERE left_at IS NULL AND instance_id = ANY($1) AND ($3::timestamptz IS NULL OR entered_at < $3)
	  AND ($3::timestamptz IS NULL OR NOT EXISTS (SELECT 1 FROM hotline.call_states s WHERE s.call_id = e.call_id))`

// releaseCalls closes the open call rows of the instances $1 (started before $3, if not NULL)
// as node_lost: their process is gone and its calls' records would stay open forever. An
// instance restarting under its name leaves alone the calls with a saved state
// (hotline.call_states): it resumes them, and closes those whose caller has gone.
const releaseCalls = `
	UPDATE hotline.calls c SET ended_at = GREATEST(started_at, $2), outcome = 'node_lost'
	WHERE ended_at IS NULL AND instance_id = ANY($1) AND ($3::timestamptz IS NULL OR started_at < $3)
	  AND ($3::timestamptz IS NULL OR NOT EXISTS (SELECT 1 FROM hotline.call_states s WHERE s.call_id = c.id))`

// deadCallsClosed counts the call rows closed by release, for ReleaseCollector.
var deadCallsClosed atomic.Int64

var deadCallsDesc = prometheus.NewDesc("hotline_calls_closed_dead_instance_total",
	"Open call rows of a dead or restarted controller instance closed as node_lost by this process.", nil, nil)

// ReleaseCollector returns the count of call rows this process closed for dead or restarted
// instances, for a prometheus.Registerer.
func ReleaseCollector() prometheus.Collector { return releaseCollector{} }

type releaseCollector struct{}

func (releaseCollector) Describe(ch chan<- *prometheus.Desc) { ch <- deadCallsDesc }

func (releaseCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(deadCallsDesc, prometheus.CounterValue, float64(deadCallsClosed.Load()))
}

// release frees what belongs to the instances (made before before, if valid), in tx: see
// ReleaseDead; sessions says whether the agents logged in on them are logged out too. It
// returns how many agents it moved.
func (a *ACD) release(ctx context.Context, tx *sqlx.Tx, instances []string, sessions bool, before sql.NullTime,
	now time.Time, cause string) (int, error) {
	var agents []struct {
		ID       int64 `db:"agent_id"`
		CallLost bool  `db:"call_lost"`
		WrapUp   int   `db:"wrap_up_seconds"`
	}
	if err := a.txSelect(ctx, tx, &agents, releaseAgentsLock, pq.Array(instances), sessions, before); err != nil {
		return 0, fmt.Errorf("lock agents: %w", err)
	}
	if _, err := a.txExec(ctx, tx, releaseOffers, pq.Array(instances), now, cause, before); err != nil {
		return 0, fmt.Errorf("cancel offers: %w", err)
	}
	if _, err := a.txExec(ctx, tx, releaseEntries, pq.Array(instances), now, before); err != nil {
		return 0, fmt.Errorf("close queue entries: %w", err)
	}
	res, err := a.txExec(ctx, tx, releaseCalls, pq.Array(instances), now, before)
	if err != nil {
		return 0, fmt.Errorf("close calls: %w", err)
	}
	if closed, _ := res.RowsAffected(); closed > 0 {
		deadCallsClosed.Add(closed) // counted before commit: a rolled-back release may count twice
	}
	n := 0
	for _, ag := range agents {
		cur, err := a.lockAgent(ctx, tx, ag.ID, now)
		if err != nil {
			return n, err
		}
		sessionLost := sessions && slices.Contains(instances, cur.Instance.String)
		next := cur
		switch {
		case ag.CallLost && cur.State == hotline.AgentTalking:
			if _, err := a.txExec(ctx, tx, offerTalkEnded, cur.OfferID.Int64, now); err != nil {
				return n, err
			}
			if sessionLost {
				next = cur.offline()
			} else if next, err = a.afterTalk(ctx, tx, cur, ag.WrapUp, now); err != nil {
				return n, err
			}
		case ag.CallLost:
			next = cur.afterRing(hotline.OfferCancelled)
			if sessionLost {
				next = cur.offline()
			}
		case cur.busy():
			continue // on a live instance's call: released when it ends
		default:
			if err := a.closeWrapUp(ctx, tx, cur, now); err != nil {
				return n, err
			}
			next = cur.offline()
		}
		if _, err := a.writeAgent(ctx, tx, cur, next, cause, now); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// errNoInstance is returned for an ACD whose instance name cannot name a channel.
var errNoInstance = errors.New("instance name must be 1 to 48 letters, digits, '_', '-' or '.'")

// ValidInstance reports whether id can name a controller instance: its offer channel name
// must fit PostgreSQL's 63-byte identifiers.
func ValidInstance(id string) error {
	if len(id) == 0 || len(id) > 48 {
		return fmt.Errorf("instance %q: %w", id, errNoInstance)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return fmt.Errorf("instance %q: %w", id, errNoInstance)
		}
	}
	return nil
}
