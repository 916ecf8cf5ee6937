//go:build chaos

package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// TestChaosKillInstance is TestAdoptionAfterKill under load: 240 calls in menus, collects and
// the queue on two controllers, one killed with kill -9.
func TestChaosKillInstance(t *testing.T) { runAdoption(t, 240, os.Kill) }

// newDBCut puts a proxy between the controllers and PostgreSQL: cut drops every connection
// and refuses new ones, as a database restarting does; restore lets them through again.
func newDBCut(t *testing.T, raw string) (string, func(), func()) {
	p, u := pgtest.NewProxy(t, raw)
	return u, p.Down, p.Up
}

// TestChaosDatabaseOutage cuts both controllers off PostgreSQL for 10 s (every connection
// dropped, new ones refused) with 90 callers in menus, in the bills and in the queue: callers
// looking up a bill hear the spoken fallback and, once the database is back, get their bill
// menu; nobody is dropped; no lease changes hands; every call and IVR step the call log kept
// meanwhile is written afterwards; the ACD offers the waiting calls again.
func TestChaosDatabaseOutage(t *testing.T) { runDatabaseFault(t, "outage", newDBCut) }

// TestChaosDatabaseRestart is TestChaosDatabaseOutage with the PostgreSQL server itself
// restarted: a fast shutdown, 10 s down, started again on the same data.
func TestChaosDatabaseRestart(t *testing.T) { runDatabaseFault(t, "restart", newDBRestart) }

// newDBRestart gives the controllers the database itself: cut restarts the PostgreSQL server
// under it (down for 10 s) and returns once the server refuses connections; restore waits
// until it accepts them again and checks that it is a new server process.
func newDBRestart(t *testing.T, raw string) (string, func(), func()) {
	up := make(chan bool, 1)
	started := func() time.Time {
		db := openTestDB(t, raw)
		defer db.Close()
		var at time.Time
		if err := db.Get(&at, `SELECT pg_postmaster_start_time()`); err != nil {
			t.Fatalf("asking the database when it started: %v", err)
		}
		return at
	}
	var startedBefore time.Time
	cut := func() {
		startedBefore = started()
		go func() { up <- pgtest.Restart(t, 10*time.Second) }()
		deadline := time.Now().Add(time.Minute)
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			db, err := sqlx.Open("postgres", raw)
			if err == nil {
				err = db.PingContext(ctx)
				db.Close()
			}
			cancel()
			if err != nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the database still accepts connections a minute into its restart")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	restore := func() {
		if !<-up {
			t.FailNow()
		}
		if at := started(); !at.After(startedBefore) {
			t.Fatalf("the database server started at %v before the restart and %v after: not restarted", startedBefore, at)
		}
	}
	return raw, cut, restore
}

