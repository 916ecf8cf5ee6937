package arisim

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foshan-hotline/hotline/internal/repotest"
)

// tline is one line of a recorded transcript.
type tline struct {
	Seq         int               `json:"seq"`
	Kind        string            `json:"kind"`
	WS          string            `json:"ws"`
	Action      string            `json:"action"`
	URL         string            `json:"url"`
	Status      int               `json:"status"`
	Method      string            `json:"method"`
	Path        string            `json:"path"`
	Query       string            `json:"query"`
	Auth        string            `json:"auth"`
	ReqCT       string            `json:"req_content_type"`
	Body        json.RawMessage   `json:"body"`
	BodyText    *string           `json:"body_text"`
	RespHeaders map[string]string `json:"resp_headers"`
	RespBody    json.RawMessage   `json:"resp_body"`
	RespText    *string           `json:"resp_text"`
	Event       json.RawMessage   `json:"event"`
	Data        json.RawMessage   `json:"data"`
	Text        string            `json:"text"`
	TSent       string            `json:"t_sent"`
	RecvTS      string            `json:"recv_ts"`
	TS          string            `json:"ts"`
}

func (l *tline) when() time.Time {
	s := l.TS
	switch {
	case l.Kind == "rest":
		s = l.TSent
	case l.Kind == "event":
		s = l.RecvTS
	}
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func loadTranscript(t *testing.T, path string) []tline {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []tline
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var l tline
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, l)
	}
	return out
}

// simEvent is an event a replayed socket received.
type simEvent struct {
	raw     json.RawMessage
	matched bool
}

type replaySock struct {
	conn   *websocket.Conn
	open   bool // conn is connected and the replay has not closed or dropped it
	mu     sync.Mutex
	events []*simEvent
}

func (k *replaySock) read(ctx context.Context, conn *websocket.Conn) {
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			return
		}
		k.mu.Lock()
		k.events = append(k.events, &simEvent{raw: b})
		k.mu.Unlock()
	}
}

func (k *replaySock) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.events)
}

// replay drives a simulator with a transcript and collects differences.
type replay struct {
	t       *testing.T
	name    string
	lines   []tline
	sim     *Sim
	speed   float64
	base    string
	sockets map[string]*replaySock
	ids     map[string]string // recorded id -> simulator id
	back    map[string]string
	recEvs  map[string][]*recEvent
	missing map[string]int // recorded events already known to be missing
	diffs   []string
	ctx     context.Context
	// The last request or socket action: when the replay sent it, and when
	// the recorder did.
	sentAt, sentWhen time.Time
}

type recEvent struct {
	line    *tline
	raw     json.RawMessage
	matched *simEvent
}

var hexName = regexp.MustCompile(`-[0-9a-f]{8}(;[12])?`)

var snoopName = regexp.MustCompile(`^Snoop/[^-]+-`)

func normName(s string) string {
	return hexName.ReplaceAllString(snoopName.ReplaceAllString(s, "Snoop/ID-"), "-X$1")
}

func (r *replay) difff(seq int, format string, args ...any) {
	r.diffs = append(r.diffs, fmt.Sprintf("%s#%d: %s", r.name, seq, fmt.Sprintf(format, args...)))
}

func (r *replay) mapID(rec, sim string) {
	if rec == "" || sim == "" {
		return
	}
	if _, ok := r.ids[rec]; ok {
		return
	}
	if _, ok := r.back[sim]; ok {
		return
	}
	r.ids[rec], r.back[sim] = sim, rec
}

// subst replaces recorded ids by the simulator's in s.
func (r *replay) subst(s string) string {
	keys := make([]string, 0, len(r.ids))
	for k := range r.ids {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		if k != r.ids[k] {
			s = strings.ReplaceAll(s, k, r.ids[k])
		}
	}
	return s
}

func (r *replay) run() {
	defer func() {
		for _, k := range r.sockets {
			k.conn.CloseNow()
		}
	}()
	r.recEvs = map[string][]*recEvent{}
	r.missing = map[string]int{}
	for i := range r.lines {
		l := &r.lines[i]
		if l.Kind == "event" {
			r.recEvs[l.WS] = append(r.recEvs[l.WS], &recEvent{line: l, raw: l.Event})
		}
	}
	for i := range r.lines {
		l := &r.lines[i]
		if l.Kind != "rest" && l.Kind != "ws" {
			continue
		}
		r.settle(l)
		r.sync(l)
		r.sentAt, r.sentWhen = time.Now(), l.when()
		if l.Kind == "rest" {
			r.rest(l)
		} else {
			r.ws(l, i)
		}
	}
	r.sync(nil)
	r.final()
}

