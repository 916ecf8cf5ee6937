package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/foshan-hotline/hotline"
)

// Social insurance and housing fund data is for real-name users only. Each query reads the
// citizen and the account together, so one round trip tells an unknown citizen (no row), an
// ordinary user (level), and a real-name user without an account (NULL account columns) apart.

const socialInsuranceQuery = `
	SELECT c.level,
	       s.citizen_id, s.account_number, s.status, s.balance_fen, s.monthly_contribution_fen,
	       s.months_paid, s.last_paid_period, s.updated_at
	FROM platform.citizens c
	LEFT JOIN platform.social_insurance_accounts s ON s.citizen_id = c.id
	WHERE c.id = $1`

const housingFundQuery = `
	SELECT c.level,
	       h.citizen_id, h.account_number, h.status, h.employer, h.balance_fen, h.monthly_deposit_fen,
	       h.months_paid, h.last_deposit_period, h.updated_at
	FROM platform.citizens c
	LEFT JOIN platform.housing_fund_accounts h ON h.citizen_id = c.id
	WHERE c.id = $1`

type socialInsuranceRow struct {
	Level                  hotline.Level `db:"level"`
	CitizenID              *int64        `db:"citizen_id"`
	AccountNumber          *string       `db:"account_number"`
	Status                 *string       `db:"status"`
	BalanceFen             *int64        `db:"balance_fen"`
	MonthlyContributionFen *int64        `db:"monthly_contribution_fen"`
	MonthsPaid             *int          `db:"months_paid"`
	LastPaidPeriod         *time.Time    `db:"last_paid_period"`
	UpdatedAt              *time.Time    `db:"updated_at"`
}

type housingFundRow struct {
	Level             hotline.Level `db:"level"`
	CitizenID         *int64        `db:"citizen_id"`
	AccountNumber     *string       `db:"account_number"`
	Status            *string       `db:"status"`
	Employer          *string       `db:"employer"`
	BalanceFen        *int64        `db:"balance_fen"`
	MonthlyDepositFen *int64        `db:"monthly_deposit_fen"`
	MonthsPaid        *int          `db:"months_paid"`
	LastDepositPeriod *time.Time    `db:"last_deposit_period"`
	UpdatedAt         *time.Time    `db:"updated_at"`
}

// SocialInsurance returns a citizen's social insurance (社保) account. An ordinary (not
// real-name) user gets hotline.ErrNotRealName whether or not an account exists; an unknown
// citizen and a real-name user without an account get hotline.ErrNotFound.
func (s *Store) SocialInsurance(ctx context.Context, citizenID int64) (*hotline.SocialInsurance, error) {
	what := fmt.Sprintf("social insurance of citizen %d", citizenID)
	var r socialInsuranceRow
	if err := s.get(ctx, what+": citizen", &r, socialInsuranceQuery, citizenID); err != nil {
		return nil, err
	}
	if r.Level != hotline.LevelRealName {
		return nil, fmt.Errorf("%s: %w", what, hotline.ErrNotRealName)
	}
	if r.CitizenID == nil {
		return nil, fmt.Errorf("%s: no account: %w", what, hotline.ErrNotFound)
	}
	return &hotline.SocialInsurance{
		CitizenID:              *r.CitizenID,
		AccountNumber:          *r.AccountNumber,
		Status:                 *r.Status,
		BalanceFen:             *r.BalanceFen,
		MonthlyContributionFen: *r.MonthlyContributionFen,
		MonthsPaid:             *r.MonthsPaid,
		LastPaidPeriod:         r.LastPaidPeriod,
		UpdatedAt:              *r.UpdatedAt,
	}, nil
}

// HousingFund returns a citizen's housing provident fund (公积金) account. An ordinary (not
// real-name) user gets hotline.ErrNotRealName whether or not an account exists; an unknown
// citizen and a real-name user without an account get hotline.ErrNotFound.
func (s *Store) HousingFund(ctx context.Context, citizenID int64) (*hotline.HousingFund, error) {
	what := fmt.Sprintf("housing fund of citizen %d", citizenID)
	var r housingFundRow
	if err := s.get(ctx, what+": citizen", &r, housingFundQuery, citizenID); err != nil {
		return nil, err
	}
	if r.Level != hotline.LevelRealName {
		return nil, fmt.Errorf("%s: %w", what, hotline.ErrNotRealName)
	}
	if r.CitizenID == nil {
		return nil, fmt.Errorf("%s: no account: %w", what, hotline.ErrNotFound)
	}
	return &hotline.HousingFund{
		CitizenID:         *r.CitizenID,
		AccountNumber:     *r.AccountNumber,
		Status:            *r.Status,
		Employer:          *r.Employer,
		BalanceFen:        *r.BalanceFen,
		MonthlyDepositFen: *r.MonthlyDepositFen,
		MonthsPaid:        *r.MonthsPaid,
		LastDepositPeriod: r.LastDepositPeriod,
		UpdatedAt:         *r.UpdatedAt,
	}, nil
}
