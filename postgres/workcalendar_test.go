package postgres_test

import (
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/postgres"
)

// The default calendar of work orders tells Foshan's working days whatever zone the time is
// given in: 17:00 UTC on Friday 4 December is Saturday in Foshan, 17:00 UTC on Sunday is
// Monday.
func TestDefaultWorkOrderCalendarFoshanDay(t *testing.T) {
	cal := postgres.WorkOrderRules{}.OrDefault().Calendar
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{time.Date(2026, 12, 4, 15, 59, 0, 0, time.UTC), true}, // Friday 23:59 in Foshan
		{time.Date(2026, 12, 4, 17, 0, 0, 0, time.UTC), false}, // Saturday 01:00
		{time.Date(2026, 12, 6, 15, 0, 0, 0, time.UTC), false}, // Sunday 23:00
		{time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC), true},  // Monday 01:00
	} {
		if got := cal.WorkingDay(tt.at); got != tt.want {
			t.Errorf("working day at %s (%s in Foshan) = %v, want %v", tt.at.Format(time.RFC3339),
				tt.at.In(cst).Format("Mon 15:04"), got, tt.want)
		}
	}
}
