package webphone

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// Limits of one relayed call.
const (
	maxCallerLen  = 20
	maxDigits     = 32 // per key message; the dial pad sends one at a time
	writeTimeout  = 5 * time.Second
	actionTimeout = 5 * time.Second
	upstreamQueue = 512 // events read ahead while the call is being placed
)

// Messages the page sends over the call's websocket.
type command struct {
	Type   string `json:"type"` // "dtmf" or "hangup"
	Digits string `json:"digits,omitempty"`
}

// notice is a message of the relay itself (not a simulator event).
type notice struct {
	Type    string `json:"type"` // "call" or "error"
	CallID  string `json:"call_id,omitempty"`
	Caller  string `json:"caller,omitempty"`
	Hotline string `json:"hotline,omitempty"`
	Message string `json:"message,omitempty"`
}

// eventHead is the part of a simulator event the relay looks at.
type eventHead struct {
	Type   string `json:"type"`
	CallID string `json:"call_id"`
}

// errBadCaller is reported for a caller number the page should not send.
var errBadCaller = errors.New("caller must be 3 to 20 digits")

func checkCaller(s string) error {
	if len(s) < 3 || len(s) > maxCallerLen {
		return errBadCaller
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return errBadCaller
		}
	}
	return nil
}

func checkDigits(s string) bool {
	if s == "" || len(s) > maxDigits {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c == '*' || c == '#') {
			return false
		}
	}
	return true
}

// Reasons a call is refused before it starts (403).
var (
	errForeignOrigin = errors.New("origin not allowed")
	errNoToken       = errors.New("page token required: load the page again")
	errBadToken      = errors.New("wrong page token: load the page again")
)

// checkPage refuses a call that does not come from this server's page:
// another site's page (a browser always sends its Origin on a websocket
// handshake) and any client without the token the page carries. The token
// is this server's: a page of another site cannot read it.
func (p *phone) checkPage(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return fmt.Errorf("%w: %q", errForeignOrigin, o)
		}
	}
	tok := r.URL.Query().Get("token")
	switch {
	case tok == "":
		return errNoToken
	case subtle.ConstantTimeCompare([]byte(tok), []byte(p.token)) != 1:
		return errBadToken
	}
	return nil
}

// serveDial runs one call for the browser: see the package documentation.
func (p *phone) serveDial(w http.ResponseWriter, r *http.Request) {
	if err := p.checkPage(r); err != nil {
		http.Error(w, err.Error(), http.StatusForbidden)
		return
	}
	caller := r.URL.Query().Get("caller")
	if err := checkCaller(caller); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// Accept checks the Origin again.
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	c := &relayedCall{p: p, browser: conn, caller: caller}
	if err := c.run(ctx); err != nil {
		p.log.Warn("webphone: call", slog.String("call_id", c.id), slog.Any("error", err))
		c.send(ctx, notice{Type: "error", Message: userMessage(err)})
		conn.Close(websocket.StatusInternalError, "call failed")
		return
	}
	conn.Close(websocket.StatusNormalClosure, "call ended")
}

// errUnreachable marks a failure to reach the simulator.
var errUnreachable = errors.New("simulator unreachable")

func userMessage(err error) string {
	if errors.Is(err, errUnreachable) {
		return "无法连接模拟交换机，请稍后再试"
	}
	return "呼叫失败：" + err.Error()
}

// relayedCall is one browser's call.
type relayedCall struct {
	p       *phone
	browser *websocket.Conn
	caller  string
	id      string
}

