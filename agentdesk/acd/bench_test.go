package acd_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk/acd"
	"github.com/foshan-hotline/hotline/postgres"
)

// benchAgents is the size of the contact centre the benchmarks run.
const benchAgents = 500

// BenchmarkDispatch runs two instances, each with its dispatcher, on one database with 500
// agents whose phones answer at once and talk 50–150 ms, while calls arrive at rising rates
// (b.N calls per rate; both instances own half of them). Each call costs the database what it
// would in service: entering the queue, its share of a round, the answer and the end of the
// conversation reported by the phone. It reports:
//
//   - assign/s: offers handed to the instances per second, first call to last offer;
//   - p50-ms, p99-ms: the delay from a call entering its queue (the request, not its commit)
//     while an agent was free to the offer reaching the instance that owns the call;
//   - doubles: offers to an agent whose phone already rang, plus calls answered twice (0).
//
// Run it with a fixed count, e.g. go test -run '^$' -bench Dispatch -benchtime 1000x ./agentdesk/acd
func BenchmarkDispatch(b *testing.B) {
	c := newCentre(b)
	l := newLedger()
	a, bb := postgres.NewACD(c.store, "a"), postgres.NewACD(c.store, "b")
	pa, pb := newPhones("a", a, l), newPhones("b", bb, l)
	for _, p := range []*phones{pa, pb} {
		p.talk = func() time.Duration { return time.Duration(50+rand.IntN(100)) * time.Millisecond }
	}
	c.run(b, a, pa, acd.Options{})
	c.run(b, bb, pb, acd.Options{})
	c.addAgents(b, benchAgents, a, bb)
	c.exec(b, `ANALYZE`) // as autovacuum would have on a database in use
	// Warm up: every pooled connection opened and its statements prepared.
	b.Run("warm-up", func(b *testing.B) { benchRate(b, c, l, []*phones{pa, pb}, 100) })

	for _, rate := range []int{50, 100, 150, 200, 300, 400} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			benchRate(b, c, l, []*phones{pa, pb}, rate)
		})
	}
}

