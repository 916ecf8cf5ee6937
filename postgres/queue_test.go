package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

func TestIVRServicesEnterQueue(t *testing.T) {
	f, s := newServices(t)
	ctx := context.Background()
	call := f.call(t, "13800138000")
	e, err := s.EnterQueue(ctx, call, "insurance", 3)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID == 0 || e.Queue != "insurance" {
		t.Errorf("entry = %+v", e)
	}
	var row struct {
		Call     string     `db:"call_id"`
		Priority int        `db:"priority"`
		Entered  time.Time  `db:"entered_at"`
		Left     *time.Time `db:"left_at"`
	}
	must(t, f.db.Get(&row, `SELECT call_id, priority, entered_at, left_at FROM hotline.queue_entries WHERE id = $1`, e.ID))
	if row.Call != call || row.Priority != 3 || !row.Entered.Equal(f.clock.Now()) || row.Left != nil {
		t.Errorf("row = %+v", row)
	}
	for _, tc := range []struct {
		name, call, queue string
	}{
		{"unknown queue", call, "nowhere"},
		{"unknown call", newUUID(), "general"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.EnterQueue(ctx, tc.call, tc.queue, 0); !errors.Is(err, hotline.ErrNotFound) {
				t.Errorf("err = %v, want ErrNotFound", err)
			}
		})
	}
}

func TestIVRServicesQueuePositions(t *testing.T) {
	f, s := newServices(t)
	ctx := context.Background()
	// Five callers a second apart, two of them with priority; one in another queue.
	priorities := []int{0, 0, 5, 0, 5}
	entries := make([]hotline.QueueEntry, len(priorities))
	for i, p := range priorities {
		e, err := s.EnterQueue(ctx, f.call(t, "13800138000"), "general", p)
		must(t, err)
		entries[i] = e
		f.clock.Advance(time.Second)
	}
	_, err := s.EnterQueue(ctx, f.call(t, "13800138000"), "insurance", 9)
	must(t, err)
	// Two entered at the same instant: the first in is ahead.
	same1, err := s.EnterQueue(ctx, f.call(t, "13800138000"), "general", 0)
	must(t, err)
	same2, err := s.EnterQueue(ctx, f.call(t, "13800138000"), "general", 0)
	must(t, err)
	entries = append(entries, same1, same2)

	check := func(t *testing.T, want []int) {
		t.Helper()
		for i, e := range entries {
			if want[i] == 0 {
				continue
			}
			pos, wait, err := s.QueueStatus(ctx, e)
			if err != nil {
				t.Errorf("entry %d: %v", i, err)
				continue
			}
			if pos != want[i] || wait != time.Duration(pos)*postgres.DefaultHandleTime {
				t.Errorf("entry %d: position %d wait %v, want %d and %v", i, pos, wait, want[i],
					time.Duration(want[i])*postgres.DefaultHandleTime)
			}
		}
	}
	t.Run("waiting", func(t *testing.T) { check(t, []int{3, 4, 1, 5, 2, 6, 7}) })

	must(t, s.LeaveQueue(ctx, entries[2], hotline.QueueAnswered))
	must(t, s.LeaveQueue(ctx, entries[0], hotline.QueueAbandoned))
	t.Run("after two left", func(t *testing.T) { check(t, []int{0, 2, 0, 3, 1, 4, 5}) })

	t.Run("left", func(t *testing.T) {
		if _, _, err := s.QueueStatus(ctx, entries[0]); !errors.Is(err, hotline.ErrNotFound) {
			t.Errorf("status of an entry that left: err = %v, want ErrNotFound", err)
		}
		if _, _, err := s.QueueStatus(ctx, hotline.QueueEntry{ID: entries[1].ID, Queue: "insurance"}); !errors.Is(err, hotline.ErrNotFound) {
			t.Errorf("status in the wrong queue: err = %v, want ErrNotFound", err)
		}
	})
}

func TestIVRServicesLeaveQueue(t *testing.T) {
	f, s := newServices(t)
	ctx := context.Background()
	e, err := s.EnterQueue(ctx, f.call(t, "13800138000"), "general", 0)
	must(t, err)
	f.clock.Advance(40 * time.Second)
	must(t, s.LeaveQueue(ctx, e, hotline.QueueAnswered))
	f.clock.Advance(time.Second)
	// The caller's hang-up, recorded second, does not overwrite the answer.
	must(t, s.LeaveQueue(ctx, e, hotline.QueueAbandoned))
	var row struct {
		Left    time.Time `db:"left_at"`
		Outcome string    `db:"outcome"`
	}
	must(t, f.db.Get(&row, `SELECT left_at, outcome FROM hotline.queue_entries WHERE id = $1`, e.ID))
	if row.Outcome != hotline.QueueAnswered || !row.Left.Equal(f.clock.Now().Add(-time.Second)) {
		t.Errorf("row = %+v", row)
	}
	for _, tc := range []struct {
		name    string
		e       hotline.QueueEntry
		outcome string
		err     error
	}{
		{"unknown entry", hotline.QueueEntry{ID: e.ID + 100, Queue: "general"}, hotline.QueueAbandoned, hotline.ErrNotFound},
		{"unknown outcome", e, "teleported", postgres.ErrBadInput},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := s.LeaveQueue(ctx, tc.e, tc.outcome); !errors.Is(err, tc.err) {
				t.Errorf("err = %v, want %v", err, tc.err)
			}
		})
	}
}

