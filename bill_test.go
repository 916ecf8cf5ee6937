package hotline_test

import (
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
)

// TestBillOverdue: a bill due on 5 December is overdue from midnight in Foshan (16:00 UTC),
// as the desk's card says, not from midnight UTC; a paid bill never is.
func TestBillOverdue(t *testing.T) {
	due := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC) // a DATE column as the driver reads it
	paid := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		now  time.Time
		paid bool
		want bool
	}{
		{time.Date(2026, 12, 5, 15, 59, 59, 0, time.UTC), false, false}, // 23:59:59 in Foshan on the due day
		{time.Date(2026, 12, 5, 16, 0, 0, 0, time.UTC), false, true},    // midnight in Foshan
		{time.Date(2026, 12, 5, 19, 55, 0, 0, time.UTC), false, true},
		{time.Date(2026, 12, 6, 3, 55, 0, 0, time.FixedZone("CST", 8*3600)), false, true},
		{time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC), false, false},
		{time.Date(2026, 12, 9, 12, 0, 0, 0, time.UTC), true, false},
	}
	for _, tt := range tests {
		b := hotline.Bill{DueDate: due}
		if tt.paid {
			b.PaidAt = &paid
		}
		if got := b.Overdue(tt.now); got != tt.want {
			t.Errorf("due %s, paid %v, at %s: overdue %v, want %v", due.Format(time.DateOnly), tt.paid, tt.now.Format(time.RFC3339), got, tt.want)
		}
	}
}
