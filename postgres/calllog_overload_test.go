package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/postgres"
)

// TestCallLogRecordsARefusedCall: a caller turned away at the door (ivr.max_calls, or a
// draining controller) is a call like any other, closed with the engine's overload outcome.
func TestCallLogRecordsARefusedCall(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	l, out := newCallLog(t, f.db, postgres.CallLogOptions{})
	call := startCall(t, l, "chan-busy")
	must(t, l.EndCall(ctx, hotline.CallEnd{CallID: call, EndedAt: t0.Add(3 * time.Second), Outcome: ivr.OutcomeOverload, Language: "zh"}))
	must(t, l.Close(ctx))
	var outcome *string
	must(t, f.db.Get(&outcome, `SELECT outcome FROM hotline.calls WHERE id = $1`, call))
	if str(outcome) != ivr.OutcomeOverload {
		t.Errorf("outcome %s, want %s; log:\n%s", str(outcome), ivr.OutcomeOverload, out.String())
	}
	if st := l.Stats(); st.Failed != 0 {
		t.Errorf("stats = %+v, want nothing refused", st)
	}
}
