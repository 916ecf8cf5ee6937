package throwaway

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"github.com/lib/pq"
)

// CreateDatabase creates database name as a copy of template (template1,
// PostgreSQL's default, when template is empty). Copying fails while anyone
// else is connected to the template, so callers copying one template from
// several goroutines should keep connections to it closed.
func (c *Cluster) CreateDatabase(ctx context.Context, name, template string) error {
	admin, err := c.adminDB()
	if err != nil {
		return err
	}
	q := "CREATE DATABASE " + pq.QuoteIdentifier(name)
	if template != "" {
		q += " TEMPLATE " + pq.QuoteIdentifier(template)
	}
	if _, err := admin.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("creating database %s: %w", name, err)
	}
	return nil
}

// DropDatabase drops database name if it exists, disconnecting its sessions
// first.
func (c *Cluster) DropDatabase(ctx context.Context, name string) error {
	admin, err := c.adminDB()
	if err != nil {
		return err
	}
	if err := dropDatabase(ctx, admin, c.version, name); err != nil {
		return fmt.Errorf("dropping database %s: %w", name, err)
	}
	return nil
}

// dropDatabase drops a database and its sessions; DROP ... WITH (FORCE)
// exists from PostgreSQL 13, older servers get their sessions terminated
// first.
func dropDatabase(ctx context.Context, admin *sql.DB, version int, name string) error {
	q := "DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name)
	if version >= 130000 {
		_, err := admin.ExecContext(ctx, q+" WITH (FORCE)")
		return err
	}
	const terminate = `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = $1 AND pid <> pg_backend_pid()`
	if _, err := admin.ExecContext(ctx, terminate, name); err != nil {
		return err
	}
	_, err := admin.ExecContext(ctx, q)
	return err
}

// adminDB returns the administrative pool, or ErrStopped.
func (c *Cluster) adminDB() (*sql.DB, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil, ErrStopped
	}
	return c.admin, nil
}

// sortedKeys returns m's keys in order, so command lines are reproducible.
func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
