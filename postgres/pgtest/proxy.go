package pgtest

import (
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Proxy stands between clients and a test server to make the server unreachable on
// demand: Down drops every connection and refuses new ones (what a restarting database does
// to its clients), Up lets them through again.
type Proxy struct {
	t             testing.TB
	network, addr string // where the proxy listens
	tNet, tAddr   string // the server
	mu            sync.Mutex
	ln            net.Listener
	conns         map[net.Conn]struct{}
}

// NewProxy returns a proxy to the server of raw, already up, and the URL that goes through
// it; it is taken down when the test ends. Servers on a Unix socket (host=/dir) and on TCP
// are both served.
func NewProxy(t testing.TB, raw string) (*Proxy, string) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{t: t, conns: map[net.Conn]struct{}{}}
	q := u.Query()
	if dir := q.Get("host"); strings.HasPrefix(dir, "/") {
		port := q.Get("port")
		p.tNet, p.tAddr = "unix", filepath.Join(dir, ".s.PGSQL."+port)
		mine := t.TempDir()
		p.network, p.addr = "unix", filepath.Join(mine, ".s.PGSQL."+port)
		q.Set("host", mine)
		u.RawQuery = q.Encode()
	} else {
		p.tNet, p.tAddr = "tcp", u.Host
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p.network, p.addr = "tcp", ln.Addr().String()
		ln.Close()
		u.Host = p.addr
	}
	p.Up()
	t.Cleanup(p.Down)
	return p, u.String()
}

// Up lets connections through.
func (p *Proxy) Up() {
	ln, err := net.Listen(p.network, p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial(p.tNet, p.tAddr)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.ln != ln {
				p.mu.Unlock()
				c.Close()
				s.Close()
				return
			}
			p.conns[c], p.conns[s] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close(); c.Close() }()
			go func() { io.Copy(c, s); s.Close(); c.Close() }()
		}
	}()
}

// Down drops every connection and refuses new ones.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}
