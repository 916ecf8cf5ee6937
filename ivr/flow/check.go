package flow

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Problem is one thing wrong with a flow, where it was written.
type Problem struct {
	Pos Pos
	// Node is the id of the node concerned, or "" for the document.
	Node string
	Msg  string
}

// String formats the problem as "file:line: node: message" (without the node when there is
// none), the output of "hotline flows check".
func (p Problem) String() string {
	if p.Node == "" {
		return fmt.Sprintf("%s: %s", p.Pos, p.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", p.Pos, p.Node, p.Msg)
}

// Problems is the error of a flow that must not run: every problem found, in file and line
// order.
type Problems []Problem

// Error lists the problems, one a line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

func (ps Problems) sort() {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		if c := strings.Compare(a.Pos.File, b.Pos.File); c != 0 {
			return c
		}
		return a.Pos.Line - b.Pos.Line
	})
}

func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	ps.sort()
	return ps
}

// Manifest tells which prompts exist: the sound manifest, or anything that knows it.
type Manifest interface {
	// Has reports whether prompt id has a recording in lang.
	Has(id, lang string) bool
}

// Options are what a flow is checked against beyond itself. A nil field skips its check.
type Options struct {
	// Manifest is checked for every static prompt id in every language of the flow.
	Manifest Manifest
	// Languages are required of every flow besides the ones it declares.
	Languages []string
	// Calendars names the configured business-hours calendars.
	Calendars []string
	// Queues names the configured queues.
	Queues []string
	// Flows names the flows a subflow node may call, for checking one flow on its own;
	// LoadDir checks subflows against the flows it loads.
	Flows []string
	// LookupTimeout is the timeout of every lookup node that does not set its own (the
	// configuration's ivr.lookup_timeout); zero means DefaultLookupTimeout. Out of the range
	// MinLookupTimeout–MaxLookupTimeout it is a problem of every flow with such a node.
	LookupTimeout time.Duration
	// Root is the directory that fsys is, as the user named it ("flows", "../x/flows",
	// "/etc/hotline/flows"): problems and Flow.File then name files by their path, Root
	// joined with their name in fsys, so that they are found where the user looks.
	Root string
}

// fileName is how problems name the file called name in fsys.
func (o Options) fileName(name string) string {
	if o.Root == "" {
		return name
	}
	return filepath.Join(o.Root, filepath.FromSlash(name))
}

// pathError names the file of an I/O error as fileName does.
func (o Options) pathError(err error) error {
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		pe.Path = o.fileName(pe.Path)
	}
	return err
}

