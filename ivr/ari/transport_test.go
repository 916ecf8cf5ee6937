package ari_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/foshan-hotline/hotline/ivr/ari"
)

// A burst of requests larger than MaxConnsPerNode opens no more connections than that to the
// node: Asterisk would close the ones beyond its sessionlimit. The requests beyond the bound
// wait for a connection and all succeed.
func TestTransportBoundsConnectionsPerNode(t *testing.T) {
	const burst = ari.MaxConnsPerNode + 100
	var (
		mu             sync.Mutex
		open, maxConns int
	)
	release := make(chan struct{})
	arrived := make(chan struct{}, burst)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-release
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"asterisk_id":"x","ping":"pong","timestamp":"2026-12-05T10:00:00.000+0000"}`))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			open++
			maxConns = max(maxConns, open)
		case http.StateClosed, http.StateHijacked:
			open--
		}
	}
	srv.Start()
	defer srv.Close()

	c, err := ari.NewClient(srv.URL, "hotline", "pw")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, burst)
	for range burst {
		wg.Go(func() {
			if _, err := c.Ping(context.Background()); err != nil {
				errs <- err
			}
		})
	}
	// Once the bound's worth of requests is being served, the rest are queued in the
	// transport, not on new connections.
	for range ari.MaxConnsPerNode {
		<-arrived
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("request in a burst: %v", err)
	}
	if maxConns > ari.MaxConnsPerNode {
		t.Errorf("%d connections open at once to one node; want at most %d", maxConns, ari.MaxConnsPerNode)
	}
	if maxConns < ari.MaxConnsPerNode {
		t.Errorf("only %d connections open at once; the burst should have used all %d", maxConns, ari.MaxConnsPerNode)
	}
}
