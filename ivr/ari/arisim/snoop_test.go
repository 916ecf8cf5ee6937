package arisim

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSnoopRefusesBadDirections(t *testing.T) {
	s := New(Options{Speed: 20})
	defer s.Close()
	a := newTestARI(t, s, "hotline")
	c, err := s.PlaceCall(context.Background(), CallOptions{Caller: "13800138010"})
	if err != nil {
		t.Fatal(err)
	}
	a.await("StasisStart")
	id := c.ChannelID()
	tests := []struct {
		query  string
		status int
		msg    string
	}{
		{"spy=sideways&app=hotline", 400, "Invalid direction specified for spy"},
		{"whisper=up&spy=both&app=hotline", 400, "Invalid direction specified for whisper"},
		{"app=hotline", 400, "Direction must be specified for at least spy or whisper"},
		{"spy=none&whisper=none&app=hotline", 400, "Direction must be specified for at least spy or whisper"},
		{"spy=both", 400, "Application name is required"},
		{"spy=in&app=hotline", 200, ""},
		{"spy=out&whisper=in&app=hotline", 200, ""},
		{"whisper=both&app=hotline", 200, ""},
	}
	for _, tt := range tests {
		st, body := a.do("POST", "channels/"+id+"/snoop?"+tt.query)
		if st != tt.status {
			t.Errorf("%s: status %d, want %d (%v)", tt.query, st, tt.status, body)
			continue
		}
		if tt.msg != "" && body["message"] != tt.msg {
			t.Errorf("%s: message %v, want %q", tt.query, body["message"], tt.msg)
		}
	}
	if st, body := a.do("POST", "channels/nope/snoop?spy=both&app=hotline"); st != 404 || body["message"] != "Provided channel was not found" {
		t.Errorf("snoop on an unknown channel: %d %v", st, body)
	}
}

// monitorRig is a citizen bridged with an agent's phone, and a supervisor's phone answered in
// the app, the way the hotline monitors a conversation.
type monitorRig struct {
	a                     *testARI
	caller, agent, super  *Call
	agentCh, superCh, brg string
}

func startMonitorRig(t *testing.T) *monitorRig {
	t.Helper()
	s := New(Options{Speed: 20})
	t.Cleanup(func() { s.Close() })
	for _, res := range []string{"1001", "1100"} {
		s.SetEndpoint(EndpointConfig{Technology: "PJSIP", Resource: res, Registered: true, Behaviour: PhoneBehaviour{Mode: PhoneAnswer}})
	}
	m := &monitorRig{a: newTestARI(t, s, "hotline")}
	var err error
	if m.caller, err = s.PlaceCall(context.Background(), CallOptions{Caller: "13800138011"}); err != nil {
		t.Fatal(err)
	}
	m.a.await("StasisStart")
	m.a.do("POST", "channels/"+m.caller.ChannelID()+"/answer")
	phone := func(ep, id string) *Call {
		if st, body := m.a.do("POST", "channels?endpoint=PJSIP/"+ep+"&app=hotline&channelId="+id); st != 200 {
			t.Fatalf("originate %s: %d %v", ep, st, body)
		}
		for {
			e := m.a.await("StasisStart")
			if e["channel"].(map[string]any)["id"] == id {
				break
			}
		}
		for _, ci := range s.Calls() {
			if ci.ChannelID == id {
				c, _ := s.Call(ci.ID)
				return c
			}
		}
		t.Fatalf("no call for %s", ep)
		return nil
	}
	m.agentCh, m.superCh = "agent-leg", "super-leg"
	m.agent = phone("1001", m.agentCh)
	m.a.do("POST", "bridges/conv?type=mixing")
	m.a.do("POST", "bridges/conv/addChannel?channel="+m.caller.ChannelID()+","+m.agentCh)
	m.super = phone("1100", m.superCh)
	m.brg = "monitor"
	m.a.do("POST", "bridges/monitor?type=mixing")
	m.a.do("POST", "bridges/monitor/addChannel?channel="+m.superCh)
	return m
}

