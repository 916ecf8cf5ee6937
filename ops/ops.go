// Package ops serves the endpoints operators and orchestrators poll: /healthz (the process
// is alive), /readyz (every dependency answers) and /metrics (Prometheus).
package ops

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/pprof"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Check reports whether one dependency is usable; nil means ready.
type Check func(ctx context.Context) error

// Probes holds the named readiness checks. It is safe for concurrent use; checks may be added
// while serving, as subsystems start.
type Probes struct {
	mu      sync.RWMutex
	checks  map[string]Check
	timeout time.Duration
}

// NewProbes returns an empty set of readiness checks, each run with the given timeout.
func NewProbes(timeout time.Duration) *Probes {
	return &Probes{checks: map[string]Check{}, timeout: timeout}
}

// Add registers a readiness check under name, replacing any earlier one.
func (p *Probes) Add(name string, c Check) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checks[name] = c
}

// Result is the outcome of one readiness check as /readyz reports it.
type Result struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Run runs every check concurrently and returns the results sorted by name.
func (p *Probes) Run(ctx context.Context) []Result {
	p.mu.RLock()
	checks := make(map[string]Check, len(p.checks))
	for k, v := range p.checks {
		checks[k] = v
	}
	p.mu.RUnlock()

	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	results := make([]Result, 0, len(checks))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for name, check := range checks {
		wg.Go(func() {
			r := Result{Name: name, OK: true}
			if err := check(ctx); err != nil {
				r.OK, r.Error = false, err.Error()
			}
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		})
	}
	wg.Wait()
	sort.Slice(results, func(i, j int) bool { return results[i].Name < results[j].Name })
	return results
}

// Register adds /healthz, /readyz and /metrics to mux. gatherer may be nil for the default
// Prometheus registry.
func Register(mux *http.ServeMux, p *Probes, gatherer prometheus.Gatherer) {
	if gatherer == nil {
		gatherer = prometheus.DefaultGatherer
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		results := p.Run(r.Context())
		status := http.StatusOK
		for _, res := range results {
			if !res.OK {
				status = http.StatusServiceUnavailable
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"ready": status == http.StatusOK, "checks": results})
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
}

// RegisterProfiles adds Go's runtime profiles (CPU, heap, allocations, goroutines, traces)
// under /debug/pprof/ to mux. They reveal internals and cost CPU while taken: serve them only
// where operators alone can reach.
func RegisterProfiles(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}
