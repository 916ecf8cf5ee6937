package postgres

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// AccountHolder is a citizen reachable by mobile who has a utility account of Kind.
type AccountHolder struct {
	Mobile string `db:"mobile"`
	Kind   string `db:"kind"`
}

// sampleAccountHolders spreads the sample over the whole table by citizen id, so that
// benchmark lookups do not all hit the same few pages.
const sampleAccountHolders = `
SELECT DISTINCT ON (c.id) c.mobile, a.kind
FROM platform.citizens c
JOIN platform.utility_accounts a ON a.citizen_id = c.id
WHERE c.status = 'active' AND c.id % $1 = 0
ORDER BY c.id, a.kind
LIMIT $2`

// SampleAccountHolders returns up to n citizens with an account, spread over the table, for
// load tests and benchmarks.
func SampleAccountHolders(ctx context.Context, db *sqlx.DB, n int) ([]AccountHolder, error) {
	var total int64
	if err := db.GetContext(ctx, &total, `SELECT count(*) FROM platform.citizens`); err != nil {
		return nil, fmt.Errorf("sample account holders: %w", err)
	}
	step := max(total/int64(max(n, 1))/2, 1)
	var out []AccountHolder
	if err := db.SelectContext(ctx, &out, sampleAccountHolders, step, n); err != nil {
		return nil, fmt.Errorf("sample account holders: %w", err)
	}
	return out, nil
}
