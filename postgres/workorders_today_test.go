package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/agentdesk/workorder"
	"github.com/foshan-hotline/hotline/postgres"
)

// Without a zone, the list's "today" is Foshan's: at 01:00 on Thursday 10 December in Foshan
// (17:00 UTC on the 9th) an order due at the end of the 10th is due today, and one due at the
// end of the 11th is not.
func TestListWorkOrdersDueTodayFoshan(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rules := postgres.WorkOrderRules{}.OrDefault()
	accepted := time.Date(2026, 12, 7, 10, 0, 0, 0, cst) // Monday
	for _, cat := range []workorder.Category{workorder.Consultation, workorder.Complaint} {
		if _, err := postgres.CreateWorkOrder(ctx, f.db, rules, accepted, postgres.NewWorkOrder{Category: cat,
			Urgency: workorder.Normal, Title: "查询"}); err != nil {
			t.Fatal(err)
		}
	}
	// The complaint is due on the 24th: move it to the end of the 11th.
	f.exec(t, `UPDATE hotline.work_orders SET due_at = $1 WHERE category = 'complaint'`, time.Date(2026, 12, 12, 0, 0, 0, 0, cst))
	now := time.Date(2026, 12, 9, 17, 0, 0, 0, time.UTC)
	orders, total, err := postgres.ListWorkOrders(ctx, f.db, now, postgres.WorkOrderFilter{Due: "today", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || len(orders) != 1 || orders[0].Category != workorder.Consultation ||
		!orders[0].DueAt.Equal(time.Date(2026, 12, 11, 0, 0, 0, 0, cst)) {
		t.Errorf("due today at %s: %d orders %+v, want the consultation due at the end of 10 December", now.In(cst), total, orders)
	}
}
