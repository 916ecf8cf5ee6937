package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the PostgreSQL driver

	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/throwaway"
	"go.yaml.in/yaml/v3"
)

// errNoDatabase is returned by commands that need a real database when none is configured.
var errNoDatabase = errors.New("database.url is not set (HOTLINE_DATABASE_URL or --database-url); 'hotline demo' runs on a throwaway database instead")

// openDatabase connects to the configured database and checks that its schema is current.
func (a *app) openDatabase(ctx context.Context, url string) (*sqlx.DB, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Database.ConnectTimeout)
	defer cancel()
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	db.SetMaxOpenConns(a.cfg.Database.MaxOpenConns)
	db.SetMaxIdleConns(a.cfg.Database.MaxOpenConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database %s: %w", redactURL(url), err)
	}
	return db, nil
}

// requireCurrentSchema fails when the database needs 'hotline migrate'.
func requireCurrentSchema(ctx context.Context, db *sqlx.DB) error {
	applied, embedded, err := postgres.SchemaVersion(ctx, db.DB)
	if err != nil {
		return err
	}
	if applied != embedded {
		return fmt.Errorf("database schema is at version %d, this binary needs %d: run 'hotline migrate'", applied, embedded)
	}
	return nil
}

// startThrowaway starts a private PostgreSQL cluster and creates the hotline database in it.
// The caller stops the cluster, which removes it.
func (a *app) startThrowaway(ctx context.Context) (*throwaway.Cluster, string, error) {
	cluster, err := throwaway.Start(ctx, throwaway.Options{Logger: a.log})
	if err != nil {
		return nil, "", err
	}
	if err := cluster.CreateDatabase(ctx, "hotline", ""); err != nil {
		cluster.Stop()
		return nil, "", err
	}
	return cluster, cluster.URL("hotline"), nil
}

// protector builds the PII protector from the configured keys.
func protectorFromConfig(c PIIConfig) (*pii.Protector, error) {
	if c.SealKey == "" || c.LookupKey == "" {
		return nil, errors.New("pii.seal_key and pii.lookup_key are required (generate them with 'hotline keygen')")
	}
	seal, err := pii.DecodeKey(c.SealKey)
	if err != nil {
		return nil, fmt.Errorf("pii.seal_key: %w", err)
	}
	lookup, err := pii.DecodeKey(c.LookupKey)
	if err != nil {
		return nil, fmt.Errorf("pii.lookup_key: %w", err)
	}
	return pii.NewProtector(pii.Keys{Seal: seal, Lookup: lookup})
}

// demoKeys returns the configured PII keys, or the demo's own, generated on first use and
// kept in dir so that a database seeded earlier stays readable.
func demoKeys(c PIIConfig, dir string) (PIIConfig, error) {
	if c.SealKey != "" {
		return c, nil
	}
	path := filepath.Join(dir, "pii-keys.yaml")
	if raw, err := os.ReadFile(path); err == nil {
		var kept PIIConfig
		if err := yaml.Unmarshal(raw, &kept); err != nil {
			return PIIConfig{}, fmt.Errorf("%s: %w", path, err)
		}
		return kept, nil
	}
	k, err := pii.GenerateKeys()
	if err != nil {
		return PIIConfig{}, err
	}
	kept := PIIConfig{SealKey: pii.EncodeKey(k.Seal), LookupKey: pii.EncodeKey(k.Lookup)}
	raw, _ := yaml.Marshal(kept)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return PIIConfig{}, err
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		return PIIConfig{}, err
	}
	return kept, nil
}
