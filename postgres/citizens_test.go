package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/foshan-hotline/hotline"
)

func TestCitizenLookups(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		lookup func() (*hotline.Citizen, error)
		want   int64 // citizen id; 0 for none
		err    error
	}{
		{"by mobile", func() (*hotline.Citizen, error) { return f.store.CitizenByMobile(ctx, "13800138000") }, f.real, nil},
		{"by mobile, ordinary", func() (*hotline.Citizen, error) { return f.store.CitizenByMobile(ctx, "13900139000") }, f.ordinary, nil},
		{"by unknown mobile", func() (*hotline.Citizen, error) { return f.store.CitizenByMobile(ctx, "13511112222") }, 0, hotline.ErrNotFound},
		{"by ID number", func() (*hotline.Citizen, error) { return f.store.CitizenByIDNumber(ctx, realID) }, f.real, nil},
		{"by ID number of another", func() (*hotline.Citizen, error) { return f.store.CitizenByIDNumber(ctx, bareID) }, f.bare, nil},
		{"by ID number ending in X", func() (*hotline.Citizen, error) { return f.store.CitizenByIDNumber(ctx, xID) }, f.withX, nil},
		{"by ID number ending in x", func() (*hotline.Citizen, error) {
			return f.store.CitizenByIDNumber(ctx, strings.ToLower(xID))
		}, f.withX, nil},
		{"by unknown ID number", func() (*hotline.Citizen, error) { return f.store.CitizenByIDNumber(ctx, unknownID) }, 0, hotline.ErrNotFound},
		{"by ID number with a wrong check character", func() (*hotline.Citizen, error) {
			return f.store.CitizenByIDNumber(ctx, realID[:17]+wrongCheck(realID))
		}, 0, hotline.ErrIDNumber},
		{"by short ID number", func() (*hotline.Citizen, error) { return f.store.CitizenByIDNumber(ctx, "4406041990") }, 0, hotline.ErrIDNumber},
		{"by id", func() (*hotline.Citizen, error) { return f.store.Citizen(ctx, f.ordinary) }, f.ordinary, nil},
		{"by unknown id", func() (*hotline.Citizen, error) { return f.store.Citizen(ctx, f.real+1000) }, 0, hotline.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.lookup()
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if c != nil {
					t.Errorf("citizen = %+v with error %v", c, err)
				}
				if tt.err == hotline.ErrIDNumber && errors.Is(err, hotline.ErrNotFound) {
					t.Errorf("invalid ID number reported as not found: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := c.ID, tt.want; got != want {
				t.Errorf("id = %d, want %d", got, want)
			}
		})
	}
}

// wrongCheck returns a check character other than the ID number's own.
func wrongCheck(id string) string {
	if id[17] == '0' {
		return "1"
	}
	return "0"
}

func TestCitizenFields(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := f.store.Citizen(ctx, f.real)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Name, "王芳"; got != want {
		t.Errorf("Name = %q, want %q", got, want)
	}
	if got, want := c.Mobile, "13800138000"; got != want {
		t.Errorf("Mobile = %q, want %q", got, want)
	}
	if got, want := c.IDNumberMask, realID[:6]+"********"+realID[14:]; got != want {
		t.Errorf("IDNumberMask = %q, want %q", got, want)
	}
	if !c.RealName() || c.VerifiedAt == nil {
		t.Errorf("Level = %q, VerifiedAt = %v, want real-name and verified", c.Level, c.VerifiedAt)
	}
	if got, want := c.DistrictCode, "440604"; got != want {
		t.Errorf("DistrictCode = %q, want %q", got, want)
	}
	if got, want := c.Status, "active"; got != want {
		t.Errorf("Status = %q, want %q", got, want)
	}
	if !c.HasPIN {
		t.Error("HasPIN = false, want true")
	}
	o, err := f.store.Citizen(ctx, f.ordinary)
	if err != nil {
		t.Fatal(err)
	}
	if o.RealName() || o.VerifiedAt != nil || o.HasPIN {
		t.Errorf("ordinary citizen = %+v, want ordinary, unverified, no PIN", o)
	}
}

// TestCitizenMaskedOnly checks that the full ID number appears nowhere but through
// RevealIDNumber: not in what the lookups return, not in the stored row.
func TestCitizenMaskedOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c, err := f.store.CitizenByIDNumber(ctx, realID)
	if err != nil {
		t.Fatal(err)
	}
	middle := realID[6:14] // the birth date, which the mask hides
	if s := fmt.Sprintf("%+v", *c); strings.Contains(s, realID) || strings.Contains(s, middle) {
		t.Errorf("citizen %s shows the ID number", s)
	}
	var row string
	if err := f.db.Get(&row, `SELECT c::text FROM platform.citizens c WHERE id = $1`, f.real); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(row, realID) || strings.Contains(row, middle) {
		t.Errorf("stored row %s holds the ID number in clear", row)
	}
	if strings.Contains(row, realPIN) {
		t.Errorf("stored row %s holds the PIN in clear", row)
	}

	got, err := f.store.RevealIDNumber(ctx, f.real)
	if err != nil {
		t.Fatal(err)
	}
	if got != realID {
		t.Errorf("RevealIDNumber = %q, want %q", got, realID)
	}
	if _, err := f.store.RevealIDNumber(ctx, f.real+1000); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("RevealIDNumber of unknown citizen: err = %v, want ErrNotFound", err)
	}
}

func TestPing(t *testing.T) {
	f := newFixture(t)
	if err := f.store.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.db.Close()
	if err := f.store.Ping(context.Background()); err == nil {
		t.Error("Ping on a closed pool succeeded")
	}
}
