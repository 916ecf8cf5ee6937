package agentdesk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// BenchmarkWallboard measures the supervisors' wallboard under load: 50 supervisors watch it
// over its websocket on a real server and database while 1,000 calls arrive in a minute at
// 300 agents in 5 queues. The calls and the agents' states are written as the ACD writes them
// (the queue entry, the offer, the agent's status row and state log, with their NOTIFYs, one
// transaction per step, through a pool of their own): a call waits for a free agent (one in
// ten hangs up first), rings for 0.5–1.5 s, talks 3–12 s, is wrapped up in 1–3 s. Every
// agent's state change is timed from its commit to the first board at each supervisor that
// shows it (or a later state of that agent): p50-ms, p99-ms, max-ms over all changes and
// supervisors; p99-from-tx-start-ms from just before its transaction began. cpu-cores is
// this process's CPU time over the wall time of the load — the server's, and the load's and
// the 50 clients' reading of the boards with it, so an upper bound of the server's;
// boards/s the boards each supervisor received; read-ms the median time of one reading of the
// board (its three queries) after the load, with the day's 1,000 calls.
func BenchmarkWallboard(b *testing.B) {
	const (
		agents      = 300
		supervisors = 50
		calls       = 1000
		arrivals    = time.Minute
		queues      = 5
	)
	dbURL := pgtest.URL(b)
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(20) // as hotline serve's database.max_open_conns
	db.SetMaxIdleConns(20)
	hash, _ := bcrypt.GenerateFromPassword([]byte("bench-pw"), bcrypt.MinCost)
	mustExec := func(q string, args ...any) {
		if _, err := db.Exec(q, args...); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	mustExec(`INSERT INTO hotline.instances (id) VALUES ('bench')`)
	mustExec(`INSERT INTO hotline.skills (id, name) SELECT 'q' || i, '队列' || i FROM generate_series(1, $1) i`, queues)
	mustExec(`INSERT INTO hotline.queues (id, name, skill_id) SELECT 'q' || i, '队列' || i, 'q' || i FROM generate_series(1, $1) i`, queues)
	mustExec(`INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
		SELECT 'agent' || lpad(i::text, 4, '0'), '坐席' || lpad(i::text, 4, '0'), 'agent', $1, 'PJSIP/' || (2000 + i)
		FROM generate_series(1, $2) i`, string(hash), agents)
	mustExec(`INSERT INTO hotline.agents (username, display_name, role, password_hash)
		SELECT 'sup' || lpad(i::text, 3, '0'), '班长' || i, 'supervisor', $1 FROM generate_series(1, $2) i`, string(hash), supervisors)
	mustExec(`INSERT INTO hotline.agent_skills (agent_id, skill_id, level)
		SELECT a.id, q.id, 3 FROM hotline.agents a, hotline.queues q WHERE a.endpoint IS NOT NULL`)
	mustExec(`INSERT INTO hotline.agent_status (agent_id, state, since, idle_since, instance_id)
		SELECT id, 'available', now(), now(), 'bench' FROM hotline.agents WHERE endpoint IS NOT NULL`)
	var ids []int64
	if err := db.Select(&ids, `SELECT id FROM hotline.agents WHERE endpoint IS NOT NULL ORDER BY id`); err != nil {
		b.Fatal(err)
	}

	// The load writes through a pool of its own, as the ACD's instances do: the server's pool
	// serves the desk.
	acdDB, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer acdDB.Close()
	acdDB.SetMaxOpenConns(32)
	acdDB.SetMaxIdleConns(32)

	srv, err := agentdesk.New(agentdesk.Options{DB: db, DatabaseURL: dbURL, States: postgres.NewACD(postgres.New(db, nil, nil), "bench"),
		Log: slog.New(slog.DiscardHandler), Sessions: postgres.SessionOptions{PasswordCost: bcrypt.MinCost}})
	if err != nil {
		b.Fatal(err)
	}
	web := httptest.NewServer(srv.Handler())
	defer web.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go srv.Run(ctx)
	go func() { // the instance's heartbeat
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(5 * time.Second):
				db.Exec(`UPDATE hotline.instances SET heartbeat_at = now() WHERE id = 'bench'`)
			}
		}
	}()

	// changes are the agents' state changes written: per agent, the since of each, when its
	// transaction began and when it committed.
	type change struct{ since, start, commit time.Time }
	var mu sync.Mutex
	changes := map[int64][]change{}
	// boards parses each distinct board once (every supervisor gets the same bytes): the
	// agents' since.
	var boardsMu sync.Mutex
	boards := map[uint64]map[int64]time.Time{}
	parse := func(data []byte) map[int64]time.Time {
		h := fnv.New64a()
		h.Write(data)
		key := h.Sum64()
		boardsMu.Lock()
		defer boardsMu.Unlock()
		if m, ok := boards[key]; ok {
			return m
		}
		var msg struct {
			Board struct {
				Agents []struct {
					ID    int64     `json:"id"`
					Since time.Time `json:"since"`
				} `json:"agents"`
			} `json:"board"`
		}
		m := map[int64]time.Time{}
		if json.Unmarshal(data, &msg) == nil {
			for _, a := range msg.Board.Agents {
				m[a.ID] = a.Since
			}
		}
		boards[key] = m
		return m
	}

	transport := &http.Transport{MaxIdleConnsPerHost: 64}
	// shown is a change (the idx-th of agent) reaching a supervisor's board at at.
	type shown struct {
		agent int64
		idx   int
		at    time.Time
	}
	type watcher struct {
		conn     *websocket.Conn
		seen     map[int64]int // per agent, the changes shown so far
		shown    []shown
		received atomic.Int64
	}
	var measuring atomic.Bool
	watchers := make([]*watcher, supervisors)
	var readers sync.WaitGroup
	for i := range supervisors {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, Transport: transport}
		resp, err := hc.Post(web.URL+"/api/login", "application/json",
			strings.NewReader(fmt.Sprintf(`{"username":"sup%03d","password":"bench-pw"}`, i+1)))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("login sup%03d: %s", i+1, resp.Status)
		}
		u, _ := url.Parse(web.URL)
		hdr := http.Header{}
		for _, ck := range jar.Cookies(u) {
			hdr.Add("Cookie", ck.Name+"="+ck.Value)
		}
		dctx, dcancel := context.WithTimeout(ctx, 10*time.Second)
		conn, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(web.URL, "http")+"/api/wallboard/events",
			&websocket.DialOptions{HTTPHeader: hdr})
		dcancel()
		if err != nil {
			b.Fatalf("wallboard websocket %d: %v", i, err)
		}
		conn.SetReadLimit(16 << 20)
		w := &watcher{conn: conn, seen: map[int64]int{}}
		watchers[i] = w
		readers.Go(func() {
			for {
				_, data, err := conn.Read(ctx)
				if err != nil {
					return
				}
				at := time.Now()
				if !measuring.Load() {
					continue
				}
				w.received.Add(1)
				board := parse(data)
				mu.Lock()
				for agent, since := range board {
					cs := changes[agent]
					n := w.seen[agent]
					for n < len(cs) && !cs[n].since.After(since) {
						w.shown = append(w.shown, shown{agent, n, at})
						n++
					}
					w.seen[agent] = n
				}
				mu.Unlock()
			}
		})
	}
	time.Sleep(2 * time.Second) // the first boards are sent

	// setState writes an agent's state as the ACD does, in tx: the status row, the state log
	// and the NOTIFYs (hotline_acd too when the agent becomes available). It returns the
	// change's index.
	setState := func(tx *sqlx.Tx, agent int64, state, previous string, call any, offer any, wrapUntil any) (int, error) {
		since := time.Now().Truncate(time.Microsecond)
		mu.Lock()
		changes[agent] = append(changes[agent], change{since: since, start: time.Now()})
		idx := len(changes[agent]) - 1
		mu.Unlock()
		_, err := tx.Exec(`
			WITH st AS (
				UPDATE hotline.agent_status
				SET state = $2, since = $3, call_id = $4, offer_id = $5, wrap_up_until = $6,
				    idle_since = CASE WHEN $2 = 'available' THEN $3 ELSE idle_since END
				WHERE agent_id = $1
				RETURNING agent_id),
			log AS (
				INSERT INTO hotline.agent_state_log (agent_id, state, previous, reason, cause, call_id, at)
				SELECT agent_id, $2, $7, '', 'acd', $4, $3 FROM st)
			SELECT pg_notify('hotline_agent', agent_id::text), CASE WHEN $2 = 'available' THEN pg_notify('hotline_acd', '') END
			FROM st`, agent, state, since, call, offer, wrapUntil, previous)
		return idx, err
	}
	// inTx runs fn in a transaction of the ACD's pool; fn's state change of agent (if any),
	// idx, gets its commit time.
	inTx := func(agent int64, fn func(tx *sqlx.Tx) (int, error)) {
		tx, err := acdDB.Beginx()
		if err != nil {
			b.Error(err)
			return
		}
		defer tx.Rollback()
		idx, err := fn(tx)
		if err != nil {
			b.Error(err)
			return
		}
		if err := tx.Commit(); err != nil {
			b.Error(err)
			return
		}
		if agent != 0 {
			now := time.Now()
			mu.Lock()
			changes[agent][idx].commit = now
			mu.Unlock()
		}
	}
	noChange := func(err error) (int, error) { return 0, err }
	sleep := func(r *rand.Rand, from, to time.Duration) {
		time.Sleep(from + time.Duration(r.Int64N(int64(to-from))))
	}

	for b.Loop() {
		free := make(chan int64, agents)
		for _, id := range ids {
			free <- id
		}
		var usage0 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &usage0)
		started := time.Now()
		measuring.Store(true)
		var wg sync.WaitGroup
		for i := range calls {
			wg.Go(func() {
				r := rand.New(rand.NewPCG(uint64(i), 7))
				time.Sleep(time.Duration(i) * arrivals / calls)
				call := fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1)
				queue := fmt.Sprintf("q%d", 1+r.IntN(queues))
				var entry int64
				inTx(0, func(tx *sqlx.Tx) (int, error) {
					if _, err := tx.Exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, instance_id, queue_id)
						VALUES ($1::uuid, 'ast1', $1::text, '13800138000', now(), 'bench', $2)
						ON CONFLICT (id) DO UPDATE SET started_at = now()`, call, queue); err != nil {
						return 0, err
					}
					return noChange(tx.Get(&entry, `WITH e AS (INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, instance_id)
						VALUES ($1, $2, now(), 'bench') RETURNING id, queue_id)
						SELECT e.id FROM e, pg_notify('hotline_acd', e.queue_id)`, call, queue))
				})
				patience := time.NewTimer(time.Duration(2+r.IntN(60)) * time.Second)
				defer patience.Stop()
				var agent int64
				if r.IntN(10) == 0 {
					<-patience.C
				} else {
					select {
					case agent = <-free:
					case <-patience.C:
					}
				}
				if agent == 0 { // the caller hangs up
					inTx(0, func(tx *sqlx.Tx) (int, error) {
						_, err := tx.Exec(`WITH e AS (UPDATE hotline.queue_entries SET left_at = now(), outcome = 'abandoned'
							WHERE id = $1 RETURNING queue_id) SELECT pg_notify('hotline_acd', queue_id) FROM e`, entry)
						return noChange(err)
					})
					return
				}
				var offer int64
				inTx(agent, func(tx *sqlx.Tx) (int, error) {
					if err := tx.Get(&offer, `INSERT INTO hotline.offers (call_id, entry_id, agent_id, queue_id, instance_id)
						VALUES ($1, $2, $3, $4, 'bench') RETURNING id`, call, entry, agent, queue); err != nil {
						return 0, err
					}
					return setState(tx, agent, "ringing", "available", call, offer, nil)
				})
				sleep(r, 500*time.Millisecond, 1500*time.Millisecond)
				inTx(agent, func(tx *sqlx.Tx) (int, error) {
					if _, err := tx.Exec(`UPDATE hotline.offers SET state = 'accepted', decided_at = now() WHERE id = $1`, offer); err != nil {
						return 0, err
					}
					if _, err := tx.Exec(`UPDATE hotline.queue_entries SET left_at = now(), outcome = 'answered' WHERE id = $1`, entry); err != nil {
						return 0, err
					}
					return setState(tx, agent, "talking", "ringing", call, offer, nil)
				})
				sleep(r, 3*time.Second, 12*time.Second)
				inTx(agent, func(tx *sqlx.Tx) (int, error) {
					if _, err := tx.Exec(`UPDATE hotline.offers SET talk_ended_at = now() WHERE id = $1`, offer); err != nil {
						return 0, err
					}
					return setState(tx, agent, "wrap_up", "talking", call, offer, time.Now().Add(30*time.Second))
				})
				sleep(r, time.Second, 3*time.Second)
				inTx(agent, func(tx *sqlx.Tx) (int, error) {
					if _, err := tx.Exec(`UPDATE hotline.offers SET wrapped_up_at = now() WHERE id = $1`, offer); err != nil {
						return 0, err
					}
					return setState(tx, agent, "available", "wrap_up", nil, nil, nil)
				})
				free <- agent
			})
		}
		wg.Wait()
		time.Sleep(2 * time.Second) // the last changes reach the boards
		measuring.Store(false)
		wall := time.Since(started)
		var usage1 syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &usage1)
		cpu := time.Duration(syscall.TimevalToNsec(usage1.Utime) - syscall.TimevalToNsec(usage0.Utime) +
			syscall.TimevalToNsec(usage1.Stime) - syscall.TimevalToNsec(usage0.Stime))

		mu.Lock()
		var delays, fromStart []time.Duration
		var missing, received int
		var total int
		for _, cs := range changes {
			total += len(cs)
		}
		for _, w := range watchers {
			for _, sh := range w.shown {
				c := changes[sh.agent][sh.idx]
				delays = append(delays, max(sh.at.Sub(c.commit), 0))
				fromStart = append(fromStart, sh.at.Sub(c.start))
			}
			for agent, cs := range changes {
				missing += len(cs) - w.seen[agent]
			}
			received += int(w.received.Load())
		}
		mu.Unlock()
		if len(delays) == 0 || missing > 0 {
			b.Fatalf("%d state changes, %d of them × supervisors never shown on a board (%d shown)", total, missing, len(delays))
		}
		slices.Sort(delays)
		slices.Sort(fromStart)
		pct := func(ds []time.Duration, p float64) float64 {
			return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000
		}
		b.ReportMetric(float64(total), "changes")
		b.ReportMetric(pct(delays, 0.50), "p50-ms")
		b.ReportMetric(pct(delays, 0.99), "p99-ms")
		b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "max-ms")
		b.ReportMetric(pct(fromStart, 0.99), "p99-from-tx-start-ms")
		b.ReportMetric(cpu.Seconds()/wall.Seconds(), "cpu-cores")
		b.ReportMetric(float64(received)/supervisors/wall.Seconds(), "boards/s")
		// One reading of the board, as the loop makes it, with the day's calls on it.
		var reads []time.Duration
		for range 20 {
			t0 := time.Now()
			if _, err := postgres.LoadWallboard(ctx, db, time.Now(), agentdesk.DefaultInstanceLease); err != nil {
				b.Fatal(err)
			}
			reads = append(reads, time.Since(t0))
		}
		slices.Sort(reads)
		b.ReportMetric(float64(reads[len(reads)/2].Microseconds())/1000, "read-ms")
		mu.Lock()
		clear(changes)
		for _, w := range watchers {
			clear(w.seen)
			w.shown = nil
			w.received.Store(0)
		}
		mu.Unlock()
		mustExec(`DELETE FROM hotline.offers`)
		mustExec(`DELETE FROM hotline.queue_entries`)
	}
	cancel()
	for _, w := range watchers {
		w.conn.CloseNow()
	}
	readers.Wait()
}