// Parse reads and checks one flow from src; file names it in problems. The error, if any, is
// Problems.
func Parse(file string, src []byte, opt Options) (*Flow, error) {
	f, probs := parse(file, src, opt)
	if f == nil {
		return nil, probs.err()
	}
	probs = append(probs, checkGraph(f, opt, len(probs) == 0)...)
	if opt.Flows != nil {
		for _, n := range f.Nodes {
			if s, ok := n.(*Subflow); ok && s.Flow != "" && !slices.Contains(opt.Flows, s.Flow) && s.Flow != f.Name {
				probs = append(probs, Problem{Pos: s.Pos(), Node: s.ID(), Msg: fmt.Sprintf("flow: no flow %q", s.Flow)})
			}
		}
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// Load reads and checks the flow in file name of fsys.
func Load(fsys fs.FS, name string, opt Options) (*Flow, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("read flow: %w", opt.pathError(err))
	}
	return Parse(opt.fileName(name), src, opt)
}

// NonFlowFiles are the YAML files of a flows directory that are not flows.
var NonFlowFiles = []string{"prompts.yaml", "calendars.yaml"}

// Library is a consistent set of flows: every subflow a flow calls is in the set, and no flow
// calls itself, directly or through others.
type Library struct {
	flows map[string]*Flow
}

// Flow returns the flow called name, or nil.
func (s *Library) Flow(name string) *Flow { return s.flows[name] }

// Names lists the flows of the set, sorted.
func (s *Library) Names() []string {
	out := make([]string, 0, len(s.flows))
	for n := range s.flows {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// LoadDir reads and checks every flow (*.yaml but NonFlowFiles) in dir of fsys, and checks
// them together. The error, if any, is Problems listing every problem of every file, or an
// I/O error.
func LoadDir(fsys fs.FS, dir string, opt Options) (*Library, error) {
	files, err := flowFiles(fsys, dir, opt)
	if err != nil {
		return nil, err
	}
	return LoadFiles(fsys, files, opt)
}

// flowFiles lists the flows (*.yaml but NonFlowFiles) in dir of fsys.
func flowFiles(fsys fs.FS, dir string, opt Options) ([]string, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read flows: %w", opt.pathError(err))
	}
	var files []string
	for _, e := range entries {
		if !e.IsDir() && path.Ext(e.Name()) == ".yaml" && !slices.Contains(NonFlowFiles, e.Name()) {
			files = append(files, path.Join(dir, e.Name()))
		}
	}
	return files, nil
}

// LoadFiles reads and checks the flows in files of fsys together, like LoadDir.
func LoadFiles(fsys fs.FS, files []string, opt Options) (*Library, error) {
	set := &Library{flows: map[string]*Flow{}}
	var probs Problems
	var all []*Flow
	for _, name := range files {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read flow: %w", opt.pathError(err))
		}
		f, ps := parse(opt.fileName(name), src, opt)
		probs = append(probs, ps...)
		if f == nil {
			continue
		}
		probs = append(probs, checkGraph(f, opt, len(ps) == 0)...)
		if prev := set.flows[f.Name]; prev != nil && f.Name != "" {
			probs = append(probs, Problem{Pos: Pos{File: f.File, Line: 1}, Msg: fmt.Sprintf("flow %q is also defined in %s", f.Name, prev.File)})
			continue
		}
		set.flows[f.Name] = f
		all = append(all, f)
	}
	probs = append(probs, checkSubflows(set, all, opt)...)
	if err := probs.err(); err != nil {
		return nil, err
	}
	return set, nil
}

// checkSubflows reports subflow nodes calling unknown flows, and flows that call themselves.
func checkSubflows(set *Library, all []*Flow, opt Options) Problems {
	var probs Problems
	for _, f := range all {
		for _, n := range f.Nodes {
			s, ok := n.(*Subflow)
			if !ok || s.Flow == "" || set.flows[s.Flow] != nil || slices.Contains(opt.Flows, s.Flow) {
				continue
			}
			probs = append(probs, Problem{Pos: s.Pos(), Node: s.ID(), Msg: fmt.Sprintf("flow: no flow %q", s.Flow)})
		}
	}
	// A flow on the current path of the depth-first walk that is called again is recursion.
	state := map[string]int{} // 0 new, 1 on path, 2 done
	var walk func(f *Flow, path []string)
	walk = func(f *Flow, path []string) {
		state[f.Name] = 1
		for _, n := range f.Nodes {
			s, ok := n.(*Subflow)
			if !ok {
				continue
			}
			g := set.flows[s.Flow]
			if g == nil {
				continue
			}
			switch state[g.Name] {
			case 1:
				cycle := append(slices.Clone(path[slices.Index(path, g.Name):]), g.Name)
				probs = append(probs, Problem{Pos: s.Pos(), Node: s.ID(),
					Msg: fmt.Sprintf("flow: recursive subflow %s; return to the calling flow instead", strings.Join(cycle, " → "))})
			case 0:
				walk(g, append(path, g.Name))
			}
		}
		state[f.Name] = 2
	}
	for _, f := range all {
		if state[f.Name] == 0 {
			walk(f, []string{f.Name})
		}
	}
	return probs
}

// Check loads the flows in files of fsys (all of LoadDir's when files is one directory) and
// returns every problem, for "hotline flows check". An I/O error is returned as such. A flow
// checked as a file may call the flows beside it, as it does when its directory is loaded:
// subflows are also resolved against the other flows of its directory, whose own problems
// are not reported.
func Check(fsys fs.FS, files []string, opt Options) (Problems, error) {
	var err error
	if len(files) == 1 && isDir(fsys, files[0]) {
		_, err = LoadDir(fsys, files[0], opt)
	} else {
		var beside []string
		if beside, err = siblingFlows(fsys, files, opt); err != nil {
			return nil, err
		}
		opt.Flows = append(slices.Clip(opt.Flows), beside...)
		_, err = LoadFiles(fsys, files, opt)
	}
	var probs Problems
	if errors.As(err, &probs) {
		return probs, nil
	}
	return nil, err
}

func isDir(fsys fs.FS, name string) bool {
	st, err := fs.Stat(fsys, name)
	return err == nil && st.IsDir()
}

// siblingFlows names the flows in the directories of files that are not among them.
func siblingFlows(fsys fs.FS, files []string, opt Options) ([]string, error) {
	var names, seen []string
	for _, file := range files {
		dir := path.Dir(file)
		if slices.Contains(seen, dir) {
			continue
		}
		seen = append(seen, dir)
		others, err := flowFiles(fsys, dir, opt)
		if err != nil {
			return nil, err
		}
		for _, name := range others {
			if slices.Contains(files, name) {
				continue
			}
			src, err := fs.ReadFile(fsys, name)
			if err != nil {
				return nil, fmt.Errorf("read flow: %w", opt.pathError(err))
			}
			if f, _ := parse(opt.fileName(name), src, opt); f != nil && f.Name != "" {
				names = append(names, f.Name)
			}
		}
	}
	return names, nil
}
