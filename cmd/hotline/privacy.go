package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/jmoiron/sqlx"
	"github.com/spf13/cobra"

	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/postgres"
)

// privacySubject is who a privacy command is about, from its flags.
type privacySubject struct {
	citizen  int64
	idNumber string
	numbers  []string
}

func (p *privacySubject) flags(cmd *cobra.Command) {
	cmd.Flags().Int64Var(&p.citizen, "citizen", 0, "the platform's citizen id")
	cmd.Flags().StringVar(&p.idNumber, "id-number", "", "the citizen's resident ID number (looked up by its keyed hash)")
	cmd.Flags().StringSliceVar(&p.numbers, "number", nil, "a phone number the person called from (repeatable)")
}

// resolve turns the flags into a subject, finding the citizen by ID number if given.
func (p *privacySubject) resolve(ctx context.Context, a *app, db *sqlx.DB) (postgres.PrivacySubject, error) {
	s := postgres.PrivacySubject{CitizenID: p.citizen, Numbers: p.numbers}
	if p.idNumber != "" {
		if p.citizen != 0 {
			return s, errors.New("give --citizen or --id-number, not both")
		}
		protector, err := protectorFromConfig(a.cfg.PII)
		if err != nil {
			return s, err
		}
		c, err := postgres.New(db, protector, nil).CitizenByIDNumber(ctx, p.idNumber)
		if err != nil {
			return s, fmt.Errorf("--id-number: %w", err)
		}
		s.CitizenID = c.ID
	}
	if s.CitizenID == 0 && len(s.Numbers) == 0 {
		return s, errors.New("say whose information: --citizen, --id-number or --number")
	}
	return s, nil
}

func (a *app) privacyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "privacy",
		Short: "Personal information on request: export or erase what the hotline holds about a person",
		Long: `For a citizen's request under the Personal Information Protection Law. A person is a platform
citizen (--citizen or --id-number; their registered mobile is included) and/or the phone
numbers they called from (--number). Both commands write an audit row.`,
	}
	var exportWho privacySubject
	var out string
	export := &cobra.Command{
		Use:   "export",
		Short: "Write everything the hotline holds about a person as JSON",
		Long: `Calls with their IVR steps, queue entries, survey answers and recordings (the list), callbacks,
work orders with their history, PIN attempts, and the audit rows of who looked at the person's
record and why.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := a.openConfigured(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			subject, err := exportWho.resolve(cmd.Context(), a, db)
			if err != nil {
				return err
			}
			exp, err := postgres.ExportPersonalData(cmd.Context(), db, subject, 0)
			if err != nil {
				return err
			}
			var w io.Writer = cmd.OutOrStdout()
			if out != "" {
				f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(exp)
		},
	}
	exportWho.flags(export)
	export.Flags().StringVarP(&out, "out", "o", "", "write to this new file (mode 0600) instead of standard output")

	var eraseWho privacySubject
	var yes bool
	erase := &cobra.Command{
		Use:   "erase",
		Short: "Remove or anonymise what the law does not require the hotline to keep",
		Long: `The person's calls lose their number, their citizen and what was keyed in the IVR; their
callbacks lose the number (pending ones are cancelled); their recordings are deleted from the
Asterisk nodes and then from the database. Kept: work orders (the record of a public service,
kept for the archive period), PIN attempts (a security measure) and the audit log.
A recording on a node that cannot be reached now is kept and reported: run erase again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !yes {
				return errors.New("erasure cannot be undone: add --yes")
			}
			db, err := a.openConfigured(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			subject, err := eraseWho.resolve(cmd.Context(), a, db)
			if err != nil {
				return err
			}
			er, err := postgres.ErasePersonalData(cmd.Context(), db, subject, 0)
			if err != nil {
				return err
			}
			kept := a.deleteRecordings(cmd.Context(), db, er)
			fmt.Fprintf(cmd.OutOrStdout(), "erased: %d calls anonymised, %d IVR steps cleared, %d callbacks, %d of %d recordings deleted; %d work orders kept\n",
				er.Calls, er.Steps, er.Callbacks, len(er.Recordings)-len(kept), len(er.Recordings), er.WorkOrdersKept)
			if len(kept) > 0 {
				return fmt.Errorf("%d recordings could not be deleted now (%v): run erase again when their nodes answer", len(kept), kept)
			}
			return nil
		},
	}
	eraseWho.flags(erase)
	erase.Flags().BoolVar(&yes, "yes", false, "confirm the erasure")
	cmd.AddCommand(export, erase)
	return cmd
}

// deleteRecordings deletes the erased recordings' files on their nodes, then their rows; it
// returns the names it could not delete.
func (a *app) deleteRecordings(ctx context.Context, db *sqlx.DB, er postgres.Erasure) (kept []string) {
	clients := map[string]*ari.Client{}
	for _, n := range a.cfg.Asterisk.Nodes {
		c, err := ari.NewClient(n.URL, n.Username, n.Password)
		if err == nil {
			clients[n.Name] = c
		}
	}
	for _, r := range er.Recordings {
		c := clients[r.Node]
		if c == nil {
			kept = append(kept, r.Name)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, a.cfg.Database.ConnectTimeout)
		err := c.StoredRecording(r.Name).Delete(rctx)
		cancel()
		if err != nil && !errors.Is(err, ari.ErrNotFound) {
			a.log.Warn("delete recording", "recording", r.Name, "node_name", r.Node, "err", err)
			kept = append(kept, r.Name)
			continue
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM hotline.recordings WHERE id = $1`, r.ID); err != nil {
			a.log.Warn("delete recording row", "recording", r.Name, "err", err)
			kept = append(kept, r.Name)
		}
	}
	return kept
}
