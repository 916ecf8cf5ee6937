package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// auditLog writes n audit rows from several connections at once, like desk users do.
func auditLog(t *testing.T, db *sqlx.DB, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			ip := any(nil)
			if i%3 == 0 {
				ip = fmt.Sprintf("10.0.0.%d", i%250+1)
			}
			_, err := db.Exec(`INSERT INTO hotline.audit_log (action, object_type, object_id, detail, ip)
				VALUES ('view_citizen', 'citizen', $1, $2, $3)`,
				fmt.Sprint(1000+i), fmt.Sprintf(`{"reason": "来电弹屏", "n": %d}`, i), ip)
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func verifyAudit(t *testing.T, db *sqlx.DB, anchor *postgres.AuditHead) postgres.AuditReport {
	t.Helper()
	rep, err := postgres.VerifyAudit(context.Background(), db, anchor)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// tamper runs statements with the audit log's triggers off, as a database administrator
// covering their tracks could.
func tamper(t *testing.T, db *sqlx.DB, stmts ...string) {
	t.Helper()
	tx := db.MustBegin()
	defer tx.Rollback()
	tx.MustExec(`SET LOCAL session_replication_role = replica`)
	for _, s := range stmts {
		tx.MustExec(s)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestAuditChainWholeUnderConcurrentWriters(t *testing.T) {
	db := pgtest.DB(t)
	auditLog(t, db, 60)
	rep := verifyAudit(t, db, nil)
	if rep.Problem != "" || rep.Rows != 60 || rep.Head.Seq != 60 {
		t.Fatalf("verify = %+v; want 60 rows, no problem", rep)
	}
	// The head noted now still anchors the chain after more rows.
	head := rep.Head
	auditLog(t, db, 5)
	if rep := verifyAudit(t, db, &head); rep.Problem != "" || rep.Rows != 65 {
		t.Fatalf("verify with anchor %s = %+v", head, rep)
	}
}

func TestAuditLogRefusesChanges(t *testing.T) {
	db := pgtest.DB(t)
	auditLog(t, db, 3)
	for _, stmt := range []string{
		`UPDATE hotline.audit_log SET object_id = '1' WHERE seq = 2`,
		`DELETE FROM hotline.audit_log WHERE seq = 3`,
		`TRUNCATE hotline.audit_log`,
	} {
		if _, err := db.Exec(stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v; want append-only refusal", stmt, err)
		}
	}
	if rep := verifyAudit(t, db, nil); rep.Problem != "" {
		t.Errorf("after refused changes: %s", rep.Problem)
	}
}

func TestAuditVerifyFindsTampering(t *testing.T) {
	cases := []struct {
		name    string
		stmts   []string
		wantSeq int64
		want    string
	}{
		{"altered", []string{`UPDATE hotline.audit_log SET object_id = '9999' WHERE seq = 4`}, 4, "altered"},
		{"detail altered", []string{`UPDATE hotline.audit_log SET detail = '{"reason": "search"}' WHERE seq = 7`}, 7, "altered"},
		{"deleted", []string{`DELETE FROM hotline.audit_log WHERE seq = 5`}, 5, "deleted"},
		{"last deleted", []string{`DELETE FROM hotline.audit_log WHERE seq = 10`}, 10, "last rows were deleted"},
		{"inserted", []string{`INSERT INTO hotline.audit_log (action, object_type, object_id) VALUES ('view_citizen', 'citizen', '1')`}, 0, "outside the chain"},
		{"renumbered", []string{`DELETE FROM hotline.audit_log WHERE seq = 3`,
			`UPDATE hotline.audit_log SET seq = seq - 1 WHERE seq > 3`,
			`UPDATE hotline.audit_chain SET seq = seq - 1`}, 3, "does not follow"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := pgtest.DB(t)
			auditLog(t, db, 10)
			tamper(t, db, c.stmts...)
			rep := verifyAudit(t, db, nil)
			if !strings.Contains(rep.Problem, c.want) || rep.Seq != c.wantSeq {
				t.Errorf("verify = %+v; want seq %d and %q", rep, c.wantSeq, c.want)
			}
		})
	}
}

// Someone who rewrites the whole chain with its own function is caught by a head noted
// before, kept outside the database.
func TestAuditAnchorCatchesRewrittenChain(t *testing.T) {
	db := pgtest.DB(t)
	auditLog(t, db, 8)
	head := verifyAudit(t, db, nil).Head
	tamper(t, db,
		`UPDATE hotline.audit_log SET object_id = '4242' WHERE seq = 3`,
		`DO $$
		DECLARE r hotline.audit_log; h bytea := decode(repeat('00', 32), 'hex');
		BEGIN
			FOR r IN SELECT * FROM hotline.audit_log ORDER BY seq LOOP
				r.prev_hash := h; h := hotline.audit_digest(h, r);
				UPDATE hotline.audit_log SET prev_hash = r.prev_hash, hash = h WHERE id = r.id;
			END LOOP;
			UPDATE hotline.audit_chain SET hash = h;
		END $$`)
	if rep := verifyAudit(t, db, nil); rep.Problem != "" {
		t.Fatalf("a consistent rewrite is not visible without an anchor, got %q", rep.Problem)
	}
	rep := verifyAudit(t, db, &head)
	if !strings.Contains(rep.Problem, "rewritten") || rep.Seq != 8 {
		t.Errorf("verify with anchor = %+v; want the rewrite found at seq 8", rep)
	}
	if _, err := postgres.ParseAuditHead(head.String()); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "x:y", "0:" + head.Hash, "3:abc"} {
		if _, err := postgres.ParseAuditHead(bad); err == nil {
			t.Errorf("ParseAuditHead(%q) accepted", bad)
		}
	}
}
