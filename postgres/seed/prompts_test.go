package seed

import (
	"bytes"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/ivr/speech"
)

var updatePrompts = flag.Bool("update-prompts", false, "rewrite the catalogue sections in sounds/ from the catalogue")

// TestCommittedCataloguePrompts: the section files in sounds/ are exactly what the catalogue
// gives now, so the catalogue and its prompts cannot drift apart. With -update-prompts it
// writes them instead (then run `hotline sounds build`).
func TestCommittedCataloguePrompts(t *testing.T) {
	files, err := CataloguePrompts(DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(files), 3; got != want {
		t.Fatalf("CataloguePrompts gave %d files, want %d", got, want)
	}
	dir := repotest.Path(t, "sounds")
	for name, want := range files {
		path := filepath.Join(dir, name)
		if *updatePrompts {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (go test ./postgres/seed -run TestCommittedCataloguePrompts -update-prompts)", err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("sounds/%s differs from the catalogue: regenerate it (hotline sounds catalogue, or go test ./postgres/seed -run TestCommittedCataloguePrompts -update-prompts) and run hotline sounds build", name)
		}
	}
}

// TestEveryCatalogueIDHasPrompt: every item, department and station id the seed loads, whatever
// the seed value, has a Mandarin and a Cantonese text in the committed manifest and its sound
// file, and the sections own the prefixes the IVR uses.
func TestEveryCatalogueIDHasPrompt(t *testing.T) {
	m, err := prompts.Load(repotest.Path(t, "sounds"))
	if err != nil {
		t.Fatal(err)
	}
	for file, prefix := range map[string]string{ItemPromptsFile: "item/", DepartmentPromptsFile: "dept/", StationPromptsFile: "station/"} {
		if got := m.Sections[file]; got != prefix {
			t.Errorf("section %s owns %q, want %q", file, got, prefix)
		}
	}
	ids := map[string]bool{}
	for _, it := range catalogue() {
		ids["item/"+strconv.Itoa(it.id)], ids["dept/"+strconv.Itoa(it.dept)] = true, true
	}
	for _, d := range departments {
		ids["dept/"+strconv.Itoa(d.id)] = true
	}
	for _, s := range []int64{DefaultSeed, 0, 2, 99, -7} {
		sts, err := stationRows(s)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(sts), 29; got != want {
			t.Errorf("seed %d: %d stations, want %d", s, got, want)
		}
		for _, st := range sts {
			ids["station/"+strconv.Itoa(st.id)] = true
		}
	}
	if got, want := len(ids), len(catalogue())+len(departments)+29; got != want {
		t.Errorf("%d catalogue ids, want %d", got, want)
	}
	dir := repotest.Path(t, "sounds")
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		for _, code := range []string{"zh", "yue"} {
			if !m.Has(id, code) {
				t.Errorf("prompt %s has no %s text", id, code)
				continue
			}
			p, _ := m.Prompt(id)
			lang, _ := m.Language(code)
			if _, err := os.Stat(prompts.Target{Lang: lang, Prompt: p}.Path(dir)); err != nil {
				t.Errorf("prompt %s has no %s sound (hotline sounds build): %v", id, code, err)
			}
		}
	}
}

// TestCataloguePromptsValidForAnySeed: whichever seed value, the generated sections pass the
// manifest's validation and hold the same ids.
func TestCataloguePromptsValidForAnySeed(t *testing.T) {
	main := []byte("languages:\n  zh: {voice: cmn-latn-pinyin, required: true}\n  yue: {voice: yue, required: true}\nprompts: {}\n")
	var want []string
	for _, s := range []int64{DefaultSeed, 0, 2, 99, -7} {
		files, err := CataloguePrompts(s)
		if err != nil {
			t.Fatalf("seed %d: %v", s, err)
		}
		m, err := prompts.Parse(main, files)
		if err != nil {
			t.Fatalf("seed %d: %v", s, err)
		}
		ids := m.IDs()
		if got, wantN := len(ids), len(catalogue())+len(departments)+29; got != wantN {
			t.Errorf("seed %d: %d prompts, want %d", s, got, wantN)
		}
		if want == nil {
			want = ids
			continue
		}
		for i := range want {
			if ids[i] != want[i] {
				t.Errorf("seed %d: prompt %d is %s, seed %d has %s", s, i, ids[i], DefaultSeed, want[i])
				break
			}
		}
	}
}

