package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
)

func TestAccounts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	t.Run("in menu order", func(t *testing.T) {
		got, err := f.store.Accounts(ctx, f.real)
		if err != nil {
			t.Fatal(err)
		}
		want := []int64{f.water, f.electricity, f.telecom}
		if len(got) != len(want) {
			t.Fatalf("got %d accounts, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i].ID != want[i] || got[i].CitizenID != f.real {
				t.Errorf("account %d = %d of citizen %d, want %d of %d", i, got[i].ID, got[i].CitizenID, want[i], f.real)
			}
		}
		if got, want := got[0].Provider, "佛山水业集团"; got != want {
			t.Errorf("Provider = %q, want %q", got, want)
		}
		if got, want := got[0].OpenedOn.Format(time.DateOnly), "2019-05-01"; got != want {
			t.Errorf("OpenedOn = %s, want %s", got, want)
		}
	})
	for _, id := range []int64{0, f.ordinary} {
		got, err := f.store.Accounts(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil || len(got) != 0 {
			t.Errorf("Accounts(%d) = %v, want an empty list", id, got)
		}
	}
}

func TestAccountByNumber(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		kind   hotline.AccountKind
		number string
		want   int64
	}{
		{hotline.Water, "100200300", f.water},
		{hotline.Electricity, "0300123456", f.electricity},
		{hotline.Telecom, "075588880001", f.telecom},
		{hotline.Gas, "100200300", 0},   // the number of another kind
		{hotline.Water, "100200301", 0}, // no such number
	}
	for _, tt := range tests {
		t.Run(string(tt.kind)+" "+tt.number, func(t *testing.T) {
			a, err := f.store.AccountByNumber(ctx, tt.kind, tt.number)
			if tt.want == 0 {
				if !errors.Is(err, hotline.ErrNotFound) || a != nil {
					t.Fatalf("AccountByNumber = %v, %v; want ErrNotFound", a, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := a.ID, tt.want; got != want {
				t.Errorf("ID = %d, want %d", got, want)
			}
			if got, want := a.Kind, tt.kind; got != want {
				t.Errorf("Kind = %q, want %q", got, want)
			}
		})
	}
	a, err := f.store.Account(ctx, f.telecom)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.AccountNumber, "075588880001"; got != want {
		t.Errorf("Account(%d).AccountNumber = %q, want %q", f.telecom, got, want)
	}
	if _, err := f.store.Account(ctx, f.telecom+1000); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("Account of unknown id: err = %v, want ErrNotFound", err)
	}
}
