package agentdesk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// BenchmarkScreenPop measures the screen-pop: 1,000 agents have their events websocket open
// on a real server and database; each round offers calls to 100 of them at once (each offer
// its own transaction with its NOTIFY, as the ACD writes them) and times, per offer, from
// just before its transaction to the snapshot naming the offer arriving at the agent's
// socket. Reported: p50 and p99 of that delay, and the memory per connection (server and
// client side together, both in this process).
func BenchmarkScreenPop(b *testing.B) {
	const agents = 1000
	dbURL := pgtest.URL(b)
	db, err := sqlx.Open("postgres", dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(16)
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

	srv, err := agentdesk.New(agentdesk.Options{DB: db, DatabaseURL: dbURL, States: newFakeStates(),
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
					Snapshot struct {
						Offer *struct {
							ID int64 `json:"id"`
						} `json:"offer"`
					} `json:"snapshot"`
				}
				if json.Unmarshal(data, &m) != nil || m.Snapshot.Offer == nil {
					continue
				}
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

	const offerInsert = `
		WITH o AS (INSERT INTO hotline.offers (call_id, agent_id, queue_id) VALUES ($1, $2, 'general') RETURNING id, agent_id)
		SELECT o.id, pg_notify('hotline_agent', o.agent_id::text) IS NOT NULL FROM o`
	next := 0
	b.ReportMetric(perConn, "heap-B/conn")
	b.ReportMetric(goroutinesPerConn, "goroutines/conn")
	// One offer at a time, and 100 at once (a burst of assignments).
	for _, burst := range []int{1, 100} {
		b.Run(fmt.Sprintf("burst=%d", burst), func(b *testing.B) {
			var delays []time.Duration
			for range b.N {
				type pending struct {
					ch    chan time.Time
					start time.Time
					agent int64
				}
				round := make([]pending, burst)
				var wg sync.WaitGroup
				for j := range burst {
					k := (next + j) % agents
					round[j] = pending{ch: make(chan time.Time, 1), agent: ids[k]}
					wg.Add(1)
					go func() {
						defer wg.Done()
						mu.Lock()
						round[j].start = time.Now()
						mu.Unlock()
						tx, err := db.Beginx()
						if err != nil {
							b.Error(err)
							return
						}
						var row struct {
							ID int64 `db:"id"`
							N  bool  `db:"?column?"`
						}
						if err := tx.Get(&row, offerInsert, calls[k], ids[k]); err != nil {
							tx.Rollback()
							b.Error(err)
							return
						}
						mu.Lock()
						waiting[row.ID] = round[j].ch
						mu.Unlock()
						if err := tx.Commit(); err != nil {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
				for _, p := range round {
					select {
					case at := <-p.ch:
						delays = append(delays, at.Sub(p.start))
					case <-time.After(10 * time.Second):
						b.Fatalf("no screen-pop for agent %d within 10 s", p.agent)
					}
				}
				b.StopTimer()
				// The offers end, as a rejection would, before the next round.
				if _, err := db.Exec(`WITH o AS (UPDATE hotline.offers SET state = 'cancelled', decided_at = now()
			WHERE state = 'pending' RETURNING agent_id) SELECT pg_notify('hotline_agent', agent_id::text) FROM o`); err != nil {
					b.Fatal(err)
				}
				time.Sleep(50 * time.Millisecond)
				next = (next + burst) % agents
				b.StartTimer()
			}
			b.StopTimer()
			slices.Sort(delays)
			pct := func(p float64) float64 {
				return float64(delays[int(p*float64(len(delays)-1))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(delays[len(delays)-1].Microseconds())/1000, "max-ms")
			b.ReportMetric(perConn, "heap-B/conn")
			b.ReportMetric(goroutinesPerConn, "goroutines/conn")
		})
	}
	cancel()
	for _, c := range conns {
		c.CloseNow()
	}
	readers.Wait()
}