func TestIVRServicesQueueWaitEstimate(t *testing.T) {
	f, s := newServices(t)
	ctx := context.Background()
	now := f.clock.Now()
	// answered adds an answered entry of the queue whose call lasted talk after the answer.
	answered := func(queue string, answeredAgo, talk time.Duration) {
		call := f.call(t, "13800138000")
		at := now.Add(-answeredAgo)
		f.exec(t, `INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, left_at, outcome)
			VALUES ($1, $2, $3, $4, 'answered')`, call, queue, at.Add(-time.Minute), at)
		f.exec(t, `UPDATE hotline.calls SET started_at = $2, ended_at = $3, outcome = 'agent' WHERE id = $1`,
			call, at.Add(-2*time.Minute), at.Add(talk))
	}
	first, err := s.EnterQueue(ctx, f.call(t, "13800138000"), "general", 0)
	must(t, err)
	second, err := s.EnterQueue(ctx, f.call(t, "13800138000"), "general", 0)
	must(t, err)
	wait := func(e hotline.QueueEntry) time.Duration {
		t.Helper()
		_, w, err := s.QueueStatus(ctx, e)
		must(t, err)
		return w
	}
	if got, want := wait(second), 2*postgres.DefaultHandleTime; got != want {
		t.Errorf("without history: wait %v, want %v", got, want)
	}

	answered("general", 10*time.Minute, 60*time.Second)
	answered("general", 20*time.Minute, 120*time.Second)
	answered("general", 3*time.Hour, time.Hour)          // too old
	answered("insurance", 5*time.Minute, 30*time.Minute) // another queue
	// A call answered and still talking has no handling time yet.
	talking := f.call(t, "13800138000")
	f.exec(t, `INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, left_at, outcome)
		VALUES ($1, 'general', $2, $2, 'answered')`, talking, now.Add(-time.Minute))

	if got, want := wait(second), 2*postgres.DefaultHandleTime; got != want {
		t.Errorf("history within the cache period: wait %v, want the cached %v", got, want)
	}
	f.clock.Advance(time.Minute)
	for _, tc := range []struct {
		name string
		e    hotline.QueueEntry
		want time.Duration
	}{
		{"next", first, 90 * time.Second},
		{"second", second, 180 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := wait(tc.e); got != tc.want {
				t.Errorf("wait %v, want %v", got, tc.want)
			}
		})
	}
}

func TestIVRServicesQueueOfInstances(t *testing.T) {
	f := newACDFixture(t)
	ctx := context.Background()
	b := postgres.NewACD(f.store, "b")
	must(t, b.Start(ctx))
	ofA := f.enterOn(t, "a", "general", 0)
	f.clock.Advance(time.Second)
	ofB := f.enterOn(t, "b", "general", 0)
	f.clock.Advance(time.Second)
	ofNone := f.enterOn(t, "", "general", 0)         // no ACD runs
	ofUnknown := f.enterOn(t, "ghost", "general", 0) // an instance never registered
	var instances []string
	must(t, f.db.Select(&instances, `SELECT COALESCE(instance_id, '-') FROM hotline.queue_entries
		WHERE id IN ($1, $2, $3, $4) ORDER BY id`, ofA.ID, ofB.ID, ofNone.ID, ofUnknown.ID))
	if got, want := fmt.Sprint(instances), "[a b - -]"; got != want {
		t.Errorf("instances %s, want %s", got, want)
	}
	position := func(e hotline.QueueEntry) int {
		t.Helper()
		pos, _, err := f.ivr.QueueStatus(ctx, e)
		must(t, err)
		return pos
	}
	if got, want := position(ofNone), 3; got != want {
		t.Errorf("position %d, want %d", got, want)
	}
	// b stops answering: its call is no longer ahead of anyone.
	f.clock.Advance(postgres.DefaultLease)
	must(t, f.acd.Heartbeat(ctx))
	if got, want := position(ofNone), 2; got != want {
		t.Errorf("position with b gone: %d, want %d", got, want)
	}
}
