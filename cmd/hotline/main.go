// Command hotline runs the Foshan citizen hotline: the Asterisk ARI controller with its call
// flows, the agent desk, and the tools to migrate, seed and demonstrate them.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Environ(), os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hotline:", err)
		os.Exit(1)
	}
}

// app carries what every subcommand needs once the configuration is loaded.
type app struct {
	environ []string
	stdout  io.Writer
	stderr  io.Writer
	cfg     *Config
	log     *slog.Logger
}

// run parses args and runs the chosen subcommand until it finishes or ctx ends.
func run(ctx context.Context, args, environ []string, stdout, stderr io.Writer) error {
	a := &app{environ: environ, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "hotline",
		Short: "Foshan citizen hotline: IVR controller, agent desk and their tools",
		Long: `hotline runs the Foshan citizen information service hotline (佛山市信息惠民服务热线):
an Asterisk ARI controller that runs the declarative call flows, the agent desk, and the tools
that migrate, seed and demonstrate them.

Configuration comes from embedded defaults, then the YAML file given with --config, then
HOTLINE_* environment variables (database.url is HOTLINE_DATABASE_URL), then flags.
'hotline config' prints the effective configuration with secrets redacted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd.Flags(), environ)
			if err != nil {
				return err
			}
			a.cfg = cfg
			a.log = newLogger(stderr, cfg.Log)
			for _, u := range unknownEnv(environ) {
				if u.closest != "" {
					a.log.Warn("environment variable names no configuration key; ignored", "var", u.name, "did_you_mean", u.closest)
				} else {
					a.log.Warn("environment variable names no configuration key; ignored", "var", u.name)
				}
			}
			return nil
		},
	}
	addConfigFlags(root.PersistentFlags())
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		a.serveCmd(), a.demoCmd(), a.migrateCmd(), a.seedCmd(), a.soundsCmd(), a.flowsCmd(), a.benchCmd(), a.phoneCmd(), a.simAsteriskCmd(), a.configCmd(), a.auditCmd(), a.privacyCmd(), a.softphoneCmd(), keygenCmd(), versionCmd(),
	)
	return root.ExecuteContext(ctx)
}

// newLogger returns the process logger; configuration was validated, so level and format are
// known values.
func newLogger(w io.Writer, c LogConfig) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(c.Level)))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
