package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/ivr/webphone"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/seed"
)

func (a *app) demoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Run the whole hotline on embedded defaults, with a browser phone to call it",
		Long: `Run everything on one machine with nothing configured: a throwaway PostgreSQL cluster
(unless database.url is set) migrated and seeded with demo.citizens citizens, the Asterisk
simulator, the ARI controller and the agent desk, and a browser phone page to call the hotline
as a citizen. Ctrl-C stops it all and removes the throwaway database.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.demo(cmd.Context(), cmd.OutOrStdout()) },
	}
}

func (a *app) demo(ctx context.Context, out io.Writer) (err error) {
	defer func() {
		if ctx.Err() != nil { // Ctrl-C, at any moment, is how a demo ends
			err = nil
		}
	}()
	// What can be wrong with the flows or the addresses is found before PostgreSQL starts,
	// and every port is bound before the controller dials the simulator or the banner
	// invites a call.
	flows, err := a.loadCallFlows()
	if err != nil {
		return err
	}
	httpLn, err := listen("http.listen", a.cfg.HTTP.Listen)
	if err != nil {
		return err
	}
	defer httpLn.Close()
	ariLn, err := listen("demo.sim_listen", a.cfg.Demo.SimListen)
	if err != nil {
		return err
	}
	defer ariLn.Close()
	controlLn, err := listen("demo.sim_control", a.cfg.Demo.SimControl)
	if err != nil {
		return err
	}
	defer controlLn.Close()

	keys, err := demoKeys(a.cfg.PII, a.cfg.Demo.Dir)
	if err != nil {
		return err
	}
	a.cfg.PII = keys
	url := a.cfg.Database.URL
	if url == "" {
		cluster, u, err := a.startThrowaway(ctx)
		if err != nil {
			return err
		}
		defer cluster.Stop()
		url = u
	}
	db, err := a.openDatabase(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db.DB, a.log); err != nil {
		return err
	}
	sum, err := a.demoSeed(ctx, db)
	if err != nil {
		return err
	}

	if a.cfg.CallLog.SpoolDir == defaults["calllog.spool_dir"] {
		// The demo keeps its state in demo.dir, the call log's spool too.
		a.cfg.CallLog.SpoolDir = filepath.Join(a.cfg.Demo.Dir, "calllog-spool")
	}
	h, err := a.newHotline(ctx, db, url, flows)
	if err != nil {
		return err
	}
	dirs, err := flowtest.SoundDirs(a.cfg.IVR.SoundsDir, a.cfg.Demo.Dir)
	if err != nil {
		return err
	}
	recordings := filepath.Join(a.cfg.Demo.Dir, "recordings")
	if err := os.MkdirAll(recordings, 0o755); err != nil {
		return err
	}
	sim := arisim.New(arisim.Options{Logger: a.log.With("component", "arisim"), SoundDirs: dirs, RecordingDir: recordings, Users: simUsers(a.cfg)})
	defer sim.Close()
	demoPhones(sim, sum)
	h.desk.SetAnswerer(simAnswerer{sim})
	manifest, err := prompts.Load(a.cfg.IVR.SoundsDir)
	if err != nil {
		return err
	}
	phone, err := webphone.New(webphone.Options{ControlURL: "http://" + a.cfg.Demo.SimControl, Manifest: manifest,
		Citizens: demoCallers(sum), SoundRoot: "hotline", Logger: a.log.With("component", "webphone")})
	if err != nil {
		return err
	}
	h.mux.Handle("/phone/", http.StripPrefix("/phone", phone))
	h.mux.Handle("GET /{$}", http.RedirectHandler("/phone/", http.StatusFound))

	// The simulator stops after the controller, which hangs up the calls in progress on it.
	g, gctx := errgroup.WithContext(ctx)
	simCtx, stopSim := context.WithCancel(context.WithoutCancel(ctx))
	defer stopSim()
	grace := a.cfg.HTTP.ShutdownTimeout
	g.Go(func() error {
		return serveListener(simCtx, a.log, "asterisk simulator ari", ariLn, sim.Handler(), grace)
	})
	g.Go(func() error {
		return serveListener(simCtx, a.log, "asterisk simulator control", controlLn, sim.ControlHandler(), grace)
	})
	g.Go(func() error {
		defer stopSim()
		return h.run(gctx, a, httpLn)
	})
	a.printDemo(out, sum)
	return g.Wait()
}

// demoSeed loads the demo data into an empty database; a database that already holds data
// (a configured one, seeded before) is used as it is.
func (a *app) demoSeed(ctx context.Context, db *sqlx.DB) (seed.Summary, error) {
	protector, err := protectorFromConfig(a.cfg.PII)
	if err != nil {
		return seed.Summary{}, err
	}
	now := time.Now().In(seed.DefaultNow.Location())
	sum, err := seed.Run(ctx, db, seed.Options{Citizens: a.cfg.Demo.Citizens, Seed: a.cfg.Demo.Seed, Protector: protector,
		Now: now, PINCost: 4, Log: a.log})
	if errors.Is(err, seed.ErrNotEmpty) {
		a.log.Info("database already holds data; using it as it is")
		return seed.Summary{}, nil
	}
	return sum, err
}

// demoCallers are the seeded citizens the browser phone offers to call as.
func demoCallers(s seed.Summary) []webphone.DemoCitizen {
	out := make([]webphone.DemoCitizen, 0, len(s.Citizens))
	for _, c := range s.Citizens {
		out = append(out, webphone.DemoCitizen{Name: c.Name, Mobile: c.Mobile, Level: hotline.Level(c.Level), Note: c.Note})
	}
	return out
}

func (a *app) printDemo(w io.Writer, s seed.Summary) {
	fmt.Fprintf(w, `
