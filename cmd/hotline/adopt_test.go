package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// TestAdoptionAfterKill kills one of two controllers (kill -9) with calls in menus, collects
// and a queue: the other takes its application over and every call goes on.
func TestAdoptionAfterKill(t *testing.T) { runAdoption(t, 18, os.Kill) }

// TestHandOffOnShutdown stops one of two controllers (SIGTERM) with calls that do not end
// within its drain: it hands them to the other, which resumes every one.
func TestHandOffOnShutdown(t *testing.T) { runAdoption(t, 12, syscall.SIGTERM) }

// adoptRig is two 'hotline serve' processes, instances a and b on applications hotline-a and
// hotline-b, on one simulated Asterisk and one database.
type adoptRig struct {
	t     *testing.T
	db    *sqlx.DB
	sim   *arisim.Sim
	procs map[string]*exec.Cmd
	logs  map[string]*syncBuffer
}

// adoptFlows copies the shipped flows with the agents' calendar open around the clock, so
// that callers reach the queue whatever the time of the test.
func adoptFlows(t *testing.T, root string) string {
	dir := t.TempDir()
	entries, err := os.ReadDir(filepath.Join(root, "flows"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(root, "flows", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "calendars.yaml" {
			all := `["00:00-24:00"]`
			data = []byte("calendars:\n  hotline:\n    timezone: Asia/Shanghai\n    weekly:\n" +
				"      mon: " + all + "\n      tue: " + all + "\n      wed: " + all + "\n      thu: " + all + "\n" +
				"      fri: " + all + "\n      sat: " + all + "\n      sun: " + all + "\n    workday_hours: " + all + "\n")
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func startAdoptRig(t *testing.T) *adoptRig {
	t.Setenv(actAsHotline, "1")
	root := repotest.Root(t)
	url := pgtest.URL(t)
	db := openTestDB(t, url)
	for _, q := range []string{
		`INSERT INTO hotline.skills (id, name) VALUES ('general', '综合')`,
		`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('general', '综合咨询', 'general')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	state := t.TempDir()
	dirs, err := flowtest.SoundDirs(filepath.Join(root, "sounds"), state)
	if err != nil {
		t.Fatal(err)
	}
	dialplan := arisim.DefaultDialplan()
	for _, x := range []string{"a", "b"} {
		dialplan["in-"+x] = arisim.Context{App: "hotline-" + x, Pattern: "_X.", SetCallerID: true, Fallback: []string{"sound:ss-noservice"}}
	}
	sim := arisim.New(arisim.Options{SoundDirs: dirs, Speed: 20, Users: map[string]string{"hotline": "hotline-secret"}, Dialplan: dialplan})
	t.Cleanup(func() { sim.Close() })
	simAddr := loopbackAddr()
	simCtx, stopSim := context.WithCancel(context.Background())
	t.Cleanup(stopSim)
	go sim.ListenAndServe(simCtx, simAddr, "")

	key := func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	seal, lookup := key(), key()
	flows := adoptFlows(t, root)
	r := &adoptRig{t: t, db: db, sim: sim, procs: map[string]*exec.Cmd{}, logs: map[string]*syncBuffer{}}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var ready []string
	for _, x := range []string{"a", "b"} {
		httpAddr := loopbackAddr()
		cfg := fmt.Sprintf(`database: {url: %q}
http: {listen: %q}
pii: {seal_key: %q, lookup_key: %q}
asterisk:
  nodes:
    - {name: ast1, url: "http://%s", username: hotline, password: hotline-secret, app: hotline-%s}
acd: {instance: %s}
ivr: {flows_dir: %q, sounds_dir: %q}
log: {level: warn}
calllog: {spool_dir: %q}
shutdown: {drain_timeout: 1s}
`, url, httpAddr, seal, lookup, simAddr, x, x, flows, filepath.Join(root, "sounds"), filepath.Join(state, "spool-"+x))
		file := filepath.Join(state, x+".yaml")
		if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(self, "serve", "--config", file)
		cmd.Env = append(os.Environ(), actAsHotline+"=1")
		logs := &syncBuffer{}
		cmd.Stderr, cmd.Stdout = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r.procs[x], r.logs[x] = cmd, logs
		t.Cleanup(func() {
			if cmd.ProcessState == nil {
				cmd.Process.Signal(os.Interrupt)
				cmd.Wait()
			}
		})
		ready = append(ready, "http://"+httpAddr+"/readyz")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, u := range ready {
		if err := waitHTTP(ctx, u, time.Minute); err != nil {
			r.fail("controller not ready at %s: %v", u, err)
		}
	}
	return r
}

// fail ends the test with the controllers' logs.
func (r *adoptRig) fail(format string, args ...any) {
	r.t.Helper()
	for x, l := range r.logs {
		r.t.Logf("log of instance %s:\n%s", x, tailLines(l.String(), 60))
	}
	r.t.Fatalf(format, args...)
}

func tailLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// adoptCaller is a simulated caller: what it heard, and whether the line dropped under it.
type adoptCaller struct {
	call     *arisim.Call
	instance string
	role     string // menu, collect or queue
	mu       sync.Mutex
	heard    []string
	moh      bool
	hungUp   bool // by the caller
	dropped  bool // ended before the caller hung up
	done     chan struct{}
}

func (c *adoptCaller) listen() {
	defer close(c.done)
	for {
		select {
		case e, ok := <-c.call.Heard():
			if !ok {
				return
			}
			c.mu.Lock()
			switch e.Type {
			case "play":
				if id := flowtest.PromptID(e.Media); id != "" {
					c.heard = append(c.heard, id)
				}
			case "moh":
				c.moh = true
			case "hangup":
				if !c.hungUp {
					c.dropped = true
				}
			}
			c.mu.Unlock()
		case <-c.call.Done():
			c.mu.Lock()
			if !c.hungUp {
				c.dropped = true
			}
			c.mu.Unlock()
			return
		}
	}
}

// wait polls until cond holds on what the caller heard.
func (c *adoptCaller) wait(ctx context.Context, what string, cond func(heard []string, moh bool) bool) error {
	for {
		c.mu.Lock()
		ok, heard, dropped := cond(c.heard, c.moh), slices.Clone(c.heard), c.dropped
		c.mu.Unlock()
		if ok {
			return nil
		}
		if dropped {
			return fmt.Errorf("%s caller of %s dropped waiting for %s; heard %v", c.role, c.instance, what, heard)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s caller of %s: no %s; heard %v", c.role, c.instance, what, heard)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// heardAfter reports whether id was heard after the first n prompts.
func heardAfter(heard []string, n int, id string) bool {
	return n <= len(heard) && slices.Contains(heard[n:], id)
}

func (c *adoptCaller) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.heard)
}

func runAdoption(t *testing.T, calls int, stop os.Signal) {
	r := startAdoptRig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	roles := []string{"menu", "collect", "queue"}
	var callers []*adoptCaller
	for i := range calls {
		x := []string{"a", "b"}[i%2]
		call, err := r.sim.PlaceCall(ctx, arisim.CallOptions{Caller: fmt.Sprintf("1390000%04d", i), Exten: "12345", Context: "in-" + x})
		if err != nil {
			t.Fatal(err)
		}
		c := &adoptCaller{call: call, instance: x, role: roles[(i/2)%3], done: make(chan struct{})}
		go c.listen()
		callers = append(callers, c)
	}
	// Each caller reaches its place: the main menu, the case number's collect, the queue.
	var wg sync.WaitGroup
	errs := make(chan error, len(callers))
	for _, c := range callers {
		wg.Go(func() {
			errs <- func() error {
				if err := c.wait(ctx, "language menu", func(h []string, _ bool) bool { return slices.Contains(h, "common/language_choice") }); err != nil {
					return err
				}
				if err := c.call.Press(ctx, "1", 0); err != nil {
					return err
				}
				if err := c.wait(ctx, "main menu", func(h []string, _ bool) bool { return slices.Contains(h, "main/menu") }); err != nil {
					return err
				}
				switch c.role {
				case "collect":
					if err := c.call.Press(ctx, "2", 0); err != nil {
						return err
					}
					if err := c.wait(ctx, "progress menu", func(h []string, _ bool) bool { return slices.Contains(h, "progress/menu") }); err != nil {
						return err
					}
					if err := c.call.Press(ctx, "1", 0); err != nil {
						return err
					}
					return c.wait(ctx, "case number prompt", func(h []string, _ bool) bool { return slices.Contains(h, "progress/enter_case") })
				case "queue":
					if err := c.call.Press(ctx, "0", 0); err != nil {
						return err
					}
					return c.wait(ctx, "music on hold", func(_ []string, moh bool) bool { return moh })
				}
				return nil
			}()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			r.fail("before the kill: %v", err)
		}
	}
	// The queue entries before the kill, to compare after.
	type entry struct {
		ID        int64     `db:"id"`
		CallID    string    `db:"call_id"`
		EnteredAt time.Time `db:"entered_at"`
		Instance  string    `db:"instance_id"`
	}
	entries := func() map[string]entry {
		var es []entry
		if err := r.db.Select(&es, `SELECT id, call_id, entered_at, COALESCE(instance_id, '') AS instance_id
			FROM hotline.queue_entries WHERE left_at IS NULL`); err != nil {
			t.Fatal(err)
		}
		out := map[string]entry{}
		for _, e := range es {
			out[e.CallID] = e
		}
		return out
	}
	queued := 0
	for _, c := range callers {
		if c.role == "queue" {
			queued++
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(entries()) < queued && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	before := entries()
	if len(before) != queued {
		r.fail("%d waiting queue entries, want %d", len(before), queued)
	}
	marks := make([]int, len(callers))
	for i, c := range callers {
		marks[i] = c.count()
	}

	killed := time.Now()
	if err := r.procs["a"].Process.Signal(stop); err != nil {
		t.Fatal(err)
	}
	r.procs["a"].Wait()

	// Every caller of a in a menu or a collect hears the apology and the node again; the
	// callers of b hear nothing of it.
	for i, c := range callers {
		if c.instance != "a" || c.role == "queue" {
			continue
		}
		again := map[string]string{"menu": "main/menu", "collect": "progress/enter_case"}[c.role]
		err := c.wait(ctx, "apology and "+again, func(h []string, _ bool) bool {
			if !heardAfter(h, marks[i], "common/line_glitch") {
				return false
			}
			at := marks[i] + slices.Index(h[marks[i]:], "common/line_glitch")
			return heardAfter(h, at, again)
		})
		if err != nil {
			r.fail("after the kill: %v", err)
		}
	}
	t.Logf("callers in menus and collects of the stopped instance resumed %v after %v", time.Since(killed).Round(100*time.Millisecond), stop)
	// The queue entries of a's callers are b's now, the same rows with their entry times.
	deadline = time.Now().Add(30 * time.Second)
	for {
		after := entries()
		moved := 0
		for id, e := range before {
			if a, ok := after[id]; ok && a.ID == e.ID && a.EnteredAt.Equal(e.EnteredAt) && a.Instance == "b" {
				moved++
			}
		}
		if moved == len(before) && len(after) == len(before) {
			break
		}
		if time.Now().After(deadline) {
			r.fail("queue entries before %v, after %v: want the same entries, all b's", before, after)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The resumed callers go on: a key in the menu reaches the bills.
	for _, c := range callers {
		if c.role != "menu" {
			continue
		}
		n := c.count()
		if err := c.call.Press(ctx, "1", 0); err != nil {
			t.Fatal(err)
		}
		if err := c.wait(ctx, "bills menu", func(h []string, _ bool) bool { return heardAfter(h, n, "bills/pick_kind") }); err != nil {
			r.fail("after the kill: %v", err)
		}
	}
	for _, c := range callers {
		if c.dropped {
			r.fail("%s caller of %s was dropped; heard %v", c.role, c.instance, c.heard)
		}
		c.mu.Lock()
		c.hungUp = true
		c.mu.Unlock()
		c.call.Hangup()
	}
	for _, c := range callers {
		select {
		case <-c.done:
		case <-ctx.Done():
			t.Fatal("a call did not end")
		}
	}
	// One call row per call, every one ended by the callers' hang-up, each with its IVR path
	// without holes; a's calls are b's now.
	var rows []struct {
		Instance string `db:"instance_id"`
		Outcome  string `db:"outcome"`
		Steps    int    `db:"steps"`
		MaxSeq   int    `db:"max_seq"`
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		rows = nil
		if err := r.db.Select(&rows, `SELECT COALESCE(c.instance_id, '') AS instance_id, COALESCE(c.outcome, '') AS outcome,
			(SELECT count(*) FROM hotline.call_steps s WHERE s.call_id = c.id) AS steps,
			(SELECT COALESCE(max(seq), 0) FROM hotline.call_steps s WHERE s.call_id = c.id) AS max_seq
			FROM hotline.calls c ORDER BY c.started_at`); err != nil {
			t.Fatal(err)
		}
		open := 0
		for _, row := range rows {
			if row.Outcome == "" {
				open++
			}
		}
		if open == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(rows) != calls {
		r.fail("%d call rows, want %d", len(rows), calls)
	}
	for _, row := range rows {
		if row.Instance != "b" || !slices.Contains([]string{"hangup", "abandoned"}, row.Outcome) || row.Steps != row.MaxSeq || row.Steps == 0 {
			r.fail("call row %+v: want b's, ended by the caller, steps 1 to n", row)
		}
	}
	var states int
	if err := r.db.Get(&states, `SELECT count(*) FROM hotline.call_states`); err != nil {
		t.Fatal(err)
	}
	if states != 0 {
		t.Errorf("%d call states left after every call ended", states)
	}
}
