package ivr_test

import (
	"context"
	"slices"
	"testing"
	"testing/fstest"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
)

// TestCollectNoInputPlaysNoInputPrompts: a caller who presses nothing at a collect hears the
// no-input prompt, not the invalid-input one.
func TestCollectNoInputPlaysNoInputPrompts(t *testing.T) {
	r := startRig(t, billData)
	c, ctx := r.call(t, "13800138000")
	toMainMenu(t, c, ctx)
	must(t, c.Press(ctx, "0", 0))
	must(t, c.Expect(ctx, "agent/leave_hint"))
	must(t, c.Press(ctx, "#", 0))
	must(t, c.Expect(ctx, "agent/leave_menu"))
	must(t, c.Press(ctx, "2", 0))
	must(t, c.Expect(ctx, "agent/callback_number"))
	must(t, c.Press(ctx, "2", 0))
	must(t, c.Expect(ctx, "agent/enter_callback_number"))
	// Silence: the try times out.
	must(t, c.Expect(ctx, "common/no_input", "agent/enter_callback_number"))
	if slices.Contains(c.Heard, "common/invalid_input") {
		t.Errorf("heard common/invalid_input after no key at all: %v", c.Heard)
	}
	// A wrong number still hears the invalid-input prompt.
	must(t, c.Press(ctx, "12345678901", 0))
	must(t, c.Expect(ctx, "common/invalid_input", "agent/enter_callback_number"))
	must(t, c.Hangup())
}

// TestArgumentErrorTakesOnError: a lookup or callback whose argument fails to evaluate takes
// the node's error exit instead of ending the call with an apology.
func TestArgumentErrorTakesOnError(t *testing.T) {
	const src = `
flow: main
start: lookup
defaults:
  error: handled
  on_timeout: handled
variables:
  who: citizen
nodes:
  lookup:
    kind: lookup
    source: citizen_by_caller
    args: {mobile: "split(caller, \"\")[40]"}
    into: who
    found: done
    not_found: done
  callback:
    kind: callback
    number: "split(caller, \"\")[40]"
    queue: general
    next: done
    error: handled_callback
  handled:
    kind: play
    prompts: [common/system_busy]
    next: callback
  handled_callback:
    kind: play
    prompts: [common/system_busy]
    next: done
  done:
    kind: hangup
    prompts: [common/goodbye]
`
	cfg, rec, svc := flowConfig(t, src)
	r := startRigWith(t, cfg, rec, svc)
	c, ctx := r.call(t, "13800138000")
	must(t, c.WaitEnd(ctx))
	r.h.Engine.Wait()
	_, steps, end := r.rec.only(t)
	var path []string
	for _, s := range steps {
		path = append(path, s.Node+":"+s.Exit)
	}
	if want := []string{"lookup:error", "handled:next", "callback:error", "handled_callback:next", "done:"}; len(path) < len(want) || !slices.Equal(path[:len(want)], want) {
		t.Errorf("path = %v, want it to start %v", path, want)
	}
	if end.Outcome == hotline.OutcomeError {
		t.Errorf("outcome = %q: the call failed instead of taking its error exits; path %v", end.Outcome, path)
	}
}

// TestRecordingNoticeIsHeardInFull: a key pressed during the welcome does not cut the legal
// recording notice; it is kept and answers the language menu.
func TestRecordingNoticeIsHeardInFull(t *testing.T) {
	r := startRig(t, billData)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call, err := r.h.Sim.PlaceCall(ctx, arisim.CallOptions{Caller: "13800138000", Exten: "12345"})
	must(t, err)
	defer call.Hangup()
	var notice arisim.HeardEvent
	for {
		var e arisim.HeardEvent
		select {
		case e = <-call.Heard():
		case <-ctx.Done():
			t.Fatal("the main menu never came")
		}
		if e.Type == "hangup" {
			t.Fatal("the call ended")
		}
		switch {
		case e.Type == "play" && flowtest.PromptID(e.Media) == "common/welcome":
			must(t, call.Press(ctx, "1", 0))
		case e.Type == "play" && flowtest.PromptID(e.Media) == "common/recording_notice":
			notice = e
		case e.Type == "stop" && notice.PlaybackID != "" && e.PlaybackID == notice.PlaybackID:
			// The simulator runs 20 times faster than life.
			full := time.Duration(notice.DurationMS) * time.Millisecond / 20
			if played := e.Time.Sub(notice.Time); played < full*9/10 {
				t.Errorf("the recording notice played %v of %v", played, full)
			}
			notice.PlaybackID = "done"
		case e.Type == "play" && flowtest.PromptID(e.Media) == "common/language_choice":
			t.Error("the language menu was played although its key had been pressed")
		case e.Type == "play" && flowtest.PromptID(e.Media) == "main/menu":
			if notice.PlaybackID != "done" {
				t.Errorf("the main menu came before the notice ended")
			}
			if e.Lang != "zh" {
				t.Errorf("main menu in %q, want zh (the key chose Mandarin)", e.Lang)
			}
			return
		}
	}
}

