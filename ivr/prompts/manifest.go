package prompts

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ManifestFile is the name of the main manifest in a sounds directory.
const ManifestFile = "manifest.yaml"

// ErrInvalidManifest is wrapped by every error about the manifest's content.
var ErrInvalidManifest = errors.New("invalid sound manifest")

// Language is a prompt language and the voice that speaks it.
type Language struct {
	// Code is the language code used in ids and paths: zh, yue, en.
	Code string
	// Voice is the espeak-ng voice name.
	Voice string
	// Rate is the espeak-ng speed in words per minute.
	Rate int
	// Required says every text prompt must have a text in this language.
	Required bool
}

// Tone is a prompt that is a sine tone rather than speech, such as a beep.
type Tone struct {
	// Hz is the tone's frequency.
	Hz int
	// Seconds is the tone's length.
	Seconds float64
}

// Prompt is one entry of the manifest.
type Prompt struct {
	// ID is the prompt id, such as "common/welcome" or "num/5".
	ID string
	// Texts maps a language code to the prompt's text; empty for a tone.
	Texts map[string]string
	// Tone is set for a tone prompt.
	Tone *Tone
	// File and Line say where the prompt is declared.
	File string
	Line int
}

// Manifest is the set of prompts of a sounds directory: manifest.yaml and its
// sections.
type Manifest struct {
	// Languages are the declared languages, in declaration order.
	Languages []Language
	// Includes lists the files, relative to the manifest, whose prompts it takes in.
	Includes []string
	// Sections maps each section file name to the id prefix it owns.
	Sections map[string]string
	prompts  map[string]*Prompt
}

// Target is one audio file the manifest calls for.
type Target struct {
	// Lang is the language of the file; Prompt the prompt it speaks.
	Lang   Language
	Prompt *Prompt
}

// Key returns "lang/id", the target's name in the lock file and in reports.
func (t Target) Key() string { return t.Lang.Code + "/" + t.Prompt.ID }

// Path returns the target's file path under the sounds directory dir.
func (t Target) Path(dir string) string {
	return filepath.Join(dir, t.Lang.Code, filepath.FromSlash(t.Prompt.ID)+".wav")
}

// Text returns the text the target speaks; empty for a tone.
func (t Target) Text() string { return t.Prompt.Texts[t.Lang.Code] }

