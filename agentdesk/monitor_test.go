package agentdesk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/postgres"
)

func init() {
	validBodies["POST /api/monitoring"] = `{"agent_id":1,"mode":"listen"}`
	validBodies["POST /api/monitoring/{id}/mode"] = `{"mode":"whisper"}`
}

// fakeMonitor is a call controller that also monitors, the way the engine does.
type fakeMonitor struct {
	mu       sync.Mutex
	StartErr error
	started  []agentdesk.MonitorStart
	modes    []string
	live     map[string]agentdesk.LiveMonitor
}

func (f *fakeMonitor) Control(ctx context.Context, callID string, cmd hotline.CallCommand) error {
	return hotline.ErrConflict
}

func (f *fakeMonitor) CallState(ctx context.Context, callID string) (hotline.CallState, error) {
	return hotline.CallState{}, hotline.ErrNotFound
}

func (f *fakeMonitor) StartMonitor(ctx context.Context, m agentdesk.MonitorStart) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.StartErr != nil {
		return f.StartErr
	}
	f.started = append(f.started, m)
	f.live[m.ID] = agentdesk.LiveMonitor{ID: m.ID, CallID: m.CallID, AgentID: m.AgentID, Mode: m.Mode, State: "ringing", Since: time.Now()}
	return nil
}

func (f *fakeMonitor) SetMonitorMode(ctx context.Context, id, mode string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.live[id]
	if !ok {
		return hotline.ErrNotFound
	}
	l.Mode, l.State = mode, "active"
	f.live[id] = l
	f.modes = append(f.modes, mode)
	return nil
}

func (f *fakeMonitor) StopMonitor(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.live[id]; !ok {
		return hotline.ErrNotFound
	}
	delete(f.live, id)
	return nil
}

func (f *fakeMonitor) LiveMonitors() []agentdesk.LiveMonitor {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []agentdesk.LiveMonitor
	for _, l := range f.live {
		out = append(out, l)
	}
	return out
}

const monitoredCall = "6f1c2a52-9a5e-4c33-8d0e-2b7f3f0c1a10"

