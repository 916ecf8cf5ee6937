package arisim

import (
	"context"
	"runtime"
	"strconv"
	"testing"
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
