package prompts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testLanguages = `languages:
  zh: {voice: cmn-latn-pinyin, required: true}
  yue: {voice: yue, required: true}
  en: {voice: en-gb, rate: 160}
`

func TestParse(t *testing.T) {
	main := testLanguages + `prompts:
  common/welcome:
    zh: 欢迎致电
    yue: 欢迎致电
    en: Welcome.
  num/0: {zh: 零, yue: 零}
  common/beep: {tone: {hz: 1000, seconds: 0.4}}
`
	section := "prefix: item/\nprompts:\n  item/1001: {zh: 居民身份证申领, yue: 居民身份证申领}\n"
	m, err := Parse([]byte(main), map[string][]byte{"catalogue.yaml": []byte(section)})
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := strings.Join(m.IDs(), ","), "common/beep,common/welcome,item/1001,num/0"; got != want {
		t.Errorf("IDs = %s, want %s", got, want)
	}
	if got, want := len(m.Targets()), 3+3+2+2; got != want {
		t.Errorf("len(Targets) = %d, want %d", got, want)
	}
	tests := []struct {
		id, lang string
		has      bool
		text     string
	}{
		{"common/welcome", "en", true, "Welcome."},
		{"num/0", "yue", true, "零"},
		{"num/0", "en", false, ""},
		{"common/beep", "en", true, ""},
		{"item/1001", "zh", true, "居民身份证申领"},
		{"item/1001", "fr", false, ""},
		{"nothing", "zh", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.id+"/"+tt.lang, func(t *testing.T) {
			if got, want := m.Has(tt.id, tt.lang), tt.has; got != want {
				t.Errorf("Has = %v, want %v", got, want)
			}
			if got, _ := m.Text(tt.id, tt.lang); got != tt.text {
				t.Errorf("Text = %q, want %q", got, tt.text)
			}
		})
	}
	if got, want := m.Sections["catalogue.yaml"], "item/"; got != want {
		t.Errorf("section prefix = %q, want %q", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name     string
		main     string
		sections map[string]string
		want     []string
	}{
		{"not yaml", "languages: [", nil, []string{"manifest.yaml: yaml"}},
		{"empty", "", nil, []string{"manifest.yaml:1: empty file"}},
		{"unknown field", testLanguages + "prompt:\n  a: {zh: 一, yue: 一}\n", nil,
			[]string{`manifest.yaml:5: unknown field "prompt"`}},
		{"no languages", "prompts:\n  a: {zh: 一}\n", nil, []string{"no languages declared", `"zh" is not a declared language`}},
		{"no required language", "languages:\n  zh: {voice: cmn}\nprompts:\n  a: {zh: 一}\n", nil,
			[]string{"no required language"}},
		{"bad language", "languages:\n  ZH: {voice: cmn, required: true}\n  yue: {rate: 5, required: yes}\nprompts: {}\n", nil,
			[]string{`manifest.yaml:2: language code "ZH"`, "manifest.yaml:3: language yue: rate", "required must be true or false", `voice "" must be`}},
		{"bad id", testLanguages + "prompts:\n  Common/Welcome: {zh: 一, yue: 一}\n  a/../b: {zh: 一, yue: 一}\n", nil,
			[]string{`manifest.yaml:6: prompt id "Common/Welcome"`, `manifest.yaml:7: prompt id "a/../b"`}},
		{"duplicate id", testLanguages + "prompts:\n  a: {zh: 一, yue: 一}\n  a: {zh: 二, yue: 二}\n", nil,
			[]string{`manifest.yaml:7: prompts: duplicate key "a" (first at line 6)`}},
		{"missing required text", testLanguages + "prompts:\n  a: {zh: 一}\n", nil,
			[]string{`manifest.yaml:6: prompt "a": no text in required language yue`}},
		{"undeclared language", testLanguages + "prompts:\n  a: {zh: 一, yue: 一, fr: un}\n", nil,
			[]string{`"fr" is not a declared language`}},
		{"digits in text", testLanguages + "prompts:\n  a: {zh: 请按1, yue: 请按一}\n", nil,
			[]string{"manifest.yaml:6: prompt \"a\": zh: text has ASCII digits"}},
		{"empty text", testLanguages + "prompts:\n  a: {zh: '', yue: ~}\n", nil,
			[]string{"zh: empty text", "yue text must be a string"}},
		{"tone with text", testLanguages + "prompts:\n  beep: {tone: {hz: 1000, seconds: 0.4}, zh: 嘀}\n", nil,
			[]string{"a tone has no texts"}},
		{"bad tone", testLanguages + "prompts:\n  beep: {tone: {hz: 50, seconds: 0.4}}\n  b2: {tone: {hz: x}}\n  b3: {tone: {volume: 1}}\n", nil,
			[]string{"needs hz 100–3400", "hz must be a number", `unknown field "volume"`}},
		{"section without prefix", testLanguages + "prompts: {}\n",
			map[string]string{"catalogue.yaml": "prompts:\n  item/a: {zh: 一, yue: 一}\n"},
			[]string{"catalogue.yaml:1: a section needs a prefix"}},
		{"section outside prefix", testLanguages + "prompts: {}\n",
			map[string]string{"catalogue.yaml": "prefix: item/\nprompts:\n  dept/a: {zh: 一, yue: 一}\n"},
			[]string{`catalogue.yaml:3: prompt "dept/a" is outside the section prefix "item/"`}},
		{"main uses a section prefix", testLanguages + "prompts:\n  item/a: {zh: 一, yue: 一}\n",
			map[string]string{"catalogue.yaml": "prefix: item/\nprompts: {}\n"},
			[]string{`manifest.yaml:6: prompt "item/a" belongs to section catalogue.yaml`}},
		{"overlapping prefixes", testLanguages + "prompts: {}\n",
			map[string]string{"a.yaml": "prefix: item/\nprompts: {}\n", "b.yaml": "prefix: item/x/\nprompts: {}\n"},
			[]string{`b.yaml:1: prefix "item/x/" overlaps prefix "item/" of a.yaml`}},
		{"bad prefix", testLanguages + "prompts: {}\n",
			map[string]string{"a.yaml": "prefix: item\nprompts: {}\n"},
			[]string{`a.yaml:1: prefix "item" must be an id ending in /`}},
		{"section declares languages", testLanguages + "prompts: {}\n",
			map[string]string{"a.yaml": "prefix: item/\nlanguages: {}\nprompts: {}\n"},
			[]string{`a.yaml:2: unknown field "languages"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sections := map[string][]byte{}
			for k, v := range tt.sections {
				sections[k] = []byte(v)
			}
			_, err := Parse([]byte(tt.main), sections)
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			if !errors.Is(err, ErrInvalidManifest) {
				t.Errorf("error %v does not wrap ErrInvalidManifest", err)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error does not mention %q:\n%v", want, err)
				}
			}
		})
	}
}

func TestLoadIncludes(t *testing.T) {
	dir := t.TempDir()
	sounds := filepath.Join(dir, "sounds")
	flows := filepath.Join(dir, "flows")
	for _, d := range []string{sounds, flows} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(sounds, ManifestFile), "languages:\n  zh: {voice: cmn-latn-pinyin, required: true}\ninclude: [../flows/prompts.yaml]\nprompts:\n  common/hello: {zh: 你好}\n")
	write(filepath.Join(flows, "prompts.yaml"), "prompts:\n  bills/menu: {zh: 水费请按一}\n")
	m, err := Load(sounds)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Has("bills/menu", "zh") || !m.Has("common/hello", "zh") {
		t.Errorf("ids = %v, want the included prompt and the manifest's own", m.IDs())
	}

	// A prompt declared twice across the manifest and an include is an error naming both.
	write(filepath.Join(flows, "prompts.yaml"), "prompts:\n  common/hello: {zh: 你好}\n")
	if _, err := Load(sounds); err == nil || !strings.Contains(err.Error(), "../flows/prompts.yaml:2") {
		t.Errorf("duplicate across include: %v", err)
	}
	// An include may not declare languages.
	write(filepath.Join(flows, "prompts.yaml"), "languages: {}\nprompts:\n  bills/menu: {zh: 水费}\n")
	if _, err := Load(sounds); err == nil || !strings.Contains(err.Error(), `unknown field "languages"`) {
		t.Errorf("languages in include: %v", err)
	}
	os.Remove(filepath.Join(flows, "prompts.yaml"))
	if _, err := Load(sounds); err == nil {
		t.Error("missing include loaded")
	}
}