// settle lets the simulator do what falls due, at its speed, in the time
// the recorder let pass since its previous request (a digit ending, a
// prompt finishing, a timeout) before l is sent. The replay does not wait
// otherwise: a request the recorder sent before something was due still
// comes first, however slow the machine.
func (r *replay) settle(l *tline) {
	gap := l.when().Sub(r.sentWhen)
	if r.sentWhen.IsZero() || gap <= 0 {
		return
	}
	until := r.sentAt.Add(time.Duration(float64(gap) / r.speed))
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		r.sim.mu.Lock()
		pending := len(r.sim.due) > 0 && !r.sim.due[0].due.After(until)
		r.sim.mu.Unlock()
		if !pending {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// sync waits until the simulator has sent an event for each one recorded on each socket
// before l was sent (but for those already found missing at an earlier sync), and until it
// has let go of every socket the replay closed or dropped; the events it aligns on the way
// teach it the ids. It waits for the events themselves, not for as many events: an extra one
// the recorder did not see (an explained difference) would stand in for one still on its way
// on a loaded machine, and that one would be reported missing once the socket is closed.
//
// The second wait stands for the pause the recorder made after a close or a
// TCP drop (half a second), in which Asterisk noticed it: the replay sends
// its next request at once, and a simulator that has not yet read the end of
// the socket would still find the application connected (a call would enter
// Stasis instead of failing with STASISSTATUS=FAILED).
func (r *replay) sync(l *tline) {
	// Generous: it returns as soon as the events are there, and a loaded machine (CI runs
	// packages in parallel) can be slow to deliver them.
	deadline := time.Now().Add(3 * time.Second)
	aligned := map[string]int{} // how many events each socket had when last aligned
	for {
		short := liveSockets(r.sim) > r.openSockets()
		for name, k := range r.sockets {
			if n, ok := aligned[name]; !ok || k.count() != n {
				aligned[name] = k.count()
				r.align(name, k, l)
			}
			if r.unmatched(name, l) > r.missing[name] {
				short = true
			}
		}
		if !short || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if l == nil {
		time.Sleep(300 * time.Millisecond) // late extra events
	}
	for name, k := range r.sockets {
		r.align(name, k, l)
		r.missing[name] = r.unmatched(name, l)
	}
}

// unmatched counts the events recorded on a socket before l that no simulator event stands
// for yet.
func (r *replay) unmatched(name string, l *tline) int {
	n := 0
	for _, e := range r.recEvs[name] {
		if e.matched == nil && (l == nil || e.line.when().Before(l.when())) {
			n++
		}
	}
	return n
}

func (r *replay) rest(l *tline) {
	u := r.base + r.subst(l.Path)
	if l.Query != "" {
		u += "?" + r.subst(l.Query)
	}
	var body io.Reader
	switch {
	case l.BodyText != nil:
		body = strings.NewReader(r.subst(*l.BodyText))
	case len(l.Body) > 0:
		body = strings.NewReader(r.subst(string(l.Body)))
	}
	req, err := http.NewRequestWithContext(r.ctx, l.Method, u, body)
	if err != nil {
		r.t.Fatal(err)
	}
	if l.ReqCT != "" {
		req.Header.Set("Content-Type", l.ReqCT)
	}
	if a, ok := strings.CutPrefix(l.Auth, "basic "); ok {
		user, pass, _ := strings.Cut(a, ":")
		req.SetBasicAuth(user, pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.difff(l.Seq, "request failed: %v", err)
		return
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	where := l.Method + " " + l.Path
	if res.StatusCode != l.Status {
		r.difff(l.Seq, "%s: status %d, simulator %d %s", where, l.Status, res.StatusCode, got)
		return
	}
	for _, h := range []string{"Content-Type", "Allow", "Www-Authenticate", "Server", "Cache-Control"} {
		if want, have := l.RespHeaders[h], res.Header.Get(h); want != have {
			r.difff(l.Seq, "%s: header %s %q, simulator %q", where, h, want, have)
		}
	}
	if want, have := l.RespHeaders["Location"], res.Header.Get("Location"); (want == "") != (have == "") ||
		(want != "" && want[:strings.LastIndex(want, "/")] != have[:strings.LastIndex(have, "/")]) {
		r.difff(l.Seq, "%s: Location %q, simulator %q", where, want, have)
	}
	if len(l.RespBody) > 0 {
		for _, d := range shapeDiff(l.RespBody, got, where) {
			r.difff(l.Seq, "%s", d)
		}
		rm, sm := decodeObj(l.RespBody), decodeObj(got)
		if rm != nil && sm != nil {
			if id, ok := rm["id"].(string); ok {
				r.mapID(id, str(sm, "id"))
			}
		}
	}
}

func (r *replay) ws(l *tline, idx int) {
	switch {
	case l.Action == "connect":
		conn, res, err := websocket.Dial(r.ctx, "ws"+strings.TrimPrefix(r.base, "http")+r.subst(l.URL), nil)
		if l.Status == 101 {
			if err != nil {
				r.difff(l.Seq, "websocket %s: %v", l.URL, err)
				return
			}
			conn.SetReadLimit(1 << 22)
			k := r.sockets[l.WS]
			if k == nil {
				k = &replaySock{}
				r.sockets[l.WS] = k
			}
			k.conn, k.open = conn, true
			go k.read(r.ctx, conn)
			return
		}
		if err == nil {
			conn.CloseNow()
			r.difff(l.Seq, "websocket %s: connected, recorded status %d", l.URL, l.Status)
			return
		}
		if res == nil || res.StatusCode != l.Status {
			r.difff(l.Seq, "websocket %s: recorded status %d, simulator %v", l.URL, l.Status, res)
		}
	case l.Action == "close-sent":
		if k := r.sockets[l.WS]; k != nil {
			k.conn.Close(websocket.StatusNormalClosure, "")
			k.open = false
		}
	case strings.HasPrefix(l.Action, "tcp-drop"):
		if k := r.sockets[l.WS]; k != nil {
			k.conn.CloseNow()
			k.open = false
		}
	case l.Action == "send":
		k := r.sockets[l.WS]
		if k == nil {
			return
		}
		k.conn.Write(r.ctx, websocket.MessageText, []byte(r.subst(string(l.Data))))
		if r.unrecordedSend(idx) {
			// The recorder did not log its non-JSON probe; its answer is there.
			k.conn.Write(r.ctx, websocket.MessageText, []byte("this is not json"))
		}
	}
}

// openSockets counts the sockets the replay holds open.
func (r *replay) openSockets() int {
	n := 0
	for _, k := range r.sockets {
		if k.open {
			n++
		}
	}
	return n
}

// liveSockets counts the events websockets the simulator still serves.
func liveSockets(s *Sim) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.wsConns)
}

// unrecordedSend reports whether the events after a send hold more
// RESTResponses than there were sends (the unlogged non-JSON message).
func (r *replay) unrecordedSend(idx int) bool {
	responses := 0
	for _, l := range r.lines[idx+1:] {
		if l.Kind == "event" && strings.Contains(string(l.Event), `"RESTResponse"`) {
			responses++
			continue
		}
		if l.Kind != "event" {
			break
		}
	}
	return responses > 1
}

// replayTranscript runs one transcript against a fresh simulator.
func replayTranscript(t *testing.T, path string, opts Options) []string {
	return replayTranscriptOn(t, path, opts, nil)
}

// replayTranscriptOn is replayTranscript with the simulator's listener
// wrapped by wrap, if not nil.
func replayTranscriptOn(t *testing.T, path string, opts Options, wrap func(net.Listener) net.Listener) []string {
	opts.Dialplan = map[string]Context{
		"hotline-in":  {App: "hotline", Pattern: "_X.", SetCallerID: true},
		"caller-side": {App: "caller", Pattern: "s"},
	}
	if opts.Speed == 0 {
		opts.Speed = 4
	}
	opts.APIDocsDir = repotest.Shared(t, "ari-api-docs")
	sim := New(opts)
	srv := httptest.NewUnstartedServer(sim.Handler())
	if wrap != nil {
		srv.Listener = wrap(srv.Listener)
	}
	srv.Start()
	defer srv.Close()
	defer sim.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := &replay{t: t, name: filepath.Base(path), lines: loadTranscript(t, path), sim: sim, speed: opts.Speed, base: srv.URL,
		sockets: map[string]*replaySock{}, ids: map[string]string{}, back: map[string]string{}, ctx: ctx}
	r.run()
	return r.diffs
}
