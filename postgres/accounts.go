package postgres

import (
	"context"
	"fmt"

	"github.com/foshan-hotline/hotline"
)

const accountColumns = `
	id, citizen_id, kind, provider, account_number, address, opened_on`

const accountsOfCitizenQuery = `SELECT` + accountColumns + `
	FROM platform.utility_accounts
	WHERE citizen_id = $1
	ORDER BY array_position(ARRAY['water', 'electricity', 'gas', 'telecom'], kind), id`

const accountByNumberQuery = `SELECT` + accountColumns + `
	FROM platform.utility_accounts
	WHERE kind = $1 AND account_number = $2`

const accountByIDQuery = `SELECT` + accountColumns + `
	FROM platform.utility_accounts
	WHERE id = $1`

// Accounts returns a citizen's utility accounts in menu order (water, electricity, gas,
// telecom). A citizen without accounts, or an unknown citizen, has an empty list.
func (s *Store) Accounts(ctx context.Context, citizenID int64) ([]hotline.UtilityAccount, error) {
	accounts := make([]hotline.UtilityAccount, 0, 4)
	if err := s.list(ctx, fmt.Sprintf("accounts of citizen %d", citizenID), &accounts, accountsOfCitizenQuery, citizenID); err != nil {
		return nil, err
	}
	return accounts, nil
}

// AccountByNumber returns the utility account of a kind with an account number, as a caller
// keys it in.
func (s *Store) AccountByNumber(ctx context.Context, kind hotline.AccountKind, number string) (*hotline.UtilityAccount, error) {
	var a hotline.UtilityAccount
	if err := s.get(ctx, fmt.Sprintf("%s account by number", kind), &a, accountByNumberQuery, kind, number); err != nil {
		return nil, err
	}
	return &a, nil
}

// Account returns the utility account with the platform id.
func (s *Store) Account(ctx context.Context, id int64) (*hotline.UtilityAccount, error) {
	var a hotline.UtilityAccount
	if err := s.get(ctx, fmt.Sprintf("account %d", id), &a, accountByIDQuery, id); err != nil {
		return nil, err
	}
	return &a, nil
}
