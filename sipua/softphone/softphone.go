// Package softphone is the agent desk's built-in phone. For each agent whose phone is the
// softphone, the hotline runs a SIP user agent registered at the Asterisk node as the agent's
// endpoint (SIP/1001 registers as 1001) while the agent is logged in. The ACD's offer rings
// it like any phone; the desk's answer button answers it, and the call's audio is carried
// between its RTP stream and the agent's browser: the browser sends the microphone and plays
// the caller, 20 ms frames of 8 kHz 16-bit samples, over a websocket of the desk.
//
// A line outlives the browser's websocket: a refresh re-attaches the audio to the call in
// progress. The registration ends when the agent logs out or the session expires.
package softphone

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"github.com/foshan-hotline/hotline/sipua"
)

// FrameSamples is the length of an audio frame: 20 ms at 8000 Hz.
const FrameSamples = sipua.SampleRate * 20 / 1000

// States of a line.
const (
	Registering = "registering" // not registered yet, or registering again after a failure
	Idle        = "idle"        // registered, no call
	Ringing     = "ringing"     // a call waits for the agent to answer
	Talking     = "talking"
	Offline     = "offline"
)

// Errors of a line's commands.
var (
	ErrNoLine     = errors.New("the agent has no softphone line")
	ErrNotRinging = errors.New("the softphone is not ringing")
	ErrNoCall     = errors.New("the softphone has no call")
)

// Options configure the lines.
type Options struct {
	// Registrar is the SIP URI of the Asterisk node the lines register at, e.g.
	// sip:10.0.0.5:5060 (;transport=tcp for TCP).
	Registrar string
	// LocalHost is the address the lines bind and announce; default the one that routes to
	// the registrar.
	LocalHost string
	// Expiry is the registration's lifetime, renewed at three quarters; default 2 minutes.
	Expiry time.Duration
	// Jitter is how much of the agent's voice may wait to be sent, the bound of the jitter
	// buffer; default 100 ms. Beyond it the oldest frames are dropped, keeping the delay low.
	Jitter time.Duration
	// OnChange hears every change of a line's status.
	OnChange func(agentID int64, st Status)
	// Log receives registration failures and the SIP library's warnings.
	Log *slog.Logger
}

// Account is an agent's SIP account at the registrar: their endpoint's name and secret.
type Account struct {
	User     string
	Password string
}

// Status is what the desk shows of a line.
type Status struct {
	State string `json:"state"`
	// Caller is the calling party's display name and number (the queue and the hotline's
	// number for an ACD offer).
	Caller string    `json:"caller,omitempty"`
	Since  time.Time `json:"since"`
	// Problem says why the line is not registered.
	Problem string `json:"problem,omitempty"`
}

// Lines are the softphones of the logged-in agents.
type Lines struct {
	opts      Options
	transport string

	mu    sync.Mutex
	lines map[int64]*Line
}

// New returns the lines registering at opts.Registrar.
func New(opts Options) (*Lines, error) {
	uri, err := sipua.ParseTarget(opts.Registrar)
	if err != nil {
		return nil, fmt.Errorf("softphone registrar: %w", err)
	}
	transport := "udp"
	if tr, ok := uri.UriParams.Get("transport"); ok {
		transport = tr
	}
	if opts.LocalHost == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		opts.LocalHost, err = sipua.LocalHostFor(ctx, uri.Host)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("softphone registrar: %w", err)
		}
	}
	if opts.Expiry <= 0 {
		opts.Expiry = 2 * time.Minute
	}
	if opts.Jitter <= 0 {
		opts.Jitter = 100 * time.Millisecond
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.OnChange == nil {
		opts.OnChange = func(int64, Status) {}
	}
	return &Lines{opts: opts, transport: transport, lines: map[int64]*Line{}}, nil
}

