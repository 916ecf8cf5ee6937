package arisim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// testARI is a small ARI client for tests: REST plus one events socket.
type testARI struct {
	t    *testing.T
	base string
	conn *websocket.Conn
	evs  chan map[string]any
}

func newTestARI(t *testing.T, s *Sim, apps string) *testARI {
	t.Helper()
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	a := &testARI{t: t, base: srv.URL, evs: make(chan map[string]any, 1000)}
	if apps != "" {
		conn, _, err := websocket.Dial(context.Background(),
			"ws"+strings.TrimPrefix(srv.URL, "http")+"/ari/events?app="+apps+"&api_key=hotline:hotline-secret", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.CloseNow() })
		a.conn = conn
		go func() {
			for {
				_, b, err := conn.Read(context.Background())
				if err != nil {
					return
				}
				var m map[string]any
				json.Unmarshal(b, &m)
				a.evs <- m
			}
		}()
	}
	return a
}

func (a *testARI) do(method, path string) (int, map[string]any) {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.base+"/ari/"+path, nil)
	req.SetBasicAuth("hotline", "hotline-secret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return res.StatusCode, m
}

// await returns the next event of type typ, skipping others.
func (a *testARI) await(typ string) map[string]any {
	a.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-a.evs:
			if e["type"] == typ {
				return e
			}
		case <-timeout:
			a.t.Fatalf("no %s event", typ)
		}
	}
}

func awaitHeard(t *testing.T, c *Call, typ string) HeardEvent {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case e := <-c.Heard():
			if e.Type == typ {
				return e
			}
		case <-timeout:
			t.Fatalf("call %s: no %s heard", c.ID(), typ)
		}
	}
}

func TestStasisFallbackWithoutSocket(t *testing.T) {
	s := New(Options{Speed: 50})
	defer s.Close()
	c, err := s.PlaceCall(context.Background(), CallOptions{Caller: "13800138000"})
	if err != nil {
		t.Fatal(err)
	}
	play := awaitHeard(t, c, "play")
	if got, want := play.Media, "sound:ss-noservice"; got != want {
		t.Errorf("fallback media = %q, want %q", got, want)
	}
	if got, want := awaitHeard(t, c, "hangup").Cause, 16; got != want {
		t.Errorf("hangup cause = %d, want %d", got, want)
	}
	<-c.Done()
}

func TestCallFlowThroughARI(t *testing.T) {
	dir := t.TempDir()
	writeTestWAV(t, filepath.Join(dir, "hello.wav"), 1500*time.Millisecond)
	s := New(Options{Speed: 20, SoundDirs: map[string]string{"zh": dir}})
	defer s.Close()
	a := newTestARI(t, s, "hotline")
	c, err := s.PlaceCall(context.Background(), CallOptions{Caller: "13800138001", Lang: "zh"})
	if err != nil {
		t.Fatal(err)
	}
	start := a.await("StasisStart")
	ch := start["channel"].(map[string]any)
	if got, want := ch["caller"].(map[string]any)["number"], "13800138001"; got != want {
		t.Errorf("caller number = %v, want %v", got, want)
	}
	id := ch["id"].(string)
	if got, want := id, c.ChannelID(); got != want {
		t.Errorf("StasisStart channel = %q, want the call's channel %q", got, want)
	}
	if st, _ := a.do("POST", "channels/"+id+"/answer"); st != 204 {
		t.Fatalf("answer: %d", st)
	}
	awaitHeard(t, c, "answered")
	if st, _ := a.do("POST", "channels/"+id+"/play?media=sound:hello&lang=zh"); st != 201 {
		t.Fatalf("play: %d", st)
	}
	play := awaitHeard(t, c, "play")
	if got, want := play.DurationMS, int64(1500); got != want {
		t.Errorf("duration_ms = %d, want %d (WAV length)", got, want)
	}
	if got, want := play.URL, "/sounds/zh/hello.wav"; got != want {
		t.Errorf("url = %q, want %q", got, want)
	}
	if err := c.Press(context.Background(), "12#", 0); err != nil {
		t.Fatal(err)
	}
	var digits string
	for range 3 {
		digits += a.await("ChannelDtmfReceived")["digit"].(string)
	}
	if got, want := digits, "12#"; got != want {
		t.Errorf("digits = %q, want %q", got, want)
	}
	if err := c.Hangup(); err != nil {
		t.Fatal(err)
	}
	a.await("StasisEnd")
	if err := c.Hangup(); err != ErrCallEnded {
		t.Errorf("second hangup: %v, want ErrCallEnded", err)
	}
}

