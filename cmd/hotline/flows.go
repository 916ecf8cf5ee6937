package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/postgres"
)

func (a *app) flowsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flows",
		Short: "Check, draw, test, export and import call flows",
		Long: `Call flows are YAML documents (schema: flows/flow.schema.json). A flow that fails any check
never runs; 'flows check' shows every problem as file:line: node: message.

The database is the source of truth of the published flows: supervisors edit, test, publish and
roll them back in the desk (/desk/flows). The files of ivr.flows_dir seed a database that has
no flow yet; after that, 'flows import' publishes files and 'flows export' writes the published
flows back to files, to be diffed and committed.`,
	}
	check := &cobra.Command{
		Use:   "check [FILE...]",
		Short: "Validate flows (all of ivr.flows_dir by default) against the sound manifest and calendars",
		RunE: func(cmd *cobra.Command, args []string) error {
			opt, err := a.flowOptions()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				args = []string{a.cfg.IVR.FlowsDir}
			}
			fsys, paths, root, err := flowPaths(args)
			if err != nil {
				return err
			}
			opt.Root = root
			problems, err := flow.Check(fsys, paths, opt)
			if err != nil {
				return err
			}
			for _, p := range problems {
				fmt.Fprintln(cmd.OutOrStdout(), p.String())
			}
			if len(problems) > 0 {
				return fmt.Errorf("%d problem(s): these flows cannot run", len(problems))
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), "flows ok")
			return err
		},
	}
	var format, out string
	graph := &cobra.Command{
		Use:   "graph FLOW",
		Short: "Draw a flow as SVG (or DOT) with its nodes, exits and labels",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			lib, err := a.loadFlows()
			if err != nil {
				return err
			}
			f := lib.Flow(args[0])
			if f == nil {
				return fmt.Errorf("no flow %q (have %v)", args[0], lib.Names())
			}
			var data []byte
			switch format {
			case "svg":
				data = flow.SVG(f)
			case "dot":
				data = flow.Graph(f)
			default:
				return fmt.Errorf("--format must be svg or dot, got %q", format)
			}
			var w io.Writer = cmd.OutOrStdout()
			if out != "" {
				return os.WriteFile(out, data, 0o644)
			}
			_, err = w.Write(data)
			return err
		},
	}
	graph.Flags().StringVar(&format, "format", "svg", "svg or dot")
	graph.Flags().StringVarP(&out, "output", "o", "", "write to this file instead of standard output")
	test := &cobra.Command{
		Use:   "test [FILE...]",
		Short: "Run the flow scenarios (flows/tests) against the simulator and a throwaway database",
		Long: `Run the scenario files (all of ivr.flows_dir/tests by default): simulated callers, chosen among
seeded citizens, press keys and must hear what the scenario expects; each call's end is checked
against its record. Prints each result and the node and exit coverage per flow; with no FILE the
shipped flows must be covered completely. Needs PostgreSQL's server binaries.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return flowtest.Main(cmd.Context(), cmd.OutOrStdout(), flowtest.RunOptions{
				FlowsDir: a.cfg.IVR.FlowsDir, SoundsDir: a.cfg.IVR.SoundsDir, Files: args,
				LookupTimeout: a.cfg.IVR.LookupTimeout, RequireCoverage: len(args) == 0, Log: a.log,
			})
		},
	}
	cmd.AddCommand(check, graph, test, a.flowsExportCmd(), a.flowsImportCmd())
	return cmd
}

// flowOptions is what flows are checked against: the sound manifest, the business-hours
// calendars beside the flows; and the default timeout of their lookups.
func (a *app) flowOptions() (flow.Options, error) {
	m, err := prompts.Load(a.cfg.IVR.SoundsDir)
	if err != nil {
		return flow.Options{}, err
	}
	cals, err := a.loadCalendars()
	if err != nil {
		return flow.Options{}, err
	}
	names := make([]string, 0, len(cals))
	for n := range cals {
		names = append(names, n)
	}
	return flow.Options{Manifest: m, Calendars: names, LookupTimeout: a.cfg.IVR.LookupTimeout}, nil
}

// loadCalendars reads the business-hours calendars kept beside the flows.
func (a *app) loadCalendars() (map[string]*flow.Calendar, error) {
	data, err := os.ReadFile(filepath.Join(a.cfg.IVR.FlowsDir, "calendars.yaml"))
	if err != nil {
		return nil, fmt.Errorf("calendars: %w", err)
	}
	return flow.ParseCalendars(data)
}

// loadFlows loads and validates every flow of ivr.flows_dir.
func (a *app) loadFlows() (*flow.Library, error) {
	opt, err := a.flowOptions()
	if err != nil {
		return nil, err
	}
	dir := a.cfg.IVR.FlowsDir
	opt.Root = dir
	return flow.LoadDir(os.DirFS(dir), ".", opt)
}

// flowPaths opens the flow files and directories named by paths as one file system, rooted
// at the deepest directory holding them all, and returns their names in it and that root as
// the user wrote it: relative ("../x/flows") when every path is, absolute otherwise.
func flowPaths(paths []string) (fs.FS, []string, string, error) {
	clean := make([]string, len(paths))
	abs := false
	for i, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return nil, nil, "", fmt.Errorf("flows: %w", err)
		}
		clean[i] = filepath.Clean(p)
		abs = abs || filepath.IsAbs(p)
	}
	root, names, ok := commonRoot(clean, abs)
	if !ok { // relative paths that only "/" holds together, as "../a" and "b" when "." is "/x"
		root, names, _ = commonRoot(clean, true)
	}
	return os.DirFS(root), names, root, nil
}

// commonRoot returns the deepest directory holding every path (a directory holds itself)
// and the paths' slash-separated names in it; with abs, every path is made absolute first.
// It fails when relative paths have no common directory short of climbing above ".".
func commonRoot(paths []string, abs bool) (string, []string, bool) {
	ps := slices.Clone(paths)
	for i, p := range ps {
		if abs {
			ps[i], _ = filepath.Abs(p)
		}
	}
	root := ps[0]
	if st, err := os.Stat(root); err != nil || !st.IsDir() {
		root = filepath.Dir(root)
	}
	outside := func(p string) bool { _, ok := within(root, p); return !ok }
	for slices.ContainsFunc(ps, outside) {
		up := filepath.Dir(root)
		if up == root || filepath.Base(root) == ".." {
			return "", nil, false
		}
		root = up
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i], _ = within(root, p)
	}
	return root, names, true
}

// within returns the slash-separated name of path p in directory dir, if dir holds it.
func within(dir, p string) (string, bool) {
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// flowsExportCmd is 'hotline flows export DIR'.
func (a *app) flowsExportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "export DIR",
		Short: "Write the published flows from the database to DIR/<flow>.yaml",
		Long: `Write the active version of every published flow to DIR/<flow>.yaml, byte for byte as it was
published; other files in DIR (calendars.yaml, prompts.yaml, tests/) are left alone. Export into
the repository's flows/ and 'git diff' shows what was changed in the browser.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := a.openConfigured(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			active, err := postgres.ActiveFlows(cmd.Context(), db)
			if err != nil {
				return err
			}
			if len(active) == 0 {
				return errors.New("the database has no published flows")
			}
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			for _, v := range active {
				if err := os.WriteFile(filepath.Join(args[0], v.Flow+".yaml"), []byte(v.Source), 0o644); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\tversion %d\t%s\n", v.Flow, v.Version, publishedBy(v))
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%d flows exported to %s\n", len(active), args[0])
			return err
		},
	}
}

