package seed

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// rowText renders one row of a seeded table for Checksum where the row's own text form
// (t::text, the default) will not do: bcrypt hashes carry random salts, so they are left out; for PINs
// what is kept is whether a citizen has one and the first citizen holding the same hash,
// which pins down how the PIN pool was handed out. jsonb text lists keys in a fixed order.
var rowText = map[string]string{
	"platform.citizens": `(to_jsonb(t) - 'pin_hash' || jsonb_build_object('pin_group',
		CASE WHEN t.pin_hash IS NOT NULL THEN min(t.id) OVER (PARTITION BY t.pin_hash) END))::text`,
	"hotline.agents": `(to_jsonb(t) - 'password_hash')::text`,
}

// Checksum returns a SHA-256 digest, in hex, of every row of every table the seed fills,
// read in key order with timestamps in UTC. Two databases seeded with the same options have
// the same checksum; it changes with any generated value except the salted bcrypt hashes.
func Checksum(ctx context.Context, db *sqlx.DB) (string, error) {
	conn, err := db.Connx(ctx)
	if err != nil {
		return "", fmt.Errorf("seed checksum: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("seed checksum: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	const settings = `SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;
		SET LOCAL TIME ZONE 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL extra_float_digits = 3;
		SET LOCAL bytea_output = 'hex'`
	if _, err := tx.ExecContext(ctx, settings); err != nil {
		return "", fmt.Errorf("seed checksum: %w", err)
	}
	h := sha256.New()
	for _, t := range seededTables {
		expr, ok := rowText[t.qualified()]
		if !ok {
			expr = "t::text"
		}
		q := fmt.Sprintf("SELECT %s FROM %s t ORDER BY %s", expr, t.qualified(), t.order)
		rows, err := tx.QueryContext(ctx, q)
		if err != nil {
			return "", fmt.Errorf("seed checksum of %s: %w", t.qualified(), err)
		}
		fmt.Fprintf(h, "%s\n", t.qualified())
		var line []byte
		for rows.Next() {
			if err := rows.Scan(&line); err != nil {
				rows.Close()
				return "", fmt.Errorf("seed checksum of %s: %w", t.qualified(), err)
			}
			h.Write(line)
			h.Write([]byte{'\n'})
		}
		if err := rows.Err(); err != nil {
			return "", fmt.Errorf("seed checksum of %s: %w", t.qualified(), err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
