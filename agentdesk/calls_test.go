package agentdesk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/postgres"
)

// fakeController is the IVR engine of the control tests: it keeps a held flag per call and
// refuses what does not fit, as the engine does.
type fakeController struct {
	mu    sync.Mutex
	held  map[string]bool
	cmds  []hotline.CallCommand
	agent int64
}

func (f *fakeController) Control(ctx context.Context, callID string, cmd hotline.CallCommand) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cmds = append(f.cmds, cmd)
	if cmd.AgentID != f.agent {
		return fmt.Errorf("call %s is another agent's: %w", callID, hotline.ErrForbidden)
	}
	switch cmd.Action {
	case hotline.ActionHold:
		if f.held[callID] {
			return fmt.Errorf("the caller is already on hold: %w", hotline.ErrConflict)
		}
		f.held[callID] = true
	case hotline.ActionResume:
		if !f.held[callID] {
			return fmt.Errorf("the caller is not on hold: %w", hotline.ErrConflict)
		}
		f.held[callID] = false
	}
	return nil
}

func (f *fakeController) CallState(callID string) (hotline.CallState, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return hotline.CallState{CallID: callID, AgentID: f.agent, Held: f.held[callID]}, nil
}

// fakeAnswerer answers the phones it is asked to.
type fakeAnswerer struct {
	mu       sync.Mutex
	answered []string
}

func (a *fakeAnswerer) Answer(ctx context.Context, endpoint, callID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answered = append(a.answered, "answer "+endpoint+" "+callID)
	return nil
}

func (a *fakeAnswerer) Reject(ctx context.Context, endpoint, callID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answered = append(a.answered, "reject "+endpoint+" "+callID)
	return nil
}

// controlDesk is a desk whose call control goes through a CommandBus to a fake engine.
func controlDesk(t *testing.T, answerer agentdesk.Answerer) (*desk, *fakeController, string) {
	t.Helper()
	ctl := &fakeController{held: map[string]bool{}}
	var d *desk
	d = newDesk(t, func(o *agentdesk.Options) {
		o.Calls = postgres.NewCommandBus(o.DB, o.DatabaseURL, "live", ctl, nil)
		o.Answerer = answerer
	})
	call, _ := d.acdFixture()
	ctl.agent = d.ids["agent01"]
	return d, ctl, call
}

func talking(d *desk, call string) {
	d.exec(`UPDATE hotline.offers SET state = 'accepted', decided_at = now() WHERE call_id = $1`, call)
	d.exec(`INSERT INTO hotline.agent_status (agent_id, state, call_id) VALUES ($1, 'talking', $2)
		ON CONFLICT (agent_id) DO UPDATE SET state = 'talking', call_id = $2`, d.ids["agent01"], call)
}

func TestControlHoldResume(t *testing.T) {
	d, ctl, call := controlDesk(t, nil)
	talking(d, call)
	c := d.login("agent01")
	status, body := c.do("POST", "/api/calls/"+call+"/control", `{"action":"hold"}`)
	var st hotline.CallState
	if err := json.Unmarshal(body, &st); status != http.StatusOK || err != nil || !st.Held || st.CallID != call || st.AgentID != d.ids["agent01"] {
		t.Fatalf("hold: %d %s", status, body)
	}
	// Holding twice does not fit: 409 with the engine's reason.
	status, body = c.do("POST", "/api/calls/"+call+"/control", `{"action":"hold"}`)
	if code, reason := errorOf(t, body); status != http.StatusConflict || code != "conflict" || reason == "" {
		t.Errorf("hold again: %d %s", status, body)
	}
	status, body = c.do("POST", "/api/calls/"+call+"/control", `{"action":"resume"}`)
	st = hotline.CallState{}
	if json.Unmarshal(body, &st); status != http.StatusOK || st.Held {
		t.Errorf("resume: %d %s", status, body)
	}
	status, body = c.do("POST", "/api/calls/"+call+"/control", `{"action":"transfer","transfer":{"queue":"general"}}`)
	if status != http.StatusOK {
		t.Errorf("transfer: %d %s", status, body)
	}
	ctl.mu.Lock()
	defer ctl.mu.Unlock()
	if n := len(ctl.cmds); n != 4 || ctl.cmds[3].Transfer.Queue != "general" || ctl.cmds[3].AgentID != d.ids["agent01"] {
		t.Errorf("commands carried out: %+v", ctl.cmds)
	}
}