// runDatabaseFault makes the database unreachable for the controllers for 10 s with fault
// (see TestChaosDatabaseOutage for the load and what must hold); what names the fault in
// the log.
func runDatabaseFault(t *testing.T, what string, fault func(t *testing.T, raw string) (string, func(), func())) {
	r := startAdoptRigWith(t, true, fault)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	agent := r.desk("agent01")
	r.agentState(agent, "paused")

	const calls = 90
	roles := []string{"menu", "bills", "queue"}
	var callers []*adoptCaller
	for i := range calls {
		x := []string{"a", "b"}[i%2]
		call, err := r.sim.PlaceCall(ctx, arisim.CallOptions{Caller: fmt.Sprintf("1390001%04d", i), Exten: "12345", Context: "in-" + x})
		if err != nil {
			t.Fatal(err)
		}
		c := &adoptCaller{call: call, instance: x, role: roles[(i/2)%3], done: make(chan struct{})}
		go c.listen()
		callers = append(callers, c)
	}
	each := func(what string, f func(c *adoptCaller) error) {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, len(callers))
		for _, c := range callers {
			wg.Go(func() { errs <- f(c) })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				r.fail("%s: %v", what, err)
			}
		}
	}
	each("before the outage", func(c *adoptCaller) error {
		if err := c.wait(ctx, "language menu", func(h []string, _ bool) bool { return slices.Contains(h, "common/language_choice") }); err != nil {
			return err
		}
		c.call.Press(ctx, "1", 0)
		if err := c.wait(ctx, "main menu", func(h []string, _ bool) bool { return slices.Contains(h, "main/menu") }); err != nil {
			return err
		}
		if c.role == "queue" {
			c.call.Press(ctx, "0", 0)
			return c.wait(ctx, "music on hold", func(_ []string, moh bool) bool { return moh })
		}
		return nil
	})
	var before struct {
		Calls int `db:"calls"`
		Steps int `db:"steps"`
	}
	r.db.Get(&before, `SELECT (SELECT count(*) FROM hotline.calls) AS calls, (SELECT count(*) FROM hotline.call_steps) AS steps`)
	var leases []string
	r.db.Select(&leases, `SELECT app || ':' || holder || ':' || epoch FROM hotline.app_leases ORDER BY app`)

	r.cut()
	cutAt := time.Now()
	// During the outage: bills callers ask for a lookup and hear the spoken fallback; menu
	// callers keep pressing keys (steps the call log must keep).
	each("during the outage", func(c *adoptCaller) error {
		n := c.count()
		switch c.role {
		case "bills":
			c.call.Press(ctx, "1", 0)
			return c.wait(ctx, "spoken fallback", func(h []string, _ bool) bool { return heardAfter(h, n, "common/system_busy") })
		case "menu":
			for range 3 {
				c.call.Press(ctx, "*", 0)
				m := c.count()
				if err := c.wait(ctx, "menu again", func(h []string, _ bool) bool { return heardAfter(h, m, "main/menu") }); err != nil {
					return err
				}
			}
		}
		return nil
	})
	time.Sleep(time.Until(cutAt.Add(10 * time.Second)))
	r.restore()
	restoredAt := time.Now()
	t.Logf("database %s: unreachable for %v", what, restoredAt.Sub(cutAt).Round(100*time.Millisecond))

	// Back: the bills callers retry and reach their bill's menu; the agent goes available and
	// the ACD offers a waiting call again.
	each("after the outage", func(c *adoptCaller) error {
		if c.role != "bills" {
			return nil
		}
		n := c.count()
		c.call.Press(ctx, "1", 0)
		return c.wait(ctx, "bills menu", func(h []string, _ bool) bool { return heardAfter(h, n, "bills/pick_kind") })
	})
	r.agentState(agent, "available")
	availableAt := time.Now()
	offered := false
	for !offered {
		for _, ci := range r.sim.Calls() {
			if ci.Kind == "agent" {
				offered = true
			}
		}
		if ctx.Err() != nil {
			r.fail("the ACD offered no waiting call after the outage")
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("database %s: the ACD offered a waiting call %v after the agent went available, %v after the database came back",
		what, time.Since(availableAt).Round(100*time.Millisecond), time.Since(restoredAt).Round(100*time.Millisecond))
	var after []string
	r.db.Select(&after, `SELECT app || ':' || holder || ':' || epoch FROM hotline.app_leases ORDER BY app`)
	if !slices.Equal(leases, after) {
		t.Errorf("leases %v before the outage, %v after: want the same holders and epochs", leases, after)
	}

	for _, c := range callers {
		if c.dropped {
			r.fail("%s caller of %s dropped; heard %v", c.role, c.instance, c.heard)
		}
		c.mu.Lock()
		c.hungUp = true
		c.mu.Unlock()
		c.call.Hangup()
	}
	for _, c := range callers {
		<-c.done
	}
	// Every call ended in its row, every step written without a hole.
	var rows []struct {
		Outcome string `db:"outcome"`
		Steps   int    `db:"steps"`
		MaxSeq  int    `db:"max_seq"`
	}
	deadline := time.Now().Add(time.Minute)
	for {
		rows = nil
		r.db.Select(&rows, `SELECT COALESCE(c.outcome, '') AS outcome,
			(SELECT count(*) FROM hotline.call_steps s WHERE s.call_id = c.id) AS steps,
			(SELECT COALESCE(max(seq), 0) FROM hotline.call_steps s WHERE s.call_id = c.id) AS max_seq
			FROM hotline.calls c`)
		open := 0
		for _, row := range rows {
			if row.Outcome == "" || row.Steps != row.MaxSeq {
				open++
			}
		}
		if (open == 0 && len(rows) == calls) || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	steps := 0
	for _, row := range rows {
		steps += row.Steps
		if row.Outcome == "" || row.Outcome == "node_lost" || row.Outcome == "error" || row.Steps != row.MaxSeq || row.Steps == 0 {
			r.fail("call row %+v: want ended by the caller with steps 1 to n", row)
		}
	}
	if len(rows) != calls {
		r.fail("%d call rows, want %d", len(rows), calls)
	}
	var during int
	r.db.Get(&during, `SELECT count(*) FROM hotline.call_steps WHERE entered_at BETWEEN $1 AND $2`, cutAt, restoredAt)
	if during == 0 {
		r.fail("no step of the outage was written")
	}
	t.Logf("database %s: %d calls and %d steps written; %d steps taken during the outage written after it (%d before it)",
		what, len(rows), steps, during, before.Steps)
}
