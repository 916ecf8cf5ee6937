package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

// Calendars are the business-hours calendars in the database and live in this process: the
// engine's hours nodes and the work-order deadlines hold the same *flow.Calendar values, which
// a save replaces in place (here at once, in other instances on NOTIFY hotline_calendars).
type Calendars struct {
	db  *sqlx.DB
	log *slog.Logger

	mu   sync.Mutex
	live map[string]*flow.Calendar
}

// CalendarRow is a calendar as stored.
type CalendarRow struct {
	Name      string            `json:"name"`
	Spec      flow.CalendarSpec `json:"spec"`
	Version   int               `json:"version"`
	UpdatedBy string            `json:"updated_by"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// calendarsChannel is the NOTIFY channel of a saved calendar; the payload is its name.
const calendarsChannel = "hotline_calendars"

// LoadCalendars returns the database's calendars, seeding an empty table with seed (the
// calendars file) first, and the live calendars built from them.
func LoadCalendars(ctx context.Context, db *sqlx.DB, seed map[string]*flow.Calendar, log *slog.Logger) (*Calendars, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("calendars: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `LOCK TABLE hotline.calendars IN EXCLUSIVE MODE`); err != nil {
		return nil, fmt.Errorf("calendars: %w", err)
	}
	var n int
	if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM hotline.calendars`); err != nil {
		return nil, fmt.Errorf("calendars: %w", err)
	}
	if n == 0 {
		for _, name := range slices.Sorted(maps.Keys(seed)) {
			spec, _ := json.Marshal(seed[name].Spec())
			if _, err := tx.ExecContext(ctx, `INSERT INTO hotline.calendars (name, spec) VALUES ($1, $2)`, name, spec); err != nil {
				return nil, fmt.Errorf("calendars: seed %s: %w", name, err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("calendars: %w", err)
	}
	c := &Calendars{db: db, log: log, live: map[string]*flow.Calendar{}}
	rows, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		cal, err := flow.NewCalendar(r.Spec)
		if err != nil {
			return nil, fmt.Errorf("calendar %s in the database: %w", r.Name, err)
		}
		c.live[r.Name] = cal
	}
	return c, nil
}

// Live returns the live calendars by name; the map is not to be changed.
func (c *Calendars) Live() map[string]*flow.Calendar {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.live)
}

const calendarRows = `
SELECT c.name, c.spec, c.version, coalesce(a.display_name, '') AS updated_by, c.updated_at
FROM hotline.calendars c LEFT JOIN hotline.agents a ON a.id = c.updated_by`

type calendarRow struct {
	Name      string    `db:"name"`
	Spec      []byte    `db:"spec"`
	Version   int       `db:"version"`
	UpdatedBy string    `db:"updated_by"`
	UpdatedAt time.Time `db:"updated_at"`
}

func (r calendarRow) row() (CalendarRow, error) {
	out := CalendarRow{Name: r.Name, Version: r.Version, UpdatedBy: r.UpdatedBy, UpdatedAt: r.UpdatedAt}
	err := json.Unmarshal(r.Spec, &out.Spec)
	return out, err
}

// List returns the stored calendars by name.
func (c *Calendars) List(ctx context.Context) ([]CalendarRow, error) {
	var rows []calendarRow
	if err := c.db.SelectContext(ctx, &rows, calendarRows+` ORDER BY c.name`); err != nil {
		return nil, fmt.Errorf("calendars: %w", err)
	}
	out := make([]CalendarRow, len(rows))
	for i, r := range rows {
		var err error
		if out[i], err = r.row(); err != nil {
			return nil, fmt.Errorf("calendar %s: %w", r.Name, err)
		}
	}
	return out, nil
}

