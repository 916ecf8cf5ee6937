package ivr

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/prompts"
)

// stateEngine is an engine on the shipped flows, enough to save and restore call states.
func stateEngine(t testing.TB) *Engine {
	t.Helper()
	root := repotest.Root(t)
	m, err := prompts.Load(filepath.Join(root, "sounds"))
	if err != nil {
		t.Fatal(err)
	}
	lib, err := flow.LoadDir(os.DirFS(root), "flows", flow.Options{Manifest: m})
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(Config{Flows: lib, Versions: map[string]int64{"main": 7, "bills": 9}, Manifest: m,
		Sources: &PlatformSources{}, Services: nopServices{}, Recorder: nopRecorder{}})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type nopServices struct{ Services }
type nopRecorder struct{ Recorder }

// billsCall is a call in the bills subflow, at its lookup of the account number typed.
func billsCall(e *Engine) (*call, flow.Node) {
	c := &call{e: e, id: "7f8a1f0e-0000-4000-8000-000000000009", caller: "13800138000", called: "12345", lang: "yue",
		flows: e.flows.Load(), started: time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC), seq: 12, nodes: 12,
		verified: true, verifiedC: flow.Citizen{ID: 42, Level: "L2", RealName: true}, citizenID: 42, queueID: "general",
		entry: &hotline.QueueEntry{ID: 5, Queue: "general"}, surveyLevel: 2, surveyAt: time.Date(2026, 12, 5, 10, 4, 0, 0, time.UTC)}
	main := e.cfg.Flows.Flow("main")
	bills := e.cfg.Flows.Flow("bills")
	c.push(main, nil)
	c.push(bills, main.Node("bills").(*flow.Subflow).Next)
	c.top().vars["kind"] = "water"
	c.top().vars["number"] = "440100123456"
	c.top().vars["accounts"] = []flow.Account{{ID: 3, Kind: "water", Number: "440100123456"}}
	c.top().vars["bill"] = flow.Bill{AccountID: 3, AmountFen: 100530, Period: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
	return c, bills.Node("account_by_number")
}

// A saved call comes back as it was: the stack of flows with the calling flow's exit, the
// variables with their types, the verification, the queue entry, the counters, the survey answer.
func TestCallStateRoundTrip(t *testing.T) {
	e := stateEngine(t)
	c, n := billsCall(e)
	raw, err := json.Marshal(c.snapshot(n))
	if err != nil {
		t.Fatal(err)
	}
	var s savedCall
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	r := &call{e: e, flows: e.flows.Load(), log: e.cfg.Log}
	node, err := r.restore(&s)
	if err != nil {
		t.Fatal(err)
	}
	if node != n || len(r.stack) != 2 || r.stack[1].resume != c.stack[1].resume || r.stack[1].resumeRef != "bills/next" {
		t.Fatalf("restored at %v with stack %+v, want account_by_number in bills called from main's bills node", node, r.stack)
	}
	for _, k := range []string{"kind", "number", "accounts", "bill"} {
		got, _ := json.Marshal(r.top().vars[k])
		want, _ := json.Marshal(c.top().vars[k])
		if string(got) != string(want) {
			t.Errorf("variable %s = %s, want %s", k, got, want)
		}
	}
	if _, ok := r.top().vars["accounts"].([]flow.Account); !ok {
		t.Errorf("accounts restored as %T, want []flow.Account", r.top().vars["accounts"])
	}
	if !r.verified || r.verifiedC.ID != 42 || r.citizenID != 42 || r.lang != "yue" || r.seq != 11 ||
		r.entry == nil || r.entry.ID != 5 || !r.started.Equal(c.started) || r.surveyLevel != 2 || !r.surveyAt.Equal(c.surveyAt) {
		t.Errorf("restored call %+v", r)
	}
}

// The variable a sensitive collect reads into is never saved, nor one a fresh run has anyway
// (at its zero value).
func TestCallStateLeavesSensitiveOut(t *testing.T) {
	e := stateEngine(t)
	src := `flow: pin
start: ask
variables:
  code: string
  note: string
  tries: int
nodes:
  ask:
    kind: collect
    prompts: [common/welcome]
    into: code
    sensitive: true
    min: 4
    max: 6
    next: bye
    on_fail: bye
  bye:
    kind: hangup
`
	f, err := flow.Parse("pin.yaml", []byte(src), flow.Options{Manifest: e.cfg.Manifest})
	if err != nil {
		t.Fatal(err)
	}
	c := &call{e: e, flows: e.flows.Load()}
	c.push(f, nil)
	c.top().vars["code"], c.top().vars["note"] = "123456", "kept"
	raw, err := json.Marshal(c.snapshot(f.Node("bye")))
	if err != nil {
		t.Fatal(err)
	}
	var s savedCall
	json.Unmarshal(raw, &s)
	note, _ := s.Stack[0].Vars["note"].(json.RawMessage)
	_, tries := s.Stack[0].Vars["tries"]
	if _, ok := s.Stack[0].Vars["code"]; ok || tries || string(note) != `"kept"` {
		t.Errorf("saved variables %s, want note without code and tries", raw)
	}
}

// BenchmarkCallStateSnapshot is what each node entered costs a call for its saved state: the
// snapshot and its JSON.
func BenchmarkCallStateSnapshot(b *testing.B) {
	e := stateEngine(b)
	c, n := billsCall(e)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeSnapshot(c.snapshot(n)); err != nil {
			b.Fatal(err)
		}
	}
}

// The guard holds the requests of an application whose lease was last renewed longer ago
// than it lasts, unless renewals failed lately (the database was away: nobody could take it);
// the next renewal releases them, the loss of the lease fails them.
func TestLeaseGuard(t *testing.T) {
	f := &failover{cfg: Failover{TTL: 3 * time.Second, Renew: time.Second}, held: map[string]int64{"hotline-a": 1},
		okAt: map[string]time.Time{"hotline-a": time.Now()}}
	g := f.guard("hotline-a")
	ctx := context.Background()
	if err := g(ctx); err != nil {
		t.Fatalf("fresh lease: %v", err)
	}
	// Frozen: the last renewal is older than the lease.
	f.okAt["hotline-a"] = time.Now().Add(-10 * time.Second)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	if err := g(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("stale lease: %v, want the request held", err)
	}
	cancel()
	done := make(chan error, 1)
	go func() { done <- g(ctx) }()
	time.Sleep(20 * time.Millisecond)
	f.mu.Lock()
	f.okAt["hotline-a"] = time.Now()
	f.mu.Unlock()
	if err := <-done; err != nil {
		t.Fatalf("renewed: %v", err)
	}
	// A database outage: renewals failed a moment ago, the requests go on.
	f.okAt["hotline-a"] = time.Now().Add(-10 * time.Second)
	f.failedAt = time.Now()
	if err := g(ctx); err != nil {
		t.Fatalf("during an outage: %v", err)
	}
	f.failedAt = time.Time{}
	go func() { done <- g(ctx) }()
	time.Sleep(20 * time.Millisecond)
	f.mu.Lock()
	delete(f.held, "hotline-a")
	f.mu.Unlock()
	if err := <-done; !errors.Is(err, ari.ErrFenced) {
		t.Fatalf("lease lost: %v, want ErrFenced", err)
	}
}
