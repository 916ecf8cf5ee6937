package ivr_test

import (
	"testing"
)

// The steps of a bill lookup say what the caller chose and heard, for the agent's screen.
func TestStepDetailsOfABillLookup(t *testing.T) {
	r := startRig(t, billData)
	c, ctx := r.call(t, "13800138000")
	must(t, c.Expect(ctx, "common/welcome", "common/recording_notice", "common/language_choice"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "main/menu"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "bills/pick_kind"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.ExpectSeq(ctx, "num/1", "num/qian", "num/0", "num/5", "cur/yuan", "num/3", "cur/jiao"))
	must(t, c.Hangup())
	must(t, c.WaitEnd(ctx))
	r.h.Engine.Wait()

	_, steps, _ := r.rec.only(t)
	details := map[string]string{}
	for _, s := range steps {
		if s.Detail != "" {
			details[s.Flow+"/"+s.Node] = s.Detail
		}
	}
	for node, want := range map[string]string{
		"main/main_menu": "按1 账单查询",
		"bills/get_bill": "水费 2026年10月 应缴 1005元3角 逾期",
	} {
		if got := details[node]; got != want {
			t.Errorf("detail of %s = %q, want %q (all: %v)", node, got, want, details)
		}
	}
	for node, d := range details {
		for _, secret := range []string{"12345678"} {
			if contains(d, secret) {
				t.Errorf("detail of %s shows %s: %q", node, secret, d)
			}
		}
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
