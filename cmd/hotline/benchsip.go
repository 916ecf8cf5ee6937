package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/foshan-hotline/hotline/sipua"
	"github.com/foshan-hotline/hotline/sipua/load"
)

// benchSIPFlags are the settings of 'hotline bench sip'.
type benchSIPFlags struct {
	phone       phoneFlags
	calls       int
	rate        float64
	hold        time.Duration
	deadline    time.Duration
	csv         string
	allowRemote bool
}

func (a *app) benchSIPCmd() *cobra.Command {
	var f benchSIPFlags
	cmd := &cobra.Command{
		Use:   "sip SIP-URI",
		Short: "N scripted SIP calls at a rate against an Asterisk (or the test UAS), as a table",
		Long: `A load generator in the manner of SIPp, scripted like 'hotline phone call': place --calls calls,
--rate a second (the ramp), each following --script once answered and held --hold longer before
it hangs up. Prints calls attempted, answered and failed by reason, answer time p50/p99, DTMF
digits sent, audio heard per call, RTP packet loss and jitter, and the CPU and memory this
process used per call; --csv writes one row per call.

A run is bounded: at most 10000 calls, 500 a second, and --deadline (default: the ramp, the
answer timeout, the script and the hold, plus a minute), after which calls still up are hung up.
A target (or --proxy) outside 127.0.0.0/8 and ::1 is refused unless --allow-remote is given.
The exit status is 1 unless every call completed.

Example, 200 concurrent calls through the water-bill path of a test Asterisk on this host:
  hotline bench sip sip:12345@127.0.0.1:5060 --calls 200 --rate 20 --hold 10s --from 13800138000 \
    --script "wait:prompt 5s; wait:silence 20s; keys 1; wait:prompt 5s; keys 1; wait:prompt 5s; keys 1; listen 8s; hangup"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.benchSIP(cmd.Context(), args[0], f)
		},
	}
	f.phone.add(cmd.Flags(), "wait:prompt 5s; keys 1; wait:prompt 5s; listen 3s; hangup")
	cmd.Flags().IntVar(&f.calls, "calls", 10, "calls to place")
	cmd.Flags().Float64Var(&f.rate, "rate", 10, "calls started a second")
	cmd.Flags().DurationVar(&f.hold, "hold", 0, "keep each call up this much longer after its script, so calls overlap")
	cmd.Flags().DurationVar(&f.deadline, "deadline", 0, "bound on the whole run (default: computed from the plan)")
	cmd.Flags().StringVar(&f.csv, "csv", "", "also write one row per call to this CSV file")
	cmd.Flags().BoolVar(&f.allowRemote, "allow-remote", false, "allow a target outside the loopback network")
	return cmd
}

func (a *app) benchSIP(ctx context.Context, target string, f benchSIPFlags) error {
	script, err := sipua.ParseScript(f.phone.script)
	if err != nil {
		return err
	}
	plan := load.Plan{Target: target, Proxy: f.phone.proxy, Calls: f.calls, Rate: f.rate, Hold: f.hold, Script: script,
		AnswerTimeout: f.phone.timeout, Deadline: f.deadline, AllowRemote: f.allowRemote}
	// Checked before the phone binds anything, so a refused target costs nothing.
	if err := plan.Check(ctx); err != nil {
		return err
	}
	phone, err := f.phone.phone(ctx, a.log, target)
	if err != nil {
		return err
	}
	defer phone.Close()
	res, err := load.Run(ctx, phone, plan)
	if res == nil {
		return err
	}
	if werr := res.WriteTable(a.stdout); werr != nil {
		return werr
	}
	if f.csv != "" {
		file, cerr := os.Create(f.csv)
		if cerr != nil {
			return fmt.Errorf("--csv: %w", cerr)
		}
		if cerr := res.WriteCSV(file); cerr != nil {
			file.Close()
			return fmt.Errorf("--csv: %w", cerr)
		}
		if cerr := file.Close(); cerr != nil {
			return fmt.Errorf("--csv: %w", cerr)
		}
	}
	if err != nil {
		return err
	}
	if s := res.Summarize(); s.OK < s.Attempted || s.Attempted < plan.Calls {
		return fmt.Errorf("%w: %d of %d calls completed", errCallFailed, s.OK, plan.Calls)
	}
	return nil
}
