package acd_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk/acd"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// The IVR engine takes the offers and reports how they went.
var (
	_ acd.Sink = (*ivr.Engine)(nil)
	_ ivr.ACD  = (*postgres.ACD)(nil)
)

// centre is a contact centre on a fresh database with the wall clock: queue general (no
// wrap-up) and agents added by the tests.
type centre struct {
	url    string
	db     *sqlx.DB
	store  *postgres.Store
	ivr    *postgres.IVRServices
	agents int
}

func newCentre(t testing.TB) *centre {
	t.Helper()
	ctx := context.Background()
	c := &centre{url: pgtest.URL(t)}
	db, err := postgres.Connect(ctx, c.url)
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(40)
	db.SetMaxIdleConns(40)
	t.Cleanup(func() { db.Close() })
	c.db, c.store = db, postgres.New(db, nil, nil)
	c.ivr = postgres.NewIVRServices(c.store)
	c.exec(t, `INSERT INTO hotline.skills (id, name) VALUES ('general', '综合')`)
	c.exec(t, `INSERT INTO hotline.queues (id, name, skill_id, wrap_up_seconds) VALUES ('general', '综合咨询', 'general', 0)`)
	return c
}

func (c *centre) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if _, err := c.db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func (c *centre) count(t testing.TB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := c.db.Get(&n, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// addAgents adds n agents of the general queue, logged in and available, on the instances
// in turn.
func (c *centre) addAgents(t testing.TB, n int, on ...*postgres.ACD) []int64 {
	t.Helper()
	ctx := context.Background()
	ids := make([]int64, n)
	for i := range ids {
		c.agents++
		var id int64
		if err := c.db.Get(&id, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
			VALUES ($1, $1, 'agent', 'x', $2) RETURNING id`, fmt.Sprintf("agent%04d", c.agents), fmt.Sprintf("PJSIP/%d", 1000+c.agents)); err != nil {
			t.Fatal(err)
		}
		c.exec(t, `INSERT INTO hotline.agent_skills (agent_id, skill_id, level) VALUES ($1, 'general', 3)`, id)
		a := on[i%len(on)]
		if _, _, err := a.Login(ctx, id, fmt.Sprintf("session-%d", id)); err != nil {
			t.Fatal(err)
		}
		if _, err := a.SetAvailable(ctx, id); err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// newCall records a call of instance and returns its id.
func (c *centre) newCall(t testing.TB, instance string) string {
	t.Helper()
	id := uuid()
	c.exec(t, `INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, instance_id)
		VALUES ($1::uuid, 'ast1', $1::text, '13800138000', now(), $2)`, id, instance)
	return id
}

func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// run starts a dispatcher until stop is called or the test ends, and waits until its
// instance is registered.
func (c *centre) run(t testing.TB, r *postgres.ACD, sink acd.Sink, o acd.Options) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	d := acd.New(r, sink, c.url, o)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("dispatcher %s: %v", r.Instance(), err)
			}
		})
	}
	t.Cleanup(stop)
	eventually(t, func() bool {
		return c.count(t, `SELECT count(*) FROM hotline.instances WHERE id = $1`, r.Instance()) == 1
	})
	return stop
}

// eventually waits for cond, failing the test after a generous while.
func eventually(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ledger watches the agents' phones across instances: an offer to an agent whose phone
// already rings for another is a double offer.
type ledger struct {
	mu      sync.Mutex
	ringing map[int64]int64 // agent → offer
	doubles []string
	// busy counts the agents between an offer and the end of its conversation.
	busy atomic.Int64
}

func newLedger() *ledger { return &ledger{ringing: map[int64]int64{}} }

func (l *ledger) ring(o hotline.Offer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if prev, ok := l.ringing[o.AgentID]; ok {
		l.doubles = append(l.doubles, fmt.Sprintf("agent %d offered %d while ringing for %d", o.AgentID, o.ID, prev))
	}
	l.ringing[o.AgentID] = o.ID
	l.busy.Add(1)
}

// hangUp forgets the agent's ring; call it before the ACD hears the end of the offer, so
// that a later offer to the agent is never mistaken for a double.
func (l *ledger) hangUp(o hotline.Offer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.ringing, o.AgentID)
}

func (l *ledger) check(t testing.TB) int {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range l.doubles {
		t.Error(d)
	}
	return len(l.doubles)
}

// phones is the sink of one instance, like the IVR engine: it takes the offers for the calls
// of its instance and plays the agents' phones, which answer and hang up at once, reporting
// to the ACD as the engine does.
type phones struct {
	instance string
	acd      *postgres.ACD
	ledger   *ledger
	talk     func() time.Duration // how long a conversation lasts; nil for none
	// gone reports whether a call no longer waits here: its offers are refused.
	gone func(callID string) bool
	// hold leaves the phones ringing: the offers are taken and never answered.
	hold bool

	mu       sync.Mutex
	got      []hotline.Offer
	at       map[string]time.Time // call → when its offer arrived
	refused  int
	failures []error
	wg       sync.WaitGroup
}

func newPhones(instance string, a *postgres.ACD, l *ledger) *phones {
	return &phones{instance: instance, acd: a, ledger: l, at: map[string]time.Time{}}
}

func (p *phones) Offer(ctx context.Context, o hotline.Offer) bool {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone != nil && p.gone(o.CallID) {
		p.refused++
		return false
	}
	p.got = append(p.got, o)
	p.at[o.CallID] = now
	p.ledger.ring(o)
	if p.hold {
		return true
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		err := p.acd.OfferAnswered(context.Background(), o.ID)
		if err == nil && p.talk != nil {
			time.Sleep(p.talk())
		}
		p.ledger.hangUp(o)
		if err == nil {
			err = p.acd.ConversationEnded(context.Background(), o.ID)
		}
		p.ledger.busy.Add(-1)
		if err != nil {
			p.mu.Lock()
			p.failures = append(p.failures, fmt.Errorf("offer %d: %w", o.ID, err))
			p.mu.Unlock()
		}
	}()
	return true
}

// offers returns the offers taken so far.
func (p *phones) offers() []hotline.Offer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]hotline.Offer(nil), p.got...)
}

func (p *phones) check(t testing.TB) {
	t.Helper()
	p.wg.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, err := range p.failures {
		t.Error(err)
	}
	for _, o := range p.got {
		if o.Instance != p.instance {
			t.Errorf("instance %s took offer %d of a call of %s", p.instance, o.ID, o.Instance)
		}
	}
}

// checkNoDoubleOffers checks the database's record: no call answered twice, and each offer
// set its agent ringing from available in the agent's serialised log.
func checkNoDoubleOffers(t testing.TB, c *centre) {
	t.Helper()
	if n := c.count(t, `SELECT count(*) FROM (SELECT call_id FROM hotline.offers WHERE state = 'accepted'
		GROUP BY call_id HAVING count(*) > 1) x`); n > 0 {
		t.Errorf("%d calls answered by two agents", n)
	}
	if n := c.count(t, `SELECT count(*) FROM hotline.agent_state_log l
		WHERE l.previous IS DISTINCT FROM (SELECT p.state FROM hotline.agent_state_log p
		                                   WHERE p.agent_id = l.agent_id AND p.id < l.id ORDER BY p.id DESC LIMIT 1)
		  AND EXISTS (SELECT 1 FROM hotline.agent_state_log p WHERE p.agent_id = l.agent_id AND p.id < l.id)`); n > 0 {
		t.Errorf("%d transitions do not start where the one before ended", n)
	}
	if n := c.count(t, `SELECT count(*) FROM hotline.agent_state_log WHERE state = 'ringing'`); n != c.count(t, `SELECT count(*) FROM hotline.offers`) {
		t.Errorf("%d rings logged for %d offers", n, c.count(t, `SELECT count(*) FROM hotline.offers`))
	}
}

func TestDispatchersShareABurst(t *testing.T) {
	const calls = 300
	c := newCentre(t)
	l := newLedger()
	a, b := postgres.NewACD(c.store, "a"), postgres.NewACD(c.store, "b")
	pa, pb := newPhones("a", a, l), newPhones("b", b, l)
	c.run(t, a, pa, acd.Options{Tick: 100 * time.Millisecond, Batch: 20})
	c.run(t, b, pb, acd.Options{Tick: 100 * time.Millisecond, Batch: 20})
	c.addAgents(t, 30, a, b)

	ids := make([]string, calls)
	for i := range ids {
		ids[i] = c.newCall(t, []string{"a", "b"}[i%2])
	}
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < calls; i += 6 {
				if _, err := c.ivr.EnterQueue(context.Background(), ids[i], "general", i%3); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	eventually(t, func() bool {
		return c.count(t, `SELECT count(*) FROM hotline.queue_entries WHERE outcome = 'answered'`) == calls
	})
	pa.check(t)
	pb.check(t)
	l.check(t)
	checkNoDoubleOffers(t, c)

	seen := map[int64]bool{}
	for _, o := range append(pa.offers(), pb.offers()...) {
		if seen[o.ID] {
			t.Errorf("offer %d handed over twice", o.ID)
		}
		seen[o.ID] = true
	}
	if got, want := len(seen), c.count(t, `SELECT count(*) FROM hotline.offers`); got != want {
		t.Errorf("%d offers handed over, %d made", got, want)
	}
	if len(pa.offers()) == 0 || len(pb.offers()) == 0 {
		t.Errorf("offers a %d, b %d: each instance owns half the calls", len(pa.offers()), len(pb.offers()))
	}
}

func TestDispatcherCancelsOffersForGoneCalls(t *testing.T) {
	c := newCentre(t)
	a := postgres.NewACD(c.store, "a")
	p := newPhones("a", a, newLedger())
	var gone sync.Map
	p.gone = func(call string) bool { _, ok := gone.Load(call); return ok }
	c.run(t, a, p, acd.Options{Tick: 100 * time.Millisecond})
	agent := c.addAgents(t, 1, a)[0]

	call := c.newCall(t, "a")
	gone.Store(call, true) // the caller hangs up as the offer is made
	e, err := c.ivr.EnterQueue(context.Background(), call, "general", 0)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		return c.count(t, `SELECT count(*) FROM hotline.offers WHERE call_id = $1 AND state = 'cancelled'
			AND cause LIKE '%not waiting%'`, call) > 0
	})
	if err := c.ivr.LeaveQueue(context.Background(), e, hotline.QueueAbandoned); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		st, err := a.Status(context.Background(), agent)
		return err == nil && st.State == hotline.AgentAvailable
	})
	// The agent takes the next call.
	next := c.newCall(t, "a")
	if _, err := c.ivr.EnterQueue(context.Background(), next, "general", 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		return c.count(t, `SELECT count(*) FROM hotline.queue_entries WHERE call_id = $1 AND outcome = 'answered'`, next) == 1
	})
	p.check(t)
}

func TestDispatcherReleasesADeadInstance(t *testing.T) {
	c := newCentre(t)
	ctx := context.Background()
	const lease = time.Second
	a, dead := postgres.NewACD(c.store, "a"), postgres.NewACD(c.store, "dead")
	a.SetLease(lease)
	if err := dead.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// The dead instance's agents and a call of it; no dispatcher runs for it.
	agents := c.addAgents(t, 5, dead)
	if _, err := c.ivr.EnterQueue(ctx, c.newCall(t, "dead"), "general", 0); err != nil {
		t.Fatal(err)
	}
	c.run(t, a, newPhones("a", a, newLedger()), acd.Options{Lease: lease, Tick: 50 * time.Millisecond})

	eventually(t, func() bool {
		return c.count(t, `SELECT count(*) FROM hotline.agent_status WHERE agent_id = ANY($1) AND state = 'offline'`,
			pq.Array(agents)) == len(agents)
	})
	if n := c.count(t, `SELECT count(*) FROM hotline.queue_entries WHERE instance_id = 'dead' AND outcome = 'lost'`); n != 1 {
		t.Errorf("%d calls of the dead instance closed as lost, want 1", n)
	}
	// While both were live, the call may have been offered; the offer did not outlive them.
	if n := c.count(t, `SELECT count(*) FROM hotline.offers WHERE state <> 'cancelled' OR cause <> 'instance_lost'`); n != 0 {
		t.Errorf("%d offers of the dead instance's call not cancelled as instance_lost", n)
	}
	if n := c.count(t, `SELECT count(*) FROM hotline.agent_state_log WHERE cause = 'instance_lost'`); n != len(agents) {
		t.Errorf("%d agents logged out as instance_lost, want %d", n, len(agents))
	}
}

func TestDispatcherResyncsAfterItsListenerReconnects(t *testing.T) {
	c := newCentre(t)
	ctx := context.Background()
	a := postgres.NewACD(c.store, "a")
	p := newPhones("a", a, newLedger())
	// No housekeeping or periodic resync during the test: only the reconnection can bring
	// the offer made meanwhile.
	c.run(t, a, p, acd.Options{Tick: time.Hour, Resync: time.Hour})
	c.addAgents(t, 1, a)

	c.exec(t, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%'`)
	// Another process makes the offer while the listener is away.
	other := postgres.NewACD(c.store, "other")
	if err := other.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	call := c.newCall(t, "a")
	if _, err := c.ivr.EnterQueue(ctx, call, "general", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Assign(ctx, 10); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		return c.count(t, `SELECT count(*) FROM hotline.queue_entries WHERE call_id = $1 AND outcome = 'answered'`, call) == 1
	})
	p.check(t)
	if got := p.offers(); len(got) != 1 {
		t.Errorf("offers %+v, want one", got)
	}
}
