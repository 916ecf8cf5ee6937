package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/foshan-hotline/hotline/postgres/seed"
)

func (a *app) seedCmd() *cobra.Command {
	var citizens int
	var seedValue int64
	var now string
	var replace bool
	var history seed.HistoryOptions
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Load realistic, deterministic Foshan data into the database",
		Long: `Generate citizens (Chinese names, valid ID numbers, unique mobiles, about 60% real-name),
their utility accounts with twelve months of bills, social insurance and housing fund accounts,
the service catalogue, applications with their history, service stations, the consultation
queues and skills, and demo desk staff, and bulk-load them with COPY into database.url.

The same --seed and --now give the same data. ID numbers are sealed with pii.seal_key and
hashed with pii.lookup_key, so seed with the keys the hotline will run with.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.cfg.Database.URL == "" {
				return errNoDatabase
			}
			day, err := time.ParseInLocation("2006-01-02", now, seed.DefaultNow.Location())
			if err != nil {
				return fmt.Errorf("--now: want a date like 2026-03-16: %w", err)
			}
			protector, err := protectorFromConfig(a.cfg.PII)
			if err != nil {
				return err
			}
			db, err := a.openDatabase(cmd.Context(), a.cfg.Database.URL)
			if err != nil {
				return err
			}
			defer db.Close()
			if err := requireCurrentSchema(cmd.Context(), db); err != nil {
				return err
			}
			sum, err := seed.Run(cmd.Context(), db, seed.Options{Citizens: citizens, Seed: seedValue, Protector: protector,
				Now: day.Add(seed.DefaultNow.Sub(truncateDay(seed.DefaultNow))), Replace: replace, Log: a.log})
			if err != nil {
				return err
			}
			printSummary(cmd.OutOrStdout(), sum)
			if history.Days > 0 {
				history.Now = day
				start := time.Now()
				if err := seed.History(cmd.Context(), db, history); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "call history: %d days of %d calls for %d agents in %v\n",
					history.Days, history.CallsPerDay, history.Agents, time.Since(start).Round(time.Second))
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&history.Days, "history-days", 0, "also generate this many days of call history (for the reports)")
	cmd.Flags().IntVar(&history.CallsPerDay, "history-calls", 2000, "calls a day in the history")
	cmd.Flags().IntVar(&history.Agents, "history-agents", 300, "agents answering the history's calls (more are added without a login)")
	cmd.Flags().IntVar(&citizens, "citizens", 10000, "number of citizens")
	cmd.Flags().Int64Var(&seedValue, "seed", 1, "data set: the same seed gives the same data")
	cmd.Flags().StringVar(&now, "now", seed.DefaultNow.Format("2006-01-02"), "the data's today (bills run up to it)")
	cmd.Flags().BoolVar(&replace, "replace", false, "empty the seeded tables (and the calls, work orders … that refer to them) first")
	return cmd
}

func truncateDay(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// printSummary shows what was loaded, the demo staff and a few citizens to call as.
func printSummary(w io.Writer, s seed.Summary) {
	fmt.Fprintf(w, "loaded in %s:\n", s.Elapsed.Round(time.Millisecond))
	for _, t := range sortedKeys(s.Rows) {
		fmt.Fprintf(w, "  %-36s %10d\n", t, s.Rows[t])
	}
	fmt.Fprintln(w, "desk logins:")
	for _, c := range s.Staff {
		fmt.Fprintf(w, "  %-12s %-12s %-10s %s\n", c.Username, c.Password, c.Role, c.DisplayName)
	}
	fmt.Fprintln(w, "citizens to call as:")
	for _, c := range s.Citizens {
		fmt.Fprintf(w, "  %s %s %s PIN %s  %s\n", c.Mobile, c.Name, c.IDNumber, orDash(c.PIN), c.Note)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
