package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/foshan-hotline/hotline/internal/browsertest"
	"github.com/foshan-hotline/hotline/ivr/speech"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// syncBuffer is a bytes.Buffer safe for the demo's writer and the test's reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemoWaterBillInBrowser runs `hotline demo` on a test database and calls it from the
// browser phone in headless Chromium as a citizen with a water account: the captions must
// show the latest water bill's amount as the hotline reads it.
func TestDemoWaterBillInBrowser(t *testing.T) {
	root, _ := filepath.Abs("../..")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	d := startDemo(t, ctx, filepath.Join(root, "flows"), 300)
	url, httpAddr, simAddr, out, logs := d.url, d.httpAddr, d.simAddr, &d.out, &d.logs
	for _, want := range []string{"http://" + httpAddr + "/phone/", "ARI http://" + simAddr + "/ari",
		"ARI user:          hotline  password hotline-secret"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo banner lacks %q:\n%s", want, out.String())
		}
	}
	// The simulator listens before the controller dials it.
	if l := logs.String(); strings.Contains(l, "ari websocket down") {
		t.Errorf("the controller found the simulator down at start:\n%s", l)
	}

	// A registered citizen with exactly one water account; the flow reads its latest bill.
	db := openTestDB(t, url)
	var caller struct {
		Mobile    string `db:"mobile"`
		AmountFen int64  `db:"amount_fen"`
	}
	err := db.GetContext(ctx, &caller, `
SELECT c.mobile, b.amount_fen
FROM platform.citizens c
JOIN platform.utility_accounts a ON a.citizen_id = c.id AND a.kind = 'water'
JOIN LATERAL (SELECT amount_fen FROM platform.bills WHERE account_id = a.id ORDER BY period DESC LIMIT 1) b ON true
WHERE (SELECT count(*) FROM platform.utility_accounts w WHERE w.citizen_id = c.id AND w.kind = 'water') = 1
ORDER BY c.id LIMIT 1`)
	if err != nil {
		t.Fatalf("pick a caller: %v", err)
	}
	amount := speech.Text(speech.Money(caller.AmountFen, speech.Mandarin), speech.Mandarin)

	b := browsertest.New(t, ctx)
	do := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, a); err != nil {
			t.Fatalf("%s: %v\nlogs:\n%s", what, err, tail(logs.String(), 20))
		}
	}
	do("open the phone", chromedp.Steps(
		chromedp.Navigate("http://"+httpAddr+"/phone/"),
		chromedp.WaitVisible(`#number`),
	))
	do("dial as the citizen", chromedp.SendKeys(`#number`, caller.Mobile+"\r"))
	do("hear the language choice", captionsInclude("普通话请按一"))
	do("press 1 for Mandarin", chromedp.KeyEvent("1"))
	do("hear the main menu", captionsInclude("账单查询请按一"))
	do("press 1 for bills", chromedp.KeyEvent("1"))
	do("hear the account kinds", captionsInclude("水费"))
	do("press 1 for water", chromedp.KeyEvent("1"))
	do("see the amount "+amount, captionsInclude(amount))
	png, err := chromedp.Run(b, chromedp.CaptureScreenshot())
	if err == nil {
		os.WriteFile(filepath.Join(os.TempDir(), "demo-water-bill.png"), png, 0o644)
	}
	do("hang up", chromedp.KeyEvent("\x1b"))
	do("see the hang-up", browsertest.WaitJS(`document.getElementById("state").textContent === "已挂断"`))

	// The call's record is complete: ended, with its path through the bills flow.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var path []string
		err := db.SelectContext(ctx, &path, `
SELECT s.flow || '/' || s.node || ':' || coalesce(s.exit, '')
FROM hotline.calls c JOIN hotline.call_steps s ON s.call_id = c.id
WHERE c.caller_number = $1 AND c.ended_at IS NOT NULL ORDER BY s.seq`, caller.Mobile)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(path, "bills/get_bill:found") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("call record of %s incomplete: %v", caller.Mobile, path)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// demoRun is `hotline demo` running in the test's process on a test database and free ports.
type demoRun struct {
	url, httpAddr, simAddr, controlAddr string
	out, logs                           syncBuffer
	done                                chan error
}

// startDemo runs the demo with flowsDir and citizens seeded until the test ends, and waits
// until it is ready.
func startDemo(t *testing.T, ctx context.Context, flowsDir string, citizens int) *demoRun {
	t.Helper()
	root, _ := filepath.Abs("../..")
	d := &demoRun{url: pgtest.URL(t), httpAddr: freeAddr(t), simAddr: freeAddr(t), controlAddr: freeAddr(t), done: make(chan error, 1)}
	env := []string{
		"HOTLINE_DATABASE_URL=" + d.url,
		"HOTLINE_HTTP_LISTEN=" + d.httpAddr,
		"HOTLINE_DEMO_SIM_LISTEN=" + d.simAddr,
		"HOTLINE_DEMO_SIM_CONTROL=" + d.controlAddr,
		"HOTLINE_ASTERISK_URL=http://" + d.simAddr,
		"HOTLINE_DEMO_DIR=" + t.TempDir(),
		fmt.Sprintf("HOTLINE_DEMO_CITIZENS=%d", citizens),
		"HOTLINE_IVR_FLOWS_DIR=" + flowsDir,
		"HOTLINE_IVR_SOUNDS_DIR=" + filepath.Join(root, "sounds"),
		"HOTLINE_LOG_LEVEL=warn",
	}
	demoCtx, stopDemo := context.WithCancel(ctx)
	go func() { d.done <- run(demoCtx, []string{"demo"}, env, &d.out, &d.logs) }()
	t.Cleanup(func() {
		stopDemo()
		if err := <-d.done; err != nil {
			t.Errorf("demo: %v\n%s", err, d.logs.String())
		}
	})
	waitReady(t, ctx, "http://"+d.httpAddr+"/readyz", d.done, &d.logs)
	return d
}

