package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
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

// TestFrozenControllerIsFenced freezes one of two controllers (SIGSTOP) longer than its lease:
// the other adopts its application and resumes its calls; when the frozen one wakes it finds
// its application taken and leaves the calls alone — no prompt, no hang-up, no record.
func TestFrozenControllerIsFenced(t *testing.T) { runAdoption(t, 12, syscall.SIGSTOP) }

// adoptRig is two 'hotline serve' processes, instances a and b on applications hotline-a and
// hotline-b, on one simulated Asterisk and one database.
type adoptRig struct {
	t     *testing.T
	db    *sqlx.DB
	sim   *arisim.Sim
	procs map[string]*exec.Cmd
	logs  map[string]*syncBuffer
	http  map[string]string // instance → base URL
	files map[string]string // instance → configuration file
	// seeded is the output of 'hotline seed' (desk logins) when the rig seeded the database.
	seeded string
	// cut, when the rig was started with a proxy, cuts the controllers off the database;
	// restore lets them through again.
	cut, restore func()
}

// startAdoptRig starts the rig; seed fills the database with 'hotline seed' (agents with
// their desk phones on the simulator), otherwise it has the general queue only.
func startAdoptRig(t *testing.T, seed bool) *adoptRig {
	return startAdoptRigWith(t, seed, nil)
}

// startAdoptRigWith starts the rig with the controllers' database URL through proxy (nil: the
// database itself), which returns the URL they use and the functions that cut and restore
// their connections.
// With only, just those instances start (a and b by default).
func startAdoptRigWith(t *testing.T, seed bool, proxy func(t *testing.T, url string) (string, func(), func()), only ...string) *adoptRig {
	return startAdoptRigOpts(t, adoptRigOptions{Seed: seed, Proxy: proxy, Only: only})
}

// adoptRigOptions are the rig's settings: see startAdoptRigWith. Citizens is how many
// citizens the seed makes (50 by default); Speed the simulator's (20 by default: prompts
// and the simulator's timers, an originate's ring timeout among them, run that much faster).
type adoptRigOptions struct {
	Seed     bool
	Citizens int
	Speed    float64
	Proxy    func(t *testing.T, url string) (string, func(), func())
	Only     []string
	// LogLevel is the controllers' (warn by default).
	LogLevel string
}

