package seed

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/foshan-hotline/hotline/ivr/speech"
)

// DefaultSeed is the data set `hotline seed` and the demo generate unless told otherwise. The
// committed station prompts are rendered for it: a station's opening hours depend on the seed.
const DefaultSeed int64 = 1

// Section files of the sound manifest that name the catalogue, beside sounds/manifest.yaml.
const (
	ItemPromptsFile       = "items.yaml"
	DepartmentPromptsFile = "departments.yaml"
	StationPromptsFile    = "stations.yaml"
)

// ErrPromptText is wrapped when a catalogue text cannot be turned into a prompt text, such as
// opening hours in an unexpected format.
var ErrPromptText = errors.New("seed: catalogue text cannot be spoken")

// promptLangs are the languages the catalogue prompts are written in; the IVR falls back to
// Mandarin for the others.
var promptLangs = []speech.Lang{speech.Mandarin, speech.Cantonese}

// catalogueHeader opens every generated section file.
const catalogueHeader = `Generated from the seed catalogue (postgres/seed) by CataloguePrompts: do not edit,
regenerate with ` + "`hotline sounds catalogue`" + ` and then ` + "`hotline sounds build`" + `.`

// CataloguePrompts returns the sound manifest sections that speak the catalogue, keyed by file
// name (ItemPromptsFile, DepartmentPromptsFile, StationPromptsFile): item/<id> is a service
// item's name, dept/<id> a department's name, and station/<id> a service station's name,
// address and opening hours as the seed with the given seed value loads them. Ids are the row
// ids the seed assigns, which depend on neither the seed value nor the number of citizens.
// Texts are given in Mandarin and Cantonese with numbers in Han numerals.
func CataloguePrompts(seed int64) (map[string][]byte, error) {
	var items, depts, stations []promptEntry
	for _, it := range catalogue() {
		e, err := newEntry("item/", it.id, func(speech.Lang) (string, error) { return it.name, nil })
		if err != nil {
			return nil, err
		}
		items = append(items, e)
	}
	for _, d := range departments {
		e, err := newEntry("dept/", d.id, func(speech.Lang) (string, error) { return d.name, nil })
		if err != nil {
			return nil, err
		}
		depts = append(depts, e)
	}
	sts, err := stationRows(seed)
	if err != nil {
		return nil, err
	}
	for _, s := range sts {
		e, err := newEntry("station/", s.id, s.text)
		if err != nil {
			return nil, err
		}
		stations = append(stations, e)
	}
	out := map[string][]byte{}
	for _, sec := range []struct {
		file, prefix string
		entries      []promptEntry
	}{
		{ItemPromptsFile, "item/", items},
		{DepartmentPromptsFile, "dept/", depts},
		{StationPromptsFile, "station/", stations},
	} {
		data, err := sectionYAML(sec.prefix, sec.entries)
		if err != nil {
			return nil, fmt.Errorf("seed: %s: %w", sec.file, err)
		}
		out[sec.file] = data
	}
	return out, nil
}

// promptEntry is one generated prompt: its id and its text per language.
type promptEntry struct {
	id    string
	texts map[speech.Lang]string
}

// newEntry makes the prompt prefix+id from text, called once per language; the texts must be
// speakable (see spoken).
func newEntry(prefix string, id int, text func(speech.Lang) (string, error)) (promptEntry, error) {
	e := promptEntry{id: prefix + strconv.Itoa(id), texts: map[speech.Lang]string{}}
	for _, lang := range promptLangs {
		s, err := text(lang)
		if err != nil {
			return e, fmt.Errorf("%s: %w", e.id, err)
		}
		s, err = spoken(s, lang)
		if err != nil {
			return e, fmt.Errorf("%s: %w", e.id, err)
		}
		e.texts[lang] = s
	}
	return e, nil
}

// station is a service station as the seed loads it.
type station struct {
	id                   int
	name, address, hours string
}

// stationRows returns the stations the seed with the given seed value loads, row for row.
func stationRows(seed int64) ([]station, error) {
	var out []station
	g := &generator{seed: seed}
	err := g.fillStations(func(vals ...any) error {
		if len(vals) < 5 {
			return fmt.Errorf("%w: station row has %d columns", ErrPromptText, len(vals))
		}
		id, ok0 := vals[0].(int)
		name, ok1 := vals[2].(string)
		address, ok2 := vals[3].(string)
		hours, ok3 := vals[4].(string)
		if !ok0 || !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("%w: station row %v is not id, district, name, address, hours", ErrPromptText, vals)
		}
		out = append(out, station{id: id, name: name, address: address, hours: hours})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("seed: stations: %w", err)
	}
	return out, nil
}

// text is what the station's prompt says: 禅城区祖庙街道党群服务中心，地址：佛山市禅城区祖庙路三十三号，
// 办公时间：周一至周五上午九点至十二点，下午两点至五点半.
func (s station) text(lang speech.Lang) (string, error) {
	hours, err := spokenHours(s.hours, lang)
	if err != nil {
		return "", err
	}
	return s.name + "，地址：" + s.address + "，办公时间：" + hours, nil
}