// TestIncompleteLanguageIsNotSpoken: English has a few prompts only, so a flow that asks for
// it keeps speaking Mandarin rather than mix the two within a sentence.
func TestIncompleteLanguageIsNotSpoken(t *testing.T) {
	const src = `
flow: main
start: english
nodes:
  english:
    kind: language
    set: en
    next: hello
  hello:
    kind: hangup
    prompts: [common/welcome]
`
	cfg, rec, svc := flowConfig(t, src)
	r := startRigWith(t, cfg, rec, svc)
	c, ctx := r.call(t, "13800138000")
	must(t, c.Expect(ctx, "common/welcome"))
	if got, want := c.Langs[0], "zh"; got != want {
		t.Errorf("welcome played in %q, want %q", got, want)
	}
	must(t, c.WaitEnd(ctx))
}

// TestThirdPartyMobileIsStoredByItsLastDigits: a callback number keyed in for someone else is
// personal data: the call record keeps its last four digits only.
func TestThirdPartyMobileIsStoredByItsLastDigits(t *testing.T) {
	r := startRig(t, billData)
	c, ctx := r.call(t, "13800138000")
	toMainMenu(t, c, ctx)
	must(t, c.Press(ctx, "0", 0))
	must(t, c.Expect(ctx, "agent/leave_hint"))
	must(t, c.Press(ctx, "#", 0))
	must(t, c.Expect(ctx, "agent/leave_menu"))
	must(t, c.Press(ctx, "2", 0))
	must(t, c.Expect(ctx, "agent/callback_number"))
	must(t, c.Press(ctx, "2", 0))
	must(t, c.Expect(ctx, "agent/enter_callback_number"))
	must(t, c.Press(ctx, "13912345678#", 0))
	must(t, c.Expect(ctx, "agent/callback_saved"))
	must(t, c.WaitEnd(ctx))
	r.h.Engine.Wait()
	_, steps, _ := r.rec.only(t)
	for _, s := range steps {
		if s.Node == "enter_number" {
			if got, want := s.Input, "***5678"; got != want {
				t.Errorf("stored input = %q, want %q", got, want)
			}
			return
		}
	}
	t.Errorf("no enter_number step in %v", steps)
}

// TestLostRecordingFinishedEndsTheMessage: when Asterisk's RecordingFinished never comes and
// stopping the recording answers 404, the message ends there (saved, the flow goes on)
// instead of the caller waiting in silence for ever.
func TestLostRecordingFinishedEndsTheMessage(t *testing.T) {
	const src = `
flow: main
start: message
nodes:
  message:
    kind: record
    prompts: [agent/record_message]
    max_length: 5s
    category: message
    next: saved
    on_fail: bye
    error: bye
  saved:
    kind: hangup
    prompts: [agent/message_saved]
  bye:
    kind: hangup
    prompts: [common/goodbye]
`
	cfg, rec, svc := flowConfig(t, src)
	cfg.PlaybackGrace = 500 * time.Millisecond
	r := startRigWith(t, cfg, rec, svc)
	r.h.Sim.LoseEvents("RecordingFinished", 1)
	c, ctx := r.call(t, "13800138000")
	must(t, c.Expect(ctx, "agent/record_message"))
	time.Sleep(1500 * time.Millisecond) // the message
	must(t, c.Press(ctx, "#", 0))
	must(t, c.Expect(ctx, "agent/message_saved"))
	must(t, c.WaitEnd(ctx))
	r.h.Engine.Wait()
	if len(svc.Messages) != 1 {
		t.Fatalf("%d messages saved, want 1", len(svc.Messages))
	}
}

// flowConfig is the shipped configuration running src, a main flow of a test's own, with
// memory records and fake services.
func flowConfig(t *testing.T, src string) (ivr.Config, *memRecorder, *fakeServices) {
	t.Helper()
	cfg := shipped(t)
	lib, err := flow.LoadDir(fstest.MapFS{"flows/main.yaml": {Data: []byte(src)}}, "flows", flow.Options{Manifest: cfg.Manifest})
	if err != nil {
		t.Fatal(err)
	}
	rec, svc := newMemRecorder(), &fakeServices{}
	cfg.Flows, cfg.Sources, cfg.Services, cfg.Recorder = lib, &fakeSources{LookupFunc: billData}, svc, rec
	return cfg, rec, svc
}
