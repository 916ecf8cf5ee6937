package ari

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/segmentio/encoding/json" // faster decoding on the call path, see events.go
)

// Client talks to the REST side of one Asterisk node's ARI. It is safe for
// concurrent use by any number of calls. Credentials are sent only in the
// Authorization header, never in URLs, logs or errors.
type Client struct {
	base   *url.URL // scheme://host[:port], without /ari
	user   string
	auth   string // precomputed "Basic ..." header value
	http   *http.Client
	logger *slog.Logger
	// fenced is set when the application this client acts for was taken over by another
	// controller: every request fails with ErrFenced rather than touch that one's calls.
	fenced atomic.Bool
	// guard, when set, is asked before every request (SetGuard).
	guard atomic.Pointer[func(ctx context.Context) error]
}

// SetGuard makes every request ask guard first: a request it refuses fails with its error. A
// controller holding its application under a lease uses it to hold requests while it does not
// know whether the lease is still its own (it was frozen longer than the lease).
func (c *Client) SetGuard(guard func(ctx context.Context) error) { c.guard.Store(&guard) }

// Fence makes every later request fail with ErrFenced: the controller lost the application
// this client acts for to another instance, which now owns its channels and bridges.
func (c *Client) Fence() { c.fenced.Store(true) }

// Unfence lets requests through again: the controller holds the application once more.
func (c *Client) Unfence() { c.fenced.Store(false) }

// ClientOption configures a Client built by NewClient.
type ClientOption func(*Client)

// WithHTTPClient makes the Client use hc instead of one built on NewTransport.
func WithHTTPClient(hc *http.Client) ClientOption {
	return func(c *Client) { c.http = hc }
}

// WithLogger gives the Client a logger for debug traces of requests.
func WithLogger(l *slog.Logger) ClientOption {
	return func(c *Client) { c.logger = l }
}

// NewClient returns a Client for the Asterisk HTTP server at rawURL (e.g.
// "http://127.0.0.1:8088"; a trailing "/ari" is accepted) authenticating as
// user/password. User information embedded in rawURL is rejected so that a
// password can never leak through a logged URL.
func NewClient(rawURL, user, password string, opts ...ClientOption) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("ari: parse node URL: %w", redactURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("ari: node URL scheme must be http or https, got %q", u.Scheme)
	}
	if u.User != nil {
		return nil, fmt.Errorf("ari: node URL must not contain credentials; pass user and password separately")
	}
	if u.Host == "" {
		return nil, fmt.Errorf("ari: node URL has no host")
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/ari")
	u.RawQuery, u.Fragment = "", ""
	c := &Client{
		base:   u,
		user:   user,
		auth:   "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password)),
		logger: slog.New(slog.DiscardHandler),
	}
	for _, o := range opts {
		o(c)
	}
	if c.http == nil {
		c.http = &http.Client{Transport: NewTransport()}
	}
	return c, nil
}

// redactURLError drops the URL from a parse error: it may hold a password.
func redactURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// MaxConnsPerNode bounds the HTTP connections a controller opens to one Asterisk node:
// Asterisk closes the connections beyond its http.conf sessionlimit, which the controller
// would see as failed requests, so past the bound a request waits for a connection instead.
// asterisk/http.conf sizes sessionlimit for it.
const MaxConnsPerNode = 1024

// NewTransport returns an http.Transport tuned for one controller driving
// thousands of concurrent calls on a few Asterisk nodes: keep-alive on, many
// idle connections per host, at most MaxConnsPerNode connections to a node,
// bounded dial and header timeouts.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: nil, // ARI is on a private network; never route it via a proxy.
		DialContext: (&net.Dialer{
			Timeout:   5 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          4096,
		MaxIdleConnsPerHost:   MaxConnsPerNode,
		MaxConnsPerHost:       MaxConnsPerNode,
		IdleConnTimeout:       30 * time.Second, // a quiet node should not keep a burst's connections
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false, // Asterisk speaks HTTP/1.1 only.
	}
}

