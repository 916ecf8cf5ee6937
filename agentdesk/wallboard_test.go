package agentdesk_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foshan-hotline/hotline/postgres"
)

// wallboardDesk is a desk on the real ACD (instance "instance-a", beating) with a queue.
func wallboardDesk(t *testing.T) (*desk, *postgres.ACD) {
	t.Helper()
	d := newDesk(t)
	acd := postgres.NewACD(postgres.New(d.db, nil, nil), "instance-a")
	if err := acd.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	d.srv = d.newServer(acd)
	d.web = httptest.NewServer(d.srv.Handler())
	t.Cleanup(d.web.Close)
	d.exec(`INSERT INTO hotline.skills (id, name) VALUES ('general', '综合'), ('insurance', '社保')`)
	d.exec(`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('general', '综合咨询', 'general')`)
	d.exec(`INSERT INTO hotline.agent_skills (agent_id, skill_id, level) VALUES ($1, 'general', 3)`, d.ids["agent01"])
	return d, acd
}

// board is a wallboard message as the page reads it.
type board struct {
	Type       string    `json:"type"`
	ServerTime time.Time `json:"server_time"`
	Board      struct {
		Queues []struct {
			ID      string `json:"id"`
			Waiting int    `json:"waiting"`
		} `json:"queues"`
		Agents []struct {
			ID    int64  `json:"id"`
			State string `json:"state"`
		} `json:"agents"`
		Intraday []json.RawMessage `json:"intraday"`
	} `json:"board"`
}

func (b board) waiting(queue string) int {
	for _, q := range b.Board.Queues {
		if q.ID == queue {
			return q.Waiting
		}
	}
	return -1
}

func (b board) state(agent int64) string {
	for _, a := range b.Board.Agents {
		if a.ID == agent {
			return a.State
		}
	}
	return ""
}

func dialWallboard(c *client, origin string) (*websocket.Conn, *http.Response, error) {
	hdr := http.Header{}
	for _, ck := range c.http.Jar.Cookies(mustParse(c.d.t, c.base)) {
		hdr.Add("Cookie", ck.Name+"="+ck.Value)
	}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.base, "http")+"/api/wallboard/events",
		&websocket.DialOptions{HTTPHeader: hdr})
}

// nextBoard reads boards until ok, failing after 10 s.
func nextBoard(t *testing.T, conn *websocket.Conn, what string, ok func(board) bool) board {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, raw, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		var b board
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatalf("message %s: %v", raw, err)
		}
		if b.Type != "board" || b.ServerTime.IsZero() {
			t.Fatalf("message %s, want a board", raw)
		}
		if ok(b) {
			return b
		}
	}
}

func TestWallboardPushesChanges(t *testing.T) {
	d, acd := wallboardDesk(t)
	sup := d.login("supervisor")

	status, body := sup.do("GET", "/api/wallboard", "")
	var b board
	if status != http.StatusOK || json.Unmarshal(body, &b) != nil || b.waiting("general") != 0 || len(b.Board.Intraday) == 0 {
		t.Fatalf("GET /api/wallboard: %d %s", status, body)
	}
	if status, body := d.login("agent02").do("GET", "/api/wallboard", ""); status != http.StatusForbidden {
		t.Errorf("an agent reads the wallboard: %d %s, want 403", status, body)
	}

	if _, resp, err := dialWallboard(sup, "https://evil.example"); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a foreign origin opened the wallboard: %v %v", resp, err)
	}
	agent := d.login("agent02")
	if _, resp, err := dialWallboard(agent, ""); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("an agent opened the wallboard's websocket: %v %v", resp, err)
	}

	conn, _, err := dialWallboard(sup, "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	nextBoard(t, conn, "the first board", func(b board) bool { return b.waiting("general") == 0 })
	// A second supervisor watches the same board.
	sup2 := d.login("admin")
	conn2, _, err := dialWallboard(sup2, "")
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.CloseNow()
	nextBoard(t, conn2, "the first board of the second watcher", func(board) bool { return true })

	// A call enters the queue on the live instance: both boards show it.
	call := "0b7f6a52-3c1e-4d4e-9f5c-2a7d1e0c9b11"
	d.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, instance_id)
		VALUES ($1::uuid, 'ast1', $1::text, '13800138000', now(), 'instance-a')`, call)
	d.exec(`INSERT INTO hotline.queue_entries (call_id, queue_id, entered_at, instance_id) VALUES ($1, 'general', now(), 'instance-a')`, call)
	nextBoard(t, conn, "the waiting call", func(b board) bool { return b.waiting("general") == 1 })
	nextBoard(t, conn2, "the waiting call on the second board", func(b board) bool { return b.waiting("general") == 1 })

	// An agent's state change reaches the board.
	a1 := d.ids["agent01"]
	if _, _, err := acd.Login(t.Context(), a1, "s1"); err != nil {
		t.Fatal(err)
	}
	nextBoard(t, conn, "agent01 logged in", func(b board) bool { return b.state(a1) == "paused" })

	// The supervisor's session ends: the board says so and closes.
	if status, body := sup.do("POST", "/api/logout", ""); status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", status, body)
	}
	if _, resp, err := dialWallboard(sup, ""); err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the wallboard without a session: %v %v", resp, err)
	}
}
