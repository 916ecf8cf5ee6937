// Package seed fills an empty hotline database with realistic, deterministic Foshan data: the
// five districts, citizens with Chinese names, valid ID numbers and unique mobiles, their
// water, electricity, gas and telecom accounts with twelve months of bills, social insurance
// and housing fund accounts, the service catalogue and applications with their history,
// service stations, subscriptions, mailbox messages, and the hotline's skills, queues and
// demo staff.
//
// # Determinism
//
// The same Options.Seed and Options.Now (and the same pii keys) give the same data, row for
// row and byte for byte, on any machine. Every aspect of citizen i (personal data, accounts and bills, insurance,
// applications, messages) is drawn from its own PCG stream keyed by the seed, the aspect and
// i, so each aspect can be regenerated in whichever pass loads its table, and parallel or
// partial generation cannot change it. Numbers that must be unique (mobiles, account, case
// and insurance numbers) are images of i under seeded permutations, so they are unique
// without remembering which were used; only ID numbers, whose sequence code must dodge the
// rare clash of region, birth date and sex, depend on the citizens made before. ID numbers
// are sealed with nonces drawn from a ChaCha8 stream derived from the seed (through
// pii.Protector.WithRand), so even the sealed bytes repeat. Row ids are assigned explicitly,
// in citizen order.
//
// The one exception is bcrypt: its salts come from the system's random source, so PIN and
// password hashes differ from run to run while verifying the same secrets. Checksum leaves
// the hash text out but keeps which citizens share a hash.
//
// # PINs
//
// A bcrypt hash takes tens of milliseconds on purpose, far too slow for a million rows. Run
// therefore hashes a pool of PINPoolSize distinct 6-digit PINs once (each with its own salt,
// at Options.PINCost) and gives each real-name citizen who has set a PIN one of them, chosen
// by the seed. Citizens sharing a PIN share its hash; that is fine for test and demo data
// and is never how real PINs are stored. Summary.Citizens lists a few citizens with their
// PINs in clear for the demo and tests.
//
// # Loading
//
// Everything is loaded with COPY in one transaction, streaming rows as they are generated.
// Inside that transaction the primary keys, unique constraints, foreign keys and plain
// indexes of the loaded tables are dropped and re-created after the data is in, which checks
// them all in bulk (one index build or join per constraint) instead of row by row; CHECK
// constraints stay in force throughout. A violation aborts the transaction, which restores
// the schema as it was. Then the tables are analysed.
package seed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/pii"
)

// MaxCitizens bounds Options.Citizens: the permutations behind unique numbers have room for
// that many citizens and more, and ID sequence codes never run out below it.
const MaxCitizens = 10_000_000

// PINPoolSize is the number of distinct phone-service PINs hashed per run.
const PINPoolSize = 64

// ErrNotEmpty is returned by Run when the database already holds data and Options.Replace
// is not set.
var ErrNotEmpty = errors.New("seed: database already holds platform or hotline data")

// ErrOptions is wrapped by Run's errors about invalid options.
var ErrOptions = errors.New("seed: invalid options")

// DefaultNow is the data's "today" when Options.Now is zero: bills run up to the month before,
// applications and messages up to this instant.
var DefaultNow = time.Date(2026, 3, 16, 9, 30, 0, 0, chinaTime)

// chinaTime is China Standard Time; a fixed zone needs no time zone database.
var chinaTime = time.FixedZone("CST", 8*60*60)

// Options control what Run generates.
type Options struct {
	// Citizens is the number of citizens to generate, at most MaxCitizens.
	Citizens int
	// Seed selects the data set; the same seed gives the same data.
	Seed int64
	// Protector seals and hashes ID numbers. Required.
	Protector *pii.Protector
	// Now is the data's "today"; zero means DefaultNow.
	Now time.Time
	// PINCost is the bcrypt cost of PIN and staff password hashes; zero means pii.PINCost.
	PINCost int
	// Replace empties the seeded tables first, which also empties every hotline table that
	// refers to citizens or agents (calls, work orders, PIN attempts, ...). Without it Run
	// refuses a database that holds data.
	Replace bool
	// Log receives progress; nil discards it.
	Log *slog.Logger
}

// Summary describes what Run loaded.
type Summary struct {
	// Rows counts the rows loaded per table, keyed "schema.table".
	Rows map[string]int64
	// Staff are the demo agents, supervisor and admin with their passwords in clear.
	Staff []Credential
	// Citizens are a few citizens worth trying in the demo, with their secrets in clear.
	Citizens []DemoCitizen
	// Elapsed is the wall time Run took.
	Elapsed time.Duration
}