// Online starts the agent's line with acct, registering it; a line already running with the
// same account is kept (a second login does not drop a call).
func (ls *Lines) Online(agentID int64, acct Account) error {
	if acct.User == "" || strings.ContainsAny(acct.User, "@:; <>") {
		return fmt.Errorf("softphone account %q: want the endpoint's name, e.g. 1001", acct.User)
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if l := ls.lines[agentID]; l != nil {
		if l.acct == acct {
			return nil
		}
		l.stop()
	}
	ctx, cancel := context.WithCancel(context.Background())
	l := &Line{ls: ls, agentID: agentID, acct: acct, ctx: ctx, cancel: cancel, done: make(chan struct{}),
		status: Status{State: Registering, Since: time.Now()}, up: newJitter(int(ls.opts.Jitter / (20 * time.Millisecond))),
		peers: map[*peer]struct{}{}}
	phone, err := sipua.New(ctx, sipua.Config{Transport: ls.transport, LocalHost: ls.opts.LocalHost, From: acct.User,
		Username: acct.User, Password: acct.Password, Log: ls.opts.Log, Incoming: l.incoming})
	if err != nil {
		cancel()
		return fmt.Errorf("softphone of agent %d: %w", agentID, err)
	}
	l.phone = phone
	ls.lines[agentID] = l
	go l.register()
	return nil
}

// Offline ends the agent's line: its call, if any, is hung up and the registration removed.
func (ls *Lines) Offline(agentID int64) {
	ls.mu.Lock()
	l := ls.lines[agentID]
	delete(ls.lines, agentID)
	ls.mu.Unlock()
	if l != nil {
		l.stop()
		<-l.done
	}
}

// Line returns the agent's line, nil when the agent has none.
func (ls *Lines) Line(agentID int64) *Line {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.lines[agentID]
}

// Close ends every line.
func (ls *Lines) Close() {
	ls.mu.Lock()
	ids := make([]int64, 0, len(ls.lines))
	for id := range ls.lines {
		ids = append(ids, id)
	}
	ls.mu.Unlock()
	for _, id := range ids {
		ls.Offline(id)
	}
}

// Line is one agent's softphone.
type Line struct {
	ls      *Lines
	agentID int64
	acct    Account
	phone   *sipua.Phone
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{} // closed when the registration has been removed
	up      *jitter       // the agent's voice, from the browser

	mu     sync.Mutex
	status Status
	answer chan struct{} // closed by Answer while ringing
	hangup chan struct{} // closed by Hangup while ringing or talking
	peers  map[*peer]struct{}
}

// register keeps the line registered until it stops.
func (l *Line) register() {
	defer close(l.done)
	err := l.phone.Register(l.ctx, l.ls.opts.Registrar, l.ls.opts.Expiry, func(err error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if err != nil {
			l.ls.opts.Log.Warn("softphone registration failed", "agent_id", l.agentID, "user", l.acct.User, "err", err)
			if l.status.State == Idle || l.status.State == Registering {
				l.setLocked(Status{State: Registering, Problem: err.Error()})
			}
			return
		}
		if l.status.State == Registering {
			l.setLocked(Status{State: Idle})
		}
	})
	if err != nil {
		l.ls.opts.Log.Error("softphone registration", "agent_id", l.agentID, "err", err)
	}
	l.phone.Close()
	l.mu.Lock()
	l.setLocked(Status{State: Offline})
	l.mu.Unlock()
}

// stop ends the line's call and its registration.
func (l *Line) stop() {
	l.mu.Lock()
	if l.hangup != nil {
		close(l.hangup)
		l.hangup = nil
	}
	l.mu.Unlock()
	l.cancel()
}

// setLocked changes the status (l.mu held) and tells OnChange.
func (l *Line) setLocked(st Status) {
	if st.Since.IsZero() {
		st.Since = time.Now()
	}
	l.status = st
	l.ls.opts.OnChange(l.agentID, st)
}

// Status returns the line's status.
func (l *Line) Status() Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status
}

// Answer answers the ringing call.
func (l *Line) Answer() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.status.State != Ringing || l.answer == nil {
		return ErrNotRinging
	}
	close(l.answer)
	l.answer = nil
	return nil
}

// Hangup ends the call, ringing (declined as busy) or in conversation.
func (l *Line) Hangup() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hangup == nil {
		return ErrNoCall
	}
	close(l.hangup)
	l.hangup = nil
	return nil
}

// Speak queues a frame of the agent's voice (FrameSamples samples; shorter is padded).
func (l *Line) Speak(frame []int16) { l.up.push(frame) }

