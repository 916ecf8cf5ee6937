package ivr_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

// toMainMenu answers the language menu with Mandarin and waits for the main menu.
func toMainMenu(t *testing.T, c interface {
	Expect(context.Context, ...string) error
	Press(context.Context, string, time.Duration) error
}, ctx context.Context) {
	t.Helper()
	must(t, c.Expect(ctx, "common/language_choice"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "main/menu"))
}

func TestHangupDuringPromptCompletesRecord(t *testing.T) {
	r := startRig(t, billData)
	c, ctx := r.call(t, "13800138000")
	must(t, c.Expect(ctx, "common/welcome"))
	must(t, c.Hangup())
	must(t, c.WaitEnd(ctx))
	r.h.Engine.Wait()
	_, steps, end := r.rec.only(t)
	if got, want := end.Outcome, hotline.OutcomeHangup; got != want {
		t.Errorf("outcome = %q, want %q", got, want)
	}
	if end.EndedAt.IsZero() {
		t.Error("no end time")
	}
	last := steps[len(steps)-1]
	if last.Node != "welcome" || last.Exit != "hangup" {
		t.Errorf("last step = %s left by %q, want welcome left by hangup", last.Node, last.Exit)
	}
}

func TestKeysPressedAheadSkipPrompts(t *testing.T) {
	r := startRig(t, billData)
	c, ctx := r.call(t, "13800138000")
	must(t, c.Expect(ctx, "common/language_choice"))
	// Mandarin, bills, water, pressed at once while the language menu plays.
	must(t, c.Press(ctx, "111", 0))
	must(t, c.ExpectSeq(ctx, "num/1", "num/qian", "num/0", "num/5", "cur/yuan", "num/3", "cur/jiao"))
	// Each menu took its key as soon as it came: its prompt was cut, or never started
	// when the key was already there.
	for _, id := range []string{"main/menu", "bills/pick_kind"} {
		if slices.Contains(c.Heard, id) && !slices.Contains(c.Cut, id) {
			t.Errorf("%s played to its end although its key had been pressed ahead; heard %v, cut %v", id, c.Heard, c.Cut)
		}
	}
	must(t, c.Hangup())
}

func TestSlowLookupGetsFillerThenFallback(t *testing.T) {
	r := startRig(t, func(ctx context.Context, source string, args map[string]any) (any, error) {
		<-ctx.Done() // never answers within its timeout
		return nil, ctx.Err()
	})
	c, ctx := r.call(t, "13800138000")
	toMainMenu(t, c, ctx)
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "common/please_wait", "common/system_busy", "common/retry_or_agent"))
	must(t, c.Hangup())
	must(t, c.WaitEnd(ctx))
	r.h.Engine.Wait()
	_, steps, _ := r.rec.only(t)
	if !slices.ContainsFunc(steps, func(s hotline.CallStep) bool { return s.Node == "find_citizen" && s.Exit == flow.ExitTimeout }) {
		t.Errorf("no lookup left by timeout in %v", steps)
	}
}

func TestCantoneseCall(t *testing.T) {
	r := startRig(t, billData)
	c, ctx := r.call(t, "13800138000")
	must(t, c.Expect(ctx, "common/language_choice"))
	must(t, c.Press(ctx, "2", 0))
	must(t, c.Expect(ctx, "main/menu"))
	if got, want := c.Langs[len(c.Langs)-1], "yue"; got != want {
		t.Errorf("main menu played in %q, want %q", got, want)
	}
	must(t, c.Press(ctx, "11", 200*time.Millisecond))
	// 1 is 一, not 幺, and amounts read the same way in Cantonese.
	must(t, c.ExpectSeq(ctx, "num/1", "num/qian", "num/0", "num/5", "cur/yuan", "num/3", "cur/jiao"))
	must(t, c.Hangup())
}

