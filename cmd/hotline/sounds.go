package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/postgres/seed"
)

func (a *app) soundsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sounds",
		Short: "Build or check the prompt sound files",
		Long: `The prompts are WAV files (8 kHz, mono, 16-bit PCM) in ivr.sounds_dir/<lang>/<id>.wav, rendered
from the texts in manifest.yaml (and the section files beside it) with espeak-ng and sox, and
committed: running the hotline needs no speech synthesis.`,
	}
	var force bool
	build := &cobra.Command{
		Use:   "build",
		Short: "Render the prompts whose text or settings changed (needs espeak-ng and sox)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := prompts.Build(cmd.Context(), prompts.BuildOptions{Dir: a.cfg.IVR.SoundsDir, Force: force, Logger: a.log})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "generated %d, unchanged %d, removed %d\n", len(rep.Generated), len(rep.Unchanged), len(rep.Removed))
			return err
		},
	}
	build.Flags().BoolVar(&force, "force", false, "render every prompt again")
	check := &cobra.Command{
		Use:   "check",
		Short: "Verify every prompt has a valid file per language and there are no orphans",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := prompts.Check(a.cfg.IVR.SoundsDir); err != nil {
				return err
			}
			_, err := fmt.Fprintln(cmd.OutOrStdout(), "sounds ok")
			return err
		},
	}
	var seedValue int64
	catalogue := &cobra.Command{
		Use:   "catalogue",
		Short: "Write the service item, department and station prompt sections from the catalogue",
		Long: `Write sounds/items.yaml, departments.yaml and stations.yaml from the seed's catalogue, so that
the IVR can say every item, department and station by name; then run 'hotline sounds build'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			files, err := seed.CataloguePrompts(seedValue)
			if err != nil {
				return err
			}
			for _, name := range sortedKeys(files) {
				if err := os.WriteFile(filepath.Join(a.cfg.IVR.SoundsDir, name), files[name], 0o644); err != nil {
					return fmt.Errorf("write %s: %w", name, err)
				}
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "wrote %d sections; now run 'hotline sounds build'\n", len(files))
			return err
		},
	}
	catalogue.Flags().Int64Var(&seedValue, "seed", seed.DefaultSeed, "data set whose station hours the prompts read")
	cmd.AddCommand(build, check, catalogue)
	return cmd
}
