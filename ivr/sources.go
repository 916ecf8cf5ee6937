package ivr

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

// Platform is the platform data the IVR reads; postgres.Store implements it.
type Platform interface {
	CitizenByMobile(ctx context.Context, mobile string) (*hotline.Citizen, error)
	Accounts(ctx context.Context, citizenID int64) ([]hotline.UtilityAccount, error)
	AccountByNumber(ctx context.Context, kind hotline.AccountKind, number string) (*hotline.UtilityAccount, error)
	LatestBill(ctx context.Context, accountID int64) (*hotline.Bill, error)
	ApplicationByCaseNumber(ctx context.Context, caseNumber string) (*hotline.Application, error)
	ApplicationsOfCitizen(ctx context.Context, citizenID int64, limit int) ([]hotline.Application, error)
	SocialInsurance(ctx context.Context, citizenID int64) (*hotline.SocialInsurance, error)
	HousingFund(ctx context.Context, citizenID int64) (*hotline.HousingFund, error)
	StationsByDistrict(ctx context.Context, districtCode string) ([]hotline.Station, error)
	ServiceItemByCode(ctx context.Context, code string) (*hotline.ServiceItem, error)
}

// PlatformSources answers the flows' lookups from the platform's data, converting records to
// what flows may see (no names, no ID numbers).
type PlatformSources struct {
	Data Platform
	// Now decides whether a bill is overdue; nil means time.Now.
	Now func() time.Time
}

var _ flow.Sources = (*PlatformSources)(nil)

// Lookup implements flow.Sources.
func (s *PlatformSources) Lookup(ctx context.Context, source string, args map[string]any) (any, error) {
	str := func(k string) string { v, _ := args[k].(string); return v }
	num := func(k string) int64 { v, _ := args[k].(int64); return v }
	switch source {
	case "citizen_by_caller":
		c, err := s.Data.CitizenByMobile(ctx, NationalNumber(str("mobile")))
		if err != nil {
			return nil, err
		}
		return flow.CitizenOf(c), nil
	case "accounts_of_citizen":
		all, err := s.Data.Accounts(ctx, num("citizen_id"))
		if err != nil {
			return nil, err
		}
		out := []flow.Account{}
		for i := range all {
			if k := str("kind"); k == "" || string(all[i].Kind) == k {
				out = append(out, flow.AccountOf(&all[i]))
			}
		}
		return out, nil
	case "account_by_number":
		a, err := s.Data.AccountByNumber(ctx, hotline.AccountKind(str("kind")), str("number"))
		if err != nil {
			return nil, err
		}
		return flow.AccountOf(a), nil
	case "latest_bill":
		b, err := s.Data.LatestBill(ctx, num("account_id"))
		if err != nil {
			return nil, err
		}
		return flow.BillOf(b, s.now()), nil
	case "application_by_case":
		a, err := s.Data.ApplicationByCaseNumber(ctx, str("case_number"))
		if err != nil {
			return nil, err
		}
		return flow.ApplicationOf(a), nil
	case "applications_of_citizen":
		limit := int(num("limit"))
		if limit <= 0 {
			limit = 5
		}
		apps, err := s.Data.ApplicationsOfCitizen(ctx, num("citizen_id"), limit)
		if err != nil {
			return nil, err
		}
		out := make([]flow.Application, len(apps))
		for i := range apps {
			out[i] = flow.ApplicationOf(&apps[i])
		}
		return out, nil
	case "social_insurance":
		si, err := s.Data.SocialInsurance(ctx, num("citizen_id"))
		if err != nil {
			return nil, err
		}
		return flow.SocialInsuranceOf(si), nil
	case "housing_fund":
		hf, err := s.Data.HousingFund(ctx, num("citizen_id"))
		if err != nil {
			return nil, err
		}
		return flow.HousingFundOf(hf), nil
	case "stations_of_district":
		st, err := s.Data.StationsByDistrict(ctx, str("district_code"))
		if err != nil {
			return nil, err
		}
		out := make([]flow.Station, len(st))
		for i := range st {
			out[i] = flow.StationOf(&st[i])
		}
		return out, nil
	case "service_item":
		it, err := s.Data.ServiceItemByCode(ctx, str("code"))
		if err != nil {
			return nil, err
		}
		return flow.ServiceItemOf(it), nil
	}
	return nil, fmt.Errorf("unknown data source %q", source)
}

// NationalNumber strips the country code a carrier may put before a Chinese mobile number
// (+86, 0086, 86), so that it matches the platform's 11-digit mobiles.
func NationalNumber(n string) string {
	for _, prefix := range []string{"+86", "0086", "86"} {
		if rest, ok := strings.CutPrefix(n, prefix); ok && len(rest) == 11 && rest[0] == '1' {
			return rest
		}
	}
	return n
}

func (s *PlatformSources) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}
