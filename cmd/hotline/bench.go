package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
	"github.com/foshan-hotline/hotline/postgres"
)

func (a *app) benchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the hotline under load and print a table",
	}
	var calls int
	var speed float64
	var ramp, timeout time.Duration
	var samples string
	billsCmd := &cobra.Command{
		Use:   "calls",
		Short: "N concurrent simulated calls through the bills flow against the simulator and database.url",
		Long: `Run 'hotline serve' as a separate process against an Asterisk simulator in this one, and place
N calls at once, each as a seeded citizen with a utility account: Mandarin, bills, the account
kind, the latest bill read aloud; the calls are held until all have heard their bill, then hang
up. Prints calls completed, errors, the delay from a key reaching the controller's channel to
its next play request (without and with a database lookup), the controller's heap and stacks
per call at the peak, and its goroutines before, at the peak and after (from its /metrics).
Seed database.url first ('hotline seed --citizens 1000000').`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.benchCalls(cmd, calls, speed, ramp, timeout, samples)
		},
	}
	billsCmd.Flags().IntVar(&calls, "calls", 1000, "concurrent calls")
	billsCmd.Flags().Float64Var(&speed, "speed", 10, "simulator time compression (prompt lengths, DTMF timing)")
	billsCmd.Flags().DurationVar(&ramp, "ramp", 30*time.Second, "spread the calls' arrival over this long")
	billsCmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "bound on each call")
	billsCmd.Flags().StringVar(&samples, "samples", "", "also write every key→play delay to this CSV file (key time, lookup, µs)")
	cmd.AddCommand(billsCmd, a.benchSIPCmd())
	return cmd
}

func (a *app) benchCalls(cmd *cobra.Command, calls int, speed float64, ramp, timeout time.Duration, samples string) error {
	ctx := cmd.Context()
	if a.cfg.Database.URL == "" {
		return errNoDatabase
	}
	db, err := a.openDatabase(ctx, a.cfg.Database.URL)
	if err != nil {
		return err
	}
	holders, err := postgres.SampleAccountHolders(ctx, db, calls)
	db.Close()
	if err != nil {
		return err
	}
	if len(holders) < calls {
		return fmt.Errorf("only %d citizens with accounts for %d calls: seed more", len(holders), calls)
	}
	keys := map[string]string{"water": "1", "electricity": "2", "gas": "3", "telecom": "4"}
	callers := make([]flowtest.BenchCaller, len(holders))
	for i, hd := range holders {
		callers[i] = flowtest.BenchCaller{Mobile: hd.Mobile, KindKey: keys[hd.Kind]}
	}

	state, err := os.MkdirTemp("", "hotline-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(state)
	dirs, err := flowtest.SoundDirs(a.cfg.IVR.SoundsDir, state)
	if err != nil {
		return err
	}
	sim := arisim.New(arisim.Options{SoundDirs: dirs, Speed: speed, Users: simUsers(a.cfg)})
	defer sim.Close()
	simAddr, httpAddr := loopbackAddr(), loopbackAddr()
	simCtx, stopSim := context.WithCancel(ctx)
	defer stopSim()
	go sim.ListenAndServe(simCtx, simAddr, "")

	// The controller under test: 'hotline serve' on the same configuration, in its own
	// process so that its memory and goroutines are its own.
	child := *a.cfg
	child.HTTP.Listen = httpAddr
	child.Log.Level = "error"
	node := a.cfg.Asterisk.Nodes[0]
	node.URL = "http://" + simAddr
	child.Asterisk.Nodes = []NodeConfig{node}
	if child.CallLog.SpoolDir == defaults["calllog.spool_dir"] {
		// The controller under test is the bench's: its call log's spool goes with the
		// bench's state rather than into the working directory.
		child.CallLog.SpoolDir = filepath.Join(state, "calllog-spool")
	}
	body, err := child.YAML()
	if err != nil {
		return err
	}
	cfgFile := filepath.Join(state, "serve.yaml")
	if err := os.WriteFile(cfgFile, []byte(body), 0o600); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	serve := exec.CommandContext(ctx, self, "serve", "--config", cfgFile)
	serve.Stderr = cmd.ErrOrStderr()
	if err := serve.Start(); err != nil {
		return err
	}
	defer func() {
		serve.Process.Signal(os.Interrupt)
		serve.Wait()
	}()
	metrics := func(ctx context.Context) (flowtest.ProcessStats, error) {
		return scrape(ctx, "http://"+httpAddr+"/metrics")
	}
	if err := waitHTTP(ctx, "http://"+httpAddr+"/readyz", time.Minute); err != nil {
		return fmt.Errorf("controller not ready: %w", err)
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "controller under test: http://%s, simulator: http://%s\n", httpAddr, simAddr)
	res, err := flowtest.RunBillsBench(ctx, sim, flowtest.BenchOptions{Callers: callers, Ramp: ramp, Timeout: timeout, Controller: metrics})
	if err != nil {
		return err
	}
	res.WriteTable(cmd.OutOrStdout())
	if samples != "" {
		return writeFile(samples, res.WriteSamples)
	}
	return nil
}

// writeFile creates name and fills it with write.
func writeFile(name string, write func(io.Writer) error) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	return f.Close()
}

// loopbackAddr returns a loopback address whose port was free a moment ago.
func loopbackAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "127.0.0.1:0"
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitHTTP(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = errors.New(resp.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// between returns what stands in s between the first start and the next end.
func between(s, start, end string) string {
	_, rest, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, end)
	return v
}

// scrape reads a Go process's heap, stack and goroutine figures from its /metrics.
func scrape(ctx context.Context, url string) (flowtest.ProcessStats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return flowtest.ProcessStats{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return flowtest.ProcessStats{}, err
	}
	defer resp.Body.Close()
	s := flowtest.ProcessStats{KeyToPlay: map[string]map[float64]float64{}, Lookups: map[float64]float64{}}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		if rest, ok := strings.CutPrefix(name, "hotline_ivr_key_to_play_seconds_bucket{"); ok {
			// lookup="no",le="0.005"}
			lookup := between(rest, `lookup="`, `"`)
			le, err := strconv.ParseFloat(between(rest, `le="`, `"`), 64)
			if err != nil {
				continue
			}
			if s.KeyToPlay[lookup] == nil {
				s.KeyToPlay[lookup] = map[float64]float64{}
			}
			s.KeyToPlay[lookup][le] = v
			continue
		}
		if rest, ok := strings.CutPrefix(name, "hotline_ivr_lookup_seconds_bucket{"); ok {
			// exit="found",source="citizen_by_caller",le="0.005"}: summed over sources and exits
			if le, err := strconv.ParseFloat(between(rest, `le="`, `"`), 64); err == nil {
				s.Lookups[le] += v
			}
			continue
		}
		switch name {
		case "go_memstats_heap_inuse_bytes":
			s.HeapInuse = uint64(v)
		case "go_memstats_stack_inuse_bytes":
			s.StackInuse = uint64(v)
		case "go_goroutines":
			s.Goroutines = int(v)
		case "hotline_ivr_calls_active":
			s.ActiveCalls = int(v)
		}
	}
	return s, sc.Err()
}
