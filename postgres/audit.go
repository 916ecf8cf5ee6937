package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// The audit log is a hash chain (migration 00018): each row's hash is the SHA-256 of the
// previous row's hash and the row's content, and hotline.audit_chain keeps the head.
// VerifyAudit recomputes it here, independently of the database's own function, so that a
// row changed, added past the chain or deleted is found.

// AuditHead is the last link of the chain: its position and hash. Noting it somewhere the
// database's administrators cannot change (a log shipped elsewhere, a printout) lets a later
// verification prove that the rows up to it were not rewritten wholesale.
type AuditHead struct {
	Seq  int64
	Hash string // hex
}

// String is "seq:hash", the form VerifyAudit's anchor takes.
func (h AuditHead) String() string { return strconv.FormatInt(h.Seq, 10) + ":" + h.Hash }

// ParseAuditHead reads "seq:hash".
func ParseAuditHead(s string) (AuditHead, error) {
	seq, hash, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 1 {
		return AuditHead{}, fmt.Errorf("audit head %q: want seq:hash, seq a row number", s)
	}
	if b, err := hex.DecodeString(hash); err != nil || len(b) != sha256.Size {
		return AuditHead{}, fmt.Errorf("audit head %q: the hash is not 64 hex digits", s)
	}
	return AuditHead{Seq: n, Hash: strings.ToLower(hash)}, nil
}

// AuditReport is the outcome of a verification: Problem is "" when the chain is whole.
type AuditReport struct {
	Rows    int64
	Head    AuditHead
	Problem string
	// Seq and ID locate the first row found wrong (0 when the problem is not one row's).
	Seq, ID int64
}

// auditRow is a row of hotline.audit_log as its hash covers it.
type auditRow struct {
	Seq        sql.NullInt64  `db:"seq"`
	ID         int64          `db:"id"`
	At         time.Time      `db:"at"`
	ActorID    sql.NullInt64  `db:"actor_id"`
	Action     string         `db:"action"`
	ObjectType string         `db:"object_type"`
	ObjectID   string         `db:"object_id"`
	Detail     string         `db:"detail"`
	IP         sql.NullString `db:"ip"`
	PrevHash   []byte         `db:"prev_hash"`
	Hash       []byte         `db:"hash"`
}

// digest is the row's hash after prev.
func (r auditRow) digest(prev []byte) []byte {
	actor := ""
	if r.ActorID.Valid {
		actor = strconv.FormatInt(r.ActorID.Int64, 10)
	}
	fields := []string{strconv.FormatInt(r.Seq.Int64, 10), strconv.FormatInt(r.ID, 10),
		r.At.UTC().Format("2006-01-02T15:04:05.000000Z"), actor, r.Action, r.ObjectType, r.ObjectID,
		r.Detail, r.IP.String}
	h := sha256.New()
	h.Write(prev)
	h.Write([]byte(strings.Join(fields, "\x1f")))
	return h.Sum(nil)
}

const (
	auditUnchained = `SELECT id FROM hotline.audit_log WHERE seq IS NULL OR hash IS NULL ORDER BY id LIMIT 1`
	auditRows      = `
SELECT seq, id, at, actor_id, action, object_type, object_id, detail::text AS detail, ip::text AS ip, prev_hash, hash
FROM hotline.audit_log WHERE seq IS NOT NULL ORDER BY seq`
	auditChainHead = `SELECT seq, hash FROM hotline.audit_chain`
)