// String describes the client without its password.
func (c *Client) String() string {
	return fmt.Sprintf("ari.Client{url: %s, user: %s, password: [redacted]}", c.base, c.user)
}

// BaseURL returns the node's HTTP base URL (without /ari and credentials).
func (c *Client) BaseURL() string { return c.base.String() }

// request describes one REST call; path is relative to /ari.
type request struct {
	method string
	path   string
	query  url.Values
	body   any // marshalled as JSON when non-nil
}

// do performs r and decodes a JSON response into out (when out is non-nil).
func (c *Client) do(ctx context.Context, r request, out any) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	// Read whole, then decode: a streaming decoder's buffer would outweigh the small
	// bodies most calls get (a playback, a channel).
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxEventSize))
	if err == nil {
		err = json.Unmarshal(b, out)
	}
	if err != nil {
		return fmt.Errorf("ari: %s %s: decode response: %w", r.method, c.fullPath(r.path), err)
	}
	return nil
}

// send performs r and returns the response of a 2xx status; any other status
// is turned into an *Error and the body closed.
//
// Every call's goroutine sends its requests itself, and net/http's client is deep: what send
// does beside Do is kept in functions of their own so that the stack of a call stays within
// the 8 KB a goroutine starts with rather than doubling for the length of the call.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ari: %s %s: %w", r.method, req.URL.Path, redactURLError(err))
	}
	if c.logger.Enabled(ctx, slog.LevelDebug) {
		c.logRequest(ctx, r.method, req.URL.Path, resp.StatusCode)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, newError(r.method, req.URL.Path, resp)
}

// newRequest builds the HTTP request of r, refused when the client is fenced or its guard
// says no.
func (c *Client) newRequest(ctx context.Context, r request) (*http.Request, error) {
	if c.fenced.Load() {
		return nil, fmt.Errorf("ari: %s %s: %w", r.method, c.fullPath(r.path), ErrFenced)
	}
	if g := c.guard.Load(); g != nil {
		if err := (*g)(ctx); err != nil {
			return nil, fmt.Errorf("ari: %s %s: %w", r.method, c.fullPath(r.path), err)
		}
	}
	u := *c.base
	u.Path = c.fullPath(r.path)
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return nil, fmt.Errorf("ari: %s %s: encode body: %w", r.method, u.Path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("ari: %s %s: %w", r.method, u.Path, err)
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// logRequest logs a request answered (at debug level). It is not inlined, so that its
// attributes take no room in send's frame.
//
//go:noinline
func (c *Client) logRequest(ctx context.Context, method, path string, status int) {
	c.logger.LogAttrs(ctx, slog.LevelDebug, "ari request",
		slog.String("method", method), slog.String("path", path), slog.Int("status", status))
}

func (c *Client) fullPath(p string) string {
	return c.base.Path + "/ari" + p
}

// newError builds an *Error from a failed response, reading Asterisk's
// message from either {"message":...} or {"error":...}.
func newError(method, path string, resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode, Method: method, Path: path}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var m struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(b, &m) == nil {
		e.Message = m.Message
		if e.Message == "" {
			e.Message = m.Error
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// escape escapes one path segment (ids may contain ';', '/' or '@').
func escape(s string) string { return url.PathEscape(s) }

// NewID returns a random UUIDv4 in the lowercase form Asterisk uses for the
// ids it chooses itself. Calls use it to pick playback, bridge, channel and
// snoop ids locally so they can own the id before creating the object.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails.
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, v := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[v>>4], hex[v&0x0f])
	}
	return string(out)
}

// setIf adds key=value to q when value is not empty.
func setIf(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}

// setInt adds key=n to q when n is not zero.
func setInt(q url.Values, key string, n int) {
	if n != 0 {
		q.Set(key, fmt.Sprint(n))
	}
}

// ms converts d to whole milliseconds, as ARI's *ms parameters expect.
func ms(d time.Duration) int { return int(d / time.Millisecond) }

// seconds converts d to whole seconds, rounding up so 500ms is not 0 (unlimited).
func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }
