package agentdesk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// BenchmarkScreenPop measures the screen-pop: 1,000 agents are logged in (to the desk and the
// ACD) with their events websocket open on a real server and database. Offers are written as
// the ACD writes them (insert and NOTIFY in a transaction): one at a time (single), 100 in one
// transaction as one assignment round of the ACD writes them (burst=100/one-round), and 100
// in a transaction each, all started together (burst=100/100-transactions, a worst case: they
// take the main pool's 16 connections; the desk reads snapshots on its own pool of 8, as
// hotline serve does). Each offer is timed from just
// before its transaction to the snapshot naming it arriving at the agent's socket (p50-ms,
// p99-ms, max-ms), and from its commit (p99-commit-ms). Between rounds the offers end and the
// bench waits until every desk shows that, so that each round starts from quiet. Also
// reported: the memory and goroutines per connection (server and client side together, both
// in this process). The pool is kept as hotline serve keeps it: as many idle connections as
// open ones.
func BenchmarkScreenPop(b *testing.B) {
	const agents = 1000
	dbURL := pgtest.URL(b)
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	hash, _ := bcrypt.GenerateFromPassword([]byte("bench-pw"), bcrypt.MinCost)
	mustExec := func(q string, args ...any) {
		if _, err := db.Exec(q, args...); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`INSERT INTO hotline.skills (id, name) VALUES ('general', '综合咨询')`)
	mustExec(`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('general', '综合咨询', 'general')`)
	mustExec(`INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
		SELECT 'agent' || lpad(i::text, 4, '0'), '坐席' || i, 'agent', $1, 'PJSIP/' || (2000 + i)
		FROM generate_series(1, $2) i`, string(hash), agents)
	mustExec(`INSERT INTO hotline.agent_skills (agent_id, skill_id) SELECT id, 'general' FROM hotline.agents`)
	mustExec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at)
		SELECT gen_random_uuid(), 'node1', 'chan-' || i, '138' || lpad(i::text, 8, '0'), now()
		FROM generate_series(1, $1) i`, agents)
	var ids []int64
	if err := db.Select(&ids, `SELECT id FROM hotline.agents ORDER BY id`); err != nil {
		b.Fatal(err)
	}
	var calls []string
	if err := db.Select(&calls, `SELECT id::text FROM hotline.calls ORDER BY channel_id`); err != nil {
		b.Fatal(err)
	}
	next := 0 // the first agent of the next round

	// The desk's own pool for snapshots, as hotline serve opens it (database.snapshot_conns).
	snapshots, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer snapshots.Close()
	snapshots.SetMaxOpenConns(8)
	snapshots.SetMaxIdleConns(8)
	srv, err := agentdesk.New(agentdesk.Options{DB: db, SnapshotDB: snapshots, DatabaseURL: dbURL, States: postgres.NewACD(postgres.New(db, nil, nil), "bench"),
		Log: slog.New(slog.DiscardHandler), Sessions: postgres.SessionOptions{PasswordCost: bcrypt.MinCost}})
	if err != nil {
		b.Fatal(err)
	}
	web := httptest.NewServer(srv.Handler())
	defer web.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Run(ctx)
	time.Sleep(200 * time.Millisecond) // the listener starts

	// arrivals gets, per offer id, when a snapshot naming it reached its agent's socket.
	var mu sync.Mutex
	waiting := map[int64]chan time.Time{}
	shown := make([]atomic.Int64, agents) // the offer each desk shows, 0 for none
	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	login := func(username string) []*http.Cookie {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, Transport: transport}
		resp, err := hc.Post(web.URL+"/api/login", "application/json",
			strings.NewReader(`{"username":"`+username+`","password":"bench-pw"}`))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("login %s: %s", username, resp.Status)
		}
		u, _ := url.Parse(web.URL)
		return jar.Cookies(u)
	}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutinesBefore := runtime.NumGoroutine()
	conns := make([]*websocket.Conn, agents)
	var readers sync.WaitGroup
	for i := range agents {
		hdr := http.Header{}
		for _, ck := range login(fmt.Sprintf("agent%04d", i+1)) {
			hdr.Add("Cookie", ck.Name+"="+ck.Value)
		}
		dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
		conn, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(web.URL, "http")+"/api/agent/events",
			&websocket.DialOptions{HTTPHeader: hdr})
		dcancel()
		if err != nil {
			b.Fatalf("websocket %d: %v", i, err)
		}
		conns[i] = conn
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				_, data, err := conn.Read(ctx)
				if err != nil {
					return
				}
				at := time.Now()
				var m struct {
					Type     string `json:"type"`
					Snapshot struct {
						Offer *struct {
							ID int64 `json:"id"`
						} `json:"offer"`
					} `json:"snapshot"`
				}
				if json.Unmarshal(data, &m) != nil || (m.Type != "snapshot" && m.Type != "update") {
					continue
				}
				if m.Snapshot.Offer == nil {
					shown[i].Store(0)
					continue
				}
				shown[i].Store(m.Snapshot.Offer.ID)
				mu.Lock()
				ch := waiting[m.Snapshot.Offer.ID]
				delete(waiting, m.Snapshot.Offer.ID)
				mu.Unlock()
				if ch != nil {
					ch <- at
				}
			}
		}()
	}
	time.Sleep(500 * time.Millisecond) // the first snapshots are sent
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	perConn := float64(after.HeapAlloc-before.HeapAlloc) / agents
	goroutinesPerConn := float64(runtime.NumGoroutine()-goroutinesBefore) / agents

	// offerInsert offers the calls $1 to the agents $2 (one each) and announces each offer, as
	// the ACD does.
	const offerInsert = `
		WITH o AS (INSERT INTO hotline.offers (call_id, agent_id, queue_id)
		           SELECT call_id, agent_id, 'general' FROM unnest($1::uuid[], $2::bigint[]) AS w(call_id, agent_id)
		           RETURNING id, agent_id)
		SELECT o.id, o.agent_id, pg_notify('hotline_agent', o.agent_id::text) IS NOT NULL AS notified FROM o`
	type pending struct {
		ch     chan time.Time
		start  time.Time
		commit time.Time
		agent  int64
	}
	// offer writes the offers of round[from:to] in one transaction, timing each from just
	// before the transaction and from its commit.
	offer := func(round []pending, from, to int) error {
		var cs []string
		var as []int64
		for j := from; j < to; j++ {
			k := (next + j) % agents
			cs, as = append(cs, calls[k]), append(as, ids[k])
		}
		start := time.Now()
		tx, err := db.Beginx()
		if err != nil {
			return err
		}
		defer tx.Rollback()
		var rows []struct {
			ID       int64 `db:"id"`
			AgentID  int64 `db:"agent_id"`
			Notified bool  `db:"notified"`
		}
		if err := tx.Select(&rows, offerInsert, pq.Array(cs), pq.Array(as)); err != nil {
			return err
		}
		mu.Lock()
		for _, r := range rows {
			j := from + slices.Index(as, r.AgentID)
			round[j].start = start
			waiting[r.ID] = round[j].ch
		}
		mu.Unlock()
		if err := tx.Commit(); err != nil {
			return err
		}
		committed := time.Now()
		mu.Lock()
		for j := from; j < to; j++ {
			round[j].commit = committed
		}
		mu.Unlock()
		return nil
	}
	b.ReportMetric(perConn, "heap-B/conn")
	b.ReportMetric(goroutinesPerConn, "goroutines/conn")
	postmaster, pmOK := postmasterOf(b, db)
	// One offer at a time; 100 at once in one transaction, as one assignment round of the ACD
	// writes them; and 100 at once in a transaction each, all started together (a worst case:
	// they compete for the pool's 16 connections with the desk's own reads).
	for _, bc := range []struct {
		name       string
		burst, txs int
	}{{"single", 1, 1}, {"burst=100/one-round", 100, 1}, {"burst=100/100-transactions", 100, 100}} {
		burst := bc.burst
		b.Run(bc.name, func(b *testing.B) {
			var delays, afterCommit []time.Duration
			var cpu cpuTimes // used while the offers were written and popped
			cpuKnown := true
			for range b.N {
				// 100 offers per iteration: one round of 100, or 100 rounds of one.
				for range 100 / burst {
					round := make([]pending, burst)
					// The server's CPU time is read before this process's at the start and after
					// it at the end, so that reading /proc is not counted.
					server0, cpuOK0 := serverCPU(postmaster)
					self0 := selfCPU()
					for j := range burst {
						round[j] = pending{ch: make(chan time.Time, 1), agent: ids[(next+j)%agents]}
					}
					var wg sync.WaitGroup
					per := burst / bc.txs
					for t := range bc.txs {
						wg.Go(func() {
							if err := offer(round, t*per, (t+1)*per); err != nil {
								b.Error(err)
							}
						})
					}
					wg.Wait()
					for _, p := range round {
						select {
						case at := <-p.ch:
							delays = append(delays, at.Sub(p.start))
							afterCommit = append(afterCommit, max(at.Sub(p.commit), 0))
						case <-time.After(10 * time.Second):
							b.Fatalf("no screen-pop for agent %d within 10 s", p.agent)
						}
					}
					b.StopTimer()
					self1 := selfCPU()
					if server1, ok := serverCPU(postmaster); ok && cpuOK0 && pmOK {
						cpu.self += self1 - self0
						cpu.server += server1 - server0
					} else {
						cpuKnown = false
					}
					// The offers end, as a rejection would, before the next round.
					if _, err := db.Exec(`
						WITH o AS (UPDATE hotline.offers SET state = 'cancelled', decided_at = now()
						           WHERE state = 'pending' RETURNING agent_id)
						SELECT pg_notify('hotline_agent', agent_id::text) FROM o`); err != nil {
						b.Fatal(err)
					}
					deadline := time.Now().Add(10 * time.Second)
					for j := range burst {
						for shown[(next+j)%agents].Load() != 0 {
							if time.Now().After(deadline) {
								b.Fatalf("the offer of agent %d did not end on their desk within 10 s", ids[(next+j)%agents])
							}
							time.Sleep(time.Millisecond)
						}
					}
					next = (next + burst) % agents
					b.StartTimer()
				}
			}
			b.StopTimer()
			slices.Sort(delays)
			slices.Sort(afterCommit)
			pct := func(ds []time.Duration, p float64) float64 {
				return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(delays, 0.50), "p50-ms")
			b.ReportMetric(pct(delays, 0.99), "p99-ms")
			b.ReportMetric(pct(afterCommit, 0.99), "p99-commit-ms")
			b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "max-ms")
			b.ReportMetric(perConn, "heap-B/conn")
			b.ReportMetric(goroutinesPerConn, "goroutines/conn")
			if cpuKnown {
				n := float64(len(delays))
				b.ReportMetric(float64(cpu.self.Microseconds())/1000/n, "go-cpu-ms/offer")
				b.ReportMetric(float64(cpu.server.Microseconds())/1000/n, "pg-cpu-ms/offer")
			}
		})
	}
	cancel()
	for _, c := range conns {
		c.CloseNow()
	}
	readers.Wait()
}

// cpuTimes is CPU time used by this process (the desk's server and the agents' clients) and by
// the database server's processes.
type cpuTimes struct{ self, server time.Duration }

// selfCPU returns the CPU time this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postmasterOf returns the process id of the database server of db's connections, where
// /proc tells it (Linux): the parent of a connection's backend.
func postmasterOf(b *testing.B, db *sqlx.DB) (string, bool) {
	var backend int
	if err := db.Get(&backend, `SELECT pg_backend_pid()`); err != nil {
		b.Fatal(err)
	}
	ppid, _, ok := procStat(strconv.Itoa(backend))
	return ppid, ok
}

// serverCPU returns the CPU time used by the postmaster and its children (the connections,
// which the bench keeps open, and the server's own workers), where /proc tells it.
func serverCPU(postmaster string) (time.Duration, bool) {
	children, err := os.ReadFile("/proc/" + postmaster + "/task/" + postmaster + "/children")
	if err != nil {
		return 0, false
	}
	_, ticks, ok := procStat(postmaster)
	if !ok {
		return 0, false
	}
	for _, pid := range strings.Fields(string(children)) {
		if _, n, ok := procStat(pid); ok {
			ticks += n
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond, true
}

// procStat reads a process's parent and CPU time from /proc/<pid>/stat: pid (comm) state ppid
// … utime stime (fields 14 and 15, in clock ticks of 1/100 s).
func procStat(pid string) (ppid string, ticks int64, ok bool) {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", 0, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return "", 0, false
	}
	f := strings.Fields(string(data[i+1:])) // field n is f[n-3]
	if len(f) < 13 {
		return "", 0, false
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return f[1], u + s, true
}
