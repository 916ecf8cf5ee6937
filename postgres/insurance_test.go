package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
)

// TestInsuranceRealNameOnly checks that social insurance and housing fund data reach only
// real-name users, whatever the data holds.
func TestInsuranceRealNameOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		citizen int64
		err     error
	}{
		{"real-name with accounts", f.real, nil},
		{"ordinary without accounts", f.ordinary, hotline.ErrNotRealName},
		{"ordinary with accounts", f.incons, hotline.ErrNotRealName},
		{"real-name without accounts", f.bare, hotline.ErrNotFound},
		{"unknown citizen", f.real + 1000, hotline.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			si, err := f.store.SocialInsurance(ctx, tt.citizen)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Errorf("SocialInsurance err = %v, want %v", err, tt.err)
			}
			if (si != nil) != (tt.err == nil) {
				t.Errorf("SocialInsurance = %+v with error %v", si, err)
			}
			hf, err := f.store.HousingFund(ctx, tt.citizen)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Errorf("HousingFund err = %v, want %v", err, tt.err)
			}
			if (hf != nil) != (tt.err == nil) {
				t.Errorf("HousingFund = %+v with error %v", hf, err)
			}
			if errors.Is(err, hotline.ErrNotRealName) && errors.Is(err, hotline.ErrNotFound) {
				t.Errorf("error %v is both not-real-name and not-found", err)
			}
		})
	}
}

func TestInsuranceFields(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	si, err := f.store.SocialInsurance(ctx, f.real)
	if err != nil {
		t.Fatal(err)
	}
	if si.CitizenID != f.real || si.AccountNumber != "4406040001" || si.Status != "active" ||
		si.BalanceFen != 3456789 || si.MonthlyContributionFen != 120000 || si.MonthsPaid != 86 {
		t.Errorf("SocialInsurance = %+v", si)
	}
	if si.LastPaidPeriod == nil || si.LastPaidPeriod.Format(time.DateOnly) != "2026-02-01" {
		t.Errorf("LastPaidPeriod = %v, want 2026-02-01", si.LastPaidPeriod)
	}
	if got, want := si.UpdatedAt.UTC().Format(time.RFC3339), "2026-02-15T02:00:00Z"; got != want {
		t.Errorf("UpdatedAt = %s, want %s", got, want)
	}
	hf, err := f.store.HousingFund(ctx, f.real)
	if err != nil {
		t.Fatal(err)
	}
	if hf.CitizenID != f.real || hf.AccountNumber != "8806040001" || hf.Employer != "佛山市顺德区美的电器有限公司" ||
		hf.BalanceFen != 5678900 || hf.MonthlyDepositFen != 96000 || hf.MonthsPaid != 60 {
		t.Errorf("HousingFund = %+v", hf)
	}
	if hf.LastDepositPeriod != nil {
		t.Errorf("LastDepositPeriod = %v, want none", hf.LastDepositPeriod)
	}
}
