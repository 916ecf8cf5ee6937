package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/sipua/softphone"
)

// deskPhones are the desk's softphones: the agents' SIP accounts from the database, their
// lines registered at softphone.registrar.
type deskPhones struct {
	*softphone.Lines
	accounts *postgres.Softphones
}

// Online starts the agent's line when their phone is the softphone.
func (p deskPhones) Online(ctx context.Context, agentID int64) error {
	acct, ok, err := p.accounts.Account(ctx, agentID)
	if err != nil || !ok {
		return err
	}
	return p.Lines.Online(agentID, softphone.Account{User: acct.User, Password: acct.Password})
}

// newDeskPhones returns the softphones of softphone.registrar, nil when it is not set.
func (a *app) newDeskPhones(h *system) (*deskPhones, error) {
	c := a.cfg.Softphone
	if c.Registrar == "" {
		return nil, nil
	}
	protector, err := protectorFromConfig(a.cfg.PII)
	if err != nil {
		return nil, err
	}
	lines, err := softphone.New(softphone.Options{Registrar: c.Registrar, LocalHost: c.LocalHost, Expiry: c.Expiry,
		Log: a.log.With("component", "softphone")})
	if err != nil {
		return nil, err
	}
	return &deskPhones{Lines: lines, accounts: postgres.NewSoftphones(h.db, protector)}, nil
}

func (a *app) softphoneCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "softphone",
		Short: "Make an agent's phone the desk's built-in softphone, or a desk phone again",
		Long: `An agent whose phone is the softphone answers in the browser: while they are logged in, the
hotline registers a SIP line for their endpoint (SIP/1001 registers as 1001) at
softphone.registrar with the endpoint's secret, which is kept sealed with pii.seal_key.`,
	}
	set := &cobra.Command{
		Use:   "set USERNAME",
		Short: "Make the agent's phone the softphone; the endpoint's SIP secret is read from standard input",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			secret := strings.TrimSpace(line)
			if secret == "" {
				if err != nil {
					return fmt.Errorf("read the SIP secret from standard input: %w", err)
				}
				return errors.New("the SIP secret on standard input is empty")
			}
			return a.setSoftphone(cmd, args[0], secret)
		},
	}
	off := &cobra.Command{
		Use:   "off USERNAME",
		Short: "Make the agent's phone a desk phone again (their endpoint rings as before)",
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return a.setSoftphone(cmd, args[0], "") },
	}
	cmd.AddCommand(set, off)
	return cmd
}

func (a *app) setSoftphone(cmd *cobra.Command, username, secret string) error {
	protector, err := protectorFromConfig(a.cfg.PII)
	if err != nil {
		return err
	}
	db, err := a.openConfigured(cmd.Context())
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.NewSoftphones(db, protector).Set(cmd.Context(), username, secret); err != nil {
		return err
	}
	what := "the desk's softphone"
	if secret == "" {
		what = "a desk phone"
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s's phone is %s from their next login\n", username, what)
	return err
}

// phonesOrNil keeps a nil *deskPhones from becoming a non-nil interface.
func phonesOrNil(p *deskPhones) agentdesk.PhoneLines {
	if p == nil {
		return nil
	}
	return p
}