// publishedBy says who published a version and when, in China Standard Time.
func publishedBy(v postgres.FlowVersion) string {
	who := v.PublishedBy
	if who == "" {
		who = "system"
	}
	return fmt.Sprintf("%s %s", who, v.PublishedAt.In(time.FixedZone("CST", 8*3600)).Format("2006-01-02 15:04"))
}

// flowsImportCmd is 'hotline flows import [DIR]'.
func (a *app) flowsImportCmd() *cobra.Command {
	var skipTests bool
	cmd := &cobra.Command{
		Use:   "import [DIR]",
		Short: "Publish the flows of DIR (ivr.flows_dir by default) after checking and testing them",
		Long: `Check the flows of DIR together, run the scenario tests of DIR/tests (as 'flows test' does; needs
PostgreSQL's server binaries), then publish them in one transaction: a flow whose text differs
from its published version gets the next version number, audited as flow_import with the diff;
an unchanged flow keeps its version. Every running instance takes the new versions for new calls.
Flows published in the database but absent from DIR stay as they are.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := a.cfg.IVR.FlowsDir
			if len(args) == 1 {
				dir = args[0]
			}
			opt, err := a.flowOptions()
			if err != nil {
				return err
			}
			opt.Root = dir
			lib, err := flow.LoadDir(os.DirFS(dir), ".", opt)
			if err != nil {
				return err
			}
			if !skipTests {
				err := flowtest.Main(cmd.Context(), io.Discard, flowtest.RunOptions{FlowsDir: dir, SoundsDir: a.cfg.IVR.SoundsDir,
					LookupTimeout: a.cfg.IVR.LookupTimeout, Log: a.log})
				if err != nil {
					return fmt.Errorf("not imported: %w", err)
				}
			}
			db, err := a.openConfigured(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			srcs := make([]postgres.FlowSource, 0, len(lib.Names()))
			for _, n := range lib.Names() {
				data, err := os.ReadFile(lib.Flow(n).File)
				if err != nil {
					return err
				}
				srcs = append(srcs, postgres.FlowSource{Name: n, Source: string(data)})
			}
			before, err := postgres.ActiveFlows(cmd.Context(), db)
			if err != nil {
				return err
			}
			was := map[string]int{}
			for _, v := range before {
				was[v.Flow] = v.Version
			}
			if _, err := postgres.PublishFlows(cmd.Context(), db, srcs, 0); err != nil {
				return err
			}
			after, err := postgres.ActiveFlows(cmd.Context(), db)
			if err != nil {
				return err
			}
			changed := 0
			for _, v := range after {
				if lib.Flow(v.Flow) == nil {
					continue
				}
				note := "unchanged"
				if was[v.Flow] != v.Version {
					note = fmt.Sprintf("published (was version %d)", was[v.Flow])
					changed++
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s\tversion %d\t%s\n", v.Flow, v.Version, note)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%d flows imported from %s, %d changed\n", len(srcs), dir, changed)
			return err
		},
	}
	cmd.Flags().BoolVar(&skipTests, "skip-tests", false, "publish after the checks alone, without running the scenario tests")
	return cmd
}
