package ivr_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/flowtest"
)

// billData is one registered citizen with a water account and an unpaid bill of 1005.30.
func billData(ctx context.Context, source string, args map[string]any) (any, error) {
	switch source {
	case "citizen_by_caller":
		if args["mobile"] == "13800138000" {
			return flow.Citizen{ID: 1, Level: "real_name", RealName: true, DistrictCode: "440604"}, nil
		}
		return nil, hotline.ErrNotFound
	case "accounts_of_citizen":
		return []flow.Account{{ID: 7, Kind: "water", Number: "12345678", KindPrompt: "bills/kind_water"}}, nil
	case "latest_bill":
		return flow.Bill{AccountID: 7, Period: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), AmountFen: 100530,
			DueDate: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), Overdue: true}, nil
	}
	return nil, hotline.ErrNotFound
}

type rig struct {
	h   *flowtest.Harness
	rec *memRecorder
	svc *fakeServices
}

func startRig(t *testing.T, lookup func(context.Context, string, map[string]any) (any, error)) *rig {
	t.Helper()
	cfg := shipped(t)
	rec, svc := newMemRecorder(), &fakeServices{}
	cfg.Sources, cfg.Services, cfg.Recorder = &fakeSources{LookupFunc: lookup}, svc, rec
	return startRigWith(t, cfg, rec, svc)
}

func startRigWith(t *testing.T, cfg ivr.Config, rec *memRecorder, svc *fakeServices) *rig {
	t.Helper()
	r := &rig{rec: rec, svc: svc}
	h, err := flowtest.Start(flowtest.Options{Engine: cfg, Speed: 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	r.h = h
	return r
}

func (r *rig) call(t *testing.T, number string) (*flowtest.Caller, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	c, err := r.h.Call(ctx, number)
	if err != nil {
		t.Fatal(err)
	}
	return c, ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestWaterBillOfRegisteredCaller(t *testing.T) {
	r := startRig(t, billData)
	c, ctx := r.call(t, "13800138000")
	must(t, c.Expect(ctx, "common/welcome", "common/recording_notice", "common/language_choice"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "main/menu"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "bills/pick_kind"))
	must(t, c.Press(ctx, "1", 0))
	// 一千零五元三角
	must(t, c.ExpectSeq(ctx, "num/1", "num/qian", "num/0", "num/5", "cur/yuan", "num/3", "cur/jiao"))
	must(t, c.Hangup())
	must(t, c.WaitEnd(ctx))
	r.h.Engine.Wait()

	rec, steps, end := r.rec.only(t)
	if got, want := rec.CallerNumber, "13800138000"; got != want {
		t.Errorf("caller = %q, want %q", got, want)
	}
	if got, want := end.Outcome, hotline.OutcomeHangup; got != want {
		t.Errorf("outcome = %q, want %q", got, want)
	}
	if end.CitizenID != 1 {
		t.Errorf("citizen = %d, want 1", end.CitizenID)
	}
	var path []string
	for _, s := range steps {
		path = append(path, s.Flow+"/"+s.Node+":"+s.Exit)
	}
	for _, want := range []string{"main/choose_language:1", "main/main_menu:1", "bills/pick_kind:1", "bills/get_bill:found"} {
		found := false
		for _, p := range path {
			found = found || p == want
		}
		if !found {
			t.Errorf("IVR path lacks %s: %v", want, path)
		}
	}
	if last := steps[len(steps)-1]; last.Exit != "hangup" || last.LeftAt.IsZero() {
		t.Logf("path: %v", path)
		t.Errorf("last step = %+v, want left by hangup", last)
	}
}

func TestBackendFailureIsSpoken(t *testing.T) {
	r := startRig(t, func(ctx context.Context, source string, args map[string]any) (any, error) {
		return nil, errors.New("connection refused")
	})
	c, ctx := r.call(t, "13800138000")
	must(t, c.Expect(ctx, "common/language_choice"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "main/menu"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "common/system_busy"))
	must(t, c.Hangup())
	must(t, c.WaitEnd(ctx))
}
