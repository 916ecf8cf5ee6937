package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/foshan-hotline/hotline"
)

func TestStationsByDistrict(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		district string
		want     []int
	}{
		{"440604", []int{f.chanchengA, f.chanchengB}},
		{"440605", []int{f.nanhai}},
		{"440608", nil},
		{"999999", nil},
	}
	for _, tt := range tests {
		stations, err := f.store.StationsByDistrict(ctx, tt.district)
		if err != nil {
			t.Fatal(err)
		}
		if stations == nil {
			t.Errorf("StationsByDistrict(%s) = nil, want a list", tt.district)
		}
		var got []int
		for _, s := range stations {
			got = append(got, s.ID)
			if s.DistrictCode != tt.district {
				t.Errorf("station %d is in %s, want %s", s.ID, s.DistrictCode, tt.district)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("StationsByDistrict(%s) = %v, want %v", tt.district, got, tt.want)
		}
	}
}

func TestStation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	s, err := f.store.Station(ctx, f.nanhai)
	if err != nil {
		t.Fatal(err)
	}
	want := hotline.Station{ID: f.nanhai, DistrictCode: "440605", Name: "桂城街道社区服务站",
		Address: "南海区南海大道北1号", Hours: "周一至周五 9:00-17:00", Phone: "0757-86000001"}
	if *s != want {
		t.Errorf("Station = %+v, want %+v", *s, want)
	}
	if s, err := f.store.Station(ctx, f.nanhai+1000); !errors.Is(err, hotline.ErrNotFound) || s != nil {
		t.Errorf("Station of unknown id = %v, %v; want ErrNotFound", s, err)
	}
	ds, err := f.store.Districts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds, hotline.Districts) {
		t.Errorf("Districts = %v, want %v", ds, hotline.Districts)
	}
}
