package main

import (
	"github.com/spf13/cobra"

	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
)

func (a *app) simAsteriskCmd() *cobra.Command {
	var listen, control, recordings string
	var speed float64
	cmd := &cobra.Command{
		Use:   "sim-asterisk",
		Short: "Run the Asterisk simulator: ARI over HTTP and websocket, plus a control API",
		Long: `Run a simulated Asterisk 20 node that speaks ARI like a real one (same paths, JSON, status
codes, event order, ID formats), for development, tests and the demo. The control API places
calls with a caller number, presses keys, hangs up, and streams what the caller hears.
Prompts are played from ivr.sounds_dir as Asterisk would from <sounds>/<lang>/hotline/….`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dirs, err := flowtest.SoundDirs(a.cfg.IVR.SoundsDir, a.cfg.Demo.Dir)
			if err != nil {
				return err
			}
			opts := arisim.Options{Logger: a.log, SoundDirs: dirs, Speed: speed, RecordingDir: recordings, Users: simUsers(a.cfg)}
			return arisim.Main(cmd.Context(), opts, listen, control)
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8088", "ARI address (Asterisk's http.conf bindaddr:bindport)")
	cmd.Flags().StringVar(&control, "control", "127.0.0.1:8089", "control API address; empty disables it")
	cmd.Flags().StringVar(&recordings, "recordings", "", "directory for recordings; empty makes recording fail as on a misconfigured Asterisk")
	cmd.Flags().Float64Var(&speed, "speed", 1, "time compression: 10 plays everything ten times faster")
	return cmd
}

// simUsers gives the simulator the ARI accounts the configured nodes log in with.
func simUsers(c *Config) map[string]string {
	users := map[string]string{}
	for _, n := range c.Asterisk.Nodes {
		users[n.Username] = n.Password
	}
	return users
}
