package prompts

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parser collects every problem of a manifest instead of stopping at the first.
type parser struct {
	m    *Manifest
	errs []error
}

// parsedFile is one manifest file after its structure was read.
type parsedFile struct {
	name    string
	role    fileRole
	prefix  string
	prompts *yaml.Node
}

// fileRole says what a manifest file may contain.
type fileRole int

const (
	roleMain    fileRole = iota // manifest.yaml: languages, includes and prompts
	roleSection                 // a section beside it: a prefix and the prompts under it
	roleInclude                 // a file the manifest includes: prompts outside every section
)

func (p *parser) errorf(file string, line int, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%w: %s:%d: %s", ErrInvalidManifest, file, line, fmt.Sprintf(format, args...)))
}

// pairs returns the key/value pairs of a mapping node, reporting a node that
// is not a mapping, a non-string key or a duplicate key.
func (p *parser) pairs(file string, n *yaml.Node, what string) [][2]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		p.errorf(file, n.Line, "%s must be a mapping", what)
		return nil
	}
	seen := map[string]int{}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errorf(file, k.Line, "%s: keys must be strings", what)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			p.errorf(file, k.Line, "%s: duplicate key %q (first at line %d)", what, k.Value, first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, [2]*yaml.Node{k, v})
	}
	return out
}

// parseFile reads the top level of one file; languages go straight into the
// manifest, prompts are kept for addPrompts once all prefixes are known.
func (p *parser) parseFile(name string, data []byte, role fileRole) (parsedFile, bool) {
	main := role == roleMain
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.errs = append(p.errs, fmt.Errorf("%w: %s: %v", ErrInvalidManifest, name, err))
		return parsedFile{}, false
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		p.errorf(name, 1, "empty file")
		return parsedFile{}, false
	}
	f := parsedFile{name: name, role: role}
	root := doc.Content[0]
	for _, kv := range p.pairs(name, root, "file") {
		k, v := kv[0], kv[1]
		switch {
		case k.Value == "prompts":
			f.prompts = v
		case k.Value == "languages" && main:
			p.parseLanguages(name, v)
		case k.Value == "include" && main:
			p.parseIncludes(name, v)
		case k.Value == "prefix" && role == roleSection:
			f.prefix = v.Value
			if v.Kind != yaml.ScalarNode || !strings.HasSuffix(f.prefix, "/") ||
				!idPattern.MatchString(strings.TrimSuffix(f.prefix, "/")) {
				p.errorf(name, v.Line, "prefix %q must be an id ending in /", f.prefix)
				f.prefix = ""
			}
		default:
			p.errorf(name, k.Line, "unknown field %q", k.Value)
		}
	}
	if main && len(p.m.Languages) == 0 {
		p.errorf(name, root.Line, "no languages declared")
	}
	if role == roleSection && f.prefix == "" {
		p.errorf(name, root.Line, "a section needs a prefix (such as item/)")
		return parsedFile{}, false
	}
	if f.prompts == nil {
		p.errorf(name, root.Line, "no prompts")
		return parsedFile{}, false
	}
	return f, true
}

// parseIncludes reads the list of files whose prompts the manifest takes in, such as the
// shipped flows' own prompts kept beside the flows.
func (p *parser) parseIncludes(file string, n *yaml.Node) {
	if n.Kind != yaml.SequenceNode {
		p.errorf(file, n.Line, "include must be a list of files")
		return
	}
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode || !strings.HasSuffix(item.Value, ".yaml") {
			p.errorf(file, item.Line, "include: %q must be a .yaml file", item.Value)
			continue
		}
		p.m.Includes = append(p.m.Includes, item.Value)
	}
}

func (p *parser) parseLanguages(file string, n *yaml.Node) {
	required := 0
	for _, kv := range p.pairs(file, n, "languages") {
		code, v := kv[0], kv[1]
		if !codePattern.MatchString(code.Value) {
			p.errorf(file, code.Line, "language code %q must be 2 or 3 lower-case letters", code.Value)
			continue
		}
		l := Language{Code: code.Value, Rate: 150}
		for _, f := range p.pairs(file, v, "language "+code.Value) {
			switch f[0].Value {
			case "voice":
				l.Voice = f[1].Value
			case "rate":
				r, err := strconv.Atoi(f[1].Value)
				if err != nil || r < 80 || r > 450 {
					p.errorf(file, f[1].Line, "language %s: rate %q must be 80 to 450 words a minute", l.Code, f[1].Value)
				}
				l.Rate = r
			case "required":
				b, err := strconv.ParseBool(f[1].Value)
				if err != nil {
					p.errorf(file, f[1].Line, "language %s: required must be true or false", l.Code)
				}
				l.Required = b
			default:
				p.errorf(file, f[0].Line, "language %s: unknown field %q", l.Code, f[0].Value)
			}
		}
		if l.Voice == "" || strings.ContainsAny(l.Voice, " \t/") {
			p.errorf(file, code.Line, "language %s: voice %q must be an espeak-ng voice name", l.Code, l.Voice)
		}
		if l.Required {
			required++
		}
		p.m.Languages = append(p.m.Languages, l)
	}
	if len(p.m.Languages) > 0 && required == 0 {
		p.errorf(file, n.Line, "no required language")
	}
}