Foshan citizen hotline demo
  call the hotline:  http://%s/phone/
  health, metrics:   http://%[1]s/healthz  /readyz  /metrics
  Asterisk (sim):    ARI http://%s/ari  control http://%s
`, a.cfg.HTTP.Listen, a.cfg.Demo.SimListen, a.cfg.Demo.SimControl)
	users := simUsers(a.cfg)
	for _, user := range sortedKeys(users) {
		fmt.Fprintf(w, "  ARI user:          %s  password %s\n", user, users[user])
	}
	if len(s.Staff) > 0 {
		fmt.Fprintf(w, "  agent desk:        http://%s/desk/  (agents' phones ring on the simulator)\n", a.cfg.HTTP.Listen)
		fmt.Fprintln(w, "  desk accounts:")
		for _, c := range s.Staff {
			fmt.Fprintf(w, "    %-12s %-14s %-10s %s\n", c.Username, c.Password, c.Role, c.DisplayName)
		}
	}
	if len(s.Citizens) > 0 {
		fmt.Fprintln(w, "  citizens to call as (mobile, ID number, phone PIN):")
		for _, c := range s.Citizens {
			fmt.Fprintf(w, "    %s %s %s %s  %s\n", c.Mobile, c.Name, c.IDNumber, orDash(c.PIN), c.Note)
		}
	}
	fmt.Fprintln(w, "Ctrl-C stops everything.")
}

// demoPhones registers the seeded staff's desk phones on the simulator: they ring until the
// simulator's control API (the desk, in the demo) answers or rejects them, as a person would.
func demoPhones(sim *arisim.Sim, s seed.Summary) {
	for _, c := range s.Staff {
		tech, res, ok := strings.Cut(c.Endpoint, "/")
		if !ok {
			continue
		}
		sim.SetEndpoint(arisim.EndpointConfig{Technology: tech, Resource: res, Registered: true,
			Behaviour: arisim.PhoneBehaviour{Mode: arisim.PhoneManual}})
	}
}

// simAnswerer answers and rejects the demo's simulated agent phones for the desk (POST
// /api/calls/{id}/control with answer or reject): the phone of the agent's endpoint that
// rings.
type simAnswerer struct{ sim *arisim.Sim }

func (a simAnswerer) ringing(endpoint string) (*arisim.Call, error) {
	for _, c := range a.sim.Calls() {
		if c.Kind == "agent" && c.Endpoint == endpoint && c.State == "ringing" {
			return a.sim.Call(c.ID)
		}
	}
	return nil, fmt.Errorf("no phone ringing at %s: %w", endpoint, hotline.ErrConflict)
}

func (a simAnswerer) Answer(_ context.Context, endpoint, _ string) error {
	c, err := a.ringing(endpoint)
	if err != nil {
		return err
	}
	return simPhoneError(c.Answer())
}

func (a simAnswerer) Reject(_ context.Context, endpoint, _ string) error {
	c, err := a.ringing(endpoint)
	if err != nil {
		return err
	}
	return simPhoneError(c.Reject())
}

// simPhoneError makes a phone that stopped ringing meanwhile a conflict.
func simPhoneError(err error) error {
	if errors.Is(err, arisim.ErrCallEnded) {
		return fmt.Errorf("the phone stopped ringing: %w", hotline.ErrConflict)
	}
	return err
}