// waitReady polls url until it answers 200, the demo stops or ctx ends.
func waitReady(t *testing.T, ctx context.Context, url string, done <-chan error, logs *syncBuffer) {
	t.Helper()
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-done:
			t.Fatalf("demo stopped: %v\n%s", err, logs.String())
		case <-ctx.Done():
			t.Fatalf("demo not ready: %v\n%s", ctx.Err(), tail(logs.String(), 30))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func captionsInclude(s string) chromedp.Action[chromedp.Void] {
	return browsertest.WaitJS(fmt.Sprintf(`document.getElementById("captions").innerText.includes(%q)`, s))
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestDemoChecksBeforeStarting gives the demo what cannot work: it must say so before it
// starts PostgreSQL, seeds it or prints the banner that invites a call.
func TestDemoChecksBeforeStarting(t *testing.T) {
	root, _ := filepath.Abs("../..")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"busy http.listen", []string{"HOTLINE_HTTP_LISTEN=" + busy.Addr().String()}, "http.listen: listen tcp " + busy.Addr().String()},
		{"busy demo.sim_listen", []string{"HOTLINE_DEMO_SIM_LISTEN=" + busy.Addr().String()}, "demo.sim_listen: listen tcp " + busy.Addr().String()},
		{"busy demo.sim_control", []string{"HOTLINE_DEMO_SIM_CONTROL=" + busy.Addr().String()}, "demo.sim_control: listen tcp " + busy.Addr().String()},
		{"no flows", []string{"HOTLINE_IVR_FLOWS_DIR=../nowhere/flows"}, "../nowhere/flows"},
		{"broken flow", []string{"HOTLINE_IVR_FLOWS_DIR=" + brokenFlows(t)}, `main.yaml:4: s: flow: no flow "nowhere"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append([]string{
				"HOTLINE_HTTP_LISTEN=" + freeAddr(t),
				"HOTLINE_DEMO_SIM_LISTEN=" + freeAddr(t),
				"HOTLINE_DEMO_SIM_CONTROL=" + freeAddr(t),
				"HOTLINE_DEMO_DIR=" + t.TempDir(),
				"HOTLINE_DEMO_CITIZENS=50",
				"HOTLINE_IVR_FLOWS_DIR=" + filepath.Join(root, "flows"),
				"HOTLINE_IVR_SOUNDS_DIR=" + filepath.Join(root, "sounds"),
			}, tt.env...) // later values win
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var out, logs syncBuffer
			err := run(ctx, []string{"demo"}, env, &out, &logs)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("demo: err = %v, want one containing %q", err, tt.want)
			}
			if strings.Contains(logs.String(), "postgres started") {
				t.Errorf("demo started PostgreSQL first:\n%s", logs.String())
			}
			if strings.Contains(out.String(), "call the hotline") {
				t.Errorf("demo printed its banner:\n%s", out.String())
			}
		})
	}
}

// brokenFlows returns a flows directory with the shipped calendars and a main flow that
// calls a flow nobody has.
func brokenFlows(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cals, err := os.ReadFile("../../flows/calendars.yaml")
	if err != nil {
		t.Fatal(err)
	}
	main := "flow: main\nstart: s\nnodes:\n  s: {kind: subflow, flow: nowhere, next: bye}\n  bye: {kind: hangup}\n"
	for name, data := range map[string][]byte{"calendars.yaml": cals, "main.yaml": []byte(main)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestMakeDemoEndsCleanlyOnCtrlC runs `make demo` as a newcomer does and stops it as Ctrl-C
// does, with SIGINT to the terminal's whole process group. The demo must exit with status 0,
// so that make reports no error; make itself then ends by the same SIGINT, as GNU make does
// after its recipe, silently.
func TestMakeDemoEndsCleanlyOnCtrlC(t *testing.T) {
	makeCmd, err := exec.LookPath("make")
	if err != nil {
		t.Fatalf("this test runs make, which is missing (apt-get install make): %v", err)
	}
	root, _ := filepath.Abs("../..")
	httpAddr, simAddr, controlAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.Command(makeCmd, "demo", "BIN="+filepath.Join(t.TempDir(), "hotline"))
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"HOTLINE_DATABASE_URL="+pgtest.URL(t),
		"HOTLINE_HTTP_LISTEN="+httpAddr,
		"HOTLINE_DEMO_SIM_LISTEN="+simAddr,
		"HOTLINE_DEMO_SIM_CONTROL="+controlAddr,
		"HOTLINE_ASTERISK_URL=http://"+simAddr,
		"HOTLINE_DEMO_DIR="+t.TempDir(),
		"HOTLINE_DEMO_CITIZENS=50",
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out, logs syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() {
		select {
		case <-done:
		default: // the test failed before the interrupt: leave nothing running
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}()
	waitReady(t, ctx, "http://"+httpAddr+"/readyz", done, &logs)
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err // for the deferred check
		var exit *exec.ExitError
		if err != nil && (!errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT) {
			t.Errorf("make demo after Ctrl-C: %v, want status 0 or make's own SIGINT\n%s", err, tail(logs.String(), 10))
		}
		if l := logs.String(); strings.Contains(l, "make: ***") {
			t.Errorf("make reported an error after Ctrl-C:\n%s", tail(l, 10))
		}
	case <-ctx.Done():
		t.Fatalf("make demo still running after Ctrl-C\n%s", tail(logs.String(), 10))
	}
}
