package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestEndpoints(t *testing.T) {
	p := NewProbes(time.Second)
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "hotline_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(3)
	mux := http.NewServeMux()
	Register(mux, p, reg)

	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	if got, want := get("/healthz").Code, 200; got != want {
		t.Errorf("/healthz = %d, want %d", got, want)
	}
	p.Add("database", func(ctx context.Context) error { return nil })
	if got, want := get("/readyz").Code, 200; got != want {
		t.Errorf("/readyz with a passing check = %d, want %d", got, want)
	}
	p.Add("asterisk:ast1", func(ctx context.Context) error { return errors.New("not connected") })
	rec := get("/readyz")
	if got, want := rec.Code, 503; got != want {
		t.Errorf("/readyz with a failing check = %d, want %d", got, want)
	}
	var body struct {
		Ready  bool
		Checks []Result
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Ready || len(body.Checks) != 2 || body.Checks[0].Name != "asterisk:ast1" || body.Checks[0].Error != "not connected" {
		t.Errorf("/readyz body = %+v", body)
	}
	if m := get("/metrics").Body.String(); !strings.Contains(m, "hotline_test_total 3") {
		t.Errorf("/metrics lacks the registered counter:\n%s", m)
	}
}

func TestCheckTimeout(t *testing.T) {
	p := NewProbes(20 * time.Millisecond)
	p.Add("slow", func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	res := p.Run(context.Background())
	if len(res) != 1 || res[0].OK {
		t.Errorf("Run = %+v, want the slow check failed by its deadline", res)
	}
}

func TestProfilesOnlyWhenRegistered(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint("registered=", on), func(t *testing.T) {
			mux := http.NewServeMux()
			Register(mux, NewProbes(time.Second), prometheus.NewRegistry())
			if on {
				RegisterProfiles(mux)
			}
			want := http.StatusNotFound
			if on {
				want = http.StatusOK
			}
			for _, path := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/cmdline"} {
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
				if got := rec.Code; got != want {
					t.Errorf("%s = %d, want %d", path, got, want)
				}
			}
		})
	}
}