// Save stores a new version of calendar name, which must be at version (else
// hotline.ErrConflict: someone saved it meanwhile), audited as calendar_change by agent by
// with the old and new content; the live calendar takes it at once. A spec that does not
// build is hotline.ErrInvalid; an unknown calendar hotline.ErrNotFound (calendars are named
// by the flows, so none is added here).
func (c *Calendars) Save(ctx context.Context, name string, spec flow.CalendarSpec, version int, by int64) (CalendarRow, error) {
	cal, err := flow.NewCalendar(spec)
	if err != nil {
		return CalendarRow{}, fmt.Errorf("%v: %w", err, hotline.ErrInvalid)
	}
	tx, err := c.db.BeginTxx(ctx, nil)
	if err != nil {
		return CalendarRow{}, err
	}
	defer tx.Rollback()
	var old calendarRow
	err = tx.GetContext(ctx, &old, `SELECT name, spec, version, '' AS updated_by, updated_at FROM hotline.calendars WHERE name = $1 FOR UPDATE`, name)
	if errors.Is(err, sql.ErrNoRows) {
		return CalendarRow{}, fmt.Errorf("calendar %s: %w", name, hotline.ErrNotFound)
	}
	if err != nil {
		return CalendarRow{}, err
	}
	if old.Version != version {
		return CalendarRow{}, fmt.Errorf("calendar %s was saved by someone else meanwhile (version %d, not %d): reload it: %w",
			name, old.Version, version, hotline.ErrConflict)
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return CalendarRow{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE hotline.calendars SET spec = $2, version = version + 1, updated_by = $3, updated_at = now()
		WHERE name = $1`, name, raw, by); err != nil {
		return CalendarRow{}, err
	}
	detail, _ := json.Marshal(map[string]any{"version": version + 1, "from": json.RawMessage(old.Spec), "to": json.RawMessage(raw)})
	if _, err := tx.ExecContext(ctx, `INSERT INTO hotline.audit_log (actor_id, action, object_type, object_id, detail)
		VALUES ($1, 'calendar_change', 'calendar', $2, $3)`, by, name, detail); err != nil {
		return CalendarRow{}, err
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, calendarsChannel, name); err != nil {
		return CalendarRow{}, err
	}
	if err := tx.Commit(); err != nil {
		return CalendarRow{}, err
	}
	c.apply(name, cal)
	var row calendarRow
	if err := c.db.GetContext(ctx, &row, calendarRows+` WHERE c.name = $1`, name); err != nil {
		return CalendarRow{}, err
	}
	return row.row()
}

// apply gives the live calendar name the days of cal.
func (c *Calendars) apply(name string, cal *flow.Calendar) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if live := c.live[name]; live != nil {
		live.Replace(cal)
		return
	}
	c.live[name] = cal
}

// reload reads calendar name from the database into the live one.
func (c *Calendars) reload(ctx context.Context, name string) error {
	var row calendarRow
	if err := c.db.GetContext(ctx, &row, calendarRows+` WHERE c.name = $1`, name); err != nil {
		return err
	}
	r, err := row.row()
	if err != nil {
		return err
	}
	cal, err := flow.NewCalendar(r.Spec)
	if err != nil {
		return err
	}
	c.apply(name, cal)
	return nil
}

// Follow applies the calendars other instances save, until ctx ends: it listens on
// hotline_calendars at url and reloads every calendar after the listener reconnects.
func (c *Calendars) Follow(ctx context.Context, url string) error {
	l := pq.NewListener(url, time.Second, time.Minute, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			c.log.Warn("calendars listener", "err", err)
		}
	})
	defer l.Close()
	if err := l.Listen(calendarsChannel); err != nil {
		return fmt.Errorf("calendars: listen: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-l.Notify:
			names := []string{}
			if n == nil { // reconnected: anything may have changed
				for name := range c.Live() {
					names = append(names, name)
				}
			} else {
				names = append(names, n.Extra)
			}
			for _, name := range names {
				if err := c.reload(ctx, name); err != nil && ctx.Err() == nil {
					c.log.Error("reload calendar", "calendar", name, "err", err)
				}
			}
		case <-time.After(90 * time.Second):
			go l.Ping()
		}
	}
}