// IDs returns the ids of all prompts, sorted.
func (m *Manifest) IDs() []string {
	ids := make([]string, 0, len(m.prompts))
	for id := range m.prompts {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Prompt returns the prompt with the given id.
func (m *Manifest) Prompt(id string) (*Prompt, bool) {
	p, ok := m.prompts[id]
	return p, ok
}

// Language returns the declared language with the given code.
func (m *Manifest) Language(code string) (Language, bool) {
	for _, l := range m.Languages {
		if l.Code == code {
			return l, true
		}
	}
	return Language{}, false
}

// Text returns the text of prompt id in lang, and false if there is none.
func (m *Manifest) Text(id, lang string) (string, bool) {
	p, ok := m.prompts[id]
	if !ok {
		return "", false
	}
	s, ok := p.Texts[lang]
	return s, ok
}

// Has reports whether prompt id has an audio file in lang.
func (m *Manifest) Has(id, lang string) bool {
	p, ok := m.prompts[id]
	if !ok {
		return false
	}
	if _, ok := m.Language(lang); !ok {
		return false
	}
	_, ok = p.Texts[lang]
	return ok || p.Tone != nil
}

// Targets returns every audio file the manifest calls for, sorted by
// language declaration order, then id.
func (m *Manifest) Targets() []Target {
	var out []Target
	for _, l := range m.Languages {
		for _, id := range m.IDs() {
			if m.Has(id, l.Code) {
				out = append(out, Target{Lang: l, Prompt: m.prompts[id]})
			}
		}
	}
	return out
}

// Load reads and validates manifest.yaml and the section files of the sounds
// directory dir. Content errors wrap ErrInvalidManifest and name file:line;
// all of them are reported at once.
func Load(dir string) (*Manifest, error) {
	main, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("read sound manifest: %w", err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list manifest sections: %w", err)
	}
	includes, err := readIncludes(dir, main)
	if err != nil {
		return nil, err
	}
	sections := map[string][]byte{}
	for _, name := range names {
		base := filepath.Base(name)
		if base == ManifestFile {
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read manifest section: %w", err)
		}
		sections[base] = data
	}
	return parse(main, includes, sections)
}

// readIncludes reads the files named by the manifest's include list, keyed as written.
func readIncludes(dir string, main []byte) (map[string][]byte, error) {
	var head struct {
		Include []string `yaml:"include"`
	}
	if err := yaml.Unmarshal(main, &head); err != nil {
		return nil, nil // Parse reports the syntax error with its position.
	}
	out := map[string][]byte{}
	for _, name := range head.Include {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return nil, fmt.Errorf("read manifest include: %w", err)
		}
		out[name] = data
	}
	return out, nil
}

// Parse validates a manifest from the content of manifest.yaml and of its
// sections, keyed by file name.
func Parse(main []byte, sections map[string][]byte) (*Manifest, error) {
	return parse(main, nil, sections)
}

func parse(main []byte, includes, sections map[string][]byte) (*Manifest, error) {
	p := &parser{m: &Manifest{Sections: map[string]string{}, prompts: map[string]*Prompt{}}}
	var files []parsedFile
	if f, ok := p.parseFile(ManifestFile, main, roleMain); ok {
		files = append(files, f)
	}
	for _, name := range p.m.Includes {
		data, ok := includes[name]
		if !ok {
			p.errorf(ManifestFile, 1, "include %s was not read", name)
			continue
		}
		if f, ok := p.parseFile(name, data, roleInclude); ok {
			files = append(files, f)
		}
	}
	names := make([]string, 0, len(sections))
	for name := range sections {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if f, ok := p.parseFile(name, sections[name], roleSection); ok {
			files = append(files, f)
			if f.prefix != "" {
				p.m.Sections[name] = f.prefix
			}
		}
	}
	p.checkPrefixes()
	for _, f := range files {
		p.addPrompts(f)
	}
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return p.m, nil
}

var (
	idPattern   = regexp.MustCompile(`^[a-z0-9]+([_-][a-z0-9]+)*(/[a-z0-9]+([_-][a-z0-9]+)*)*$`)
	codePattern = regexp.MustCompile(`^[a-z]{2,3}$`)
)

// validateText returns why text cannot be a prompt text, or "".
func validateText(text string) string {
	switch {
	case strings.TrimSpace(text) == "":
		return "empty text"
	case strings.TrimSpace(text) != text:
		return "text has leading or trailing spaces"
	case strings.ContainsAny(text, "0123456789"):
		return "text has ASCII digits: write numbers in words"
	case strings.ContainsFunc(text, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return "text has control characters"
	}
	return ""
}

// checkPrefixes rejects section prefixes that are malformed or overlap.
func (p *parser) checkPrefixes() {
	names := make([]string, 0, len(p.m.Sections))
	for name := range p.m.Sections {
		names = append(names, name)
	}
	slices.Sort(names)
	for i, a := range names {
		for _, b := range names[i+1:] {
			pa, pb := p.m.Sections[a], p.m.Sections[b]
			if strings.HasPrefix(pa, pb) || strings.HasPrefix(pb, pa) {
				p.errorf(b, 1, "prefix %q overlaps prefix %q of %s", pb, pa, a)
			}
		}
	}
}

// owner returns the section file owning id by prefix, or "".
func (m *Manifest) owner(id string) string {
	for name, prefix := range m.Sections {
		if strings.HasPrefix(id, prefix) {
			return name
		}
	}
	return ""
}
