package postgres_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

func TestSoftphoneAccounts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	agent := f.id64(t, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
		VALUES ('a1', '坐席一', 'agent', 'x', 'SIP/1001') RETURNING id`)
	f.exec(t, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
		VALUES ('a2', '坐席二', 'agent', 'x', 'Local/2002@agents')`)
	phones := postgres.NewSoftphones(f.db, f.pii)

	if _, ok, err := phones.Account(ctx, agent); ok || err != nil {
		t.Fatalf("before: ok %v err %v; want a desk phone", ok, err)
	}
	if err := phones.Set(ctx, "a1", "s3cret-1001"); err != nil {
		t.Fatal(err)
	}
	acct, ok, err := phones.Account(ctx, agent)
	if err != nil || !ok || acct != (postgres.SoftphoneAccount{User: "1001", Password: "s3cret-1001"}) {
		t.Errorf("account = %+v %v %v", acct, ok, err)
	}
	var stored []byte
	f.db.Get(&stored, `SELECT sip_secret_sealed FROM hotline.agents WHERE id = $1`, agent)
	if strings.Contains(string(stored), "s3cret") {
		t.Error("the SIP secret is stored in clear")
	}
	if err := phones.Set(ctx, "a2", "x"); !errors.Is(err, hotline.ErrInvalid) {
		t.Errorf("a softphone on a Local endpoint: %v", err)
	}
	if err := phones.Set(ctx, "nobody", "x"); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("unknown agent: %v", err)
	}
	if err := phones.Set(ctx, "a1", ""); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := phones.Account(ctx, agent); ok {
		t.Error("still a softphone after clearing it")
	}
}
