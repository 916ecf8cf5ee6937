// Package load places many scripted SIP calls at once, in the manner of SIPp but scripted like
// 'hotline phone': N calls started at a given rate, each following a sipua.Script and held for
// a while, against a real Asterisk or the test UAS. It reports what the calls got (answered,
// failed by reason, answer times, digits sent, audio heard, RTP loss and jitter) and what they
// cost the generator (CPU and memory per call). A run is bounded in calls and in time, and
// refuses a target outside the loopback range unless remote targets are allowed.
package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/foshan-hotline/hotline/sipua"
)

// Bounds of a run.
const (
	MaxCalls    = 10000
	MaxRate     = 500 // calls started per second
	MaxDuration = 2 * time.Hour
)

// ErrRemoteTarget is returned for a target or proxy outside the loopback range when remote
// targets are not allowed: a load test is aimed at a production system only on purpose.
var ErrRemoteTarget = errors.New("target is not on the loopback network")

// Caller places one call; *sipua.Phone is one.
type Caller interface {
	Call(ctx context.Context, target string, script sipua.Script, opts sipua.CallOptions) (*sipua.Report, error)
}

var _ Caller = (*sipua.Phone)(nil)

// Plan is what a run does.
type Plan struct {
	// Target is the SIP URI every call dials.
	Target string
	// Proxy is the phone's outbound proxy, if any; it is checked like the target.
	Proxy string
	// Calls is how many calls are placed.
	Calls int
	// Rate is how many calls start per second; the calls of a run all start within
	// Calls/Rate seconds (the ramp).
	Rate float64
	// Hold keeps each call up this much longer after its script's steps, before it hangs up,
	// so that calls overlap.
	Hold time.Duration
	// Script is what each call does once answered.
	Script sipua.Script
	// AnswerTimeout bounds each call's wait for the answer.
	AnswerTimeout time.Duration
	// Deadline bounds the whole run: calls still up then are hung up. Zero: the ramp, the
	// answer timeout, the script and the hold, plus a minute.
	Deadline time.Duration
	// AllowRemote allows a target outside 127.0.0.0/8 and ::1.
	AllowRemote bool
}

// Result is a finished run.
type Result struct {
	Plan    Plan
	Calls   []Call
	Elapsed time.Duration
	// PeakCalls is the most calls that were up (answered or being placed) at once.
	PeakCalls int
	Usage     Usage
}

// Call is one call of a run.
type Call struct {
	Index  int
	Start  time.Duration // from the run's start
	Report *sipua.Report
}

// Check validates the plan and applies its defaults.
func (p *Plan) Check(ctx context.Context) error {
	if p.Calls <= 0 || p.Calls > MaxCalls {
		return fmt.Errorf("calls %d: want 1 to %d", p.Calls, MaxCalls)
	}
	if p.Rate <= 0 || p.Rate > MaxRate {
		return fmt.Errorf("rate %g: want more than 0 and at most %d calls a second", p.Rate, MaxRate)
	}
	if p.Hold < 0 || p.Hold > sipua.MaxStepDuration {
		return fmt.Errorf("hold %s: want 0 to %s", p.Hold, sipua.MaxStepDuration)
	}
	if p.AnswerTimeout <= 0 {
		p.AnswerTimeout = 30 * time.Second
	}
	if len(p.Script.Steps) == 0 {
		return errors.New("no script")
	}
	if p.Deadline == 0 {
		ramp := time.Duration(float64(p.Calls) / p.Rate * float64(time.Second))
		p.Deadline = ramp + p.AnswerTimeout + p.Script.Duration() + p.Hold + time.Minute
	}
	if p.Deadline <= 0 || p.Deadline > MaxDuration {
		return fmt.Errorf("deadline %s: want at most %s", p.Deadline, MaxDuration)
	}
	for _, u := range []string{p.Target, p.Proxy} {
		if u == "" {
			continue
		}
		uri, err := sipua.ParseTarget(u)
		if err != nil {
			return err
		}
		if p.AllowRemote {
			continue
		}
		if err := loopbackOnly(ctx, uri.Host); err != nil {
			return fmt.Errorf("%w: %s resolves to %v; pass --allow-remote to load a real system", ErrRemoteTarget, uri.Host, err)
		}
	}
	return nil
}