// benchRate lets b.N calls arrive at rate per second and waits until all are answered.
func benchRate(b *testing.B, c *centre, l *ledger, ps []*phones, rate int) {
	ctx := context.Background()
	instances := []string{"a", "b"}
	ids := make([]string, b.N)
	owners := make([]string, b.N)
	for i := range ids {
		ids[i], owners[i] = uuid(), instances[i%2]
	}
	c.exec(b, `INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, instance_id)
		SELECT x.id, 'ast1', x.id::text, '13800138000', now(), x.instance
		FROM unnest($1::uuid[], $2::text[]) AS x(id, instance)`, pq.Array(ids), pq.Array(owners))
	answeredBefore := c.count(b, `SELECT count(*) FROM hotline.queue_entries WHERE outcome = 'answered'`)
	doublesBefore := len(l.doubles)

	var (
		mu      sync.Mutex
		entered = make(map[string]time.Time, b.N) // calls that entered while an agent was free
		wg      sync.WaitGroup
		sem     = make(chan struct{}, 32)
	)
	b.ResetTimer()
	start := time.Now()
	for i, id := range ids {
		if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); wait > 0 {
			time.Sleep(wait)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			at := time.Now()
			free := l.busy.Load() < benchAgents
			if _, err := c.ivr.EnterQueue(ctx, id, "general", 0); err != nil {
				b.Error(err)
				return
			}
			if free {
				mu.Lock()
				entered[id] = at
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	eventually(b, func() bool {
		return c.count(b, `SELECT count(*) FROM hotline.queue_entries WHERE outcome = 'answered'`) == answeredBefore+b.N
	})
	b.StopTimer()

	var last time.Time
	var delays []time.Duration
	for _, p := range ps {
		p.mu.Lock()
		for _, id := range ids {
			at, ok := p.at[id]
			if !ok {
				continue
			}
			if at.After(last) {
				last = at
			}
			if e, ok := entered[id]; ok {
				delays = append(delays, at.Sub(e))
			}
		}
		p.mu.Unlock()
	}
	slices.Sort(delays)
	offers := c.count(b, `SELECT count(*) FROM hotline.offers o WHERE o.call_id = ANY($1::uuid[])`, pq.Array(ids))
	b.ReportMetric(float64(offers)/last.Sub(start).Seconds(), "assign/s")
	if len(delays) > 0 {
		b.ReportMetric(ms(delays[len(delays)/2]), "p50-ms")
		b.ReportMetric(ms(delays[len(delays)*99/100]), "p99-ms")
	}
	twice := c.count(b, `SELECT count(*) FROM (SELECT call_id FROM hotline.offers WHERE state = 'accepted'
		GROUP BY call_id HAVING count(*) > 1) x`)
	l.mu.Lock()
	doubles := len(l.doubles) - doublesBefore + twice
	l.mu.Unlock()
	b.ReportMetric(float64(doubles), "doubles")
	b.ReportMetric(0, "ns/op")
	for _, p := range ps {
		p.check(b)
	}
	checkNoDoubleOffers(b, c)
	// Let every agent be free again before the next rate.
	eventually(b, func() bool { return l.busy.Load() == 0 })
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkAssignBacklog measures routing alone: with 500 agents available and both
// dispatchers idle, a backlog of 1,000 calls (both instances own half) enters at once; it
// reports how fast the dispatchers hand out the 500 offers (assign/s) from that commit, and the
// double offers (0). Between iterations the rest of the backlog leaves and the offers are
// cancelled, which frees the agents again. Run it with a few iterations, e.g.
// go test -run '^$' -bench AssignBacklog -benchtime 5x ./agentdesk/acd
func BenchmarkAssignBacklog(b *testing.B) {
	ctx := context.Background()
	c := newCentre(b)
	a, bb := postgres.NewACD(c.store, "a"), postgres.NewACD(c.store, "b")
	sa, sb := &sinkSwitch{}, &sinkSwitch{}
	c.run(b, a, sa, acd.Options{})
	c.run(b, bb, sb, acd.Options{})
	c.addAgents(b, benchAgents, a, bb)
	var doubles int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		l := newLedger()
		pa, pb := newPhones("a", a, l), newPhones("b", bb, l)
		pa.hold, pb.hold = true, true // the phones ring on: each agent takes one offer
		sa.p.Store(pa)
		sb.p.Store(pb)
		const calls = 2 * benchAgents
		ids, owners := make([]string, calls), make([]string, calls)
		for k := range ids {
			ids[k], owners[k] = uuid(), []string{"a", "b"}[k%2]
		}
		c.exec(b, `INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, instance_id)
			SELECT x.id, 'ast1', x.id::text, '13800138000', now(), x.instance
			FROM unnest($1::uuid[], $2::text[]) AS x(id, instance)`, pq.Array(ids), pq.Array(owners))
		c.exec(b, `ANALYZE`) // as autovacuum would have on a database in use

		b.StartTimer()
		c.exec(b, `WITH e AS (
				INSERT INTO hotline.queue_entries (call_id, queue_id, priority, entered_at, instance_id)
				SELECT x.id, 'general', 0, now(), x.instance
				FROM unnest($1::uuid[], $2::text[]) AS x(id, instance)
				RETURNING id)
			SELECT pg_notify('hotline_acd', 'general') FROM (SELECT count(*) FROM e) n`, pq.Array(ids), pq.Array(owners))
		eventually(b, func() bool { return len(pa.offers())+len(pb.offers()) == benchAgents })
		b.StopTimer()

		doubles += l.check(b)
		// The callers hang up, then their offers end: nobody is offered again.
		c.exec(b, `UPDATE hotline.queue_entries SET left_at = now(), outcome = 'abandoned' WHERE left_at IS NULL`)
		for _, o := range append(pa.offers(), pb.offers()...) {
			if err := a.OfferEnded(ctx, o.ID, hotline.OfferCancelled, "benchmark reset"); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.N*benchAgents)/b.Elapsed().Seconds(), "assign/s")
	b.ReportMetric(float64(doubles), "doubles")
	b.ReportMetric(0, "ns/op")
	checkNoDoubleOffers(b, c)
}

// sinkSwitch hands offers to the phones of the current iteration.
type sinkSwitch struct{ p atomic.Pointer[phones] }

func (s *sinkSwitch) Offer(ctx context.Context, o hotline.Offer) bool {
	p := s.p.Load()
	if p == nil {
		return false
	}
	return p.Offer(ctx, o)
}