func TestMonitoringAPI(t *testing.T) {
	fm := &fakeMonitor{live: map[string]agentdesk.LiveMonitor{}}
	d := newDesk(t, func(o *agentdesk.Options) { o.Calls = fm })
	agentID := d.ids["agent01"]
	sup, agent := d.login("supervisor"), d.login("agent01")
	start := func(c *client, body string) (int, []byte) { return c.do("POST", "/api/monitoring", body) }
	body := fmt.Sprintf(`{"agent_id":%d,"mode":"listen"}`, agentID)

	if status, b := start(agent, body); status != http.StatusForbidden {
		t.Errorf("an agent starting monitoring: %d %s, want 403", status, b)
	}
	if status, b := start(sup, `{"agent_id":99999,"mode":"listen"}`); status != http.StatusNotFound {
		t.Errorf("an unknown agent: %d %s, want 404", status, b)
	}
	if status, b := start(sup, fmt.Sprintf(`{"agent_id":%d,"mode":"shout"}`, agentID)); status != http.StatusBadRequest {
		t.Errorf("a bad mode: %d %s, want 400", status, b)
	}
	d.states.Set(agentID, hotline.AgentStatus{AgentID: agentID, State: hotline.AgentAvailable})
	if status, b := start(sup, body); status != http.StatusConflict {
		t.Errorf("an agent not talking: %d %s, want 409", status, b)
	}

	d.states.Set(agentID, hotline.AgentStatus{AgentID: agentID, State: hotline.AgentTalking, CallID: monitoredCall})
	status, b := start(sup, body)
	if status != http.StatusCreated {
		t.Fatalf("start: %d %s", status, b)
	}
	var live agentdesk.LiveMonitor
	monitorMust(t, json.Unmarshal(b, &live))
	if want := (agentdesk.MonitorStart{ID: live.ID, CallID: monitoredCall, AgentID: agentID, AgentEndpoint: "PJSIP/1001", Supervisor: "PJSIP/1100", Mode: "listen"}); len(fm.started) != 1 || fm.started[0] != want {
		t.Errorf("the engine was asked %+v, want %+v", fm.started, want)
	}

	if status, b := agent.do("POST", "/api/monitoring/"+live.ID+"/mode", `{"mode":"whisper"}`); status != http.StatusForbidden {
		t.Errorf("an agent switching the mode: %d %s, want 403", status, b)
	}
	for _, mode := range []string{"whisper", "barge"} {
		status, b := sup.do("POST", "/api/monitoring/"+live.ID+"/mode", `{"mode":"`+mode+`"}`)
		if status != http.StatusOK {
			t.Fatalf("mode %s: %d %s", mode, status, b)
		}
		monitorMust(t, json.Unmarshal(b, &live))
		if live.Mode != mode {
			t.Errorf("mode = %q, want %q", live.Mode, mode)
		}
	}
	if status, b := sup.do("GET", "/api/monitoring", ""); status != http.StatusOK {
		t.Errorf("list: %d %s", status, b)
	} else {
		var got struct {
			Live   []agentdesk.LiveMonitor
			Recent []postgres.MonitoringSession
		}
		monitorMust(t, json.Unmarshal(b, &got))
		if len(got.Live) != 1 || got.Live[0].Mode != "barge" || len(got.Recent) != 1 || got.Recent[0].Ended {
			t.Errorf("list = %+v, want one live session in barge", got)
		}
	}
	if status, b := sup.do("POST", "/api/monitoring/"+live.ID+"/stop", ""); status != http.StatusOK {
		t.Errorf("stop: %d %s", status, b)
	}

	// The engine reports the end: the row and the audit say who, whom, which modes, how long.
	var id int64
	fmt.Sscan(live.ID, &id)
	answered := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	modes := []postgres.MonitoringSpan{{Mode: "listen", At: answered}, {Mode: "whisper", At: answered.Add(20 * time.Second)}, {Mode: "barge", At: answered.Add(40 * time.Second)}}
	monitorMust(t, postgres.EndMonitoring(context.Background(), d.db, id, answered, answered.Add(75*time.Second), modes, "stopped"))
	if status, b := sup.do("POST", "/api/monitoring/"+live.ID+"/stop", ""); status != http.StatusConflict {
		t.Errorf("stop after the end: %d %s, want 409", status, b)
	}
	rows, err := postgres.MonitoringSessions(context.Background(), d.db, id, 1)
	monitorMust(t, err)
	r := rows[0]
	if r.SupervisorID != d.ids["supervisor"] || r.AgentID != agentID || r.CallID != monitoredCall || r.Seconds != 75 || !r.Ended || len(r.Modes) != 3 {
		t.Errorf("session row = %+v", r)
	}
	var actions []string
	monitorMust(t, d.db.Select(&actions, `SELECT action || ':' || COALESCE(detail->>'mode', '') || COALESCE(detail->>'seconds', '')
		FROM hotline.audit_log WHERE object_type = 'monitoring' AND object_id = $1 ORDER BY id`, live.ID))
	if want := []string{"monitor_start:listen", "monitor_mode:whisper", "monitor_mode:barge", "monitor_end:75"}; !slices.Equal(actions, want) {
		t.Errorf("audit = %v, want %v", actions, want)
	}
	var endModes string
	monitorMust(t, d.db.Get(&endModes, `SELECT detail->>'modes' FROM hotline.audit_log WHERE object_type = 'monitoring' AND action = 'monitor_end'`))
	if endModes != `["listen", "whisper", "barge"]` {
		t.Errorf("audited modes %s", endModes)
	}

	// A call the engine does not have, and no bus to another instance: refused, and the
	// attempt is closed as failed.
	fm.StartErr = hotline.ErrNotFound
	if status, b := start(sup, body); status != http.StatusConflict {
		t.Errorf("a call of another instance: %d %s, want 409", status, b)
	}
	var failed int
	monitorMust(t, d.db.Get(&failed, `SELECT count(*) FROM hotline.monitoring_sessions WHERE end_reason = 'failed' AND ended_at IS NOT NULL`))
	if failed != 1 {
		t.Errorf("%d failed sessions closed, want 1", failed)
	}
}

func TestMonitoringWithoutEngine(t *testing.T) {
	d := newDesk(t)
	agentID := d.ids["agent01"]
	d.states.Set(agentID, hotline.AgentStatus{AgentID: agentID, State: hotline.AgentTalking, CallID: monitoredCall})
	sup := d.login("supervisor")
	if status, b := sup.do("POST", "/api/monitoring", fmt.Sprintf(`{"agent_id":%d,"mode":"listen"}`, agentID)); status != http.StatusConflict {
		t.Errorf("without the engine: %d %s, want 409", status, b)
	}
}

func monitorMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