// snoop puts a snoop channel with the directions into the supervisor's bridge.
func (m *monitorRig) snoop(t *testing.T, id, spy, whisper string) {
	t.Helper()
	st, body := m.a.do("POST", "channels/"+m.agentCh+"/snoop/"+id+"?spy="+spy+"&whisper="+whisper+"&app=hotline&appArgs=monitor,7")
	if st != 200 {
		t.Fatalf("snoop: %d %v", st, body)
	}
	if name := body["name"].(string); !strings.HasPrefix(name, "Snoop/"+m.agentCh+"-") {
		t.Errorf("snoop channel name %q", name)
	}
	e := m.a.await("StasisStart")
	if got, want := e["channel"].(map[string]any)["id"], id; got != want {
		t.Errorf("StasisStart for %v, want the snoop %s", got, want)
	}
	if got := e["args"].([]any); len(got) != 2 || got[0] != "monitor" || got[1] != "7" {
		t.Errorf("snoop args = %v, want [monitor 7]", got)
	}
	m.a.do("POST", "bridges/monitor/addChannel?channel="+id)
}

func TestSnoopDirectionsDecideWhoHearsWhom(t *testing.T) {
	m := startMonitorRig(t)
	hears := func(c *Call, want ...*Call) {
		t.Helper()
		var ids []string
		for _, w := range want {
			ids = append(ids, w.ID())
		}
		slices.Sort(ids)
		if got := c.Hears(); !slices.Equal(got, ids) {
			t.Errorf("%s hears %v, want %v", c.Info().Endpoint+c.Info().Caller, got, ids)
		}
	}
	hears(m.caller, m.agent)
	hears(m.agent, m.caller)
	hears(m.super)

	// Listen: the supervisor hears both, nobody hears the supervisor.
	m.snoop(t, "snoop-1", "both", "none")
	hears(m.super, m.caller, m.agent)
	hears(m.agent, m.caller)
	hears(m.caller, m.agent)

	// Whisper towards the agent: only the agent hears the supervisor.
	m.snoop(t, "snoop-2", "both", "out")
	m.a.do("DELETE", "channels/snoop-1")
	hears(m.super, m.caller, m.agent)
	hears(m.agent, m.caller, m.super)
	hears(m.caller, m.agent)

	// Whisper both ways: the caller hears the supervisor through the agent's channel too.
	m.snoop(t, "snoop-3", "both", "both")
	m.a.do("DELETE", "channels/snoop-2")
	hears(m.agent, m.caller, m.super)
	hears(m.caller, m.agent, m.super)

	// Spying one way only.
	m.snoop(t, "snoop-4", "in", "none")
	m.a.do("DELETE", "channels/snoop-3")
	hears(m.super, m.agent)
	m.snoop(t, "snoop-5", "out", "none")
	m.a.do("DELETE", "channels/snoop-4")
	hears(m.super, m.caller)
	hears(m.caller, m.agent)
}

func TestSnoopEndsWithTheChannelItSpiesOn(t *testing.T) {
	m := startMonitorRig(t)
	m.snoop(t, "snoop-1", "both", "none")
	if err := m.agent.Hangup(); err != nil {
		t.Fatal(err)
	}
	// The snoop leaves the app like a dialplan channel: hang-up request and StasisEnd, and
	// no ChannelDestroyed (none was ever delivered for a snoop channel in the recordings).
	var seen []string
	deadline := time.After(5 * time.Second)
	for len(seen) < 2 {
		select {
		case e := <-m.a.evs:
			ch, _ := e["channel"].(map[string]any)
			switch typ := e["type"].(string); {
			case ch == nil || ch["id"] != "snoop-1":
			case typ == "ChannelHangupRequest", typ == "StasisEnd", typ == "ChannelDestroyed":
				seen = append(seen, typ)
			}
		case <-deadline:
			t.Fatalf("snoop events %v, want ChannelHangupRequest and StasisEnd", seen)
		}
	}
	if want := []string{"ChannelHangupRequest", "StasisEnd"}; !slices.Equal(seen, want) {
		t.Errorf("snoop events %v, want %v", seen, want)
	}
	for drained := false; !drained; {
		select {
		case e := <-m.a.evs:
			if ch, _ := e["channel"].(map[string]any); ch != nil && ch["id"] == "snoop-1" {
				t.Errorf("after StasisEnd the snoop got %v", e["type"])
			}
		case <-time.After(100 * time.Millisecond):
			drained = true
		}
	}
	if st, _ := m.a.do("GET", "channels/snoop-1"); st != 404 {
		t.Errorf("the snoop channel is still there: %d", st)
	}
	m.super.Hangup()
}
