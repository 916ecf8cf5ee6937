package seed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jmoiron/sqlx"
)

// dispositions are the outcome codes (话后小结) every queue gets when it has none.
var dispositions = []struct{ code, name string }{
	{"answered", "已解答"}, {"work_order", "已建工单"}, {"transferred", "已转接"}, {"callback", "需回拨"}, {"invalid", "无效来电"},
}

// seedDispositions gives each queue without outcome codes the usual ones.
func seedDispositions(ctx context.Context, tx *sqlx.Tx) error {
	var bare []string
	if err := tx.SelectContext(ctx, &bare, `SELECT id FROM hotline.queues q
		WHERE NOT EXISTS (SELECT 1 FROM hotline.dispositions d WHERE d.queue_id = q.id) ORDER BY id`); err != nil {
		return fmt.Errorf("seed: dispositions: %w", err)
	}
	for _, q := range bare {
		for i, d := range dispositions {
			if _, err := tx.ExecContext(ctx, `INSERT INTO hotline.dispositions (queue_id, code, name, position)
				VALUES ($1, $2, $3, $4)`, q, d.code, d.name, i+1); err != nil {
				return fmt.Errorf("seed: disposition %s of %s: %w", d.code, q, err)
			}
		}
	}
	return nil
}

// seedDepartmentUsers adds a department user (部门用户) dept-<id> for each department, with
// a password derived from the seed, and returns their credentials.
func seedDepartmentUsers(ctx context.Context, tx *sqlx.Tx, seed int64, cost int, now time.Time) ([]Credential, error) {
	var depts []struct {
		ID   int64  `db:"id"`
		Name string `db:"name"`
	}
	if err := tx.SelectContext(ctx, &depts, `SELECT id, name FROM platform.departments ORDER BY id`); err != nil {
		return nil, fmt.Errorf("seed: departments: %w", err)
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x12345))
	creds := make([]Credential, len(depts))
	secrets := make([]string, len(depts))
	for i, d := range depts {
		pw := make([]byte, 10)
		for k := range pw {
			pw[k] = passwordAlphabet[r.IntN(len(passwordAlphabet))]
		}
		creds[i] = Credential{Username: fmt.Sprintf("dept-%d", d.ID), Password: string(pw), Role: "department",
			DisplayName: d.Name + "（部门用户）"}
		secrets[i] = string(pw)
	}
	hashes, err := hashAll(secrets, cost)
	if err != nil {
		return nil, err
	}
	for i, d := range depts {
		if _, err := tx.ExecContext(ctx, `INSERT INTO hotline.agents (username, display_name, role, password_hash, department_id, created_at)
			VALUES ($1, $2, 'department', $3, $4, $5)`, creds[i].Username, creds[i].DisplayName, hashes[i], d.ID, now); err != nil {
			return nil, fmt.Errorf("seed: department user %s: %w", creds[i].Username, err)
		}
	}
	return creds, nil
}
