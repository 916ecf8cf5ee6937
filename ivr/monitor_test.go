package ivr_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// monitorRig is a caller talking with agent 1 on PJSIP/1001 and a supervisor's phone
// PJSIP/1100 that answers, with the engine's monitoring and what it reported.
type monitorRig struct {
	*agentRig
	agent, caller *arisim.Call
	callID        string
	mon           *ivr.Monitors

	mu    sync.Mutex
	ended []ivr.MonitorEnd
}

func startMonitorRig(t *testing.T, super arisim.PhoneBehaviour) *monitorRig {
	t.Helper()
	a, agent, id := talkingWith(t, map[string]arisim.PhoneBehaviour{
		"1001": {Mode: arisim.PhoneAnswer, AnswerAfter: time.Second},
		"1100": super,
	})
	m := &monitorRig{agentRig: a, agent: agent, caller: a.caller.Sim(), callID: id}
	m.mon = ivr.NewMonitors(a.h.Engine, func(e ivr.MonitorEnd) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.ended = append(m.ended, e)
	})
	return m
}

func (m *monitorRig) start(t *testing.T, mode string) error {
	t.Helper()
	return m.mon.Start(m.ctx, ivr.MonitorRequest{ID: "7", CallID: m.callID, AgentID: 1,
		AgentEndpoint: "PJSIP/1001", Supervisor: "PJSIP/1100", Mode: mode})
}

// supervisorCalls lists the simulator's calls to the supervisor's phone.
func (m *monitorRig) supervisorCalls() []string {
	var out []string
	for _, ci := range m.h.Sim.Calls() {
		if ci.Endpoint == "PJSIP/1100" {
			out = append(out, ci.ID)
		}
	}
	return out
}

// end waits for the session to end and returns how it went.
func (m *monitorRig) end(t *testing.T) ivr.MonitorEnd {
	t.Helper()
	var e ivr.MonitorEnd
	waitFor(t, m.ctx, "the session to end", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		if len(m.ended) == 1 {
			e = m.ended[0]
			return true
		}
		return false
	})
	m.mon.Wait()
	return e
}

