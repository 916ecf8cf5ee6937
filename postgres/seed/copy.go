package seed

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// table is a table the seed loads, with the columns it fills in COPY order.
type table struct {
	schema, name string
	cols         []string
	// order is the ORDER BY of Checksum: the table's key.
	order string
}

func (t table) qualified() string { return t.schema + "." + t.name }

// The seeded tables, in load order (referenced before referencing).
var (
	tDistricts   = table{"platform", "districts", []string{"code", "name"}, "code"}
	tDepartments = table{"platform", "departments", []string{"id", "name", "phone"}, "id"}
	tItems       = table{"platform", "service_items", []string{"id", "code", "name", "department_id", "category",
		"materials", "fee_fen", "time_limit_days", "keywords", "description"}, "id"}
	tStations = table{"platform", "service_stations", []string{"id", "district_code", "name", "address", "hours", "phone"}, "id"}
	tSkills   = table{"hotline", "skills", []string{"id", "name"}, "id"}
	tQueues   = table{"hotline", "queues", []string{"id", "name", "skill_id", "max_wait_seconds", "announce_every_seconds"}, "id"}
	tAgents   = table{"hotline", "agents", []string{"id", "username", "display_name", "role", "password_hash",
		"endpoint", "active", "created_at"}, "id"}
	tAgentSkills = table{"hotline", "agent_skills", []string{"agent_id", "skill_id", "level"}, "agent_id, skill_id"}
	tCitizens    = table{"platform", "citizens", []string{"id", "name", "mobile", "id_number_enc", "id_number_hmac",
		"id_number_mask", "level", "district_code", "pin_hash", "status", "registered_at", "verified_at"}, "id"}
	tAccounts = table{"platform", "utility_accounts", []string{"id", "citizen_id", "kind", "provider",
		"account_number", "address", "opened_on"}, "id"}
	tBills = table{"platform", "bills", []string{"account_id", "period", "amount_fen", "due_date", "paid_at"},
		"account_id, period"}
	tSocial = table{"platform", "social_insurance_accounts", []string{"citizen_id", "account_number", "status",
		"balance_fen", "monthly_contribution_fen", "months_paid", "last_paid_period", "updated_at"}, "citizen_id"}
	tHousing = table{"platform", "housing_fund_accounts", []string{"citizen_id", "account_number", "status",
		"employer", "balance_fen", "monthly_deposit_fen", "months_paid", "last_deposit_period", "updated_at"}, "citizen_id"}
	tApplications = table{"platform", "applications", []string{"id", "case_number", "item_id", "citizen_id",
		"department_id", "status", "submitted_at", "updated_at"}, "id"}
	tEvents = table{"platform", "application_events", []string{"application_id", "seq", "status", "at", "note"},
		"application_id, seq"}
	tSubscriptions = table{"platform", "subscriptions", []string{"id", "citizen_id", "topic", "channel", "created_at"}, "id"}
	tMessages      = table{"platform", "mailbox_messages", []string{"id", "citizen_id", "subject", "body",
		"sent_at", "read_at"}, "id"}
)

var seededTables = []table{
	tDistricts, tDepartments, tItems, tStations, tSkills, tQueues, tAgents, tAgentSkills,
	tCitizens, tAccounts, tBills, tSocial, tHousing, tApplications, tEvents, tSubscriptions, tMessages,
}

// put sends one row to a COPY stream, values in the table's column order.
type put func(vals ...any) error

// step fills one table.
type step struct {
	table table
	fill  func(put) error
}

// loader runs the COPY steps inside the seed's transaction.
type loader struct {
	tx   *sqlx.Tx
	log  *slog.Logger
	rows map[string]int64
}

