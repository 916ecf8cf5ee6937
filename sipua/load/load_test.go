package load_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/sipua"
	"github.com/foshan-hotline/hotline/sipua/load"
	"github.com/foshan-hotline/hotline/sipua/siptest"
)

func TestRunFiftyConcurrentCalls(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := siptest.Start(ctx, siptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	phone, err := sipua.New(ctx, sipua.Config{From: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	defer phone.Close()
	script, err := sipua.ParseScript("wait:prompt 2s; keys 1; wait:prompt 2s; keys 23; listen 1s; hangup")
	if err != nil {
		t.Fatal(err)
	}
	const calls = 50
	// 50 calls start within half a second and each is held 3 s: all 50 are up at once.
	res, err := load.Run(ctx, phone, load.Plan{Target: srv.URI("12345", "udp"), Calls: calls, Rate: 100, Hold: 3 * time.Second,
		Script: script, AnswerTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s := res.Summarize()
	if s.Attempted != calls || s.Answered != calls || s.OK != calls {
		var b bytes.Buffer
		res.WriteTable(&b)
		t.Fatalf("attempted %d, answered %d, ok %d; want %d each\n%s", s.Attempted, s.Answered, s.OK, calls, b.String())
	}
	if got, want := res.PeakCalls, calls; got != want {
		t.Errorf("peak calls = %d, want %d", got, want)
	}
	if got, want := s.DigitsSent, 3*calls; got != want {
		t.Errorf("digits sent = %d, want %d", got, want)
	}
	if s.HeardAudio != calls {
		t.Errorf("%d calls heard audio, want %d", s.HeardAudio, calls)
	}
	got, err := srv.WaitCalls(ctx, calls)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		if c.Digits != "123" {
			t.Errorf("a call's server side got digits %q, want 123", c.Digits)
		}
	}

	var table, rows bytes.Buffer
	if err := res.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"attempted", "answer time p50 / p99", "RTP loss", "generator CPU"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table has no %q:\n%s", want, table.String())
		}
	}
	t.Logf("\n%s", table.String())
	if err := res.WriteCSV(&rows); err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(&rows).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(records), calls+1; got != want {
		t.Errorf("CSV has %d rows, want %d", got, want)
	}
}

func TestPlanRefusesRemoteTargets(t *testing.T) {
	script, err := sipua.ParseScript("listen 1s")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		plan load.Plan
		err  error
	}{
		{plan: load.Plan{Target: "sip:12345@192.0.2.10", Calls: 1, Rate: 1, Script: script}, err: load.ErrRemoteTarget},
		{plan: load.Plan{Target: "sip:12345@127.0.0.1", Proxy: "sip:192.0.2.10", Calls: 1, Rate: 1, Script: script}, err: load.ErrRemoteTarget},
		{plan: load.Plan{Target: "sip:12345@192.0.2.10", Calls: 1, Rate: 1, Script: script, AllowRemote: true}},
		{plan: load.Plan{Target: "sip:12345@[::1]:5060", Calls: 1, Rate: 1, Script: script}},
		{plan: load.Plan{Target: "sip:12345@localhost", Calls: 1, Rate: 1, Script: script}},
	} {
		err := tt.plan.Check(context.Background())
		if tt.err == nil && err != nil || tt.err != nil && !errors.Is(err, tt.err) {
			t.Errorf("Check(%s via %q) = %v, want %v", tt.plan.Target, tt.plan.Proxy, err, tt.err)
		}
	}
}

func TestPlanBounds(t *testing.T) {
	script, err := sipua.ParseScript("listen 1s")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []load.Plan{
		{Target: "sip:1@127.0.0.1", Calls: 0, Rate: 1, Script: script},
		{Target: "sip:1@127.0.0.1", Calls: load.MaxCalls + 1, Rate: 1, Script: script},
		{Target: "sip:1@127.0.0.1", Calls: 1, Rate: 0, Script: script},
		{Target: "sip:1@127.0.0.1", Calls: 1, Rate: 1},
		{Target: "sip:1@127.0.0.1", Calls: 1, Rate: 1, Script: script, Deadline: 3 * time.Hour},
		{Target: "1@127.0.0.1", Calls: 1, Rate: 1, Script: script},
	} {
		if err := p.Check(context.Background()); err == nil {
			t.Errorf("Check(%+v) = nil, want an error", p)
		}
	}
	ok := load.Plan{Target: "sip:1@127.0.0.1", Calls: 10, Rate: 5, Hold: time.Second, Script: script, AnswerTimeout: time.Second}
	if err := ok.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 2 s of ramp, the answer timeout, the script, the hold and a minute to spare.
	if got, want := ok.Deadline, 2*time.Second+time.Second+time.Second+time.Second+time.Minute; got != want {
		t.Errorf("deadline = %s, want %s", got, want)
	}
}
