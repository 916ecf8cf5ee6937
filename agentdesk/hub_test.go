package agentdesk

import (
	"encoding/json"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// TestSlowBrowserIsDropped checks that pushing never waits for a browser: one whose buffer is
// full is dropped (and told to reconnect) while the others get every snapshot, each once.
func TestSlowBrowserIsDropped(t *testing.T) {
	s := &Server{log: slog.New(slog.DiscardHandler), now: time.Now, o: Options{SendBuffer: 2}}
	h := newHub(s)
	agent := hotline.Agent{ID: 7, Username: "agent07", Role: hotline.RoleAgent, Endpoint: "PJSIP/1007"}
	newClient := func(id string) *client {
		return &client{sess: postgres.Session{ID: id, Agent: agent}, send: make(chan []byte, s.o.SendBuffer), done: make(chan struct{})}
	}
	slow, fast := newClient("slow"), newClient("fast")
	h.add(slow)
	h.add(fast)

	publish := func(reason string) {
		h.mu.Lock()
		defer h.mu.Unlock()
		p := agentPart{snapshot: snapshot{Agent: viewUser(agent), Status: statusView{State: hotline.AgentPaused, Reason: reason}}}
		h.agents[agent.ID].part = &p
		h.publishLocked(h.agents[agent.ID])
	}
	received := func(c *client) []string {
		var out []string
		for {
			select {
			case b := <-c.send:
				var m struct {
					Type     string
					Snapshot snapshot
				}
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatal(err)
				}
				out = append(out, m.Type+" "+m.Snapshot.Status.Reason)
			default:
				return out
			}
		}
	}

	var got []string
	for _, reason := range []string{"break", "break", "meal", "meeting"} {
		publish(reason)
		got = append(got, received(fast)...)
	}
	if want := []string{"snapshot break", "update meal", "update meeting"}; !slices.Equal(got, want) {
		t.Errorf("the fast browser got %q, want %q", got, want)
	}
	select {
	case <-slow.done:
		if slow.end != endSlow {
			t.Errorf("slow browser ended with %+v, want endSlow", slow.end)
		}
	default:
		t.Fatalf("the slow browser, its buffer full, was not dropped")
	}
	if got, want := received(slow), []string{"snapshot break", "update meal"}; !slices.Equal(got, want) {
		t.Errorf("the slow browser's buffer held %q, want %q", got, want)
	}
	h.mu.Lock()
	_, still := h.agents[agent.ID].clients[slow]
	h.mu.Unlock()
	if still {
		t.Errorf("the dropped browser is still registered")
	}
	// Dropped twice (by the hub, then when its handler ends) is harmless.
	h.remove(slow)
	h.endSession("slow", endLogout)
}

// TestMarksAreCoalesced checks that an agent marked many times before a reloader gets to
// them is read once, and that agents not connected here are not read at all.
func TestMarksAreCoalesced(t *testing.T) {
	h := newHub(&Server{log: slog.New(slog.DiscardHandler), now: time.Now, o: Options{SendBuffer: 1}})
	c := &client{sess: postgres.Session{ID: "a", Agent: hotline.Agent{ID: 1}}, send: make(chan []byte, 1), done: make(chan struct{})}
	h.add(c)
	for range 5 {
		h.mark(1)
	}
	h.mark(2)
	h.markAll()
	if got := h.queue; !slices.Equal(got, []int64{1}) {
		t.Fatalf("queue %v, want [1]", got)
	}
}