func (l *loader) load(ctx context.Context, s step) error {
	start := time.Now()
	cols := make([]string, len(s.table.cols))
	for i, c := range s.table.cols {
		cols[i] = pq.QuoteIdentifier(c)
	}
	q := fmt.Sprintf("COPY %s.%s (%s) FROM STDIN", pq.QuoteIdentifier(s.table.schema),
		pq.QuoteIdentifier(s.table.name), strings.Join(cols, ", "))
	stmt, err := l.tx.PrepareContext(ctx, q)
	if err != nil {
		return fmt.Errorf("seed: copy into %s: %w", s.table.qualified(), err)
	}
	defer stmt.Close()
	var n int64
	err = s.fill(func(vals ...any) error {
		if len(vals) != len(s.table.cols) {
			return fmt.Errorf("%d values for %d columns", len(vals), len(s.table.cols))
		}
		n++
		_, err := stmt.ExecContext(ctx, vals...)
		return err
	})
	if err == nil {
		_, err = stmt.ExecContext(ctx) // flush and wait for the server's verdict
	}
	if err != nil {
		return fmt.Errorf("seed: copy into %s (row %d): %w", s.table.qualified(), n, err)
	}
	l.rows[s.table.qualified()] = n
	l.log.Info("seed table loaded", "table", s.table.qualified(), "rows", n, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// ddl is a statement that re-creates a dropped constraint or index.
type ddl struct {
	Drop   string `db:"drop"`
	Create string `db:"create"`
}

// suspendKeys drops the primary keys, unique constraints, foreign keys and plain indexes of
// the seeded tables, and foreign keys from elsewhere that point at them, returning the
// function that re-creates them all. Both happen inside the seed's transaction, so the
// schema is never seen without them and any failure brings them back.
func (l *loader) suspendKeys(ctx context.Context) (func(context.Context) error, error) {
	names := tableNames()
	const constraints = `
		SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS drop,
		       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
		              pg_get_constraintdef(c.oid)) AS create
		FROM pg_constraint c
		WHERE (c.contype IN ('p', 'u', 'f') AND c.conrelid = ANY ($1::text[]::regclass[]))
		   OR (c.contype = 'f' AND c.confrelid = ANY ($1::text[]::regclass[]))
		ORDER BY c.contype = 'f' DESC, c.conrelid::regclass::text, c.conname`
	const indexes = `
		SELECT format('DROP INDEX %s', i.indexrelid::regclass) AS drop, pg_get_indexdef(i.indexrelid) AS create
		FROM pg_index i
		WHERE i.indrelid = ANY ($1::text[]::regclass[])
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
		ORDER BY i.indexrelid::regclass::text`
	var cons, idx []ddl
	if err := l.tx.SelectContext(ctx, &cons, constraints, pq.Array(names)); err != nil {
		return nil, fmt.Errorf("seed: list constraints: %w", err)
	}
	if err := l.tx.SelectContext(ctx, &idx, indexes, pq.Array(names)); err != nil {
		return nil, fmt.Errorf("seed: list indexes: %w", err)
	}
	// Foreign keys go first (they depend on the keys they reference), plain indexes last.
	drops := append(append([]ddl{}, cons...), idx...)
	for _, d := range drops {
		if _, err := l.tx.ExecContext(ctx, d.Drop); err != nil {
			return nil, fmt.Errorf("seed: %s: %w", d.Drop, err)
		}
	}
	return func(ctx context.Context) error {
		start := time.Now()
		// Memory for the index builds' sorts and the foreign keys' validating joins; both
		// settings end with the transaction.
		const memory = `SET LOCAL maintenance_work_mem = '256MB'; SET LOCAL work_mem = '256MB'`
		if _, err := l.tx.ExecContext(ctx, memory); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		// Keys and indexes first, foreign keys (which need the referenced keys) last.
		for i := len(drops) - 1; i >= 0; i-- {
			if _, err := l.tx.ExecContext(ctx, drops[i].Create); err != nil {
				return fmt.Errorf("seed: %s: %w", drops[i].Create, err)
			}
		}
		l.log.Info("seed constraints and indexes rebuilt", "count", len(drops), "took", time.Since(start).Round(time.Millisecond))
		return nil
	}, nil
}

// syncIdentities moves each identity sequence of the seeded tables past the ids loaded
// explicitly, so later inserts that take the default do not collide.
func (l *loader) syncIdentities(ctx context.Context) error {
	const q = `
		SELECT format('SELECT setval(%L, coalesce((SELECT max(%I) FROM %s), 0) + 1, false)',
		              pg_get_serial_sequence(a.attrelid::regclass::text, a.attname), a.attname, a.attrelid::regclass)
		FROM pg_attribute a
		WHERE a.attrelid = ANY ($1::text[]::regclass[]) AND a.attidentity <> ''
		ORDER BY 1`
	var stmts []string
	if err := l.tx.SelectContext(ctx, &stmts, q, pq.Array(tableNames())); err != nil {
		return fmt.Errorf("seed: list identity columns: %w", err)
	}
	for _, s := range stmts {
		if _, err := l.tx.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("seed: sync identity: %w", err)
		}
	}
	return nil
}

// tableNames returns the qualified names of the seeded tables.
func tableNames() []string {
	names := make([]string, len(seededTables))
	for i, t := range seededTables {
		names[i] = t.qualified()
	}
	return names
}

func joinComma(s []string) string { return strings.Join(s, ", ") }
