package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// The operators' commands for the audit log and personal information, on a seeded database.
func TestAuditAndPrivacyCommands(t *testing.T) {
	key := func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return base64.StdEncoding.EncodeToString(b)
	}
	url := pgtest.URL(t)
	env := []string{"HOTLINE_DATABASE_URL=" + url, "HOTLINE_PII_SEAL_KEY=" + key(), "HOTLINE_PII_LOOKUP_KEY=" + key(),
		"HOTLINE_LOG_LEVEL=warn"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hotline := func(args ...string) (string, error) {
		var out, logs syncBuffer
		err := run(ctx, args, env, &out, &logs)
		return out.String() + logs.String(), err
	}
	if out, err := hotline("seed", "--citizens", "20"); err != nil {
		t.Fatalf("seed: %v\n%s", err, out)
	}
	db := openTestDB(t, url)
	var citizen int64
	var mobile string
	if err := db.QueryRow(`SELECT id, mobile FROM platform.citizens ORDER BY id LIMIT 1`).Scan(&citizen, &mobile); err != nil {
		t.Fatal(err)
	}
	db.MustExec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, ended_at, outcome)
		VALUES ('44444444-4444-4444-8444-444444444444', 'ast1', 'c1', $1, now(), now(), 'self_served')`, mobile)
	db.MustExec(`INSERT INTO hotline.call_steps (call_id, seq, flow, node, kind, entered_at, input)
		VALUES ('44444444-4444-4444-8444-444444444444', 1, 'bills', 'account', 'collect', now(), '****5678')`)

	out, err := hotline("privacy", "export", "--citizen", itoa(citizen))
	if err != nil {
		t.Fatalf("privacy export: %v\n%s", err, out)
	}
	var exp struct {
		Sections map[string][]map[string]any `json:"sections"`
	}
	if err := json.Unmarshal([]byte(out), &exp); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, out)
	}
	if len(exp.Sections["calls"]) != 1 || len(exp.Sections["call_steps"]) != 1 {
		t.Errorf("export: %d calls, %d steps; want the call from the citizen's mobile and its step", len(exp.Sections["calls"]), len(exp.Sections["call_steps"]))
	}
	if out, err := hotline("privacy", "erase", "--citizen", itoa(citizen)); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("erase without --yes: %v %s", err, out)
	}
	if out, err := hotline("privacy", "erase", "--citizen", itoa(citizen), "--yes"); err != nil || !strings.Contains(out, "1 calls anonymised") {
		t.Errorf("erase: %v\n%s", err, out)
	}

	// An agent's phone made the softphone, its secret sealed; a desk user without a SIP
	// endpoint refused.
	if out, err := hotline("softphone", "off", "agent01"); err != nil || !strings.Contains(out, "a desk phone") {
		t.Errorf("softphone off: %v %s", err, out)
	}
	if out, err := hotline("softphone", "set", "admin"); err == nil {
		t.Errorf("softphone set without a secret on standard input: %s", out)
	}

	out, err = hotline("audit", "verify")
	if err != nil || !strings.Contains(out, "audit log ok: 2 rows") {
		t.Fatalf("audit verify: %v\n%s", err, out)
	}
	head, err := hotline("audit", "head")
	if err != nil {
		t.Fatal(err)
	}
	tx := db.MustBegin()
	tx.MustExec(`SET LOCAL session_replication_role = replica`)
	tx.MustExec(`UPDATE hotline.audit_log SET action = 'nothing' WHERE seq = 1`)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if out, err := hotline("audit", "verify", "--anchor", strings.TrimSpace(head)); err == nil || !strings.Contains(err.Error(), "row seq 1") {
		t.Errorf("audit verify after tampering: %v\n%s", err, out)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
