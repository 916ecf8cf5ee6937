package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Leases are the leases of Stasis applications held by one controller instance (the holder).
// An application is served by the instance holding its lease; the holder renews it every
// second or so, and when it stops (the process died, the machine is gone) another instance
// takes the application over with the next epoch. Expiry is the database's clock, so
// instances on machines whose clocks disagree still agree on who holds what.
type Leases struct {
	db     *sqlx.DB
	holder string
}

// NewLeases returns the leases of holder, the instance's name, on db.
func NewLeases(db *sqlx.DB, holder string) *Leases { return &Leases{db: db, holder: holder} }

// Holder returns the instance the leases are held by.
func (l *Leases) Holder() string { return l.holder }

// leaseAcquire takes the lease of $1 for $2 for $3 seconds: a new application, one already
// held by $2 (an earlier process of the instance: the epoch still moves on, fencing what
// that process might still write), or one expired for more than $4 seconds. When $5 the
// application is the holder's own and is recorded as its home.
const leaseAcquire = `
	INSERT INTO hotline.app_leases AS l (app, holder, epoch, acquired_at, expires_at, home)
	VALUES ($1, $2, 1, now(), now() + make_interval(secs => $3), CASE WHEN $5 THEN $2 ELSE '' END)
	ON CONFLICT (app) DO UPDATE SET holder = EXCLUDED.holder, epoch = l.epoch + 1,
		acquired_at = now(), expires_at = EXCLUDED.expires_at, wanted_at = NULL,
		home = CASE WHEN $5 THEN EXCLUDED.holder ELSE l.home END
	WHERE l.holder = EXCLUDED.holder OR l.expires_at < now() - make_interval(secs => $4)
	RETURNING epoch`

// Acquire takes the lease of app for ttl if it is free: never held, held by this instance, or
// expired for longer than grace (the grace lets a holder that lost the database for a moment
// renew before anyone takes over). home says app is this instance's own application. ok is
// false when another instance holds it.
func (l *Leases) Acquire(ctx context.Context, app string, ttl, grace time.Duration, home bool) (epoch int64, ok bool, err error) {
	err = l.db.GetContext(ctx, &epoch, leaseAcquire, app, l.holder, ttl.Seconds(), grace.Seconds(), home)
	if errors.Is(err, sql.ErrNoRows) {
		if home {
			// Held by an instance that adopted it: ask for it back.
			if _, err := l.db.ExecContext(ctx, `UPDATE hotline.app_leases SET wanted_at = now() WHERE app = $1`, app); err != nil {
				return 0, false, fmt.Errorf("ask for lease of %s: %w", app, err)
			}
		}
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("acquire lease of %s: %w", app, err)
	}
	return epoch, true, nil
}

// leaseRenew extends the lease while it is still this holder's at this epoch, even if it ran
// out meanwhile (a database outage): nobody took it, so nothing was lost.
const leaseRenew = `
	UPDATE hotline.app_leases SET expires_at = now() + make_interval(secs => $4)
	WHERE app = $1 AND holder = $2 AND epoch = $3
	RETURNING COALESCE(wanted_at > now() - make_interval(secs => $4), false)`

// Renew extends the lease of app held at epoch by ttl; held is false when the lease was taken
// over. wanted says the instance whose own application it is asked for it back within ttl.
func (l *Leases) Renew(ctx context.Context, app string, epoch int64, ttl time.Duration) (held, wanted bool, err error) {
	err = l.db.GetContext(ctx, &wanted, leaseRenew, app, l.holder, epoch, ttl.Seconds())
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("renew lease of %s: %w", app, err)
	}
	return true, wanted, nil
}

// Release gives up the lease of app held at epoch (a clean shutdown): another instance can take
// it at once. The grace an expired lease waits does not apply: the lease is backdated by an hour.
func (l *Leases) Release(ctx context.Context, app string, epoch int64) error {
	_, err := l.db.ExecContext(ctx, `
		UPDATE hotline.app_leases SET expires_at = now() - interval '1 hour'
		WHERE app = $1 AND holder = $2 AND epoch = $3`, app, l.holder, epoch)
	if err != nil {
		return fmt.Errorf("release lease of %s: %w", app, err)
	}
	return nil
}

// Expired lists the applications held by other instances whose lease ran out more than grace
// ago: their holder is gone, and their calls wait for someone to adopt them. An application
// its own instance asked back in the last 10 s is left to it.
func (l *Leases) Expired(ctx context.Context, grace time.Duration) ([]string, error) {
	var apps []string
	err := l.db.SelectContext(ctx, &apps, `
		SELECT app FROM hotline.app_leases
		WHERE holder <> $1 AND expires_at < now() - make_interval(secs => $2)
		  AND (wanted_at IS NULL OR wanted_at < now() - interval '10 seconds')
		ORDER BY app`, l.holder, grace.Seconds())
	if err != nil {
		return nil, fmt.Errorf("expired leases: %w", err)
	}
	return apps, nil
}

// LiveHolders lists the other instances holding a lease that has not expired: those that
// would take over this instance's applications if it let them go.
func (l *Leases) LiveHolders(ctx context.Context) ([]string, error) {
	var out []string
	if err := l.db.SelectContext(ctx, &out, `
		SELECT DISTINCT holder FROM hotline.app_leases
		WHERE holder <> $1 AND expires_at > now() ORDER BY holder`, l.holder); err != nil {
		return nil, fmt.Errorf("live lease holders: %w", err)
	}
	return out, nil
}

// Lease is the state of one application's lease.
type Lease struct {
	App       string    `db:"app" json:"app"`
	Holder    string    `db:"holder" json:"holder"`
	Epoch     int64     `db:"epoch" json:"epoch"`
	Home      string    `db:"home" json:"home"`
	ExpiresAt time.Time `db:"expires_at" json:"expires_at"`
}

// List returns every application's lease, by application.
func (l *Leases) List(ctx context.Context) ([]Lease, error) {
	var out []Lease
	if err := l.db.SelectContext(ctx, &out, `
		SELECT app, holder, epoch, home, expires_at FROM hotline.app_leases ORDER BY app`); err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	return out, nil
}