func TestEndpointBehaviours(t *testing.T) {
	tests := []struct {
		name      string
		cfg       EndpointConfig
		status    int
		wantEvent string
		cause     float64
	}{
		{"unregistered", EndpointConfig{Technology: "SIP", Resource: "1001"}, 500, "", 0},
		{"unknown", EndpointConfig{Technology: "SIP", Resource: "1001"}, 500, "", 0},
		{"answers", EndpointConfig{Technology: "PJSIP", Resource: "2001", Registered: true,
			Behaviour: PhoneBehaviour{Mode: PhoneAnswer, AnswerAfter: time.Second}}, 200, "StasisStart", 0},
		{"busy", EndpointConfig{Technology: "PJSIP", Resource: "2002", Registered: true,
			Behaviour: PhoneBehaviour{Mode: PhoneBusy}}, 200, "ChannelDestroyed", 17},
		{"no answer", EndpointConfig{Technology: "SIP", Resource: "2003", Registered: true,
			Behaviour: PhoneBehaviour{Mode: PhoneNoAnswer}}, 200, "ChannelDestroyed", 19},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{Speed: 20})
			defer s.Close()
			s.SetEndpoint(tt.cfg)
			a := newTestARI(t, s, "hotline")
			res := tt.cfg.Resource
			if tt.name == "unknown" {
				res = "9999"
			}
			st, body := a.do("POST", "channels?endpoint="+tt.cfg.Technology+"/"+res+"&app=hotline&appArgs=agent&timeout=2")
			if got, want := st, tt.status; got != want {
				t.Fatalf("status = %d, want %d (%v)", got, want, body)
			}
			if st == 500 {
				if got, want := body["error"], "Allocation failed"; got != want {
					t.Errorf("error = %v, want %v", got, want)
				}
				return
			}
			e := a.await(tt.wantEvent)
			if tt.cause != 0 {
				if got, want := e["cause"], tt.cause; got != want {
					t.Errorf("cause = %v, want %v", got, want)
				}
			} else if got, want := e["args"].([]any)[0], "agent"; got != want {
				t.Errorf("args = %v, want %v", got, want)
			}
		})
	}
}

func TestControlAPI(t *testing.T) {
	s := New(Options{Speed: 50})
	defer s.Close()
	a := newTestARI(t, s, "hotline")
	ctl := httptest.NewServer(s.ControlHandler())
	defer ctl.Close()
	post := func(path, body string) (int, map[string]any) {
		res, err := http.Post(ctl.URL+path, "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	st, info := post("/calls", `{"caller":"13800138002","exten":"12345"}`)
	if st != 201 {
		t.Fatalf("POST /calls: %d", st)
	}
	id := info["id"].(string)
	conn, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(ctl.URL, "http")+"/calls/"+id+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	a.await("StasisStart")
	if st, _ := post("/calls/"+id+"/dtmf", `{"digits":"5","gap_ms":200}`); st != 204 {
		t.Errorf("dtmf: %d", st)
	}
	if got, want := a.await("ChannelDtmfReceived")["digit"], "5"; got != want {
		t.Errorf("digit = %v, want %v", got, want)
	}
	if st, _ := post("/calls/"+id+"/hangup", ``); st != 204 {
		t.Errorf("hangup: %d", st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("events websocket: %v", err)
		}
		var e HeardEvent
		json.Unmarshal(b, &e)
		if e.Type == "hangup" {
			break
		}
	}
	req, _ := http.NewRequest("PUT", ctl.URL+"/endpoints/PJSIP/3001", strings.NewReader(`{"registered":true,"mode":"manual"}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got, want := res.StatusCode, 204; got != want {
		t.Errorf("PUT endpoint: %d, want %d", got, want)
	}
	if st, body := a.do("GET", "endpoints/PJSIP/3001"); st != 200 || body["state"] != "online" {
		t.Errorf("endpoint after register: %d %v", st, body)
	}
}

func TestScaleSpeed(t *testing.T) {
	s := New(Options{Speed: 10})
	if got, want := s.scale(time.Second), 100*time.Millisecond; got != want {
		t.Errorf("scale = %v, want %v", got, want)
	}
}

func writeTestWAV(t *testing.T, path string, d time.Duration) {
	t.Helper()
	if err := writeSilentWAV(path, d); err != nil {
		t.Fatal(err)
	}
}
