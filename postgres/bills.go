package postgres

import (
	"context"
	"fmt"

	"github.com/foshan-hotline/hotline"
)

const billColumns = `
	account_id, period, amount_fen, due_date, paid_at`

// Both queries walk the primary key (account_id, period) backwards.
const latestBillQuery = `SELECT` + billColumns + `
	FROM platform.bills
	WHERE account_id = $1
	ORDER BY period DESC
	LIMIT 1`

const recentBillsQuery = `SELECT` + billColumns + `
	FROM platform.bills
	WHERE account_id = $1
	  AND period > (SELECT max(period) FROM platform.bills WHERE account_id = $1) - make_interval(months => $2)
	ORDER BY period DESC`

// LatestBill returns the bill of the most recent month billed on an account; an account
// without bills, or an unknown account, is hotline.ErrNotFound.
func (s *Store) LatestBill(ctx context.Context, accountID int64) (*hotline.Bill, error) {
	var b hotline.Bill
	if err := s.get(ctx, fmt.Sprintf("latest bill of account %d", accountID), &b, latestBillQuery, accountID); err != nil {
		return nil, err
	}
	return &b, nil
}

// RecentBills returns the bills of an account for the months months up to and including the
// latest month billed, newest first (one bill per month, so at most months bills). The months
// are counted back from the latest bill, not from today, so a billing delay hides none.
func (s *Store) RecentBills(ctx context.Context, accountID int64, months int) ([]hotline.Bill, error) {
	if months <= 0 {
		return nil, fmt.Errorf("recent bills of account %d: months must be positive, got %d", accountID, months)
	}
	bills := make([]hotline.Bill, 0, months)
	if err := s.list(ctx, fmt.Sprintf("recent bills of account %d", accountID), &bills, recentBillsQuery, accountID, months); err != nil {
		return nil, err
	}
	return bills, nil
}