// hears waits until the phone hears exactly the calls want.
func hears(t *testing.T, ctx context.Context, who string, c *arisim.Call, want ...*arisim.Call) {
	t.Helper()
	var ids []string
	for _, w := range want {
		ids = append(ids, w.ID())
	}
	slices.Sort(ids)
	var got []string
	for got = c.Hears(); !slices.Equal(got, ids); got = c.Hears() {
		if ctx.Err() != nil {
			t.Fatalf("%s hears %v, want %v", who, got, ids)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// leftovers fails unless the simulator is back to the caller's channels alone (or nothing).
func leftovers(t *testing.T, m *monitorRig, keep ...string) {
	t.Helper()
	client, err := ari.NewClient(m.h.URL, "hotline", "hotline-secret")
	must(t, err)
	waitFor(t, m.ctx, "the monitoring's channels and bridge to go", func() bool {
		chans, err := client.ListChannels(m.ctx)
		must(t, err)
		bridges, err := client.ListBridges(m.ctx)
		must(t, err)
		for _, b := range bridges {
			if strings.HasPrefix(b.Name, "monitor-") {
				return false
			}
		}
		for _, ch := range chans {
			if strings.HasPrefix(ch.Name, "Snoop/") || strings.HasPrefix(ch.Name, "PJSIP/1100") {
				return false
			}
		}
		return true
	})
}

func TestMonitorListenWhisperBargeCallsTheSupervisorOnce(t *testing.T) {
	m := startMonitorRig(t, arisim.PhoneBehaviour{Mode: arisim.PhoneAnswer})
	must(t, m.start(t, ivr.MonitorListen))
	var super *arisim.Call
	waitFor(t, m.ctx, "the supervisor's phone", func() bool { return len(m.supervisorCalls()) == 1 })
	super, err := m.h.Sim.Call(m.supervisorCalls()[0])
	must(t, err)

	hears(t, m.ctx, "supervisor", super, m.caller, m.agent)
	hears(t, m.ctx, "agent", m.agent, m.caller)
	hears(t, m.ctx, "caller", m.caller, m.agent)

	must(t, m.mon.SetMode(m.ctx, "7", ivr.MonitorWhisper))
	hears(t, m.ctx, "agent", m.agent, m.caller, super)
	hears(t, m.ctx, "caller", m.caller, m.agent)
	hears(t, m.ctx, "supervisor", super, m.caller, m.agent)

	must(t, m.mon.SetMode(m.ctx, "7", ivr.MonitorBarge))
	hears(t, m.ctx, "caller", m.caller, m.agent, super)
	hears(t, m.ctx, "agent", m.agent, m.caller, super)

	must(t, m.mon.SetMode(m.ctx, "7", ivr.MonitorListen))
	hears(t, m.ctx, "caller", m.caller, m.agent)
	hears(t, m.ctx, "agent", m.agent, m.caller)

	if got := m.supervisorCalls(); !slices.Equal(got, []string{super.ID()}) {
		t.Errorf("calls to the supervisor's phone %v, want only %s: switching modes redialled", got, super.ID())
	}
	st := m.mon.Sessions()
	if len(st) != 1 || st[0].Mode != ivr.MonitorListen || st[0].State != "active" {
		t.Errorf("sessions = %+v, want one active in listen", st)
	}
	if err := m.mon.SetMode(m.ctx, "7", "shout"); !errors.Is(err, hotline.ErrInvalid) {
		t.Errorf("SetMode(shout) = %v, want ErrInvalid", err)
	}

	must(t, m.mon.Stop(m.ctx, "7"))
	e := m.end(t)
	var modes []string
	for _, s := range e.Modes {
		modes = append(modes, s.Mode)
	}
	if want := []string{"listen", "whisper", "barge", "listen"}; !slices.Equal(modes, want) {
		t.Errorf("modes = %v, want %v", modes, want)
	}
	if e.Reason != "stopped" || e.Answered.IsZero() || !e.Ended.After(e.Answered) {
		t.Errorf("end = %+v, want stopped after an answer", e)
	}
	<-super.Done()
	leftovers(t, m)
	// The conversation goes on untouched.
	if _, err := m.h.Engine.CallState(m.callID); err != nil {
		t.Errorf("after monitoring the call is no longer in conversation: %v", err)
	}
	hears(t, m.ctx, "caller", m.caller, m.agent)
	must(t, m.caller.Hangup())
}

func TestMonitorEndsCleanly(t *testing.T) {
	tests := []struct {
		name   string
		end    func(t *testing.T, m *monitorRig, super *arisim.Call)
		reason string
	}{
		{"the caller hangs up", func(t *testing.T, m *monitorRig, _ *arisim.Call) { must(t, m.caller.Hangup()) }, "call_ended"},
		{"the agent hangs up", func(t *testing.T, m *monitorRig, _ *arisim.Call) { must(t, m.agent.Hangup()) }, "call_ended"},
		{"the supervisor hangs up", func(t *testing.T, m *monitorRig, super *arisim.Call) { must(t, super.Hangup()) }, "supervisor_hangup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := startMonitorRig(t, arisim.PhoneBehaviour{Mode: arisim.PhoneAnswer})
			must(t, m.start(t, ivr.MonitorWhisper))
			waitFor(t, m.ctx, "the supervisor's phone", func() bool { return len(m.supervisorCalls()) == 1 })
			super, err := m.h.Sim.Call(m.supervisorCalls()[0])
			must(t, err)
			hears(t, m.ctx, "agent", m.agent, m.caller, super)
			tt.end(t, m, super)
			e := m.end(t)
			if e.Reason != tt.reason {
				t.Errorf("reason = %q, want %q", e.Reason, tt.reason)
			}
			<-super.Done()
			leftovers(t, m)
			if len(m.mon.Sessions()) != 0 {
				t.Errorf("sessions left: %+v", m.mon.Sessions())
			}
			if m.caller.Info().State != "hungup" {
				m.caller.Hangup()
			}
		})
	}
}

func TestMonitorRefuses(t *testing.T) {
	m := startMonitorRig(t, arisim.PhoneBehaviour{Mode: arisim.PhoneNoAnswer})
	tests := []struct {
		name string
		req  ivr.MonitorRequest
		want error
	}{
		{"unknown call", ivr.MonitorRequest{ID: "1", CallID: "nope", AgentID: 1, AgentEndpoint: "PJSIP/1001", Supervisor: "PJSIP/1100", Mode: "listen"}, hotline.ErrNotFound},
		{"another agent", ivr.MonitorRequest{ID: "1", CallID: m.callID, AgentID: 2, AgentEndpoint: "PJSIP/1002", Supervisor: "PJSIP/1100", Mode: "listen"}, hotline.ErrConflict},
		{"bad mode", ivr.MonitorRequest{ID: "1", CallID: m.callID, AgentID: 1, AgentEndpoint: "PJSIP/1001", Supervisor: "PJSIP/1100", Mode: "shout"}, hotline.ErrInvalid},
		{"unreachable supervisor", ivr.MonitorRequest{ID: "1", CallID: m.callID, AgentID: 1, AgentEndpoint: "PJSIP/1001", Supervisor: "PJSIP/1999", Mode: "listen"}, nil},
	}
	for _, tt := range tests {
		err := m.mon.Start(m.ctx, tt.req)
		if tt.want == nil {
			if err == nil {
				t.Errorf("%s: started", tt.name)
			}
		} else if !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	// A phone that rings: a second session on the call is refused; the mode can change while
	// it rings; stopping hangs it up.
	must(t, m.start(t, ivr.MonitorListen))
	if err := m.mon.Start(m.ctx, ivr.MonitorRequest{ID: "8", CallID: m.callID, AgentID: 1, AgentEndpoint: "PJSIP/1001", Supervisor: "PJSIP/1100", Mode: "listen"}); !errors.Is(err, hotline.ErrConflict) {
		t.Errorf("second session: %v, want ErrConflict", err)
	}
	must(t, m.mon.SetMode(m.ctx, "7", ivr.MonitorBarge))
	if st := m.mon.Sessions(); len(st) != 1 || st[0].State != "ringing" || st[0].Mode != ivr.MonitorBarge {
		t.Errorf("sessions = %+v, want one ringing in barge", st)
	}
	must(t, m.mon.Stop(m.ctx, "7"))
	if e := m.end(t); e.Reason != "stopped" || !e.Answered.IsZero() || len(e.Modes) != 0 {
		t.Errorf("end = %+v, want stopped, never answered", e)
	}
	leftovers(t, m)
	if err := m.mon.Stop(m.ctx, "7"); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("Stop after the end = %v, want ErrNotFound", err)
	}
	must(t, m.caller.Hangup())
}