func TestControlRefusals(t *testing.T) {
	d, ctl, call := controlDesk(t, nil)
	c := d.login("agent01")
	// Offered, not answered: no hold; no answerer: answer on the phone.
	status, body := c.do("POST", "/api/calls/"+call+"/control", `{"action":"hold"}`)
	if status != http.StatusConflict {
		t.Errorf("hold while ringing: %d %s", status, body)
	}
	status, body = c.do("POST", "/api/calls/"+call+"/control", `{"action":"answer"}`)
	if _, reason := errorOf(t, body); status != http.StatusConflict || reason != "请在话机上接听或拒接来电" {
		t.Errorf("answer without an answerer: %d %s", status, body)
	}
	talking(d, call)
	for _, tc := range []struct {
		body string
		want int
	}{
		{``, http.StatusBadRequest},
		{`{"action":"fly"}`, http.StatusBadRequest},
		{`{"action":"dtmf"}`, http.StatusBadRequest},
		{`{"action":"dtmf","digits":"12x"}`, http.StatusBadRequest},
		{`{"action":"transfer","transfer":{"queue":"a","number":"123"}}`, http.StatusBadRequest},
		{`{"action":"hold","agent_id":5}`, http.StatusBadRequest},
		{`{"action":"answer","digits":"1"}`, http.StatusBadRequest},
		{`{"action":"answer"}`, http.StatusConflict}, // talking already
	} {
		if status, body := c.do("POST", "/api/calls/"+call+"/control", tc.body); status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.body, status, body, tc.want)
		}
	}
	// Another agent's call, an unknown call.
	if status, body := d.login("agent02").do("POST", "/api/calls/"+call+"/control", `{"action":"hold"}`); status != http.StatusForbidden {
		t.Errorf("agent02: %d %s", status, body)
	}
	if status, body := c.do("POST", "/api/calls/00000000-0000-4000-8000-000000000000/control", `{"action":"hold"}`); status != http.StatusNotFound {
		t.Errorf("unknown call: %d %s", status, body)
	}
	// Wrap-up: the conversation is over.
	d.exec(`UPDATE hotline.agent_status SET state = 'wrap_up' WHERE agent_id = $1`, d.ids["agent01"])
	status, body = c.do("POST", "/api/calls/"+call+"/control", `{"action":"hold"}`)
	if _, reason := errorOf(t, body); status != http.StatusConflict || reason != "the conversation has ended" {
		t.Errorf("hold in wrap-up: %d %s", status, body)
	}
	ctl.mu.Lock()
	defer ctl.mu.Unlock()
	if len(ctl.cmds) != 0 {
		t.Errorf("refused commands reached the engine: %+v", ctl.cmds)
	}
}

func TestControlAnswerAndRejectAnOffer(t *testing.T) {
	a := &fakeAnswerer{}
	d, _, call := controlDesk(t, a)
	c := d.login("agent01")
	status, body := c.do("POST", "/api/calls/"+call+"/control", `{"action":"answer"}`)
	if status != http.StatusOK {
		t.Fatalf("answer: %d %s", status, body)
	}
	status, body = c.do("POST", "/api/calls/"+call+"/control", `{"action":"reject"}`)
	if status != http.StatusOK {
		t.Fatalf("reject: %d %s", status, body)
	}
	if status, body := d.login("agent02").do("POST", "/api/calls/"+call+"/control", `{"action":"answer"}`); status != http.StatusForbidden {
		t.Errorf("agent02 answers agent01's offer: %d %s", status, body)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if fmt.Sprint(a.answered) != "[answer PJSIP/1001 "+call+" reject PJSIP/1001 "+call+"]" {
		t.Errorf("answerer asked %v", a.answered)
	}
}
