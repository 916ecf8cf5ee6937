package ari

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// recordedEvents returns every event of the transcripts, raw and decoded.
func recordedEvents(b *testing.B) ([][]byte, []Event) {
	var raws [][]byte
	var evs []Event
	for _, lines := range readTranscripts(b) {
		for _, l := range lines {
			if l.Kind != "event" {
				continue
			}
			ev, err := DecodeEvent(l.Event)
			if err != nil {
				b.Fatal(err)
			}
			if _, ok := ev.(*ApplicationReplaced); ok {
				continue // it would end the connection
			}
			raws = append(raws, l.Event)
			evs = append(evs, ev)
		}
	}
	return raws, evs
}

// ownAll gives every id of the recorded events to one of n inboxes, each
// drained by its own goroutine, like calls consuming their events.
func ownAll(r *Router, evs []Event, n int) (stop func()) {
	inboxes := make([]*Inbox, n)
	for i := range inboxes {
		inboxes[i] = r.NewInbox()
	}
	i := 0
	own := func(ref Ref) {
		if ref.ID != "" && !r.Owns(ref) {
			_ = inboxes[i%n].Own(ref)
			i++
		}
	}
	for _, ev := range evs {
		rf := eventRefs(ev)
		for _, id := range rf.channels {
			own(ChannelRef(id))
		}
		own(BridgeRef(rf.bridge))
		own(PlaybackRef(rf.playback))
		own(RecordingRef(rf.recording))
	}
	var wg sync.WaitGroup
	for _, in := range inboxes {
		wg.Go(func() {
			for {
				if _, err := in.Next(context.Background()); err != nil {
					return
				}
			}
		})
	}
	return func() {
		for _, in := range inboxes {
			in.Close()
		}
		wg.Wait()
	}
}

// BenchmarkRouterWebsocket measures events per second read from a local
// websocket server streaming the recorded events, decoded and routed into
// the inboxes of 200 consuming calls.
func BenchmarkRouterWebsocket(b *testing.B) {
	raws, evs := recordedEvents(b)
	f := newFakeAsterisk(b)
	start := make(chan struct{})
	f.session = func(ctx context.Context, ws *websocket.Conn, n int) {
		<-start
		for i := range b.N {
			if err := ws.Write(ctx, websocket.MessageText, raws[i%len(raws)]); err != nil {
				return
			}
		}
		serve(ctx, ws)
	}
	opts := fastOptions()
	c, err := NewConn(f.node("bench", "hotline"), opts)
	if err != nil {
		b.Fatal(err)
	}
	stopInboxes := ownAll(c.Router(), evs, 200)
	defer stopInboxes()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	for !c.Health().Connected {
		time.Sleep(time.Millisecond)
	}
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	close(start)
	for {
		st := c.Router().Stats()
		if st.Routed+st.Unowned >= uint64(b.N) {
			break
		}
		if c.Health().Replaced || time.Since(t0) > time.Minute {
			b.Fatalf("stream stalled: %+v %+v", st, c.Health())
		}
		time.Sleep(200 * time.Microsecond)
	}
	elapsed := time.Since(t0)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	cancel()
	<-done
}

// BenchmarkDispatch measures routing alone, on decoded events.
func BenchmarkDispatch(b *testing.B) {
	_, evs := recordedEvents(b)
	r := NewRouter("bench", nil)
	stop := ownAll(r, evs, 200)
	defer stop()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r.Dispatch(evs[i%len(evs)])
	}
}

// BenchmarkDecodeEvent measures decoding of the recorded events.
func BenchmarkDecodeEvent(b *testing.B) {
	raws, _ := recordedEvents(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := DecodeEvent(raws[i%len(raws)]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInboxMemory reports the heap used by one idle call inbox owning
// its channel and a playback, measured over 10,000 inboxes.
func BenchmarkInboxMemory(b *testing.B) {
	const n = 10000
	var perInbox float64
	for range b.N {
		r := NewRouter("bench", nil)
		ids := make([]string, 2*n)
		for i := range n {
			ids[2*i] = fmt.Sprintf("1795629163.%d", i)
			ids[2*i+1] = NewID()
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		inboxes := make([]*Inbox, n)
		for i := range inboxes {
			inboxes[i] = r.NewInbox(ChannelRef(ids[2*i]), PlaybackRef(ids[2*i+1]))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perInbox = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(inboxes)
		for _, in := range inboxes {
			in.Close()
		}
	}
	b.ReportMetric(perInbox, "bytes/inbox")
}
