package ari_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/foshan-hotline/hotline/ivr/ari"
)

// ev decodes a compact event for tests.
func ev(t testing.TB, format string, args ...any) ari.Event {
	t.Helper()
	e, err := ari.DecodeEvent(fmt.Appendf(nil, format, args...))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

const ts = `"timestamp":"2026-11-25T17:52:43.373+0000","asterisk_id":"02:fc:00:00:00:01","application":"hotline"`

func stasisStart(t testing.TB, id string) ari.Event {
	return ev(t, `{"type":"StasisStart",%s,"args":[],"channel":{"id":%q,"name":"x","state":"Ring"}}`, ts, id)
}

func dtmf(t testing.TB, id, digit string) ari.Event {
	return ev(t, `{"type":"ChannelDtmfReceived",%s,"digit":%q,"duration_ms":100,"channel":{"id":%q}}`, ts, digit, id)
}

func playbackStarted(t testing.TB, pid, target string) ari.Event {
	return ev(t, `{"type":"PlaybackStarted",%s,"playback":{"id":%q,"media_uri":"sound:x","target_uri":%q,"language":"en","state":"playing"}}`, ts, pid, target)
}

// next returns the next queued event or fails.
func next(t *testing.T, in *ari.Inbox) ari.Event {
	t.Helper()
	e, ok := in.TryNext()
	if !ok {
		t.Fatal("inbox empty, want an event")
	}
	return e
}

func TestRouterDeliversByOwnedIDs(t *testing.T) {
	var unowned []ari.Event
	r := ari.NewRouter("n1", func(e ari.Event) { unowned = append(unowned, e) })
	call := r.NewInbox(ari.ChannelRef("c1"))
	other := r.NewInbox(ari.ChannelRef("c2"))
	defer call.Close()
	defer other.Close()

	// Owned before the request that creates them: the events may come
	// before the HTTP response.
	if err := call.Own(ari.PlaybackRef("p1"), ari.BridgeRef("b1"), ari.RecordingRef("rec1"), ari.ChannelRef("snoop1")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ev   ari.Event
		want *ari.Inbox // nil: fallback
	}{
		{"channel", dtmf(t, "c1", "1"), call},
		{"other call", dtmf(t, "c2", "2"), other},
		{"playback by id", playbackStarted(t, "p1", "channel:elsewhere"), call},
		{"playback by target channel", playbackStarted(t, "p-unregistered", "channel:c2"), other},
		{"playback by target bridge", playbackStarted(t, "p-bridge", "bridge:b1"), call},
		{"recording", ev(t, `{"type":"RecordingStarted",%s,"recording":{"name":"rec1","format":"wav","state":"recording","target_uri":"channel:zz"}}`, ts), call},
		{"snoop channel", stasisStart(t, "snoop1"), call},
		{"bridge", ev(t, `{"type":"BridgeDestroyed",%s,"bridge":{"id":"b1","channels":[]}}`, ts), call},
		{"entered bridge by channel", ev(t, `{"type":"ChannelEnteredBridge",%s,"bridge":{"id":"b9"},"channel":{"id":"c2"}}`, ts), other},
		{"dial peer", ev(t, `{"type":"Dial",%s,"dialstatus":"RINGING","peer":{"id":"c1"}}`, ts), call},
		{"new call", stasisStart(t, "c3"), nil},
		{"no ids", ev(t, `{"type":"ApplicationReplaced",%s}`, ts), nil},
		{"unknown type", ev(t, `{"type":"Brand New",%s,"channel":{"id":"c1"}}`, ts), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unowned = nil
			r.Dispatch(tt.ev)
			if tt.want == nil {
				if got, want := len(unowned), 1; got != want {
					t.Fatalf("fallback got %d events, want %d", got, want)
				}
				if unowned[0] != tt.ev {
					t.Errorf("fallback got %v, want %v", unowned[0], tt.ev)
				}
				if call.Len()+other.Len() != 0 {
					t.Errorf("an inbox got an unowned event")
				}
				return
			}
			if got := next(t, tt.want); got != tt.ev {
				t.Errorf("got %v, want %v", got, tt.ev)
			}
			if call.Len()+other.Len()+len(unowned) != 0 {
				t.Errorf("event delivered more than once")
			}
		})
	}
}

func TestRouterOrderAndSharedOwnership(t *testing.T) {
	r := ari.NewRouter("n1", nil)
	a := r.NewInbox(ari.ChannelRef("a"), ari.BridgeRef("conf"))
	sup := r.NewInbox(ari.BridgeRef("conf"))
	const n = 1000
	for i := range n {
		r.Dispatch(dtmf(t, "a", fmt.Sprint(i)))
	}
	left := ev(t, `{"type":"ChannelLeftBridge",%s,"bridge":{"id":"conf"},"channel":{"id":"a"}}`, ts)
	r.Dispatch(left)
	for i := range n {
		e, err := a.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := e.(*ari.ChannelDtmfReceived).Digit, fmt.Sprint(i); got != want {
			t.Fatalf("event %d: digit %s, want %s", i, got, want)
		}
	}
	if got := next(t, a); got != left {
		t.Errorf("a got %v, want ChannelLeftBridge", got)
	}
	if got := next(t, sup); got != left {
		t.Errorf("supervisor got %v, want ChannelLeftBridge", got)
	}
	if got, want := sup.Len(), 0; got != want {
		t.Errorf("supervisor queue %d, want %d", got, want)
	}
}

