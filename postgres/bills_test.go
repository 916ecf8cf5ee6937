package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
)

func TestLatestBill(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b, err := f.store.LatestBill(ctx, f.water)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Period.Format(time.DateOnly), "2026-01-01"; got != want {
		t.Errorf("Period = %s, want %s", got, want)
	}
	if got, want := b.AmountFen, int64(4600); got != want {
		t.Errorf("AmountFen = %d, want %d", got, want)
	}
	if got, want := b.DueDate.Format(time.DateOnly), "2026-02-15"; got != want {
		t.Errorf("DueDate = %s, want %s", got, want)
	}
	if b.Paid() {
		t.Errorf("PaidAt = %v, want unpaid", b.PaidAt)
	}
	if got, want := b.AccountID, f.water; got != want {
		t.Errorf("AccountID = %d, want %d", got, want)
	}
	for _, id := range []int64{f.electricity, f.water + 1000} {
		if b, err := f.store.LatestBill(ctx, id); !errors.Is(err, hotline.ErrNotFound) || b != nil {
			t.Errorf("LatestBill(%d) = %v, %v; want ErrNotFound", id, b, err)
		}
	}
}

func TestRecentBills(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		account int64
		months  int
		want    []string // periods, newest first
	}{
		{f.water, 1, []string{"2026-01-01"}},
		{f.water, 2, []string{"2026-01-01", "2025-12-01"}},
		{f.water, 3, []string{"2026-01-01", "2025-12-01"}}, // November was never billed
		{f.water, 4, []string{"2026-01-01", "2025-12-01", "2025-10-01"}},
		{f.water, 12, []string{"2026-01-01", "2025-12-01", "2025-10-01", "2025-09-01", "2025-08-01"}},
		{f.electricity, 12, nil},
		{f.water + 1000, 12, nil},
	}
	for _, tt := range tests {
		bills, err := f.store.RecentBills(ctx, tt.account, tt.months)
		if err != nil {
			t.Fatal(err)
		}
		if bills == nil {
			t.Errorf("RecentBills(%d, %d) = nil, want a list", tt.account, tt.months)
		}
		var got []string
		for _, b := range bills {
			got = append(got, b.Period.Format(time.DateOnly))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("RecentBills(%d, %d) periods = %v, want %v", tt.account, tt.months, got, tt.want)
		}
	}
	if _, err := f.store.RecentBills(ctx, f.water, 0); err == nil {
		t.Error("RecentBills with 0 months: no error")
	}
}