func (c *relayedCall) run(ctx context.Context) error {
	p := c.p
	up, _, err := websocket.Dial(ctx, p.control.String()+"/events", &websocket.DialOptions{HTTPClient: p.client})
	if err != nil {
		return fmt.Errorf("%w: events: %v", errUnreachable, err)
	}
	defer up.CloseNow()
	events := make(chan []byte, upstreamQueue)
	upErr := make(chan error, 1)
	go func() {
		defer close(events)
		for {
			_, b, err := up.Read(ctx)
			if err != nil {
				upErr <- err
				return
			}
			select {
			case events <- b:
			case <-ctx.Done():
				return
			}
		}
	}()

	// The simulator starts following events only after it accepted the
	// socket; a ping answered proves it has (its reader runs after the
	// watch is set), so the call placed next cannot outrun the stream.
	if err := up.Ping(ctx); err != nil {
		return fmt.Errorf("%w: events: %v", errUnreachable, err)
	}
	info, err := c.place(ctx)
	if err != nil {
		return err
	}
	c.id = info.ID
	p.log.Info("webphone: call placed", slog.String("call_id", c.id))
	if err := c.send(ctx, notice{Type: "call", CallID: c.id, Caller: c.caller, Hotline: p.opts.Hotline}); err != nil {
		c.hangupLeft()
		return nil
	}

	left := make(chan struct{})
	go c.readBrowser(ctx, left)
	for {
		select {
		case <-left:
			c.hangupLeft()
			return nil
		case b, open := <-events:
			if !open {
				err := <-upErr
				if ctx.Err() != nil {
					return nil
				}
				// The page can no longer follow the call: end it.
				c.hangupLeft()
				return fmt.Errorf("%w: event stream: %v", errUnreachable, err)
			}
			var h eventHead
			if json.Unmarshal(b, &h) != nil || h.CallID != c.id {
				continue
			}
			if err := c.write(ctx, b); err != nil {
				c.hangupLeft()
				return nil
			}
			if h.Type == "hangup" {
				p.log.Info("webphone: call ended", slog.String("call_id", c.id))
				return nil
			}
		}
	}
}

type callInfo struct {
	ID string `json:"id"`
}

// place asks the simulator for a citizen call from c.caller.
func (c *relayedCall) place(ctx context.Context) (callInfo, error) {
	body, _ := json.Marshal(map[string]string{"caller": c.caller, "exten": c.p.opts.Hotline})
	var info callInfo
	b, err := c.p.post(ctx, "/calls", body, http.StatusCreated)
	if err != nil {
		return info, fmt.Errorf("place call: %w", err)
	}
	if err := json.Unmarshal(b, &info); err != nil || info.ID == "" {
		return info, fmt.Errorf("place call: bad answer %q", b)
	}
	return info, nil
}

// readBrowser carries out the page's commands until it leaves; a command
// that fails is reported to the page, the call goes on.
func (c *relayedCall) readBrowser(ctx context.Context, left chan<- struct{}) {
	defer close(left)
	c.browser.SetReadLimit(4096)
	for {
		_, b, err := c.browser.Read(ctx)
		if err != nil {
			return
		}
		var cmd command
		if err := json.Unmarshal(b, &cmd); err != nil {
			c.send(ctx, notice{Type: "error", Message: "无法识别的指令"})
			continue
		}
		switch {
		case cmd.Type == "dtmf" && checkDigits(cmd.Digits):
			body, _ := json.Marshal(map[string]any{"digits": cmd.Digits})
			_, err = c.p.post(ctx, "/calls/"+c.id+"/dtmf", body, http.StatusNoContent)
		case cmd.Type == "hangup":
			_, err = c.p.post(ctx, "/calls/"+c.id+"/hangup", nil, http.StatusNoContent)
		default:
			err = fmt.Errorf("unknown command %q", cmd.Type)
		}
		if err != nil && ctx.Err() == nil {
			c.p.log.Warn("webphone: command", slog.String("call_id", c.id), slog.String("command", cmd.Type), slog.Any("error", err))
			c.send(ctx, notice{Type: "error", Message: "操作失败：" + err.Error()})
		}
	}
}

// hangupLeft ends the call of a browser that went away; an already ended
// call is fine.
func (c *relayedCall) hangupLeft() {
	ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
	defer cancel()
	_, err := c.p.post(ctx, "/calls/"+c.id+"/hangup", nil, http.StatusNoContent)
	var se *statusError
	if err != nil && !(errors.As(err, &se) && (se.Code == http.StatusNotFound || se.Code == http.StatusConflict)) {
		c.p.log.Warn("webphone: hang up after browser left", slog.String("call_id", c.id), slog.Any("error", err))
	}
}

func (c *relayedCall) send(ctx context.Context, n notice) error {
	b, _ := json.Marshal(n)
	return c.write(ctx, b)
}

func (c *relayedCall) write(ctx context.Context, b []byte) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return c.browser.Write(ctx, websocket.MessageText, b)
}

// statusError is an unexpected status from the control API.
type statusError struct {
	Code int
	Body string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("control API status %d: %s", e.Code, e.Body)
}

// post sends a JSON body to the control API and returns the answer's body.
func (p *phone) post(ctx context.Context, path string, body []byte, want int) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.control.String()+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errUnreachable, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if resp.StatusCode != want {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		return nil, &statusError{Code: resp.StatusCode, Body: msg}
	}
	return b, nil
}
