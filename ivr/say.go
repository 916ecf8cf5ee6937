package ivr

import (
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/ivr/speech"
)

// segment is a run of prompts played as one playback: one language, its media URIs in order.
type segment struct {
	lang     string
	ids      []string
	media    []string
	expected time.Duration
}

// voice resolves prompt ids to media URIs and lengths, falling back to Mandarin for a prompt
// missing in the call's language: a caller never hears silence for a missing file.
type voice struct {
	manifest *prompts.Manifest
	dir      string // sounds directory, for the lengths of the files
	uri      string // media URI prefix as Asterisk sees the prompts, e.g. "sound:hotline/"
	fallback string

	mu      sync.Mutex
	lengths map[string]time.Duration // lang/id → length of its file
}

// unknownLength is assumed for a prompt whose file cannot be measured.
const unknownLength = 5 * time.Second

// resolve returns the language a prompt is played in for a call in lang, or false when
// the prompt exists in neither.
func (v *voice) resolve(id, lang string) (string, bool) {
	if v.manifest.Has(id, lang) {
		return lang, true
	}
	if v.manifest.Has(id, v.fallback) {
		return v.fallback, true
	}
	return "", false
}

// length returns how long the prompt's file plays.
func (v *voice) length(id, lang string) time.Duration {
	key := lang + "/" + id
	v.mu.Lock()
	d, ok := v.lengths[key]
	v.mu.Unlock()
	if ok {
		return d
	}
	d, err := prompts.Duration(filepath.Join(v.dir, lang, filepath.FromSlash(id)+".wav"))
	if err != nil {
		d = unknownLength
	}
	v.mu.Lock()
	v.lengths[key] = d
	v.mu.Unlock()
	return d
}

// segments turns prompt ids into playbacks of the shipped files, splitting where the
// language changes.
func (v *voice) segments(ids []string, lang string) ([]segment, []string) {
	return v.pinnedSegments(ids, lang, nil)
}

// pinnedSegments is segments with pins (by "lang/id"): the files of changed prompts the
// call's flow version plays.
func (v *voice) pinnedSegments(ids []string, lang string, pins map[string]string) ([]segment, []string) {
	var out []segment
	var missing []string
	for _, id := range ids {
		l, ok := v.resolve(id, lang)
		if !ok {
			missing = append(missing, id)
			continue
		}
		if len(out) == 0 || out[len(out)-1].lang != l {
			out = append(out, segment{lang: l})
		}
		s := &out[len(out)-1]
		name := id
		if p, ok := pins[l+"/"+id]; ok {
			name = p
		}
		s.ids = append(s.ids, id)
		s.media = append(s.media, v.uri+name)
		s.expected += v.length(name, l)
	}
	return out, missing
}

// expand evaluates a prompt list on env into prompt ids: static ids as written, values
// spoken by the rules of package speech in lang. Dates and times are spoken in loc, the
// hotline's time zone, whatever zone the value came in: a database session in UTC hands
// out 2026-03-15 21:23 UTC for what a caller in Foshan knows as the 16th.
func expand(items flow.Prompts, env map[string]any, lang string, loc *time.Location) ([]string, error) {
	sl := speech.Lang(lang)
	var ids []string
	add := func(frags []speech.Fragment) {
		for _, f := range frags {
			ids = append(ids, string(f))
		}
	}
	for _, it := range items {
		switch it.Kind {
		case flow.ItemPrompt:
			ids = append(ids, it.ID)
		case flow.ItemAmount, flow.ItemNumber:
			n, err := it.Value.Int(env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", it.Pos, err)
			}
			switch {
			case it.Kind == flow.ItemAmount:
				add(speech.Money(n, sl))
			case it.Unit != "":
				add(speech.Quantity(n, speech.Fragment(it.Unit), sl))
			default:
				add(speech.Cardinal(n, sl))
			}
		case flow.ItemDigits:
			s, err := it.Value.String(env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", it.Pos, err)
			}
			if it.Last > 0 && len(s) > it.Last {
				s = s[len(s)-it.Last:]
			}
			add(speech.Digits(s, sl))
		case flow.ItemDate, flow.ItemMonth, flow.ItemTime:
			t, err := it.Value.Time(env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", it.Pos, err)
			}
			t = t.In(loc)
			switch it.Kind {
			case flow.ItemDate:
				add(speech.Date(t, sl))
			case flow.ItemMonth:
				add(speech.YearMonth(t, sl))
			default:
				add(speech.Time(t, sl))
			}
		case flow.ItemDynamic:
			s, err := it.Value.String(env)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", it.Pos, err)
			}
			ids = append(ids, s)
		default:
			return nil, fmt.Errorf("%s: unknown prompt item %q", it.Pos, it.Kind)
		}
	}
	return ids, nil
}

// say plays a prompt list and waits for it to end (or for a key, with bargeIn). Keys pressed
// during a prompt without barge-in are dropped. A prompt list that cannot be evaluated or
// has prompts missing in every language is logged and the rest is played.
func (c *call) say(items flow.Prompts, bargeIn bool) error {
	if len(items) == 0 {
		return nil
	}
	ids, err := expand(items, c.env(), c.lang, c.e.cfg.Location)
	if err != nil {
		c.log.Error("prompt list", "err", err)
	}
	return c.sayIDs(ids, bargeIn)
}

// sayNode plays the prompts of a play, menu or collect node. With barge-in a key stops them;
// without, they play in full (a legal notice, say) and the keys pressed meanwhile are kept
// for the next input, so a caller who knows the menus still types ahead.
func (c *call) sayNode(items flow.Prompts, bargeIn bool) error {
	if bargeIn {
		return c.say(items, true)
	}
	ids, err := expand(items, c.env(), c.lang, c.e.cfg.Location)
	if err != nil {
		c.log.Error("prompt list", "err", err)
	}
	return c.play(ids, false, true)
}

// sayIDs plays prompt ids; see say.
func (c *call) sayIDs(ids []string, bargeIn bool) error {
	if bargeIn && len(c.keys) > 0 {
		return nil // the caller already answered what this prompt asks
	}
	return c.play(ids, bargeIn, bargeIn)
}

// play plays prompt ids in turn: a key stops them with bargeIn, and keys pressed meanwhile
// are kept for the next input with keep (dropped otherwise).
func (c *call) play(ids []string, bargeIn, keep bool) error {
	segs, missing := c.e.voice.pinnedSegments(ids, c.lang, c.promptPins())
	if len(missing) > 0 {
		c.log.Error("prompts missing in every language", "prompts", missing)
	}
	c.keepKeys = keep
	defer func() { c.keepKeys = true }()
	for _, s := range segs {
		p, err := c.startPlay(s.media, s.lang, s.expected)
		if err != nil {
			return err
		}
		if err := c.awaitPlay(p, bargeIn); err != nil {
			return err
		}
		if bargeIn && len(c.keys) > 0 {
			return nil
		}
	}
	return nil
}