func startAdoptRigOpts(t *testing.T, o adoptRigOptions) *adoptRig {
	seed, proxy, only := o.Seed, o.Proxy, o.Only
	t.Setenv(actAsHotline, "1")
	root := repotest.Root(t)
	url := pgtest.URL(t)
	db := openTestDB(t, url)
	key := func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	seal, lookup := key(), key()
	var seeded syncBuffer
	if seed {
		var logs syncBuffer
		env := []string{"HOTLINE_DATABASE_URL=" + url, "HOTLINE_PII_SEAL_KEY=" + seal, "HOTLINE_PII_LOOKUP_KEY=" + lookup, "HOTLINE_LOG_LEVEL=warn"}
		if err := run(context.Background(), []string{"seed", "--citizens", strconv.Itoa(cmp.Or(o.Citizens, 50))}, env, &seeded, &logs); err != nil {
			t.Fatalf("seed: %v\n%s", err, logs.String())
		}
	} else {
		for _, q := range []string{
			`INSERT INTO hotline.skills (id, name) VALUES ('general', '综合')`,
			`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('general', '综合咨询', 'general')`,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
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
	sim := arisim.New(arisim.Options{SoundDirs: dirs, Speed: cmp.Or(o.Speed, 20), Users: map[string]string{"hotline": "hotline-secret"}, Dialplan: dialplan,
		RecordingDir: t.TempDir()})
	t.Cleanup(func() { sim.Close() })
	for _, ep := range []string{"1001", "1002"} {
		sim.SetEndpoint(arisim.EndpointConfig{Technology: "PJSIP", Resource: ep, Registered: true,
			Behaviour: arisim.PhoneBehaviour{Mode: arisim.PhoneManual}})
	}
	simAddr := loopbackAddr()
	simCtx, stopSim := context.WithCancel(context.Background())
	t.Cleanup(stopSim)
	go sim.ListenAndServe(simCtx, simAddr, "")

	flows := alwaysOpen(t, filepath.Join(root, "flows"))
	r := &adoptRig{t: t, db: db, sim: sim, procs: map[string]*exec.Cmd{}, logs: map[string]*syncBuffer{},
		http: map[string]string{}, files: map[string]string{}, seeded: seeded.String()}
	serveURL := url
	if proxy != nil {
		serveURL, r.cut, r.restore = proxy(t, url)
	}
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
log: {level: %s}
calllog: {spool_dir: %q}
shutdown: {drain_timeout: 1s}
`, serveURL, httpAddr, seal, lookup, simAddr, x, x, flows, filepath.Join(root, "sounds"), cmp.Or(o.LogLevel, "warn"), filepath.Join(state, "spool-"+x))
		r.files[x] = filepath.Join(state, x+".yaml")
		if err := os.WriteFile(r.files[x], []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		r.http[x] = "http://" + httpAddr
		if !slices.Contains(only, x) && len(only) > 0 {
			continue
		}
		r.start(x)
	}
	return r
}

// start starts instance x ('hotline serve') and waits until it is ready.
func (r *adoptRig) start(x string) {
	t := r.t
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, "serve", "--config", r.files[x])
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := waitHTTP(ctx, r.http[x]+"/readyz", time.Minute); err != nil {
		r.fail("controller %s not ready: %v", x, err)
	}
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
	mohOn    bool // music playing now (moh, not yet moh_stop)
	bridged  int  // bridges joined or changed around the phone
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
				c.moh, c.mohOn = true, true
			case "moh_stop":
				c.mohOn = false
			case "bridged":
				c.bridged++
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

// heardNow returns the prompts heard so far.
func (c *adoptCaller) heardNow() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.heard)
}

func (c *adoptCaller) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.heard)
}

// expectEnd marks a phone whose line is to end now (hung up by the test, or by the hotline
// as it should): its end is not a drop.
func expectEnd(c *adoptCaller) {
	c.mu.Lock()
	c.hungUp = true
	c.mu.Unlock()
}

// hangUp hangs a phone up from its side.
func hangUp(c *adoptCaller) {
	expectEnd(c)
	c.call.Hangup()
}

func runAdoption(t *testing.T, calls int, stop os.Signal) {
	r := startAdoptRig(t, false)
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

	time.Sleep(300 * time.Millisecond) // the states are written within milliseconds of each move
	killed := time.Now()
	if err := r.procs["a"].Process.Signal(stop); err != nil {
		t.Fatal(err)
	}
	if stop != syscall.SIGSTOP {
		r.procs["a"].Wait()
	}

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
	for i, c := range callers {
		if h := c.heardNow(); c.instance == "b" && heardAfter(h, marks[i], "common/line_glitch") {
			r.fail("a caller of b heard the apology: %v", h)
		}
	}
	if stop == syscall.SIGSTOP {
		// a wakes up with its calls' timers long due: it must find the application taken over
		// before it acts on any of them. First b finishes the prompts of the nodes it resumed.
		for i, c := range callers {
			last := map[string]string{"menu": "common/repeat_hint", "collect": "common/end_with_hash"}[c.role]
			if c.instance != "a" || last == "" {
				continue
			}
			at := marks[i] + slices.Index(c.heardNow()[marks[i]:], "common/line_glitch")
			if err := c.wait(ctx, "the node's prompts", func(h []string, _ bool) bool { return heardAfter(h, at, last) }); err != nil {
				r.fail("%v", err)
			}
		}
		counts := make([]int, len(callers))
		for i, c := range callers {
			counts[i] = c.count()
		}
		woke := time.Now()
		if err := r.procs["a"].Process.Signal(syscall.SIGCONT); err != nil {
			t.Fatal(err)
		}
		for !strings.Contains(r.logs["a"].String(), "application lost to another controller") {
			if time.Since(woke) > 20*time.Second {
				r.fail("the woken controller did not notice it lost its application")
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Second)
		for i, c := range callers {
			c.mu.Lock()
			heard := slices.Clone(c.heard[counts[i]:])
			c.mu.Unlock()
			if c.instance == "a" && len(heard) > 0 {
				r.fail("the woken controller played %v to a caller b now serves", heard)
			}
		}
	}
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
	// b's /metrics count the adoption and the calls resumed.
	if stop != syscall.SIGSTOP {
		resp, err := http.Get(r.http["b"] + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, want := range []string{"hotline_ivr_applications_adopted_total 1", fmt.Sprintf("hotline_ivr_calls_resumed_total %d", calls/2)} {
			if !strings.Contains(string(body), want+"\n") {
				r.fail("b's /metrics without %q", want)
			}
		}
		// The database pool's use is there too, to see callers wait for a connection.
		if !strings.Contains(string(body), `go_sql_wait_count_total{db_name="main"} `) {
			r.fail("b's /metrics without the database pool's waits")
		}
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

// toMainMenu places a call from number on instance x's application and takes it through the
// language menu (Mandarin) to the main menu.
func (r *adoptRig) toMainMenu(ctx context.Context, number, x, role string) *adoptCaller {
	r.t.Helper()
	call, err := r.sim.PlaceCall(ctx, arisim.CallOptions{Caller: number, Exten: "12345", Context: "in-" + x})
	if err != nil {
		r.t.Fatal(err)
	}
	c := &adoptCaller{call: call, instance: x, role: role, done: make(chan struct{})}
	go c.listen()
	if err := c.wait(ctx, "language menu", func(h []string, _ bool) bool { return slices.Contains(h, "common/language_choice") }); err != nil {
		r.fail("%v", err)
	}
	call.Press(ctx, "1", 0)
	if err := c.wait(ctx, "main menu", func(h []string, _ bool) bool { return slices.Contains(h, "main/menu") }); err != nil {
		r.fail("%v", err)
	}
	return c
}

// desk logs a seeded agent in on instance b's agent API.
func (r *adoptRig) desk(user string) *deskClient { return r.deskOn("b", user) }

// deskOn logs user in to the desk of instance x.
func (r *adoptRig) deskOn(x, user string) *deskClient {
	t := r.t
	m := regexp.MustCompile(user + `\s+(\S+)`).FindStringSubmatch(r.seeded)
	if m == nil {
		t.Fatalf("no login of %s in:\n%s", user, r.seeded)
	}
	jar, _ := cookiejar.New(nil)
	desk := &deskClient{t: t, base: r.http[x], http: &http.Client{Jar: jar}}
	var login struct {
		CSRF string `json:"csrf_token"`
	}
	if code := desk.do("POST", "/api/login", map[string]string{"username": user, "password": m[1]}, &login); code != 200 {
		t.Fatalf("login of %s: %d", user, code)
	}
	desk.csrf = login.CSRF
	return desk
}

// waitUntil polls cond until it holds; the test fails with what was not seen once ctx ends.
func (r *adoptRig) waitUntil(ctx context.Context, what string, cond func() bool) {
	r.t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			r.fail("no %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// agentState sets the agent's state (available, paused with a reason).
func (r *adoptRig) agentState(d *deskClient, state string) {
	body := map[string]string{"state": state}
	if state == "paused" {
		body["reason"] = "break"
	}
	if code := d.do("POST", "/api/agent/state", body, nil); code != 200 {
		r.t.Fatalf("agent goes %s: %d", state, code)
	}
}

// TestAdoptionOfAgentCalls kills the controller of two calls with agents: one talking, one
// ringing. The other instance takes over: the conversation goes on in its bridge, recorded,
// and when the agent hangs up the caller goes on to the survey; the ringing offer is cancelled
// and made again, and the agent answers it.
func TestAdoptionOfAgentCalls(t *testing.T) {
	// The simulator's timers run Speed times faster, an originate's ring timeout among them:
	// at 2 with a ring of 120 s the agent's phone still rings when the controller is killed.
	r := startAdoptRigOpts(t, adoptRigOptions{Seed: true, Speed: 2})
	if _, err := r.db.Exec(`UPDATE hotline.queues SET ring_timeout_seconds = 120`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	for _, user := range []string{"agent01", "agent02"} {
		r.agentState(r.desk(user), "available")
	}
	agentsIn := func(state string) int {
		var n int
		if err := r.db.Get(&n, `SELECT count(*) FROM hotline.agent_status WHERE state = $1`, state); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitFor := func(what string, cond func() bool) { t.Helper(); r.waitUntil(ctx, what, cond) }
	waitFor("two agents available", func() bool { return agentsIn("available") == 2 })
	// ringing returns an agent's phone ringing other than those seen.
	ringing := func(seen ...*arisim.Call) *arisim.Call {
		t.Helper()
		var found *arisim.Call
		waitFor("agent's phone ringing", func() bool {
			for _, ci := range r.sim.Calls() {
				if ci.Kind != "agent" || slices.ContainsFunc(seen, func(c *arisim.Call) bool { return c.ID() == ci.ID }) {
					continue
				}
				if c, err := r.sim.Call(ci.ID); err == nil {
					found = c
					return true
				}
			}
			return false
		})
		return found
	}
	toAgent := func(number string) *adoptCaller {
		c := r.toMainMenu(ctx, number, "a", "agent")
		c.call.Press(ctx, "0", 0)
		return c
	}
	talker := toAgent("13900000101")
	phone1 := ringing()
	if err := phone1.Answer(); err != nil {
		t.Fatal(err)
	}
	waitFor("an agent talking", func() bool { return agentsIn("talking") == 1 })
	waiter := toAgent("13900000102")
	phone2 := ringing(phone1)
	waitFor("an agent ringing", func() bool { return agentsIn("ringing") == 1 })
	time.Sleep(300 * time.Millisecond) // the states are written within milliseconds of each move

	select {
	case <-phone2.Done():
		r.fail("the agent's phone stopped ringing before the kill")
	default:
	}
	if err := r.procs["a"].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	r.procs["a"].Wait()

	// The ring for the lost controller stops and the offer is made again from b.
	select {
	case <-phone2.Done():
	case <-ctx.Done():
		r.fail("the agent's phone rang on for a lost controller")
	}
	phone2b := ringing(phone1, phone2)
	if err := phone2b.Answer(); err != nil {
		t.Fatal(err)
	}
	waitFor("both agents talking", func() bool { return agentsIn("talking") == 2 })
	select {
	case <-phone1.Done():
		r.fail("the talking agent's phone was hung up")
	default:
	}
	var offers int
	if err := r.db.Get(&offers, `SELECT count(*) FROM hotline.offers WHERE state = 'accepted' AND instance_id = 'b' AND talk_ended_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	if offers != 2 {
		r.fail("%d conversations b's, want 2", offers)
	}
	// The first agent hangs up: b ends the conversation and the caller goes on to the survey.
	n := talker.count()
	phone1.Hangup()
	if err := talker.wait(ctx, "survey", func(h []string, _ bool) bool { return heardAfter(h, n, "survey/ask") }); err != nil {
		r.fail("after the agent hung up: %v", err)
	}
	waitFor("the first agent in wrap-up", func() bool { return agentsIn("wrap_up") == 1 })
	for _, c := range []*adoptCaller{talker, waiter} {
		if c.dropped {
			r.fail("caller dropped; heard %v", c.heard)
		}
		c.mu.Lock()
		c.hungUp = true
		c.mu.Unlock()
		c.call.Hangup()
		<-c.done
	}
	var rows []struct {
		Instance string `db:"instance_id"`
		Outcome  string `db:"outcome"`
		AgentID  int64  `db:"agent_id"`
		Recorded int64  `db:"recorded_ms"`
	}
	waitFor("both call rows ended", func() bool {
		rows = nil
		if err := r.db.Select(&rows, `SELECT COALESCE(c.instance_id, '') AS instance_id, COALESCE(c.outcome, '') AS outcome,
			COALESCE(c.agent_id, 0) AS agent_id,
			(SELECT COALESCE(max(duration_ms), 0) FROM hotline.recordings r WHERE r.call_id = c.id) AS recorded_ms
			FROM hotline.calls c WHERE c.ended_at IS NOT NULL ORDER BY c.caller_number`); err != nil {
			t.Fatal(err)
		}
		return len(rows) == 2
	})
	var total int
	r.db.Get(&total, `SELECT count(*) FROM hotline.calls`)
	if total != 2 {
		r.fail("%d call rows, want 2", total)
	}
	for _, row := range rows {
		if row.Instance != "b" || row.Outcome != "agent" || row.AgentID == 0 {
			r.fail("call row %+v: want b's, with an agent", row)
		}
	}
	if rows[0].Recorded == 0 {
		r.fail("the resumed conversation's recording has no length: %+v", rows[0])
	}
}

// TestAcknowledgedControlSurvivesKill: an agent's command is answered only once the call's
// new state is written, so a controller killed the moment the agent hears "done" leaves the
// call to its adopter as the agent left it. The agent starts a consultation with a number while
// the test holds the state's write back (the lease row locked), and a is killed as soon as the
// reply comes: b resumes the consultation, the number answers and the agent completes the
// transfer through b.
func TestAcknowledgedControlSurvivesKill(t *testing.T) {
	// At speed 2 the consultation's 30 s ring lasts 15 s, past the kill and the adoption.
	r := startAdoptRigOpts(t, adoptRigOptions{Seed: true, Speed: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitFor := func(what string, cond func() bool) { t.Helper(); r.waitUntil(ctx, what, cond) }
	desk, caller, agent, callID := r.conversationOnA(ctx, "13900000201")
	const number = "075783000001"
	r.killOnReply(desk, callID, map[string]any{"action": "consult", "transfer": map[string]any{"number": number}})

	outside := r.phoneOf(ctx, "outbound", number)
	waitFor("the call b's", func() bool {
		var n int
		r.db.Get(&n, `SELECT count(*) FROM hotline.calls WHERE id::text = $1 AND instance_id = 'b'`, callID)
		return n == 1
	})
	if err := outside.call.Answer(); err != nil {
		r.fail("the consulted number rang out: %v", err)
	}
	expectEnd(agent)
	bDesk := r.desk("agent01")
	for {
		code := bDesk.do("POST", "/api/calls/"+callID+"/control", map[string]any{"action": "complete"}, nil)
		if code == 200 {
			break
		}
		if ctx.Err() != nil {
			r.fail("complete through b: %d", code)
		}
		time.Sleep(200 * time.Millisecond)
	}
	select {
	case <-agent.done:
	case <-ctx.Done():
		r.fail("the agent's phone was not hung up after the transfer")
	}
	if err := caller.wait(ctx, "the third party", func([]string, bool) bool { return !caller.mohOn }); err != nil {
		r.fail("%v", err)
	}
	n := caller.count()
	hangUp(outside)
	if err := caller.wait(ctx, "survey", func(h []string, _ bool) bool { return heardAfter(h, n, "survey/ask") }); err != nil {
		r.fail("after the third party hung up: %v", err)
	}
	if caller.dropped {
		r.fail("caller dropped; heard %v", caller.heard)
	}
	hangUp(caller)
	var outcome string
	waitFor("the call row ended", func() bool {
		return r.db.Get(&outcome, `SELECT outcome FROM hotline.calls WHERE id::text = $1 AND ended_at IS NOT NULL`, callID) == nil
	})
	if outcome != "transferred" {
		r.fail("call outcome %q, want transferred", outcome)
	}
}

// conversationOnA puts a caller through to agent01 on instance a and returns the agent's
// desk, the caller, the agent's phone and the call's id once they talk.
func (r *adoptRig) conversationOnA(ctx context.Context, mobile string) (desk *deskClient, caller, agent *adoptCaller, callID string) {
	r.t.Helper()
	desk = r.deskOn("a", "agent01")
	r.agentState(desk, "available")
	caller = r.toMainMenu(ctx, mobile, "a", "agent")
	caller.call.Press(ctx, "0", 0)
	agent = r.phoneOf(ctx, "agent", "")
	if err := agent.call.Answer(); err != nil {
		r.t.Fatal(err)
	}
	r.waitUntil(ctx, "the conversation", func() bool {
		var talking int
		r.db.Get(&talking, `SELECT count(*) FROM hotline.agent_status WHERE state = 'talking'`)
		return talking == 1
	})
	if err := r.db.Get(&callID, `SELECT id::text FROM hotline.calls WHERE caller_number = $1`, mobile); err != nil {
		r.t.Fatal(err)
	}
	return desk, caller, agent, callID
}

// phoneOf returns the latest simulated phone of kind (and extension, unless empty), listening.
func (r *adoptRig) phoneOf(ctx context.Context, kind, exten string) *adoptCaller {
	r.t.Helper()
	var found *adoptCaller
	r.waitUntil(ctx, kind+" phone", func() bool {
		calls := r.sim.Calls()
		for _, ci := range slices.Backward(calls) {
			if ci.Kind != kind || exten != "" && ci.Exten != exten {
				continue
			}
			if call, err := r.sim.Call(ci.ID); err == nil {
				found = &adoptCaller{call: call, role: kind, done: make(chan struct{})}
				go found.listen()
				return true
			}
		}
		return false
	})
	return found
}

// killOnReply gives the agent's command body for call callID through a while the test holds
// the call state's write back (the lease row locked), and kills a as soon as the command is
// acknowledged. A reply while the write is held back fails the test: the command would be
// lost with a.
func (r *adoptRig) killOnReply(desk *deskClient, callID string, body map[string]any) {
	r.t.Helper()
	tx, err := r.db.Beginx()
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := tx.Exec(`SELECT 1 FROM hotline.app_leases WHERE app = 'hotline-a' FOR UPDATE`); err != nil {
		r.t.Fatal(err)
	}
	replied := make(chan int, 1)
	go func() { replied <- desk.do("POST", "/api/calls/"+callID+"/control", body, nil) }()
	var code int
	early := false
	select {
	case code = <-replied:
		early = true
	case <-time.After(700 * time.Millisecond):
	}
	if !early {
		tx.Rollback()
		code = <-replied
	}
	if err := r.procs["a"].Process.Kill(); err != nil {
		r.t.Fatal(err)
	}
	r.procs["a"].Wait()
	if early {
		tx.Rollback()
		r.fail("%s was acknowledged (%d) while its state could not be written", body["action"], code)
	}
	if code != 200 {
		r.fail("%s: %d", body["action"], code)
	}
}

// TestAcknowledgedTransferSurvivesKill: a blind transfer to a number is answered only once
// it is written in the call's state, and a controller killed the moment the agent hears
// "done" leaves it to the adopter to carry out: b dials the number, the agent's phone is hung
// up, the caller talks to the number and the call ends transferred.
func TestAcknowledgedTransferSurvivesKill(t *testing.T) {
	r := startAdoptRigOpts(t, adoptRigOptions{Seed: true, Speed: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	desk, caller, agent, callID := r.conversationOnA(ctx, "13900000202")
	const number = "075783000002"
	r.killOnReply(desk, callID, map[string]any{"action": "transfer", "transfer": map[string]any{"number": number}})

	r.waitUntil(ctx, "the call b's", func() bool {
		var n int
		r.db.Get(&n, `SELECT count(*) FROM hotline.calls WHERE id::text = $1 AND instance_id = 'b'`, callID)
		return n == 1
	})
	expectEnd(agent)
	outside := r.phoneOf(ctx, "outbound", number)
	if err := outside.call.Answer(); err != nil {
		r.fail("the number the agent transferred to rang out: %v", err)
	}
	r.waitUntil(ctx, "the caller talking to the number", func() bool {
		return slices.Equal(caller.call.Hears(), []string{outside.call.ID()})
	})
	select {
	case <-agent.done:
	case <-ctx.Done():
		r.fail("the agent's phone was not hung up after the transfer")
	}
	hangUp(outside)
	hangUp(caller)
	var outcome string
	r.waitUntil(ctx, "the call row ended", func() bool {
		return r.db.Get(&outcome, `SELECT outcome FROM hotline.calls WHERE id::text = $1 AND ended_at IS NOT NULL`, callID) == nil
	})
	if outcome != "transferred" {
		r.fail("call outcome %q, want transferred", outcome)
	}
	if caller.dropped {
		r.fail("caller dropped; heard %v", caller.heard)
	}
}

// TestRestartResumesCalls kills the only controller (kill -9) and starts it again under its
// name: it resumes its own calls where they were.
func TestRestartResumesCalls(t *testing.T) {
	r := startAdoptRigWith(t, false, nil, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var callers []*adoptCaller
	for i, role := range []string{"menu", "queue", "menu", "queue"} {
		call, err := r.sim.PlaceCall(ctx, arisim.CallOptions{Caller: fmt.Sprintf("1390002%04d", i), Exten: "12345", Context: "in-a"})
		if err != nil {
			t.Fatal(err)
		}
		c := &adoptCaller{call: call, instance: "a", role: role, done: make(chan struct{})}
		go c.listen()
		callers = append(callers, c)
		if err := c.wait(ctx, "language menu", func(h []string, _ bool) bool { return slices.Contains(h, "common/language_choice") }); err != nil {
			r.fail("%v", err)
		}
		call.Press(ctx, "1", 0)
		if err := c.wait(ctx, "main menu", func(h []string, _ bool) bool { return slices.Contains(h, "main/menu") }); err != nil {
			r.fail("%v", err)
		}
		if role == "queue" {
			call.Press(ctx, "0", 0)
			if err := c.wait(ctx, "music on hold", func(_ []string, moh bool) bool { return moh }); err != nil {
				r.fail("%v", err)
			}
		}
	}
	var entries []int64
	r.db.Select(&entries, `SELECT id FROM hotline.queue_entries WHERE left_at IS NULL ORDER BY id`)
	marks := make([]int, len(callers))
	for i, c := range callers {
		marks[i] = c.count()
	}
	// The states are written in the background, within a few milliseconds of each move.
	time.Sleep(300 * time.Millisecond)
	r.procs["a"].Process.Kill()
	r.procs["a"].Wait()
	r.start("a")
	for i, c := range callers {
		if c.role != "menu" {
			continue
		}
		if err := c.wait(ctx, "apology and the menu", func(h []string, _ bool) bool {
			return heardAfter(h, marks[i], "common/line_glitch") && heardAfter(h, marks[i]+1, "main/menu")
		}); err != nil {
			r.fail("after the restart: %v", err)
		}
	}
	var after []int64
	r.db.Select(&after, `SELECT id FROM hotline.queue_entries WHERE left_at IS NULL ORDER BY id`)
	if len(entries) != 2 || !slices.Equal(entries, after) {
		r.fail("waiting entries %v before the restart, %v after: want the same two", entries, after)
	}
	for _, c := range callers {
		if c.dropped {
			r.fail("%s caller dropped; heard %v", c.role, c.heard)
		}
		c.mu.Lock()
		c.hungUp = true
		c.mu.Unlock()
		c.call.Hangup()
		<-c.done
	}
	var rows []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		rows = nil
		r.db.Select(&rows, `SELECT COALESCE(outcome, '') FROM hotline.calls ORDER BY caller_number`)
		if !slices.Contains(rows, "") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !slices.Equal(rows, []string{"hangup", "abandoned", "hangup", "abandoned"}) {
		r.fail("call outcomes %v, want the callers' hang-ups", rows)
	}
}

// TestAdoptionKeepsVerification: a caller who passed the real-name verification is not asked
// again after the other instance resumes the call; one who failed a try keeps it counted, so
// that after the resume two more wrong numbers (not three) end the verification.
func TestAdoptionKeepsVerification(t *testing.T) {
	r := startAdoptRig(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	m := regexp.MustCompile(`(1\d{10}) \S+ (\d{17}[\dX]) PIN (\d+)\s+实名用户，已设置查询密码`).FindStringSubmatch(r.seeded)
	if m == nil {
		t.Fatalf("no real-name citizen with a PIN in:\n%s", r.seeded)
	}
	mobile, idNumber, pin := m[1], strings.ReplaceAll(m[2], "X", "*"), m[3]
	toVerify := func(number string) *adoptCaller {
		call, err := r.sim.PlaceCall(ctx, arisim.CallOptions{Caller: number, Exten: "12345", Context: "in-a"})
		if err != nil {
			t.Fatal(err)
		}
		c := &adoptCaller{call: call, instance: "a", role: "verify", done: make(chan struct{})}
		go c.listen()
		for _, step := range []struct{ keys, then string }{
			{"", "common/language_choice"}, {"1", "main/menu"}, {"3", "insurance/intro"}, {"1", "verify/enter_id"},
		} {
			if step.keys != "" {
				call.Press(ctx, step.keys, 0)
			}
			n := c.count()
			if step.keys == "" {
				n = 0
			}
			if err := c.wait(ctx, step.then, func(h []string, _ bool) bool { return heardAfter(h, n, step.then) }); err != nil {
				r.fail("%v", err)
			}
		}
		return c
	}
	// press keys and wait for a prompt after them.
	press := func(c *adoptCaller, keys, then string) {
		t.Helper()
		n := c.count()
		c.call.Press(ctx, keys, 30*time.Millisecond)
		if err := c.wait(ctx, then, func(h []string, _ bool) bool { return heardAfter(h, n, then) }); err != nil {
			r.fail("after %s: %v", keys, err)
		}
	}
	passed := toVerify(mobile)
	press(passed, idNumber, "verify/enter_pin")
	press(passed, pin+"#", "insurance/menu")
	failing := toVerify("13900000201")
	press(failing, "110101199003077777", "verify/invalid") // a wrong check character: try 1 failed
	at := failing.count() - 1
	if err := failing.wait(ctx, "the next try", func(h []string, _ bool) bool { return heardAfter(h, at, "verify/enter_id") }); err != nil {
		r.fail("%v", err)
	}
	marks := []int{passed.count(), failing.count()}
	time.Sleep(300 * time.Millisecond)
	r.procs["a"].Process.Kill()
	r.procs["a"].Wait()

	if err := passed.wait(ctx, "the menu again", func(h []string, _ bool) bool {
		return heardAfter(h, marks[0], "common/line_glitch") && heardAfter(h, marks[0]+1, "insurance/menu")
	}); err != nil {
		r.fail("%v", err)
	}
	// Back to the main menu and into insurance again: no second verification.
	press(passed, "9", "main/menu")
	press(passed, "3", "insurance/menu")
	if h := passed.heardNow(); heardAfter(h, marks[0], "verify/enter_id") {
		r.fail("the verified caller was asked to verify again: %v", h[marks[0]:])
	}
	if err := failing.wait(ctx, "the try again", func(h []string, _ bool) bool {
		return heardAfter(h, marks[1], "common/line_glitch") && heardAfter(h, marks[1]+1, "verify/enter_id")
	}); err != nil {
		r.fail("%v", err)
	}
	press(failing, "110101199003077777", "verify/enter_id") // try 2 failed
	n := failing.count()
	press(failing, "110101199003077777", "insurance/verify_failed") // try 3, the last
	if h := failing.heardNow()[n:]; slices.Index(h, "verify/enter_id") >= 0 && slices.Index(h, "verify/enter_id") < slices.Index(h, "insurance/verify_failed") {
		r.fail("a fourth try was asked for after the resume: the failed try was forgotten: %v", h)
	}
	for _, c := range []*adoptCaller{passed, failing} {
		if c.dropped {
			r.fail("caller dropped; heard %v", c.heardNow())
		}
		c.mu.Lock()
		c.hungUp = true
		c.mu.Unlock()
		c.call.Hangup()
		<-c.done
	}
}
