package ivr_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr/prompts"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// linkedSounds returns a sounds directory whose language directories link to the shipped
// prompts, so that a test can add changed prompts beside them without touching the
// repository.
func linkedSounds(t *testing.T) string {
	t.Helper()
	src := filepath.Join(repotest.Root(t), "sounds")
	dir := t.TempDir()
	langs, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range langs {
		if !l.IsDir() {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(src, l.Name()))
		if err != nil {
			t.Fatal(err)
		}
		must(t, os.MkdirAll(filepath.Join(dir, l.Name()), 0o755))
		for _, e := range entries {
			must(t, os.Symlink(filepath.Join(src, l.Name(), e.Name()), filepath.Join(dir, l.Name(), e.Name())))
		}
	}
	return dir
}

// TestChangedPromptPinnedPerFlowVersion changes main/menu in Mandarin and publishes main
// again: a call that started on the version before hears the shipped file, one on the new
// version the changed one — the media URI the simulator was asked to play.
func TestChangedPromptPinnedPerFlowVersion(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	cfg := shipped(t)
	cfg.SoundsDir = linkedSounds(t)
	var sources []postgres.FlowSource
	for _, name := range cfg.Flows.Names() {
		data, err := os.ReadFile(filepath.Join(repotest.Root(t), cfg.Flows.Flow(name).File))
		must(t, err)
		sources = append(sources, postgres.FlowSource{Name: name, Source: string(data)})
	}
	v1, err := postgres.PublishFlows(ctx, db, sources, 0)
	must(t, err)

	// The change: another shipped recording stands in for a new one.
	audio, err := os.ReadFile(filepath.Join(cfg.SoundsDir, "zh", "common", "goodbye.wav"))
	must(t, err)
	rev, err := postgres.SavePromptOverride(ctx, db, postgres.NewPromptOverride{Prompt: "main/menu", Lang: "zh",
		Source: postgres.PromptUploaded, Audio: audio})
	must(t, err)
	var mainSource string
	for _, s := range sources {
		if s.Name == "main" {
			mainSource = s.Source
		}
	}
	_, err = postgres.SaveFlowDraft(ctx, db, "main", mainSource, 0)
	must(t, err)
	v, err := postgres.PublishFlowDraft(ctx, db, "main", 0, nil)
	must(t, err)
	v2 := map[string]int64{}
	for k, id := range v1 {
		v2[k] = id
	}
	v2["main"] = v.ID

	cfg.Versions = v1
	// The file is not installed yet: the engine has it written from the database.
	cfg.PromptPins = &postgres.PromptFiles{DB: db, Dir: cfg.SoundsDir}
	rec, svc := newMemRecorder(), &fakeServices{}
	cfg.Sources, cfg.Services, cfg.Recorder = &fakeSources{LookupFunc: billData}, svc, rec
	r := startRigWith(t, cfg, rec, svc)

	old, ctx1 := r.call(t, "13800138000")
	must(t, old.Expect(ctx1, "common/welcome", "common/language_choice"))
	must(t, r.h.Engine.SetFlows(cfg.Flows, v2))
	fresh, ctx2 := r.call(t, "13800138001")
	must(t, fresh.Expect(ctx2, "common/welcome", "common/language_choice"))

	changed := prompts.OverrideName("main/menu", rev.SHA256)
	must(t, fresh.Press(ctx2, "1", 0))
	must(t, fresh.Expect(ctx2, changed))
	must(t, old.Press(ctx1, "1", 0))
	must(t, old.Expect(ctx1, "main/menu"))
	for _, c := range []struct {
		name  string
		heard []string
		not   string
	}{{"old version's call", old.Heard, changed}, {"new version's call", fresh.Heard, "main/menu"}} {
		for _, id := range c.heard {
			if id == c.not {
				t.Errorf("the %s heard %s: %v", c.name, c.not, c.heard)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.SoundsDir, "zh", filepath.FromSlash(changed)+".wav")); err != nil {
		t.Errorf("the changed prompt's file: %v", err)
	}
	must(t, old.Hangup())
	must(t, fresh.Hangup())
	r.h.Engine.Wait()
}
