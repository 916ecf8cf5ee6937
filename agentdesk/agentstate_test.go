package agentdesk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
)

func TestAgentStateCommands(t *testing.T) {
	d := newDesk(t)
	c := d.login("agent01")
	me := d.ids["agent01"]
	d.states.Calls()
	conflict := func(context.Context, int64) (hotline.AgentStatus, error) {
		return hotline.AgentStatus{}, fmt.Errorf("set available of agent %d: talking: end the call first: %w", me, hotline.ErrConflict)
	}
	for _, tc := range []struct {
		name, path, body string
		setup            func()
		status           int
		call             string // the ACD call made, "" for none
		want             string // in the body
	}{
		{name: "available", path: "/api/agent/state", body: `{"state":"available"}`,
			status: 200, call: "SetAvailable(%d)", want: `"state":"available"`},
		{name: "pause", path: "/api/agent/state", body: `{"state":"paused","reason":"meal"}`,
			status: 200, call: "Pause(%d, meal)", want: `"reason":"meal"`},
		{name: "pause without a reason", path: "/api/agent/state", body: `{"state":"paused"}`, status: 400},
		{name: "pause with a malformed reason", path: "/api/agent/state", body: `{"state":"paused","reason":"Lunch break"}`, status: 400},
		{name: "available with a reason", path: "/api/agent/state", body: `{"state":"available","reason":"meal"}`, status: 400},
		{name: "a state the agent cannot choose", path: "/api/agent/state", body: `{"state":"talking"}`, status: 400},
		{name: "unknown pause reason", path: "/api/agent/state", body: `{"state":"paused","reason":"nap"}`,
			setup: func() {
				d.states.PauseFunc = func(context.Context, int64, string) (hotline.AgentStatus, error) {
					return hotline.AgentStatus{}, fmt.Errorf("pause reason %q: %w", "nap", hotline.ErrInvalid)
				}
			},
			status: 400, call: "Pause(%d, nap)", want: "nap"},
		{name: "available while talking", path: "/api/agent/state", body: `{"state":"available"}`,
			setup:  func() { d.states.SetAvailableFunc = conflict },
			status: 409, call: "SetAvailable(%d)", want: "end the call first"},
		{name: "end wrap-up", path: "/api/agent/wrapup", body: `{"disposition":"answered","notes":"已告知办理材料"}`,
			status: 200, call: "EndWrapUp(%d, answered, 已告知办理材料)"},
		{name: "end wrap-up without a disposition", path: "/api/agent/wrapup", body: `{}`,
			status: 200, call: "EndWrapUp(%d, , )"},
		{name: "end wrap-up with a malformed disposition", path: "/api/agent/wrapup", body: `{"disposition":"Done!"}`, status: 400},
		{name: "end wrap-up with notes too long", path: "/api/agent/wrapup", body: `{"notes":"` + strings.Repeat("记", 2001) + `"}`, status: 400},
		{name: "end wrap-up with notes at the limit", path: "/api/agent/wrapup", body: `{"notes":"` + strings.Repeat("记", 2000) + `"}`,
			status: 200, call: "EndWrapUp(%d, , " + strings.Repeat("记", 2000) + ")"},
		{name: "end wrap-up when not in wrap-up", path: "/api/agent/wrapup", body: `{}`,
			setup: func() {
				d.states.EndWrapUpFunc = func(context.Context, int64, string, string) (hotline.AgentStatus, error) {
					return hotline.AgentStatus{}, fmt.Errorf("end wrap-up: available: not in wrap-up: %w", hotline.ErrConflict)
				}
			},
			status: 409, call: "EndWrapUp(%d, , )", want: "not in wrap-up"},
		{name: "extend wrap-up by the default", path: "/api/agent/wrapup/extend", body: "",
			status: 200, call: "ExtendWrapUp(%d, 30s)"},
		{name: "extend wrap-up by a minute", path: "/api/agent/wrapup/extend", body: `{"seconds":60}`,
			status: 200, call: "ExtendWrapUp(%d, 1m0s)"},
		{name: "extend wrap-up by nothing", path: "/api/agent/wrapup/extend", body: `{"seconds":0}`, status: 400},
		{name: "extend wrap-up by a day", path: "/api/agent/wrapup/extend", body: `{"seconds":86400}`, status: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d.states.Reset()
			if tc.setup != nil {
				tc.setup()
			}
			status, body := c.do("POST", tc.path, tc.body)
			if status != tc.status {
				t.Errorf("%d %s, want %d", status, body, tc.status)
			}
			if status >= 400 {
				errorOf(t, body)
			}
			if !strings.Contains(string(body), tc.want) {
				t.Errorf("body %s, want %s in it", body, tc.want)
			}
			var want []string
			if tc.call != "" {
				want = []string{fmt.Sprintf(tc.call, me)}
			}
			if got := d.states.Calls(); !equalStrings(got, want) {
				t.Errorf("ACD calls %q, want %q", got, want)
			}
		})
	}
}

func TestStateAnswer(t *testing.T) {
	d := newDesk(t)
	c := d.login("agent01")
	until := time.Date(2026, 3, 10, 9, 15, 30, 0, time.UTC)
	d.states.ExtendWrapUpFunc = func(_ context.Context, id int64, dur time.Duration) (hotline.AgentStatus, error) {
		return hotline.AgentStatus{AgentID: id, State: hotline.AgentWrapUp, Since: until.Add(-time.Minute),
			CallID: "8f0c2a36-4d0e-4a55-9a3b-3f1c6c1f2b10", WrapUpUntil: until, PendingPause: "meal"}, nil
	}
	status, body := c.do("POST", "/api/agent/wrapup/extend", `{"seconds":90}`)
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"state": "wrap_up", "since": "2026-03-10T09:14:30Z", "call_id": "8f0c2a36-4d0e-4a55-9a3b-3f1c6c1f2b10",
		"wrap_up_until": "2026-03-10T09:15:30Z", "pending_pause": "meal"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("answer %v, want %v", got, want)
	}
}

func TestPauseReasons(t *testing.T) {
	d := newDesk(t)
	status, body := d.login("agent01").do("GET", "/api/pause-reasons", "")
	want := `{"pause_reasons":[{"code":"break","name":"小休"},{"code":"meal","name":"用餐"},{"code":"meeting","name":"会议"},{"code":"training","name":"培训"}]}`
	if status != http.StatusOK || strings.TrimSpace(string(body)) != want {
		t.Errorf("GET /api/pause-reasons: %d %s, want %s", status, body, want)
	}
}
