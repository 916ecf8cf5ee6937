package flowtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// BenchCaller is a caller of the bills benchmark: a registered citizen's mobile and the menu
// key of an account kind the citizen has (1 water, 2 electricity, 3 gas, 4 telecom).
type BenchCaller struct {
	Mobile  string
	KindKey string
}

// ProcessStats are a controller process's own figures, read from its /metrics.
type ProcessStats struct {
	HeapInuse, StackInuse uint64
	Goroutines            int
	ActiveCalls           int
	// KeyToPlay are the controller's own key-to-prompt histograms (lookup "yes"/"no"):
	// cumulative counts by upper bound in seconds.
	KeyToPlay map[string]map[float64]float64
	// Lookups is the controller's histogram of its data sources' answers, all sources together.
	Lookups map[float64]float64
}

// bucketQuantile returns the upper bound of the histogram bucket holding quantile q of the
// observations made between before and after, or -1 when there were none.
func bucketQuantile(before, after map[float64]float64, q float64) float64 {
	bounds := make([]float64, 0, len(after))
	for b := range after {
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	if len(bounds) == 0 {
		return -1
	}
	total := after[bounds[len(bounds)-1]] - before[bounds[len(bounds)-1]]
	if total <= 0 {
		return -1
	}
	for _, b := range bounds {
		if after[b]-before[b] >= q*total {
			return b
		}
	}
	return bounds[len(bounds)-1]
}

// BenchOptions configure RunBillsBench.
type BenchOptions struct {
	Callers []BenchCaller
	// Ramp spreads the calls' arrival over this long, as real traffic would.
	Ramp time.Duration
	// Timeout bounds each call.
	Timeout time.Duration
	// Controller reads the controller's figures (before, at the peak, after).
	Controller func(ctx context.Context) (ProcessStats, error)
}

// KeyToPlay is one measured delay from a key reaching the controller's channel to the next
// play request the controller made.
type KeyToPlay struct {
	At     time.Time // when the key reached the channel
	Lookup bool      // a database lookup ran in between
	Delay  time.Duration
}

// BenchResult is what RunBillsBench measured.
type BenchResult struct {
	Calls, Completed, Errors int
	FirstErrors              []string
	// Samples are every delay measured, in no particular order: without a database lookup
	// (the language menu) and with one (main menu: the caller's citizen; account kind:
	// accounts and latest bill).
	Samples             []KeyToPlay
	Before, Peak, After ProcessStats
	Elapsed             time.Duration
}

// Delays returns the delays measured with a lookup in between, or without.
func (r BenchResult) Delays(lookup bool) []time.Duration {
	var ds []time.Duration
	for _, s := range r.Samples {
		if s.Lookup == lookup {
			ds = append(ds, s.Delay)
		}
	}
	return ds
}

// PerCall is the controller's heap and stack growth at the peak, per call then in progress.
func (r BenchResult) PerCall() uint64 {
	if r.Peak.ActiveCalls == 0 {
		return 0
	}
	grow := int64(r.Peak.HeapInuse+r.Peak.StackInuse) - int64(r.Before.HeapInuse+r.Before.StackInuse)
	return uint64(max(grow, 0)) / uint64(r.Peak.ActiveCalls)
}

// RunBillsBench places every caller through sim into the bills flow at once: Mandarin,
// bills, the account kind, the latest bill read aloud, then hang-up. All calls are held once
// they have heard the amount until every call has, so that they are all in progress
// together when the controller's figures are read.
func RunBillsBench(ctx context.Context, sim *arisim.Sim, o BenchOptions) (BenchResult, error) {
	res := BenchResult{Calls: len(o.Callers)}
	var err error
	if res.Before, err = o.Controller(ctx); err != nil {
		return res, err
	}
	start := time.Now()
	// Sample the controller while the calls run; the peak is the sample with most calls.
	pollCtx, stopPoll := context.WithCancel(ctx)
	polled := make(chan ProcessStats, 1)
	go func() {
		var peak ProcessStats
		defer func() { polled <- peak }()
		for {
			select {
			case <-pollCtx.Done():
				return
			case <-time.After(250 * time.Millisecond):
			}
			if s, err := o.Controller(pollCtx); err == nil && s.ActiveCalls >= peak.ActiveCalls {
				peak = s
			}
		}
	}()
	var mu sync.Mutex
	var arrived atomic.Int64
	allThere := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range o.Callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o.Ramp > 0 {
				time.Sleep(o.Ramp * time.Duration(i) / time.Duration(len(o.Callers)))
			}
			cctx, cancel := context.WithTimeout(ctx, o.Timeout)
			defer cancel()
			samples, err := billsCall(cctx, sim, c, func() {
				if arrived.Add(1) == int64(len(o.Callers)) {
					close(allThere)
				}
				select {
				case <-allThere:
				case <-cctx.Done():
				}
			})
			mu.Lock()
			defer mu.Unlock()
			res.Samples = append(res.Samples, samples...)
			if err != nil {
				res.Errors++
				if len(res.FirstErrors) < 5 {
					res.FirstErrors = append(res.FirstErrors, err.Error())
				}
				if arrived.Add(1) == int64(len(o.Callers)) {
					close(allThere)
				}
				return
			}
			res.Completed++
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	stopPoll()
	res.Peak = <-polled
	// The controller ends each call when its hang-up arrives, and closes the connections a
	// burst opened once they have been idle for 30 s; give it that long.
	for i := 0; i < 450; i++ {
		if res.After, err = o.Controller(ctx); err != nil || res.After.Goroutines <= res.Before.Goroutines {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return res, err
}

// billsCall runs one caller through the bills flow, measuring key-to-play delays, and calls
// hold once the amount has been heard.
func billsCall(ctx context.Context, sim *arisim.Sim, bc BenchCaller, hold func()) (samples []KeyToPlay, err error) {
	// The caller reads every event as it comes except while held, when what it misses
	// does not matter: a small buffer keeps ten thousand held calls small.
	c, err := sim.PlaceCall(ctx, arisim.CallOptions{Caller: bc.Mobile, Exten: "12345", HeardBuffer: 32})
	if err != nil {
		return nil, err
	}
	defer c.Hangup()
	heard := c.Heard()
	// await returns the first event accepted by ok.
	await := func(what string, ok func(arisim.HeardEvent) bool) (time.Time, error) {
		for {
			select {
			case e := <-heard:
				if ok(e) {
					return e.Time, nil
				}
				if e.Type == "hangup" {
					return time.Time{}, fmt.Errorf("%s: hung up waiting for %s", bc.Mobile, what)
				}
			case <-ctx.Done():
				return time.Time{}, fmt.Errorf("%s: waiting for %s: %w", bc.Mobile, what, ctx.Err())
			}
		}
	}
	prompt := func(id string) func(arisim.HeardEvent) bool {
		return func(e arisim.HeardEvent) bool { return e.Type == "play" && PromptID(e.Media) == id }
	}
	anyPlay := func(e arisim.HeardEvent) bool { return e.Type == "play" }
	isKey := func(e arisim.HeardEvent) bool { return e.Type == "key" }
	steps := []struct {
		wait, key string
		lookup    bool
	}{
		{"common/language_choice", "1", false},
		{"main/menu", "1", true},
		{"bills/pick_kind", bc.KindKey, true},
	}
	for _, s := range steps {
		if _, err := await(s.wait, prompt(s.wait)); err != nil {
			return samples, err
		}
		if err := c.Press(ctx, s.key, 0); err != nil {
			return samples, err
		}
		at, err := await("key "+s.key, isKey)
		if err != nil {
			return samples, err
		}
		played, err := await("a prompt after key "+s.key, anyPlay)
		if err != nil {
			return samples, err
		}
		samples = append(samples, KeyToPlay{At: at, Lookup: s.lookup, Delay: played.Sub(at)})
	}
	if _, err := await("bills/amount", prompt("bills/amount")); err != nil {
		return samples, err
	}
	hold()
	return samples, nil
}

// Percentile returns the p-th percentile (0–100, nearest rank) of ds.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// WriteTable prints the result as the README's table.
func (r BenchResult) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "| calls | peak concurrent | completed | errors | key→play p50 / p99, no lookup | key→play p50 / p99, with lookup | controller heap+stack per call | controller goroutines before / peak / after | wall time |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(w, "| %d | %d | %d | %d | %s / %s | %s / %s | %.1f KB | %d / %d / %d | %s |\n",
		r.Calls, r.Peak.ActiveCalls, r.Completed, r.Errors,
		ms(Percentile(r.Delays(false), 50)), ms(Percentile(r.Delays(false), 99)),
		ms(Percentile(r.Delays(true), 50)), ms(Percentile(r.Delays(true), 99)),
		float64(r.PerCall())/1024, r.Before.Goroutines, r.Peak.Goroutines, r.After.Goroutines, r.Elapsed.Round(time.Millisecond))
	if r.Peak.Goroutines > 0 {
		fmt.Fprintf(w, "controller stacks at the peak: %.1f KB per goroutine\n", float64(r.Peak.StackInuse)/1024/float64(r.Peak.Goroutines))
	}
	for _, l := range []string{"no", "yes"} {
		p50 := bucketQuantile(r.Before.KeyToPlay[l], r.After.KeyToPlay[l], .50)
		p99 := bucketQuantile(r.Before.KeyToPlay[l], r.After.KeyToPlay[l], .99)
		if p99 >= 0 {
			fmt.Fprintf(w, "controller side (its own histogram, lookup=%s): p50 ≤ %s, p99 ≤ %s\n", l, bound(p50), bound(p99))
		}
	}
	if p99 := bucketQuantile(r.Before.Lookups, r.After.Lookups, .99); p99 >= 0 {
		p50 := bucketQuantile(r.Before.Lookups, r.After.Lookups, .50)
		fmt.Fprintf(w, "the lookups themselves (the controller's histogram): p50 ≤ %s, p99 ≤ %s\n", bound(p50), bound(p99))
	}
	for _, e := range r.FirstErrors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}

// WriteSamples writes every delay as CSV, in the order the keys came: the key's time
// (RFC 3339, microseconds), whether a lookup ran, the delay in microseconds. Tails are
// easier to explain against the time they happened.
func (r BenchResult) WriteSamples(w io.Writer) error {
	s := slices.Clone(r.Samples)
	slices.SortFunc(s, func(a, b KeyToPlay) int { return a.At.Compare(b.At) })
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "key_at,lookup,delay_us")
	for _, k := range s {
		fmt.Fprintf(bw, "%s,%t,%d\n", k.At.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), k.Lookup, k.Delay.Microseconds())
	}
	return bw.Flush()
}

func bound(s float64) string {
	if math.IsInf(s, 1) {
		return "∞"
	}
	return ms(time.Duration(s * float64(time.Second)))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