func TestRouterBlockedConsumerDelaysNobody(t *testing.T) {
	r := ari.NewRouter("n1", nil)
	slow := r.NewInbox(ari.ChannelRef("slow"))
	fast := r.NewInbox(ari.ChannelRef("fast"))
	defer slow.Close()
	defer fast.Close()

	got := make(chan string, 1)
	go func() {
		e, err := fast.Next(context.Background())
		if err != nil {
			got <- err.Error()
			return
		}
		got <- e.(*ari.ChannelDtmfReceived).Digit
	}()
	// Nobody reads slow: Dispatch must still return for every event.
	slowEv := dtmf(t, "slow", "1")
	for range 50000 {
		r.Dispatch(slowEv)
	}
	r.Dispatch(dtmf(t, "fast", "9"))
	if d := <-got; d != "9" {
		t.Errorf("fast call got %q, want 9", d)
	}
	if got, want := slow.Len(), 50000; got != want {
		t.Errorf("slow queue = %d, want %d (nothing dropped)", got, want)
	}
	if got := r.Stats().MaxQueue; got < 50000 {
		t.Errorf("MaxQueue = %d, want >= 50000", got)
	}
}

func TestRouterFallbackClaimsNewCall(t *testing.T) {
	var r *ari.Router
	calls := map[string]*ari.Inbox{}
	r = ari.NewRouter("n1", func(e ari.Event) {
		if s, ok := e.(*ari.StasisStart); ok {
			calls[s.Channel.ID] = r.NewInbox(ari.ChannelRef(s.Channel.ID))
		}
	})
	r.Dispatch(stasisStart(t, "c9"))
	in := calls["c9"]
	if in == nil {
		t.Fatal("fallback did not get StasisStart")
	}
	if got, want := in.Node(), "n1"; got != want {
		t.Errorf("Node = %q, want %q", got, want)
	}
	d := dtmf(t, "c9", "5")
	r.Dispatch(d)
	if got := next(t, in); got != d {
		t.Errorf("got %v, want the DTMF", got)
	}
}

func TestInboxClose(t *testing.T) {
	var unowned int
	r := ari.NewRouter("n1", func(ari.Event) { unowned++ })
	in := r.NewInbox(ari.ChannelRef("c1"), ari.PlaybackRef("p1"))
	r.Dispatch(dtmf(t, "c1", "1"))
	if got, want := r.Stats().Inboxes, int64(1); got != want {
		t.Errorf("Inboxes = %d, want %d", got, want)
	}
	in.Close()
	in.Close() // idempotent
	if _, err := in.Next(context.Background()); !errors.Is(err, ari.ErrInboxClosed) {
		t.Errorf("Next after Close: %v, want ErrInboxClosed", err)
	}
	if err := in.Own(ari.ChannelRef("c2")); !errors.Is(err, ari.ErrInboxClosed) {
		t.Errorf("Own after Close: %v, want ErrInboxClosed", err)
	}
	r.Dispatch(dtmf(t, "c1", "2"))
	r.Dispatch(playbackStarted(t, "p1", "channel:c1"))
	if got, want := unowned, 2; got != want {
		t.Errorf("fallback got %d events after Close, want %d", got, want)
	}
	if r.Owns(ari.ChannelRef("c1")) || len(r.OwnedChannels()) != 0 {
		t.Error("router still owns the closed inbox's ids")
	}
	if got, want := r.Stats().Inboxes, int64(0); got != want {
		t.Errorf("Inboxes = %d, want %d", got, want)
	}
}

func TestInboxRelease(t *testing.T) {
	var unowned int
	r := ari.NewRouter("n1", func(ari.Event) { unowned++ })
	in := r.NewInbox(ari.ChannelRef("c1"), ari.PlaybackRef("p1"))
	defer in.Close()
	in.Release(ari.PlaybackRef("p1"))
	r.Dispatch(playbackStarted(t, "p1", "channel:other"))
	if got, want := unowned, 1; got != want {
		t.Errorf("fallback got %d, want %d", got, want)
	}
	if got, want := len(in.Refs()), 1; got != want {
		t.Errorf("Refs = %v, want only the channel", in.Refs())
	}
}

func TestInboxNextHonoursContext(t *testing.T) {
	r := ari.NewRouter("n1", nil)
	in := r.NewInbox(ari.ChannelRef("c1"))
	defer in.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := in.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next = %v, want context.Canceled", err)
	}
}

func TestRouterManyOwners(t *testing.T) {
	r := ari.NewRouter("n1", nil)
	var ins []*ari.Inbox
	for range 7 {
		ins = append(ins, r.NewInbox(ari.BridgeRef("conf")))
	}
	e := ev(t, `{"type":"BridgeDestroyed",%s,"bridge":{"id":"conf","channels":[]}}`, ts)
	r.Dispatch(e)
	for i, in := range ins {
		if got := next(t, in); got != e {
			t.Errorf("owner %d got %v, want the event", i, got)
		}
	}
}

func TestInboxOrderWhileConsuming(t *testing.T) {
	r := ari.NewRouter("n1", nil)
	in := r.NewInbox(ari.ChannelRef("c1"))
	defer in.Close()
	events := make([]ari.Event, 300)
	for i := range events {
		events[i] = dtmf(t, "c1", fmt.Sprint(i))
	}
	// Interleave deliveries and reads so the queue reuses its consumed part.
	sent, read := 0, 0
	for _, batch := range []struct{ push, pop int }{{3, 2}, {5, 4}, {100, 50}, {1, 30}, {191, 214}} {
		for range batch.push {
			r.Dispatch(events[sent])
			sent++
		}
		for range batch.pop {
			if got := next(t, in); got != events[read] {
				t.Fatalf("read %d: got %v, want %v", read, got, events[read])
			}
			read++
		}
	}
	if got, want := in.Len(), 0; got != want {
		t.Errorf("Len = %d, want %d", got, want)
	}
}
