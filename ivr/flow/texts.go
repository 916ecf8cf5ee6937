package flow

import (
	"fmt"

	"go.yaml.in/yaml/v3"
)

// PromptTexts is a prompt file of the manifest's form — "prompts:" mapping each id to its
// text per language, or to a tone that exists in every language — such as flows/prompts.yaml
// or sounds/manifest.yaml. It satisfies Manifest for checks that run without the audio.
type PromptTexts map[string]map[string]string

// anyLang marks a prompt (a tone) that exists in every language.
const anyLang = "*"

// ParsePromptTexts reads a prompt file.
func ParsePromptTexts(data []byte) (PromptTexts, error) {
	var doc struct {
		Prompts map[string]map[string]yaml.Node `yaml:"prompts"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse prompt texts: %w", err)
	}
	out := make(PromptTexts, len(doc.Prompts))
	for id, langs := range doc.Prompts {
		texts := map[string]string{}
		for lang, n := range langs {
			switch {
			case lang == "tone":
				texts[anyLang] = ""
			case n.Kind == yaml.ScalarNode && n.Value != "":
				texts[lang] = n.Value
			default:
				return nil, fmt.Errorf("parse prompt texts: %s: %s: want a text", id, lang)
			}
		}
		out[id] = texts
	}
	return out, nil
}

// Has reports whether prompt id has a text (or a tone) for lang.
func (t PromptTexts) Has(id, lang string) bool {
	texts, ok := t[id]
	if !ok {
		return false
	}
	_, lok := texts[lang]
	_, tone := texts[anyLang]
	return lok || tone
}

// Manifests combines manifests: a prompt exists if any of them has it.
type Manifests []Manifest

// Has reports whether any manifest has prompt id in lang.
func (ms Manifests) Has(id, lang string) bool {
	for _, m := range ms {
		if m.Has(id, lang) {
			return true
		}
	}
	return false
}

var (
	_ Manifest = PromptTexts(nil)
	_ Manifest = Manifests(nil)
)