func (p *parser) addPrompts(f parsedFile) {
	for _, kv := range p.pairs(f.name, f.prompts, "prompts") {
		k, v := kv[0], kv[1]
		id := k.Value
		if !idPattern.MatchString(id) {
			p.errorf(f.name, k.Line, "prompt id %q must be lower-case words joined by _ - or /", id)
			continue
		}
		if owner := p.m.owner(id); f.role != roleSection && owner != "" {
			p.errorf(f.name, k.Line, "prompt %q belongs to section %s", id, owner)
			continue
		}
		if f.role == roleSection && !strings.HasPrefix(id, f.prefix) {
			p.errorf(f.name, k.Line, "prompt %q is outside the section prefix %q", id, f.prefix)
			continue
		}
		if prev, dup := p.m.prompts[id]; dup {
			p.errorf(f.name, k.Line, "prompt %q already declared at %s:%d", id, prev.File, prev.Line)
			continue
		}
		if pr, ok := p.parsePrompt(f.name, id, k.Line, v); ok {
			p.m.prompts[id] = pr
		}
	}
}

func (p *parser) parsePrompt(file, id string, line int, v *yaml.Node) (*Prompt, bool) {
	pr := &Prompt{ID: id, Texts: map[string]string{}, File: file, Line: line}
	ok := true
	for _, kv := range p.pairs(file, v, "prompt "+id) {
		key, val := kv[0], kv[1]
		if key.Value == "tone" {
			pr.Tone = p.parseTone(file, id, val)
			ok = ok && pr.Tone != nil
			continue
		}
		if _, known := p.m.Language(key.Value); !known {
			p.errorf(file, key.Line, "prompt %q: %q is not a declared language", id, key.Value)
			ok = false
			continue
		}
		if val.Kind != yaml.ScalarNode || val.Tag == "!!null" {
			p.errorf(file, val.Line, "prompt %q: %s text must be a string", id, key.Value)
			ok = false
			continue
		}
		if why := validateText(val.Value); why != "" {
			p.errorf(file, val.Line, "prompt %q: %s: %s", id, key.Value, why)
			ok = false
			continue
		}
		pr.Texts[key.Value] = val.Value
	}
	if !ok {
		return nil, false
	}
	switch {
	case pr.Tone != nil && len(pr.Texts) > 0:
		p.errorf(file, line, "prompt %q: a tone has no texts", id)
		return nil, false
	case pr.Tone != nil:
		return pr, true
	}
	for _, l := range p.m.Languages {
		if _, has := pr.Texts[l.Code]; l.Required && !has {
			p.errorf(file, line, "prompt %q: no text in required language %s", id, l.Code)
			ok = false
		}
	}
	return pr, ok
}

func (p *parser) parseTone(file, id string, n *yaml.Node) *Tone {
	t := &Tone{}
	for _, kv := range p.pairs(file, n, "tone of "+id) {
		var err error
		switch kv[0].Value {
		case "hz":
			t.Hz, err = strconv.Atoi(kv[1].Value)
		case "seconds":
			t.Seconds, err = strconv.ParseFloat(kv[1].Value, 64)
		default:
			p.errorf(file, kv[0].Line, "tone of %q: unknown field %q", id, kv[0].Value)
			return nil
		}
		if err != nil {
			p.errorf(file, kv[1].Line, "tone of %q: %s must be a number", id, kv[0].Value)
			return nil
		}
	}
	if t.Hz < 100 || t.Hz > 3400 || t.Seconds < 0.05 || t.Seconds > 5 {
		p.errorf(file, n.Line, "tone of %q: needs hz 100–3400 and seconds 0.05–5", id)
		return nil
	}
	return t
}
