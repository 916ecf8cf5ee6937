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

// remoteDesk is the call controller of a desk on instance b: its own engine has none of the
// calls (fakeMonitor answering not found), the command bus reaches the others.
type remoteDesk struct {
	*fakeMonitor
	bus *postgres.CommandBus
}

func (r *remoteDesk) Monitor(ctx context.Context, callID string, cmd hotline.MonitorCommand) error {
	return r.bus.Monitor(ctx, callID, cmd)
}

func (r *remoteDesk) Instance() string { return r.bus.Instance() }

var _ agentdesk.RemoteMonitor = (*remoteDesk)(nil)

// ownerMonitors is instance a's monitoring, as the bus hands it commands.
type ownerMonitors struct {
	mu   sync.Mutex
	got  []string
	live map[string]bool
}

func (o *ownerMonitors) MonitorCommand(ctx context.Context, callID string, cmd hotline.MonitorCommand) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.got = append(o.got, fmt.Sprintf("%s %s %s %s", callID, cmd.Action, cmd.ID, cmd.Mode))
	switch cmd.Action {
	case hotline.MonitorActionStart:
		if len(o.live) > 0 {
			return fmt.Errorf("call %s is monitored already: %w", callID, hotline.ErrConflict)
		}
		o.live[cmd.ID] = true
	case hotline.MonitorActionStop:
		if !o.live[cmd.ID] {
			return hotline.ErrNotFound
		}
		delete(o.live, cmd.ID)
	}
	return nil
}

// TestMonitoringOnAnotherInstance: a supervisor on instance b's desk listens to an agent whose
// call instance a owns; start, mode and stop go to a through the command bus, the live list
// shows a's session from the database (ringing, then active once a records the answer, in the
// mode last asked for), and a's refusal comes back as 409.
func TestMonitoringOnAnotherInstance(t *testing.T) {
	rd := &remoteDesk{fakeMonitor: &fakeMonitor{live: map[string]agentdesk.LiveMonitor{}, StartErr: hotline.ErrNotFound}}
	d := newDesk(t, func(o *agentdesk.Options) { o.Calls = rd })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := &ownerMonitors{live: map[string]bool{}}
	busA := postgres.NewCommandBus(d.db, d.url, "a", nil, nil)
	busA.SetMonitor(a)
	rd.bus = postgres.NewCommandBus(d.db, d.url, "b", rd.fakeMonitor, nil)
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, bus := range []*postgres.CommandBus{busA, rd.bus} {
		wg.Go(func() { bus.Run(runCtx) })
	}
	defer func() { stop(); wg.Wait() }()
	d.exec(`INSERT INTO hotline.instances (id, heartbeat_at) VALUES ('a', now())`)
	d.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, instance_id)
		VALUES ($1::uuid, 'ast1', $1::text, '13800138000', now(), 'a')`, monitoredCall)
	agentID := d.ids["agent01"]
	d.states.Set(agentID, hotline.AgentStatus{AgentID: agentID, State: hotline.AgentTalking, CallID: monitoredCall})
	sup := d.login("supervisor")

	status, b := sup.do("POST", "/api/monitoring", fmt.Sprintf(`{"agent_id":%d,"mode":"listen"}`, agentID))
	if status != http.StatusCreated {
		t.Fatalf("start: %d %s", status, b)
	}
	var live agentdesk.LiveMonitor
	monitorMust(t, json.Unmarshal(b, &live))
	list := func() []agentdesk.LiveMonitor {
		t.Helper()
		status, b := sup.do("GET", "/api/monitoring", "")
		if status != http.StatusOK {
			t.Fatalf("list: %d %s", status, b)
		}
		var got struct{ Live []agentdesk.LiveMonitor }
		monitorMust(t, json.Unmarshal(b, &got))
		return got.Live
	}
	if l := list(); len(l) != 1 || l[0].ID != live.ID || l[0].Mode != "listen" || l[0].State != "ringing" || l[0].CallID != monitoredCall {
		t.Errorf("live = %+v, want a's session ringing in listen", l)
	}
	var id int64
	fmt.Sscan(live.ID, &id)
	monitorMust(t, postgres.MonitoringAnswered(ctx, d.db, id, time.Now()))

	status, b = sup.do("POST", "/api/monitoring/"+live.ID+"/mode", `{"mode":"whisper"}`)
	if status != http.StatusOK {
		t.Fatalf("mode: %d %s", status, b)
	}
	monitorMust(t, json.Unmarshal(b, &live))
	if live.Mode != "whisper" || live.State != "active" {
		t.Errorf("after the switch %+v, want active in whisper", live)
	}
	if l := list(); len(l) != 1 || l[0].Mode != "whisper" || l[0].State != "active" {
		t.Errorf("live = %+v, want a's session active in whisper", l)
	}

	// a refuses a second session on the call.
	d.states.Set(d.ids["agent02"], hotline.AgentStatus{AgentID: d.ids["agent02"], State: hotline.AgentTalking, CallID: monitoredCall})
	if status, b := sup.do("POST", "/api/monitoring", fmt.Sprintf(`{"agent_id":%d,"mode":"barge"}`, d.ids["agent02"])); status != http.StatusConflict {
		t.Errorf("a second session refused by a: %d %s, want 409", status, b)
	}

	if status, b := sup.do("POST", "/api/monitoring/"+live.ID+"/stop", ""); status != http.StatusOK {
		t.Errorf("stop: %d %s", status, b)
	}
	want := []string{
		monitoredCall + " start " + live.ID + " listen",
		monitoredCall + " mode " + live.ID + " whisper",
		fmt.Sprintf("%s start %d barge", monitoredCall, id+1),
		monitoredCall + " stop " + live.ID + " ",
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !slices.Equal(a.got, want) {
		t.Errorf("instance a carried out %q, want %q", a.got, want)
	}
	if len(rd.started) != 0 {
		t.Errorf("instance b's engine started %+v", rd.started)
	}
}
