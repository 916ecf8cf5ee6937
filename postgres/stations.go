package postgres

import (
	"context"
	"fmt"

	"github.com/foshan-hotline/hotline"
)

const stationColumns = `
	id, district_code, name, address, hours, phone`

const stationsByDistrictQuery = `SELECT` + stationColumns + `
	FROM platform.service_stations
	WHERE district_code = $1
	ORDER BY id`

const stationByIDQuery = `SELECT` + stationColumns + `
	FROM platform.service_stations
	WHERE id = $1`

const districtsQuery = `
	SELECT code, name
	FROM platform.districts
	ORDER BY code`

// StationsByDistrict returns the service stations (服务网点) of a district, by its six-digit
// administrative code (e.g. 440604 for 禅城区). An unknown district has an empty list.
func (s *Store) StationsByDistrict(ctx context.Context, districtCode string) ([]hotline.Station, error) {
	stations := make([]hotline.Station, 0, 8)
	if err := s.list(ctx, fmt.Sprintf("stations of district %s", districtCode), &stations, stationsByDistrictQuery, districtCode); err != nil {
		return nil, err
	}
	return stations, nil
}

// Station returns the service station with the platform id.
func (s *Store) Station(ctx context.Context, id int) (*hotline.Station, error) {
	var st hotline.Station
	if err := s.get(ctx, fmt.Sprintf("station %d", id), &st, stationByIDQuery, id); err != nil {
		return nil, err
	}
	return &st, nil
}

// Districts returns the districts the platform knows, by code.
func (s *Store) Districts(ctx context.Context) ([]hotline.District, error) {
	ds := make([]hotline.District, 0, len(hotline.Districts))
	if err := s.list(ctx, "districts", &ds, districtsQuery); err != nil {
		return nil, err
	}
	return ds, nil
}