func TestStationText(t *testing.T) {
	s := station{id: 2, name: "禅城区祖庙街道党群服务中心", address: "佛山市禅城区祖庙路33号", hours: hoursWeekdays}
	got, err := s.text(speech.Mandarin)
	if err != nil {
		t.Fatal(err)
	}
	got, err = spoken(got, speech.Mandarin)
	if err != nil {
		t.Fatal(err)
	}
	if want := "禅城区祖庙街道党群服务中心，地址：佛山市禅城区祖庙路三十三号，办公时间：周一至周五上午九点至十二点，下午两点至五点半"; got != want {
		t.Errorf("station text = %q, want %q", got, want)
	}
}

func TestSpokenHours(t *testing.T) {
	for _, tc := range []struct {
		hours string
		lang  speech.Lang
		want  string
	}{
		{hoursWeekdays, speech.Mandarin, "周一至周五上午九点至十二点，下午两点至五点半"},
		{hoursWeekdays, speech.Cantonese, "周一至周五上午九点至十二点，下午两点至五点半"},
		{hoursSaturday, speech.Mandarin, "周一至周六上午九点至十二点，下午两点至五点半，法定节假日除外"},
		{hoursLong, speech.Mandarin, "周一至周五上午八点半至十二点，下午两点至六点"},
		{"周一至周日 9:00-17:00", speech.Mandarin, "周一至周日上午九点至下午五点"},
		{"周一至周日 9:00-18:00", speech.Mandarin, "周一至周日上午九点至晚上六点"},
		{"周六 10:05-12:30", speech.Mandarin, "周六上午十点零五分至十二点半"},
		{"周一至周五 12:00-13:30", speech.Mandarin, "周一至周五中午十二点至一点半"},
	} {
		t.Run(tc.hours+"/"+string(tc.lang), func(t *testing.T) {
			got, err := spokenHours(tc.hours, tc.lang)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("spokenHours(%q) = %q, want %q", tc.hours, got, tc.want)
			}
		})
	}
}

func TestSpokenHoursRejects(t *testing.T) {
	for _, hours := range []string{
		"周一至周五",
		"周一至周五 9-12",
		"周一至周五 12:00-9:00",
		"周一至周五 25:00-26:00",
		"周一至周五 9:00-12:00（午休）14:00-17:00",
	} {
		t.Run(hours, func(t *testing.T) {
			if _, err := spokenHours(hours, speech.Mandarin); !errors.Is(err, ErrPromptText) {
				t.Errorf("spokenHours(%q) error = %v, want ErrPromptText", hours, err)
			}
		})
	}
}

func TestSpoken(t *testing.T) {
	for _, tc := range []struct {
		in   string
		lang speech.Lang
		want string // empty: rejected
	}{
		{"佛山市禅城区季华五路18号", speech.Mandarin, "佛山市禅城区季华五路十八号"},
		{"佛山市顺德区大良德和路2号", speech.Cantonese, "佛山市顺德区大良德和路二号"},
		{"沧江路101号", speech.Mandarin, "沧江路一百零一号"},
		{"高明大道中288号", speech.Mandarin, "高明大道中两百八十八号"},
		{"户籍迁入（投靠亲属）", speech.Mandarin, "户籍迁入（投靠亲属）"},
		{"A栋", speech.Mandarin, ""},
		{"周一 9:00", speech.Mandarin, ""},
		{"", speech.Mandarin, ""},
		{"99999999999999999999号", speech.Mandarin, ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := spoken(tc.in, tc.lang)
			if tc.want == "" {
				if !errors.Is(err, ErrPromptText) {
					t.Errorf("spoken(%q) = %q, %v, want ErrPromptText", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("spoken(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
