package ivr_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

func TestCollectorCountsCalls(t *testing.T) {
	r := startRig(t, billData)
	c, ctx := r.call(t, "13800138000")
	must(t, c.Expect(ctx, "common/welcome"))
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.h.Engine.Collector())
	if got := gather(t, reg); !strings.Contains(got, "hotline_ivr_calls_active 1") {
		t.Errorf("during the call:\n%s", got)
	}
	must(t, c.Hangup())
	must(t, c.WaitEnd(ctx))
	r.h.Engine.Wait()
	got := gather(t, reg)
	for _, want := range []string{"hotline_ivr_calls_active 0", "hotline_ivr_calls_started_total 1", `hotline_ivr_calls_ended_total{outcome="hangup"} 1`} {
		if !strings.Contains(got, want) {
			t.Errorf("after the call, metrics lack %q:\n%s", want, got)
		}
	}
}

func gather(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// TestKeyToPlayLatencyIsMeasured: the delay of a key press, with and without a lookup, and the
// lookup's own time by source and exit.
func TestKeyToPlayLatencyIsMeasured(t *testing.T) {
	r := startRig(t, billData)
	reg := prometheus.NewRegistry()
	reg.MustRegister(r.h.Engine.Collector())
	c, ctx := r.call(t, "13800138000")
	toMainMenu(t, c, ctx)         // a key, then a prompt without a lookup
	must(t, c.Press(ctx, "1", 0)) // bills: the caller's citizen is looked up first
	must(t, c.Expect(ctx, "bills/pick_kind"))
	must(t, c.Hangup())
	must(t, c.WaitEnd(ctx))
	got := gather(t, reg)
	for _, want := range []string{`hotline_ivr_key_to_play_seconds_count{lookup="no"} 1`, `hotline_ivr_key_to_play_seconds_count{lookup="yes"} 1`,
		`hotline_ivr_lookup_seconds_count{exit="found",source="citizen_by_caller"} 1`} {
		if !strings.Contains(got, want) {
			t.Errorf("metrics lack %q:\n%s", want, got)
		}
	}
}