func TestQueueLeaveForMessage(t *testing.T) {
	r := startRig(t, billData)
	c, ctx := r.call(t, "13800138000")
	toMainMenu(t, c, ctx)
	must(t, c.Press(ctx, "0", 0))
	must(t, c.Expect(ctx, "common/transfer_agent", "agent/leave_hint"))
	must(t, c.Press(ctx, "#", 0))
	must(t, c.Expect(ctx, "agent/leave_menu"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "agent/record_message"))
	time.Sleep(1500 * time.Millisecond) // the message
	must(t, c.Press(ctx, "#", 0))
	must(t, c.Expect(ctx, "agent/message_saved", "common/goodbye"))
	must(t, c.WaitEnd(ctx))
	r.h.Engine.Wait()
	_, _, end := r.rec.only(t)
	if got, want := end.Outcome, hotline.OutcomeMessage; got != want {
		t.Errorf("outcome = %q, want %q", got, want)
	}
	if got, want := r.svc.Queued, []string{"general"}; !slices.Equal(got, want) {
		t.Errorf("queued in %v, want %v", got, want)
	}
	if got, want := r.svc.Left, []string{hotline.QueueMessage}; !slices.Equal(got, want) {
		t.Errorf("left queue as %v, want %v", got, want)
	}
	if len(r.svc.Messages) != 1 || r.svc.Messages[0].CallerNumber != "13800138000" || r.svc.Messages[0].Duration < time.Second {
		t.Errorf("messages = %+v", r.svc.Messages)
	}
}

func TestVerificationKeepsDigitsOutOfRecords(t *testing.T) {
	r := startRig(t, func(ctx context.Context, source string, args map[string]any) (any, error) {
		if source == "social_insurance" {
			return flow.SocialInsurance{Status: "active", BalanceFen: 1234500, MonthsPaid: 60}, nil
		}
		return billData(ctx, source, args)
	})
	const id, pin = "11010519491231002X", "246810"
	r.svc.VerifyPINFunc = func(idNumber, p string) (*hotline.Citizen, error) {
		if idNumber == id && p == pin {
			return &hotline.Citizen{ID: 1, Level: hotline.LevelRealName}, nil
		}
		return nil, hotline.ErrPINMismatch
	}
	c, ctx := r.call(t, "13800138000")
	toMainMenu(t, c, ctx)
	must(t, c.Press(ctx, "3", 0))
	must(t, c.Expect(ctx, "insurance/intro"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "verify/enter_id"))
	must(t, c.Press(ctx, strings.ReplaceAll(id, "X", "*"), 50*time.Millisecond)) // * keys X
	must(t, c.Expect(ctx, "verify/enter_pin"))
	must(t, c.Press(ctx, pin+"#", 50*time.Millisecond))
	must(t, c.Expect(ctx, "insurance/menu"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "insurance/si_balance"))
	must(t, c.Hangup())
	must(t, c.WaitEnd(ctx))
	r.h.Engine.Wait()
	_, steps, end := r.rec.only(t)
	if end.CitizenID != 1 {
		t.Errorf("citizen = %d, want 1", end.CitizenID)
	}
	for _, s := range steps {
		if strings.Contains(s.Input, "1949") || strings.Contains(s.Input, pin) {
			t.Errorf("step %s records sensitive digits: %q", s.Node, s.Input)
		}
	}
}

func TestRunawayGuardEndsCallWithApology(t *testing.T) {
	cfg := shipped(t)
	cfg.MaxNodes = 4 // the main flow needs more than four nodes to reach its menu
	rec, svc := newMemRecorder(), &fakeServices{}
	cfg.Sources, cfg.Services, cfg.Recorder = &fakeSources{LookupFunc: billData}, svc, rec
	r := startRigWith(t, cfg, rec, svc)
	c, ctx := r.call(t, "13800138000")
	must(t, c.Expect(ctx, "common/language_choice"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "common/system_busy", "common/goodbye"))
	must(t, c.WaitEnd(ctx))
	r.h.Engine.Wait()
	if _, _, end := rec.only(t); end.Outcome != hotline.OutcomeError {
		t.Errorf("outcome = %q, want %q", end.Outcome, hotline.OutcomeError)
	}
	if got := r.h.Engine.Stats().Runaway; got != 1 {
		t.Errorf("runaway calls = %d, want 1", got)
	}
}

func TestShutdownEndsCallsAndRecordsThem(t *testing.T) {
	r := startRig(t, billData)
	c, ctx := r.call(t, "13800138000")
	must(t, c.Expect(ctx, "common/welcome"))
	if err := r.h.Close(); err != nil {
		t.Fatal(err)
	}
	_, steps, end := r.rec.only(t)
	if got, want := end.Outcome, hotline.OutcomeError; got != want {
		t.Errorf("outcome = %q, want %q", got, want)
	}
	if last := steps[len(steps)-1]; last.Exit != "shutdown" {
		t.Errorf("last step %s left by %q, want shutdown", last.Node, last.Exit)
	}
}
