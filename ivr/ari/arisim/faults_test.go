package arisim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestFaultControls drives the fault routes of the control API: a delayed route hangs its
// requests, a restart empties the node and refuses connections for a while, bad bodies are
// refused.
func TestFaultControls(t *testing.T) {
	s := New(Options{Speed: 10})
	defer s.Close()
	ctl := httptest.NewServer(s.ControlHandler())
	defer ctl.Close()
	ari := httptest.NewServer(s.Handler())
	defer ari.Close()
	do := func(method, path, body string) int {
		t.Helper()
		req, err := http.NewRequest(method, ctl.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ping := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", ari.URL+"/ari/asterisk/ping", nil)
		req.SetBasicAuth("hotline", "hotline-secret")
		resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}

	if got := do("PUT", "/faults/delay", `{"method": "GET", "route": "asterisk/ping", "delay_ms": 60000}`); got != 204 {
		t.Fatalf("PUT /faults/delay = %d", got)
	}
	if err := ping(200 * time.Millisecond); err == nil {
		t.Error("a delayed route answered at once")
	}
	if got := do("DELETE", "/faults", ""); got != 204 {
		t.Fatalf("DELETE /faults = %d", got)
	}
	if err := ping(2 * time.Second); err != nil {
		t.Errorf("after clearing the faults: %v", err)
	}

	if _, err := s.PlaceCall(context.Background(), CallOptions{Caller: "13800138000"}); err != nil {
		t.Fatal(err)
	}
	if got := do("POST", "/faults/restart", `{"down_ms": 300}`); got != 204 {
		t.Fatalf("POST /faults/restart = %d", got)
	}
	if err := ping(time.Second); err == nil {
		t.Error("the restarting node answered")
	}
	if n := len(s.Calls()); n != 0 {
		t.Errorf("%d calls survived the restart", n)
	}
	time.Sleep(300 * time.Millisecond)
	if err := ping(2 * time.Second); err != nil {
		t.Errorf("after the restart: %v", err)
	}

	for _, c := range []struct{ method, path, body string }{
		{"POST", "/faults/restart", `{"down_ms": -1}`},
		{"POST", "/faults/restart", `soon`},
		{"PUT", "/faults/delay", `{"route": "channels"}`},
	} {
		if got := do(c.method, c.path, c.body); got != 400 {
			t.Errorf("%s %s %s = %d, want 400", c.method, c.path, c.body, got)
		}
	}
}