// loopbackOnly returns the addresses of host that are not loopback ones, as an error.
func loopbackOnly(ctx context.Context, host string) error {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return fmt.Errorf("cannot resolve %s: %w", host, err)
	}
	var remote []string
	for _, ip := range ips {
		if !ip.IP.IsLoopback() {
			remote = append(remote, ip.IP.String())
		}
	}
	if len(remote) > 0 || len(ips) == 0 {
		return fmt.Errorf("%v", remote)
	}
	return nil
}

// withHold returns the script with a wait of hold before its hangup (or at its end).
func withHold(s sipua.Script, hold time.Duration) sipua.Script {
	if hold <= 0 {
		return s
	}
	steps := append([]sipua.Step(nil), s.Steps...)
	wait := sipua.Step{Kind: sipua.StepWait, Duration: hold}
	if n := len(steps); n > 0 && steps[n-1].Kind == sipua.StepHangup {
		steps = append(steps[:n-1], wait, steps[n-1])
	} else {
		steps = append(steps, wait)
	}
	return sipua.Script{Steps: steps}
}

// Run places the plan's calls with phone and waits for all of them to end.
func Run(ctx context.Context, phone Caller, plan Plan) (*Result, error) {
	if err := plan.Check(ctx); err != nil {
		return nil, err
	}
	script := withHold(plan.Script, plan.Hold)
	ctx, cancel := context.WithTimeout(ctx, plan.Deadline)
	defer cancel()

	res := &Result{Plan: plan, Calls: make([]Call, plan.Calls)}
	meter := startMeter()
	var active, peak atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	interval := time.Duration(float64(time.Second) / plan.Rate)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var err error
placing:
	for i := range plan.Calls {
		if i > 0 {
			select {
			case <-ticker.C:
			case <-ctx.Done():
				err = fmt.Errorf("placed %d of %d calls: %w", i, plan.Calls, ctx.Err())
				break placing
			}
		}
		res.Calls[i] = Call{Index: i, Start: time.Since(start)}
		n := active.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			defer active.Add(-1)
			rep, cerr := phone.Call(ctx, plan.Target, script, sipua.CallOptions{AnswerTimeout: plan.AnswerTimeout})
			if cerr != nil {
				rep = &sipua.Report{Target: plan.Target, Outcome: sipua.OutcomeError, Failure: cerr.Error()}
			}
			res.Calls[i].Report = rep
		}(i)
		meter.sample()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
waiting:
	for {
		select {
		case <-done:
			break waiting
		case <-tick.C:
			meter.sample()
		}
	}
	res.Elapsed = time.Since(start)
	res.PeakCalls = int(peak.Load())
	res.Usage = meter.finish(plan.Calls, res.PeakCalls)
	placed := res.Calls[:0:0]
	for _, c := range res.Calls {
		if c.Report != nil {
			placed = append(placed, c)
		}
	}
	res.Calls = placed
	return res, err
}

// Usage is what a run cost the process that ran it.
type Usage struct {
	CPU           time.Duration // user and system
	CPUPerCall    time.Duration
	PeakRSS       int64 // bytes
	BaseRSS       int64 // before the run
	RSSPerCall    int64 // (peak - base) / peak calls
	PeakHeap      uint64
	BaseHeap      uint64
	HeapPerCall   uint64 // (peak - base) / peak calls
	PeakGoroutine int
}

// meter samples the process's heap and goroutines during a run.
type meter struct {
	cpu0      time.Duration
	rss0      int64
	heap0     uint64
	heap      uint64
	goroutine int
}

func startMeter() *meter {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	cpu, rss := rusage()
	return &meter{cpu0: cpu, rss0: rss, heap0: ms.HeapInuse, heap: ms.HeapInuse, goroutine: runtime.NumGoroutine()}
}

func (m *meter) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.heap = max(m.heap, ms.HeapInuse)
	m.goroutine = max(m.goroutine, runtime.NumGoroutine())
}

func (m *meter) finish(calls, peak int) Usage {
	cpu, rss := rusage()
	u := Usage{CPU: cpu - m.cpu0, PeakRSS: rss, BaseRSS: m.rss0, PeakHeap: m.heap, BaseHeap: m.heap0, PeakGoroutine: m.goroutine}
	if calls > 0 {
		u.CPUPerCall = u.CPU / time.Duration(calls)
	}
	if peak > 0 {
		u.RSSPerCall = max(0, rss-m.rss0) / int64(peak)
		if m.heap > m.heap0 {
			u.HeapPerCall = (m.heap - m.heap0) / uint64(peak)
		}
	}
	return u
}