// VerifyAudit recomputes the audit log's chain and reports the first row that breaks it:
// changed (its hash no longer matches its content), inserted outside the chain, or deleted
// (a gap, or fewer rows than the chain's head says). With anchor set, the row at anchor.Seq
// must still have anchor.Hash. It reads the log in one snapshot.
func VerifyAudit(ctx context.Context, db *sqlx.DB, anchor *AuditHead) (AuditReport, error) {
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return AuditReport{}, fmt.Errorf("verify audit log: %w", err)
	}
	defer tx.Rollback()
	var rep AuditReport
	var head struct {
		Seq  int64  `db:"seq"`
		Hash []byte `db:"hash"`
	}
	if err := tx.GetContext(ctx, &head, auditChainHead); err != nil {
		return rep, fmt.Errorf("verify audit log: the chain's head: %w", err)
	}
	rep.Head = AuditHead{Seq: head.Seq, Hash: hex.EncodeToString(head.Hash)}
	var stray int64
	switch err := tx.GetContext(ctx, &stray, auditUnchained); {
	case err == nil:
		rep.ID = stray
		rep.Problem = fmt.Sprintf("row id %d is outside the chain: inserted without the chain's trigger", stray)
		return rep, nil
	case err != sql.ErrNoRows:
		return rep, fmt.Errorf("verify audit log: %w", err)
	}
	rows, err := tx.QueryxContext(ctx, auditRows)
	if err != nil {
		return rep, fmt.Errorf("verify audit log: %w", err)
	}
	defer rows.Close()
	prev := make([]byte, sha256.Size)
	anchored := anchor == nil
	for rows.Next() {
		var r auditRow
		if err := rows.StructScan(&r); err != nil {
			return rep, fmt.Errorf("verify audit log: %w", err)
		}
		want := rep.Rows + 1
		switch {
		case r.Seq.Int64 != want:
			rep.Seq = want
			rep.Problem = fmt.Sprintf("row seq %d is missing: deleted (the next row is seq %d, id %d)", want, r.Seq.Int64, r.ID)
			return rep, nil
		case !bytes.Equal(r.PrevHash, prev):
			rep.Seq, rep.ID = r.Seq.Int64, r.ID
			rep.Problem = fmt.Sprintf("row seq %d (id %d) does not follow the row before it: a row was replaced", r.Seq.Int64, r.ID)
			return rep, nil
		}
		sum := r.digest(prev)
		if !bytes.Equal(sum, r.Hash) {
			rep.Seq, rep.ID = r.Seq.Int64, r.ID
			rep.Problem = fmt.Sprintf("row seq %d (id %d) was altered: its content no longer matches its hash", r.Seq.Int64, r.ID)
			return rep, nil
		}
		if anchor != nil && r.Seq.Int64 == anchor.Seq {
			if hex.EncodeToString(sum) != anchor.Hash {
				rep.Seq, rep.ID = r.Seq.Int64, r.ID
				rep.Problem = fmt.Sprintf("row seq %d (id %d) differs from the noted head %s: the chain was rewritten", r.Seq.Int64, r.ID, anchor)
				return rep, nil
			}
			anchored = true
		}
		prev = sum
		rep.Rows++
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("verify audit log: %w", err)
	}
	switch {
	case rep.Rows != head.Seq:
		rep.Seq = rep.Rows + 1
		rep.Problem = fmt.Sprintf("the chain's head is seq %d but the log ends at seq %d: the last rows were deleted", head.Seq, rep.Rows)
	case !bytes.Equal(prev, head.Hash):
		rep.Problem = "the chain's head does not match the last row: the head was changed"
	case !anchored:
		rep.Problem = fmt.Sprintf("the noted head %s is past the end of the log (seq %d): rows were deleted", anchor, rep.Rows)
	}
	return rep, nil
}

// AuditHeadNow returns the chain's head.
func AuditHeadNow(ctx context.Context, db *sqlx.DB) (AuditHead, error) {
	var head struct {
		Seq  int64  `db:"seq"`
		Hash []byte `db:"hash"`
	}
	if err := db.GetContext(ctx, &head, auditChainHead); err != nil {
		return AuditHead{}, fmt.Errorf("audit head: %w", err)
	}
	return AuditHead{Seq: head.Seq, Hash: hex.EncodeToString(head.Hash)}, nil
}

// AuditEntry is a row of the audit log as the desk shows it.
type AuditEntry struct {
	Seq        int64           `db:"seq" json:"seq"`
	At         time.Time       `db:"at" json:"at"`
	ActorID    sql.NullInt64   `db:"actor_id" json:"-"`
	Actor      string          `db:"actor" json:"actor"`
	Action     string          `db:"action" json:"action"`
	ObjectType string          `db:"object_type" json:"object_type"`
	ObjectID   string          `db:"object_id" json:"object_id"`
	Detail     json.RawMessage `db:"detail" json:"detail"`
	IP         sql.NullString  `db:"ip" json:"-"`
}

// AuditFilter selects audit rows; zero fields select everything.
type AuditFilter struct {
	ActorID    int64
	Action     string
	ObjectType string
	ObjectID   string
	From, To   time.Time
	// DeskOnly limits the rows to what desk users did with the data (a supervisor's view):
	// not the sign-ins and sign-outs, not what admins or the system did.
	DeskOnly      bool
	Limit, Offset int
}

const auditSearch = `
SELECT l.seq, l.at, l.actor_id, coalesce(a.display_name, '') AS actor, l.action, l.object_type, l.object_id,
       l.detail, l.ip::text AS ip, count(*) OVER () AS total
FROM hotline.audit_log l LEFT JOIN hotline.agents a ON a.id = l.actor_id
WHERE ($1 = 0 OR l.actor_id = $1) AND ($2 = '' OR l.action = $2) AND ($3 = '' OR l.object_type = $3)
  AND ($4 = '' OR l.object_id = $4) AND ($5::timestamptz IS NULL OR l.at >= $5)
  AND ($6::timestamptz IS NULL OR l.at < $6)
  AND (NOT $7 OR (l.actor_id IS NOT NULL AND a.role <> 'admin' AND l.action NOT IN ('login', 'login_failed', 'logout')))
ORDER BY l.seq DESC
LIMIT $8 OFFSET $9`

// SearchAudit returns the audit rows f selects, newest first, and how many there are.
func SearchAudit(ctx context.Context, db *sqlx.DB, f AuditFilter) ([]AuditEntry, int, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	var rows []struct {
		AuditEntry
		Total int `db:"total"`
	}
	timeArg := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t
	}
	if err := db.SelectContext(ctx, &rows, auditSearch, f.ActorID, f.Action, f.ObjectType, f.ObjectID,
		timeArg(f.From), timeArg(f.To), f.DeskOnly, f.Limit, f.Offset); err != nil {
		return nil, 0, fmt.Errorf("search audit log: %w", err)
	}
	out := make([]AuditEntry, len(rows))
	total := 0
	for i, r := range rows {
		out[i] = r.AuditEntry
		total = r.Total
	}
	return out, total, nil
}
