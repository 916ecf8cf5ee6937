package flowtest

import (
	"context"
	"fmt"
	"io"
	"runtime"
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

// BenchOptions configure RunBillsBench.
type BenchOptions struct {
	Callers []BenchCaller
	// Ramp spreads the calls' arrival over this long, as real traffic would.
	Ramp time.Duration
	// Timeout bounds each call.
	Timeout time.Duration
}

// BenchResult is what RunBillsBench measured.
type BenchResult struct {
	Calls, Completed, Errors int
	FirstErrors              []string
	// KeyToPlay are the delays from a key reaching the controller to its next play request:
	// without a database lookup (the language menu) and with one (main menu and account kind).
	KeyToPlayNoLookup, KeyToPlayLookup []time.Duration
	// PeakHeapPerCall is the heap in use with every call in progress, less the baseline,
	// divided by the calls: simulator and controller together.
	PeakHeapPerCall  uint64
	GoroutinesBefore int
	GoroutinesPeak   int
	GoroutinesAfter  int
	Elapsed          time.Duration
}

// RunBillsBench runs every caller through the bills flow at once: Mandarin, bills, the
// account kind, the latest bill read aloud, then hang-up. All calls are held at the bill's
// amount until every call has got there, so that they are all in progress together.
func (h *Harness) RunBillsBench(ctx context.Context, o BenchOptions) BenchResult {
	res := BenchResult{Calls: len(o.Callers), GoroutinesBefore: runtime.NumGoroutine()}
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	start := time.Now()

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
			noLookup, lookup, err := h.billsCall(cctx, c, func() {
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
			res.KeyToPlayNoLookup = append(res.KeyToPlayNoLookup, noLookup...)
			res.KeyToPlayLookup = append(res.KeyToPlayLookup, lookup...)
			if err != nil {
				res.Errors++
				if len(res.FirstErrors) < 5 {
					res.FirstErrors = append(res.FirstErrors, err.Error())
				}
				return
			}
			res.Completed++
		}()
	}
	// Measure at the peak: every call has heard its bill and waits for the others.
	select {
	case <-allThere:
	case <-ctx.Done():
	}
	var peak runtime.MemStats
	runtime.ReadMemStats(&peak)
	res.GoroutinesPeak = runtime.NumGoroutine()
	if len(o.Callers) > 0 && peak.HeapInuse > base.HeapInuse {
		res.PeakHeapPerCall = (peak.HeapInuse - base.HeapInuse + peak.StackInuse - base.StackInuse) / uint64(len(o.Callers))
	}
	wg.Wait()
	h.Engine.Wait()
	res.Elapsed = time.Since(start)
	// Let timers of ended calls fire and their goroutines leave.
	for i := 0; i < 50 && runtime.NumGoroutine() > res.GoroutinesBefore; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	res.GoroutinesAfter = runtime.NumGoroutine()
	return res
}

// billsCall runs one caller through the bills flow, measuring key-to-play delays, and calls
// hold once the amount has been heard.
func (h *Harness) billsCall(ctx context.Context, bc BenchCaller, hold func()) (noLookup, lookup []time.Duration, err error) {
	c, err := h.Sim.PlaceCall(ctx, arisim.CallOptions{Caller: bc.Mobile, Exten: "12345"})
	if err != nil {
		return nil, nil, err
	}
	defer c.Hangup()
	heard := c.Heard()
	// next waits for the prompt id and returns when it started playing.
	next := func(id string) (time.Time, error) {
		for {
			select {
			case e := <-heard:
				if e.Type == "play" && PromptID(e.Media) == id {
					return e.Time, nil
				}
				if e.Type == "hangup" {
					return time.Time{}, fmt.Errorf("%s: hung up before %s", bc.Mobile, id)
				}
			case <-ctx.Done():
				return time.Time{}, fmt.Errorf("%s: waiting for %s: %w", bc.Mobile, id, ctx.Err())
			}
		}
	}
	// press sends a key and returns when the controller received it.
	press := func(key string) (time.Time, error) {
		if err := c.Press(ctx, key, 0); err != nil {
			return time.Time{}, err
		}
		for {
			select {
			case e := <-heard:
				if e.Type == "key" {
					return e.Time, nil
				}
			case <-ctx.Done():
				return time.Time{}, fmt.Errorf("%s: key %s: %w", bc.Mobile, key, ctx.Err())
			}
		}
	}
	steps := []struct {
		wait, key, then string
		lookup          bool
	}{
		{"common/language_choice", "1", "main/menu", false},
		{"", "1", "bills/pick_kind", true},
		{"", bc.KindKey, "bills/your_account", true},
	}
	for _, s := range steps {
		if s.wait != "" {
			if _, err := next(s.wait); err != nil {
				return noLookup, lookup, err
			}
		}
		at, err := press(s.key)
		if err != nil {
			return noLookup, lookup, err
		}
		played, err := next(s.then)
		if err != nil {
			return noLookup, lookup, err
		}
		if s.lookup {
			lookup = append(lookup, played.Sub(at))
		} else {
			noLookup = append(noLookup, played.Sub(at))
		}
	}
	if _, err := next("bills/amount"); err != nil {
		return noLookup, lookup, err
	}
	hold()
	return noLookup, lookup, nil
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
	fmt.Fprintf(w, "| calls | completed | errors | key→play p50 / p99, no lookup | key→play p50 / p99, with lookup | heap+stack per call | goroutines before / peak / after | wall time |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|\n")
	fmt.Fprintf(w, "| %d | %d | %d | %s / %s | %s / %s | %.1f KB | %d / %d / %d | %s |\n",
		r.Calls, r.Completed, r.Errors,
		ms(Percentile(r.KeyToPlayNoLookup, 50)), ms(Percentile(r.KeyToPlayNoLookup, 99)),
		ms(Percentile(r.KeyToPlayLookup, 50)), ms(Percentile(r.KeyToPlayLookup, 99)),
		float64(r.PeakHeapPerCall)/1024, r.GoroutinesBefore, r.GoroutinesPeak, r.GoroutinesAfter, r.Elapsed.Round(time.Millisecond))
	for _, e := range r.FirstErrors {
		fmt.Fprintf(w, "error: %s\n", e)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
