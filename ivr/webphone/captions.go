package webphone

import (
	"encoding/json"
	"fmt"

	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/ivr/speech"
)

// Captions is what the page needs to caption the prompts it hears.
type Captions struct {
	// Texts maps a language to prompt id → text.
	Texts map[string]map[string]string `json:"texts"`
	// Fallback is the language whose text is shown when the played
	// language has none (the IVR falls back to Mandarin).
	Fallback string `json:"fallback"`
	// Fragments are the prompt ids that speak values piece by piece
	// (num/5, cur/yuan, date/year …): consecutive ones form one caption.
	Fragments []string `json:"fragments"`
	// Tones are prompts without words (a beep).
	Tones []string `json:"tones"`
}

// NewCaptions collects the captions of every prompt in m; a nil manifest
// gives empty texts, with the fragments still known.
func NewCaptions(m *prompts.Manifest) Captions {
	c := Captions{Texts: map[string]map[string]string{}, Fallback: string(speech.Mandarin),
		Fragments: []string{}, Tones: []string{}}
	for _, f := range speech.Inventory() {
		c.Fragments = append(c.Fragments, string(f))
	}
	if m == nil {
		return c
	}
	for _, l := range m.Languages {
		c.Texts[l.Code] = map[string]string{}
	}
	for _, id := range m.IDs() {
		p, _ := m.Prompt(id)
		if p.Tone != nil {
			c.Tones = append(c.Tones, id)
			continue
		}
		for lang, text := range p.Texts {
			if c.Texts[lang] == nil {
				c.Texts[lang] = map[string]string{}
			}
			c.Texts[lang][id] = text
		}
	}
	return c
}

func captionsJSON(m *prompts.Manifest) ([]byte, error) {
	b, err := json.Marshal(NewCaptions(m))
	if err != nil {
		return nil, fmt.Errorf("webphone: captions: %w", err)
	}
	return b, nil
}
