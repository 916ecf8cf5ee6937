package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/postgres"
)

func (a *app) benchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure the hotline under load and print a table",
	}
	var calls int
	var speed float64
	var ramp, timeout time.Duration
	billsCmd := &cobra.Command{
		Use:   "calls",
		Short: "N concurrent simulated calls through the bills flow against the simulator and database.url",
		Long: `Place N calls at once through the Asterisk simulator, each as a seeded citizen with a utility
account: Mandarin, bills, the account kind, the latest bill read aloud. Prints calls completed,
errors, the delay from a key reaching the controller to its next play request (without and
with a database lookup), heap and stacks per call at the peak, and goroutines before, at the
peak and after. Seed database.url first ('hotline seed --citizens 1000000').`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if a.cfg.Database.URL == "" {
				return errNoDatabase
			}
			db, err := a.openDatabase(ctx, a.cfg.Database.URL)
			if err != nil {
				return err
			}
			defer db.Close()
			holders, err := postgres.SampleAccountHolders(ctx, db, calls)
			if err != nil {
				return err
			}
			if len(holders) < calls {
				return fmt.Errorf("only %d citizens with accounts for %d calls: seed more", len(holders), calls)
			}
			keys := map[string]string{"water": "1", "electricity": "2", "gas": "3", "telecom": "4"}
			callers := make([]flowtest.BenchCaller, len(holders))
			for i, hd := range holders {
				callers[i] = flowtest.BenchCaller{Mobile: hd.Mobile, KindKey: keys[hd.Kind]}
			}
			protector, err := protectorFromConfig(a.cfg.PII)
			if err != nil {
				return err
			}
			lib, err := a.loadFlows()
			if err != nil {
				return err
			}
			manifest, err := prompts.Load(a.cfg.IVR.SoundsDir)
			if err != nil {
				return err
			}
			cals, err := a.loadCalendars()
			if err != nil {
				return err
			}
			store := postgres.New(db, protector, nil)
			callLog := postgres.NewCallLog(db, a.log, postgres.CallLogOptions{})
			defer callLog.Close(ctx)
			h, err := flowtest.Start(flowtest.Options{Speed: speed, Engine: ivr.Config{
				Flows: lib, Manifest: manifest, SoundsDir: a.cfg.IVR.SoundsDir, Calendars: cals,
				Sources: &ivr.PlatformSources{Data: store}, Services: postgres.NewIVRServices(store), Recorder: callLog,
				// Business hours, whatever the time of the run.
				Now: func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("CST", 8*3600)) },
			}})
			if err != nil {
				return err
			}
			defer h.Close()
			res := h.RunBillsBench(ctx, flowtest.BenchOptions{Callers: callers, Ramp: ramp, Timeout: timeout})
			res.WriteTable(cmd.OutOrStdout())
			return nil
		},
	}
	billsCmd.Flags().IntVar(&calls, "calls", 1000, "concurrent calls")
	billsCmd.Flags().Float64Var(&speed, "speed", 10, "simulator time compression (prompt lengths, DTMF timing)")
	billsCmd.Flags().DurationVar(&ramp, "ramp", 10*time.Second, "spread the calls' arrival over this long")
	billsCmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "bound on each call")
	cmd.AddCommand(billsCmd)
	return cmd
}