// Credential is a demo desk login.
type Credential struct {
	Username    string
	Password    string
	Role        string
	DisplayName string
	Endpoint    string
	Skills      []string
}

// DemoCitizen is a generated citizen with what a demo caller needs to key in.
type DemoCitizen struct {
	ID            int64
	Name          string
	Mobile        string
	IDNumber      string
	PIN           string // empty when the citizen has no PIN
	Level         string
	DistrictCode  string
	AccountKind   string // of AccountNumber; empty when the citizen has no account
	AccountNumber string
	CaseNumber    string // empty when the citizen has no application
	Note          string // what makes this citizen interesting, in Chinese
}

func (o Options) withDefaults() (Options, error) {
	if o.Citizens < 0 || o.Citizens > MaxCitizens {
		return o, fmt.Errorf("%w: citizens must be between 0 and %d, got %d", ErrOptions, MaxCitizens, o.Citizens)
	}
	if o.Protector == nil {
		return o, fmt.Errorf("%w: a pii protector is required", ErrOptions)
	}
	if o.Now.IsZero() {
		o.Now = DefaultNow
	}
	o.Now = o.Now.In(chinaTime).Truncate(time.Second)
	if o.PINCost == 0 {
		o.PINCost = pii.PINCost
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o, nil
}

// Run generates the data set that opts describe and loads it into db, whose schema must be
// migrated. It is all or nothing: on error nothing is loaded. While it runs it holds
// exclusive locks on the seeded tables and on the hotline tables that refer to them, so it
// is meant for a database no one else is using yet.
func Run(ctx context.Context, db *sqlx.DB, opts Options) (Summary, error) {
	start := time.Now()
	opts, err := opts.withDefaults()
	if err != nil {
		return Summary{}, err
	}
	g, err := newGenerator(opts)
	if err != nil {
		return Summary{}, err
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return Summary{}, fmt.Errorf("seed: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after commit

	if err := prepare(ctx, tx, opts.Replace); err != nil {
		return Summary{}, err
	}
	l := &loader{tx: tx, log: opts.Log, rows: map[string]int64{}}
	restore, err := l.suspendKeys(ctx)
	if err != nil {
		return Summary{}, err
	}
	for _, step := range g.steps() {
		if err := l.load(ctx, step); err != nil {
			return Summary{}, err
		}
	}
	if err := restore(ctx); err != nil {
		return Summary{}, err
	}
	if err := l.syncIdentities(ctx); err != nil {
		return Summary{}, err
	}
	if err := seedDispositions(ctx, tx); err != nil {
		return Summary{}, err
	}
	deptUsers, err := seedDepartmentUsers(ctx, tx, opts.Seed, opts.PINCost, g.now)
	if err != nil {
		return Summary{}, err
	}
	l.rows["hotline.agents"] += int64(len(deptUsers))
	if err := tx.Commit(); err != nil {
		return Summary{}, fmt.Errorf("seed: commit: %w", err)
	}
	t := time.Now()
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		return Summary{}, fmt.Errorf("seed: analyze: %w", err)
	}
	opts.Log.Info("seed analysed", "took", time.Since(t).Round(time.Millisecond))
	return Summary{Rows: l.rows, Staff: append(g.staff, deptUsers...), Citizens: g.demo.list(), Elapsed: time.Since(start)}, nil
}

// prepare makes sure the seeded tables are empty, emptying them if replace is set.
func prepare(ctx context.Context, tx *sqlx.Tx, replace bool) error {
	var busy bool
	const q = `SELECT EXISTS (SELECT 1 FROM platform.districts) OR EXISTS (SELECT 1 FROM platform.citizens)
		OR EXISTS (SELECT 1 FROM platform.departments) OR EXISTS (SELECT 1 FROM hotline.skills)
		OR EXISTS (SELECT 1 FROM hotline.agents)`
	if err := tx.GetContext(ctx, &busy, q); err != nil {
		return fmt.Errorf("seed: check database is empty: %w", err)
	}
	if !busy {
		return nil
	}
	if !replace {
		return ErrNotEmpty
	}
	// Emptying the agents empties the audit log their rows name: the log is append-only but
	// for this, and starts a new chain.
	if _, err := tx.ExecContext(ctx, "SET LOCAL hotline.audit_truncate = 'on'"); err != nil {
		return fmt.Errorf("seed: empty tables: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "TRUNCATE "+joinComma(tableNames())+" RESTART IDENTITY CASCADE"); err != nil {
		return fmt.Errorf("seed: empty tables: %w", err)
	}
	return nil
}
