package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/pii"
)

// SoftphoneAccount is the SIP account of an agent whose phone is the desk's softphone.
type SoftphoneAccount struct {
	User     string // the endpoint's name: 1001 for SIP/1001
	Password string
}

// Softphones keeps which agents' phones are the desk's softphone, their SIP secrets sealed.
type Softphones struct {
	db  *sqlx.DB
	pii *pii.Protector
}

// NewSoftphones returns the softphone accounts of db, sealed with p.
func NewSoftphones(db *sqlx.DB, p *pii.Protector) *Softphones { return &Softphones{db: db, pii: p} }

// Account returns the agent's softphone account; ok is false when their phone is not the
// softphone.
func (s *Softphones) Account(ctx context.Context, agentID int64) (acct SoftphoneAccount, ok bool, err error) {
	var row struct {
		Endpoint string `db:"endpoint"`
		Sealed   []byte `db:"sip_secret_sealed"`
	}
	err = s.db.GetContext(ctx, &row, `SELECT endpoint, sip_secret_sealed FROM hotline.agents
		WHERE id = $1 AND softphone AND active`, agentID)
	if errors.Is(err, sql.ErrNoRows) {
		return acct, false, nil
	}
	if err != nil {
		return acct, false, fmt.Errorf("softphone of agent %d: %w", agentID, err)
	}
	secret, err := s.pii.Open(row.Sealed)
	if err != nil {
		return acct, false, fmt.Errorf("softphone of agent %d: the secret does not open with pii.seal_key: %w", agentID, err)
	}
	_, user, _ := strings.Cut(row.Endpoint, "/")
	return SoftphoneAccount{User: user, Password: secret}, true, nil
}

// Set makes the agent's phone the softphone with the endpoint's SIP secret, or (secret "")
// a desk phone again. The agent needs a SIP or PJSIP endpoint.
func (s *Softphones) Set(ctx context.Context, username, secret string) error {
	var sealed []byte
	if secret != "" {
		var err error
		if sealed, err = s.pii.Seal(secret); err != nil {
			return err
		}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE hotline.agents SET softphone = $2, sip_secret_sealed = $3 WHERE username = $1`,
		username, secret != "", sealed)
	if err != nil {
		if strings.Contains(err.Error(), "agents_softphone_endpoint") {
			return fmt.Errorf("agent %s: a softphone needs a SIP/… or PJSIP/… endpoint: %w", username, hotline.ErrInvalid)
		}
		return fmt.Errorf("agent %s: %w", username, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("agent %s: %w", username, hotline.ErrNotFound)
	}
	return nil
}
