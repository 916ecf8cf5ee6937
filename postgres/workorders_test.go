package postgres_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk/workorder"
	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/postgres"
)

// shippedRules are the default limits on the hotline calendar of flows/calendars.yaml.
func shippedRules(t *testing.T) postgres.WorkOrderRules {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repotest.Root(t), "flows", "calendars.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cals, err := flow.ParseCalendars(data)
	if err != nil {
		t.Fatal(err)
	}
	return postgres.WorkOrderRules{Calendar: cals["hotline"], Limits: workorder.DefaultLimits}
}

// A complaint accepted on the Tuesday before National Day is due at the end of its 13th
// working day: the Golden Week does not count, the make-up Saturday 10 October does.
func TestWorkOrderDeadlineAcrossHoliday(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rules := shippedRules(t)
	cst := time.FixedZone("CST", 8*3600)
	accepted := time.Date(2026, 9, 29, 10, 0, 0, 0, cst)
	id, err := postgres.CreateWorkOrder(ctx, f.db, rules, accepted, postgres.NewWorkOrder{CallerNumber: "13800138000",
		Category: workorder.Complaint, Urgency: workorder.Normal, Title: "投诉噪音"})
	if err != nil {
		t.Fatal(err)
	}
	o, err := postgres.GetWorkOrder(ctx, f.db, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 10, 23, 0, 0, 0, 0, cst); !o.DueAt.Equal(want) {
		t.Errorf("due %s, want the end of 22 October (%s)", o.DueAt.In(cst), want)
	}
	if o.Number != "FS20260929-0001" || o.Status != workorder.Accepted || len(o.History) != 1 {
		t.Errorf("order %s %s, %d lines of history", o.Number, o.Status, len(o.History))
	}
	// The day's sequence goes on; the next day starts again at 1 (in China Standard Time,
	// whatever the clock's zone).
	id2, _ := postgres.CreateWorkOrder(ctx, f.db, rules, accepted.Add(time.Hour), postgres.NewWorkOrder{
		Category: workorder.Consultation, Urgency: workorder.Emergency, Title: "应急"})
	id3, _ := postgres.CreateWorkOrder(ctx, f.db, rules, time.Date(2026, 9, 29, 16, 30, 0, 0, time.UTC), postgres.NewWorkOrder{
		Category: workorder.Praise, Urgency: workorder.Urgent, Title: "表扬"})
	o2, _ := postgres.GetWorkOrder(ctx, f.db, id2)
	o3, _ := postgres.GetWorkOrder(ctx, f.db, id3)
	if o2.Number != "FS20260929-0002" || o3.Number != "FS20260930-0001" {
		t.Errorf("numbers %s, %s", o2.Number, o3.Number)
	}
	if want := accepted.Add(25 * time.Hour); !o2.DueAt.Equal(want) {
		t.Errorf("emergency due %s, want %s", o2.DueAt, want)
	}
}

// newHelpRequest creates a help request accepted at now (1 December 2026, 18:00 in Foshan).
func newHelpRequest(t *testing.T) (*fixture, postgres.WorkOrderRules, time.Time, int64) {
	t.Helper()
	f := newFixture(t)
	rules := shippedRules(t)
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	id, err := postgres.CreateWorkOrder(context.Background(), f.db, rules, now, postgres.NewWorkOrder{Category: workorder.HelpRequest,
		Urgency: workorder.Normal, Title: "求助"})
	if err != nil {
		t.Fatal(err)
	}
	return f, rules, now, id
}

// Two users acting on the same order at once: the row lock lets one dispatch through, the
// other finds the order dispatched and is refused; one line of history.
func TestWorkOrderConcurrentActions(t *testing.T) {
	f, rules, now, id := newHelpRequest(t)
	ctx := context.Background()
	var err error
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			errs[i] = postgres.ActOnWorkOrder(ctx, f.db, rules, now, id, postgres.WorkOrderAction{Action: workorder.Dispatch,
				Actor: workorder.Hotline, DepartmentID: int64(f.police)})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, hotline.ErrConflict):
			t.Errorf("dispatch: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d dispatches went through, want 1", ok)
	}
	if n := f.count(t, `SELECT count(*) FROM hotline.work_order_events WHERE work_order_id = $1 AND action = 'dispatch'`, id); n != 1 {
		t.Errorf("%d dispatch lines of history", n)
	}
	// A department user of another department may not act on it.
	err = postgres.ActOnWorkOrder(ctx, f.db, rules, now, id, postgres.WorkOrderAction{Action: workorder.Sign,
		Actor: workorder.Department, ActorDepartment: int64(f.commerce)})
	if !errors.Is(err, hotline.ErrForbidden) {
		t.Errorf("another department signs: %v", err)
	}
}

// The deadline in an action's refusal is Foshan's, as the desk's users read it, whatever
// zone the database session hands it out in.
func TestWorkOrderRefusalStatesLocalDeadline(t *testing.T) {
	f, rules, now, id := newHelpRequest(t)
	ctx := context.Background()
	var err error
	var due time.Time
	if err := f.db.Get(&due, `SELECT due_at FROM hotline.work_orders WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	want := due.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04") + " CST"
	err = postgres.ActOnWorkOrder(ctx, f.db, rules, now, id, postgres.WorkOrderAction{Action: workorder.Urge, Actor: workorder.Hotline})
	if err == nil || !strings.Contains(err.Error(), "due "+want) {
		t.Errorf("urge before the deadline: %v, want it due %s", err, want)
	}
	for _, act := range []postgres.WorkOrderAction{
		{Action: workorder.Dispatch, Actor: workorder.Hotline, DepartmentID: int64(f.police)},
		{Action: workorder.Sign, Actor: workorder.Department, ActorDepartment: int64(f.police)},
	} {
		if err := postgres.ActOnWorkOrder(ctx, f.db, rules, now, id, act); err != nil {
			t.Fatalf("%s: %v", act.Action, err)
		}
	}
	err = postgres.ActOnWorkOrder(ctx, f.db, rules, now, id, postgres.WorkOrderAction{Action: workorder.RequestExtension,
		Actor: workorder.Department, ActorDepartment: int64(f.police), DueAt: due.Add(-time.Hour), Note: "需要时间"})
	if err == nil || !strings.Contains(err.Error(), "("+want+")") {
		t.Errorf("an extension before the deadline: %v, want the current one, %s", err, want)
	}
}
