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