// Listen sends what the caller says to out, a frame at a time, until stop is called; several
// listeners may be attached (a second tab). out must not block.
func (l *Line) Listen(out func(frame []int16)) (stop func()) {
	p := &peer{out: out}
	l.mu.Lock()
	l.peers[p] = struct{}{}
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		delete(l.peers, p)
		l.mu.Unlock()
	}
}

// peer is a browser listening to the line.
type peer struct{ out func([]int16) }

// Write passes what the caller says to the listeners; it is the stream's recorder.
func (l *Line) Write(pcm []int16) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for p := range l.peers {
		p.out(pcm)
	}
	return nil
}

// source gives the stream the agent's next frame, nothing when none came. (Muting is the
// conversation's: the controller takes the agent's voice out of the bridge.)
func (l *Line) source(frame []int16) bool { return l.up.pop(frame) }

// incoming runs a call to the line: it rings until the agent answers, the caller gives up or
// the agent declines, then carries the audio until either side hangs up.
func (l *Line) incoming(d *diago.DialogServerSession) {
	l.mu.Lock()
	if l.status.State != Idle {
		l.mu.Unlock()
		_ = d.Respond(sip.StatusBusyHere, "Busy Here", nil)
		return
	}
	answer, hangup := make(chan struct{}), make(chan struct{})
	l.answer, l.hangup = answer, hangup
	caller := d.FromUser()
	if from := d.InviteRequest.From(); from != nil && from.DisplayName != "" {
		caller = strings.Trim(from.DisplayName, `"`) + " " + caller
	}
	l.setLocked(Status{State: Ringing, Caller: caller})
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.answer, l.hangup = nil, nil
		if l.status.State == Ringing || l.status.State == Talking {
			l.setLocked(Status{State: Idle})
		}
		l.mu.Unlock()
	}()

	_ = d.Trying()
	_ = d.Ringing()
	select {
	case <-answer:
	case <-hangup:
		_ = d.Respond(sip.StatusBusyHere, "Busy Here", nil)
		return
	case <-d.Context().Done(): // the caller gave up
		return
	case <-l.ctx.Done():
		_ = d.Respond(sip.StatusTemporarilyUnavailable, "Temporarily Unavailable", nil)
		return
	}
	med, err := d.Answer(diago.AnswerOptions{Codecs: l.phone.Codecs()})
	if err != nil {
		l.ls.opts.Log.Warn("softphone answer", "agent_id", l.agentID, "err", err)
		return
	}
	defer med.Close()
	l.up.reset()
	stream, err := sipua.NewStream(med, sipua.StreamOptions{Record: l, Source: l.source})
	if err != nil {
		l.ls.opts.Log.Warn("softphone media", "agent_id", l.agentID, "err", err)
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.Hangup(hctx)
		cancel()
		return
	}
	sctx, stopSending := context.WithCancel(l.ctx)
	stream.Start(sctx)
	l.mu.Lock()
	l.setLocked(Status{State: Talking, Caller: l.status.Caller})
	l.mu.Unlock()
	select {
	case <-d.Context().Done(): // the far end hung up
	case <-hangup:
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.Hangup(hctx)
		cancel()
	case <-l.ctx.Done():
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = d.Hangup(hctx)
		cancel()
	}
	stopSending()
	med.Close()
	stream.Wait()
}

// jitter holds the agent's voice until the stream sends it: at most max frames, the oldest
// dropped beyond, so that a browser that sent a burst does not add delay for the rest of the
// call.
type jitter struct {
	mu     sync.Mutex
	frames [][]int16
	max    int
}

func newJitter(n int) *jitter { return &jitter{max: max(n, 2)} }

func (j *jitter) push(frame []int16) {
	f := make([]int16, FrameSamples)
	copy(f, frame)
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.frames) >= j.max {
		j.frames = j.frames[1:]
	}
	j.frames = append(j.frames, f)
}

func (j *jitter) pop(into []int16) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if len(j.frames) == 0 {
		return false
	}
	copy(into, j.frames[0])
	j.frames = j.frames[1:]
	return true
}

func (j *jitter) reset() {
	j.mu.Lock()
	j.frames = nil
	j.mu.Unlock()
}
