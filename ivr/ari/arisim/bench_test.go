package arisim

import (
	"context"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// benchSim returns a simulator whose hotline application is owned by a
// discarding socket, so calls enter Stasis without a websocket.
func benchSim() *Sim {
	s := New(Options{Speed: 1})
	s.mu.Lock()
	s.getApp("hotline").sock = &socket{dead: true, notify: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.Unlock()
	return s
}

// BenchmarkConcurrentChannels measures the memory of 10,000 live
// simulated channels (5,000 citizen calls, each a Local pair, in Stasis).
func BenchmarkConcurrentChannels(b *testing.B) {
	const calls = 5000
	for b.Loop() {
		s := benchSim()
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for i := range calls {
			if _, err := s.PlaceCall(context.Background(), CallOptions{Caller: "138" + strconv.Itoa(10000000+i)}); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		s.mu.Lock()
		n := len(s.channels)
		s.mu.Unlock()
		if n != 2*calls {
			b.Fatalf("%d channels, want %d", n, 2*calls)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(n), "bytes/channel")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "MB/10k-channels")
		s.Close()
	}
}

// BenchmarkRESTOps measures REST operations per second through the
// router: answer, play, stop and get on live calls.
func BenchmarkRESTOps(b *testing.B) {
	s := benchSim()
	defer s.Close()
	c, err := s.PlaceCall(context.Background(), CallOptions{Caller: "13800138000"})
	if err != nil {
		b.Fatal(err)
	}
	id := c.ChannelID()
	s.dispatch("POST", "channels/"+id+"/answer", "", "", nil, nil)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		pid := "pb-" + strconv.Itoa(i)
		if r := s.dispatch("POST", "channels/"+id+"/play/"+pid, "media=sound:hello-world", "", nil, nil); r.status != 201 {
			b.Fatalf("play: %d", r.status)
		}
		if r := s.dispatch("GET", "playbacks/"+pid, "", "", nil, nil); r.status != 200 {
			b.Fatalf("get: %d", r.status)
		}
		if r := s.dispatch("DELETE", "playbacks/"+pid, "", "", nil, nil); r.status != 204 {
			b.Fatalf("stop: %d", r.status)
		}
	}
	b.ReportMetric(float64(b.N*3)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkRequestsWhileActionsFall measures what a REST request waits for
// the simulator while 10,000 actions (prompts ending, digits) fall due over
// a second: the p99 of the wait is reported as request-p99-µs.
func BenchmarkRequestsWhileActionsFall(b *testing.B) {
	const actions, requesters = 10000, 16
	var waits []time.Duration
	for b.Loop() {
		s := benchSim()
		ran := 0
		s.mu.Lock()
		for i := range actions {
			s.after(time.Duration(i)*time.Second/actions, func() { ran++ })
		}
		s.mu.Unlock()
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := time.Now().Add(time.Second)
		for range requesters {
			wg.Go(func() {
				var mine []time.Duration
				for time.Now().Before(stop) {
					t := time.Now()
					s.dispatch("GET", "asterisk/info", "", "", nil, nil)
					mine = append(mine, time.Since(t))
					time.Sleep(time.Millisecond)
				}
				mu.Lock()
				waits = append(waits, mine...)
				mu.Unlock()
			})
		}
		wg.Wait()
		time.Sleep(50 * time.Millisecond)
		s.mu.Lock()
		if ran != actions {
			b.Fatalf("%d of %d actions ran", ran, actions)
		}
		s.mu.Unlock()
		s.Close()
	}
	slices.Sort(waits)
	b.ReportMetric(float64(waits[len(waits)*99/100].Microseconds()), "request-p99-µs")
	b.ReportMetric(float64(waits[len(waits)/2].Microseconds()), "request-p50-µs")
}