var (
	digitRun  = regexp.MustCompile(`[0-9]+`)
	timeRange = regexp.MustCompile(`^([0-9]{1,2}):([0-9]{2})-([0-9]{1,2}):([0-9]{2})$`)
	noted     = regexp.MustCompile(`^(.*)（(.+)）$`)
)

// spoken returns s with every run of ASCII digits written as a Han cardinal (33 三十三), and
// an error if s still holds characters a prompt text may not have.
func spoken(s string, lang speech.Lang) (string, error) {
	var bad error
	s = digitRun.ReplaceAllStringFunc(s, func(d string) string {
		n, err := strconv.ParseInt(d, 10, 64)
		if err != nil {
			bad = fmt.Errorf("%w: number %s in %q", ErrPromptText, d, s)
			return d
		}
		return speech.Text(speech.Cardinal(n, lang), lang)
	})
	if bad != nil {
		return "", bad
	}
	switch {
	case strings.TrimSpace(s) == "" || strings.TrimSpace(s) != s:
		return "", fmt.Errorf("%w: empty or padded text %q", ErrPromptText, s)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x80 }):
		return "", fmt.Errorf("%w: %q keeps ASCII characters", ErrPromptText, s)
	}
	return s, nil
}

// spokenHours turns the seed's opening hours ("周一至周五 9:00-12:00 14:00-17:30", with an
// optional note in full-width brackets after the last range) into speech:
// 周一至周五上午九点至十二点，下午两点至五点半.
func spokenHours(hours string, lang speech.Lang) (string, error) {
	fields := strings.Fields(hours)
	if len(fields) < 2 {
		return "", fmt.Errorf("%w: opening hours %q: want days and time ranges", ErrPromptText, hours)
	}
	var b strings.Builder
	b.WriteString(fields[0])
	for i, f := range fields[1:] {
		note := ""
		if m := noted.FindStringSubmatch(f); m != nil && i == len(fields)-2 {
			f, note = m[1], m[2]
		}
		r, err := spokenRange(f, lang)
		if err != nil {
			return "", fmt.Errorf("opening hours %q: %w", hours, err)
		}
		if i > 0 {
			b.WriteString("，")
		}
		b.WriteString(r)
		if note != "" {
			b.WriteString("，" + note)
		}
	}
	return b.String(), nil
}

// spokenRange reads "14:00-17:30" as 下午两点至五点半 and "9:00-12:00" as 上午九点至十二点:
// the end repeats the period word (上午, 下午, 晚上) only when the range runs from the
// morning into the afternoon or evening (上午九点至下午五点).
func spokenRange(r string, lang speech.Lang) (string, error) {
	m := timeRange.FindStringSubmatch(r)
	if m == nil {
		return "", fmt.Errorf("%w: time range %q is not H:MM-H:MM", ErrPromptText, r)
	}
	var t [2]time.Time
	for i := range t {
		h, _ := strconv.Atoi(m[1+2*i])
		mi, _ := strconv.Atoi(m[2+2*i])
		if h > 23 || mi > 59 {
			return "", fmt.Errorf("%w: time range %q", ErrPromptText, r)
		}
		t[i] = time.Date(2000, 1, 1, h, mi, 0, 0, time.UTC)
	}
	if !t[0].Before(t[1]) {
		return "", fmt.Errorf("%w: time range %q ends before it starts", ErrPromptText, r)
	}
	from, to := speech.Time(t[0], lang), speech.Time(t[1], lang)
	if t[0].Hour() >= 12 || t[1].Hour() < 13 {
		to = to[1:] // the period word
	}
	return spokenTime(from, t[0], lang) + "至" + spokenTime(to, t[1], lang), nil
}

// spokenTime renders the fragments of t, saying half past as 半 (五点半) rather than 五点三十分.
func spokenTime(frags []speech.Fragment, t time.Time, lang speech.Lang) string {
	s := speech.Text(frags, lang)
	if t.Minute() == 30 && strings.HasSuffix(s, "三十分") {
		s = strings.TrimSuffix(s, "三十分") + "半"
	}
	return s
}

// sectionYAML renders a manifest section owning prefix, one prompt a line in id order as given.
func sectionYAML(prefix string, entries []promptEntry) ([]byte, error) {
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	ps := &yaml.Node{Kind: yaml.MappingNode}
	seen := map[string]bool{}
	for _, e := range entries {
		if !strings.HasPrefix(e.id, prefix) || seen[e.id] {
			return nil, fmt.Errorf("%w: prompt %s is outside %s or twice", ErrPromptText, e.id, prefix)
		}
		seen[e.id] = true
		texts := &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		for _, lang := range promptLangs {
			texts.Content = append(texts.Content, str(string(lang)), str(e.texts[lang]))
		}
		ps.Content = append(ps.Content, str(e.id), texts)
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{str("prefix"), str(prefix), str("prompts"), ps}}
	doc := &yaml.Node{Kind: yaml.DocumentNode, HeadComment: catalogueHeader, Content: []*yaml.Node{root}}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return buf.Bytes(), nil
}
