package ivr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
)

// Monitoring modes: what a supervisor does on an agent's conversation.
const (
	// MonitorListen: the supervisor hears caller and agent; neither hears the supervisor.
	MonitorListen = "listen"
	// MonitorWhisper: the agent hears the supervisor too; the caller does not.
	MonitorWhisper = "whisper"
	// MonitorBarge: caller and agent both hear the supervisor.
	MonitorBarge = "barge"
)

// snoopDirections are the spy and whisper directions of the snoop channel on the agent's
// leg for each mode. Whisper "out" is the audio written to the agent's phone (the agent
// hears it); "both" adds it to what the agent's channel sends into the conversation's bridge
// (the caller hears it). Barging this way leaves the conversation's bridge alone, which the
// agent's own commands (hold, transfer, consultation) keep using.
var snoopDirections = map[string][2]ari.Direction{
	MonitorListen:  {ari.DirectionBoth, ari.DirectionNone},
	MonitorWhisper: {ari.DirectionBoth, ari.DirectionOut},
	MonitorBarge:   {ari.DirectionBoth, ari.DirectionBoth},
}

// ValidMonitorMode reports whether mode is listen, whisper or barge.
func ValidMonitorMode(mode string) bool {
	_, ok := snoopDirections[mode]
	return ok
}

// MonitorRequest starts a monitoring session on a call in conversation.
type MonitorRequest struct {
	// ID names the session (its audit row); unique among live sessions.
	ID     string
	CallID string
	// AgentID is the agent the supervisor wants to hear; the call must be talking with them.
	AgentID int64
	// AgentEndpoint is the agent's phone (PJSIP/1001): its channel in the call is spied on.
	AgentEndpoint string
	// Supervisor is the supervisor's phone endpoint, called once for the whole session.
	Supervisor string
	Mode       string
	// RingTimeout is how long the supervisor's phone rings; default 30 s.
	RingTimeout time.Duration
}

// MonitorSpan is a mode a session was in from At.
type MonitorSpan struct {
	Mode string    `json:"mode"`
	At   time.Time `json:"at"`
}

// MonitorEnd is how a session went: answered or not, its modes in order and why it ended.
type MonitorEnd struct {
	ID       string
	Answered time.Time // zero when the supervisor never answered
	Ended    time.Time
	Modes    []MonitorSpan
	// Reason is stopped, supervisor_hangup, no_answer, call_ended, failed or shutdown.
	Reason string
}

// MonitorState is a live session as the desk shows it.
type MonitorState struct {
	ID      string `json:"id"`
	CallID  string `json:"call_id"`
	AgentID int64  `json:"agent_id"`
	Mode    string `json:"mode"`
	// State is ringing until the supervisor answers, then active.
	State string    `json:"state"`
	Since time.Time `json:"since"`
}

// Monitors runs supervisors' monitoring sessions on the calls of an engine. A session lives
// in its own goroutine with its own inbox for the supervisor's channel, the snoop channel
// and their bridge; it ends with the call (the snoop leaves with the agent's leg, the call's
// context ends), when the supervisor hangs up, or on Stop.
type Monitors struct {
	e     *Engine
	ended func(MonitorEnd)
	log   *slog.Logger

	mu       sync.Mutex
	sessions map[string]*monitor
	answered func(id string, at time.Time) // under mu
	wg       sync.WaitGroup
}

// OnAnswer sets f to be told, from the session's goroutine, when a session's supervisor
// answers: another instance shows the session's state from what f records.
func (m *Monitors) OnAnswer(f func(id string, at time.Time)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.answered = f
}

// MonitorCommand carries out a monitoring command on call callID: the command bus hands over
// here those given on any instance for the calls of this engine. Start as Start does; mode and
// stop for a session of that call (hotline.ErrNotFound otherwise).
func (m *Monitors) MonitorCommand(ctx context.Context, callID string, cmd hotline.MonitorCommand) error {
	if err := cmd.Validate(); err != nil {
		return err
	}
	if cmd.Action == hotline.MonitorActionStart {
		return m.Start(ctx, MonitorRequest{ID: cmd.ID, CallID: callID, AgentID: cmd.AgentID,
			AgentEndpoint: cmd.AgentEndpoint, Supervisor: cmd.Supervisor, Mode: cmd.Mode})
	}
	m.mu.Lock()
	s := m.sessions[cmd.ID]
	m.mu.Unlock()
	if s == nil || s.req.CallID != callID {
		return fmt.Errorf("monitoring session %s of call %s: %w", cmd.ID, callID, hotline.ErrNotFound)
	}
	if cmd.Action == hotline.MonitorActionMode {
		return m.SetMode(ctx, cmd.ID, cmd.Mode)
	}
	if err := m.Stop(ctx, cmd.ID); err != nil {
		return err
	}
	// The end is recorded before the result goes back: the instance that asked lists the
	// live sessions of the others from the database.
	select {
	case <-s.done:
	case <-ctx.Done():
	}
	return nil
}

// NewMonitors returns the monitoring of e's calls; ended (may be nil) is told how each
// session went, from the session's goroutine.
func NewMonitors(e *Engine, ended func(MonitorEnd)) *Monitors {
	if ended == nil {
		ended = func(MonitorEnd) {}
	}
	return &Monitors{e: e, ended: ended, log: e.cfg.Log.With("component", "monitor"), sessions: map[string]*monitor{}}
}

// monitor is one session; its fields past the channels are its goroutine's.
type monitor struct {
	m       *Monitors
	req     MonitorRequest
	log     *slog.Logger
	client  *ari.Client
	app     string
	inbox   *ari.Inbox
	callCtx context.Context
	cmds    chan monitorCmd
	done    chan struct{} // closed when the session has ended and said so

	legID    string
	superID  string
	bridgeID string
	snoopID  string
	mode     string
	answered time.Time
	spans    []MonitorSpan

	state MonitorState // under m.mu
}

type monitorCmd struct {
	mode  string // "" to stop
	reply chan error
}

// Start calls the supervisor's phone and, once answered, lets them hear the agent's
// conversation in req.Mode. It returns when the phone rings. Errors: hotline.ErrNotFound
// for a call not on this engine, hotline.ErrConflict when the call is not talking with the
// agent or is monitored already, hotline.ErrInvalid for a bad request.
func (m *Monitors) Start(ctx context.Context, req MonitorRequest) error {
	if req.ID == "" || req.CallID == "" || req.Supervisor == "" || req.AgentEndpoint == "" {
		return fmt.Errorf("monitor: id, call, agent endpoint and supervisor endpoint are required: %w", hotline.ErrInvalid)
	}
	if !ValidMonitorMode(req.Mode) {
		return fmt.Errorf("monitor: mode %q: %w", req.Mode, hotline.ErrInvalid)
	}
	if req.RingTimeout <= 0 {
		req.RingTimeout = 30 * time.Second
	}
	e := m.e
	e.mu.Lock()
	c := e.byCall[req.CallID]
	var talking int64
	if c != nil {
		talking = c.talkingWith
	}
	e.mu.Unlock()
	switch {
	case c == nil:
		return fmt.Errorf("call %s: %w", req.CallID, hotline.ErrNotFound)
	case talking != req.AgentID:
		return fmt.Errorf("call %s is not talking with agent %d: %w", req.CallID, req.AgentID, hotline.ErrConflict)
	}
	m.mu.Lock()
	for _, s := range m.sessions {
		if s.req.CallID == req.CallID || s.req.ID == req.ID {
			m.mu.Unlock()
			return fmt.Errorf("call %s is monitored already: %w", req.CallID, hotline.ErrConflict)
		}
	}
	s := &monitor{m: m, req: req, client: c.conn.Client(), app: c.conn.App(), callCtx: c.ctx,
		cmds: make(chan monitorCmd), done: make(chan struct{}), superID: ari.NewID(), bridgeID: ari.NewID(), mode: req.Mode,
		log:   m.log.With("call_id", req.CallID, "agent_id", req.AgentID, "monitor_id", req.ID),
		state: MonitorState{ID: req.ID, CallID: req.CallID, AgentID: req.AgentID, Mode: req.Mode, State: "ringing", Since: time.Now()}}
	s.inbox = c.conn.Router().NewInbox(ari.ChannelRef(s.superID), ari.BridgeRef(s.bridgeID))
	m.sessions[req.ID] = s // reserved while the phone is called
	m.mu.Unlock()

	if err := s.begin(ctx, c); err != nil {
		m.mu.Lock()
		delete(m.sessions, req.ID)
		m.mu.Unlock()
		return err
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		s.run()
	}()
	return nil
}

// begin finds the agent's leg among the call's channels, makes the session's bridge and
// calls the supervisor.
func (s *monitor) begin(ctx context.Context, c *call) error {
	ctx, cancel := context.WithTimeout(ctx, s.m.e.cfg.RequestTimeout)
	defer cancel()
	for _, ref := range c.inbox.Refs() {
		if ref.Kind != ari.KindChannel || ref.ID == c.channel.ID() {
			continue
		}
		ch, err := s.client.Channel(ref.ID).Get(ctx)
		if err == nil && strings.HasPrefix(ch.Name, s.req.AgentEndpoint+"-") {
			s.legID = ch.ID
			break
		}
	}
	if s.legID == "" {
		s.inbox.Close()
		return fmt.Errorf("call %s: no channel of %s: %w", s.req.CallID, s.req.AgentEndpoint, hotline.ErrConflict)
	}
	_, err := s.client.CreateBridge(ctx, ari.BridgeOptions{ID: s.bridgeID, Types: []string{ari.BridgeMixing}, Name: "monitor-" + s.req.ID})
	if err == nil {
		_, err = s.client.Originate(ctx, ari.OriginateRequest{Endpoint: s.req.Supervisor, App: s.app,
			AppArgs: []string{"monitor", s.req.ID}, CallerID: fmt.Sprintf("%q <%s>", "监听", strings.TrimPrefix(s.req.AgentEndpoint, "PJSIP/")),
			Timeout: s.req.RingTimeout, ChannelID: s.superID})
	}
	if err != nil {
		s.cleanup()
		return fmt.Errorf("call the supervisor's phone %s: %w", s.req.Supervisor, err)
	}
	return nil
}

// SetMode switches a live session to mode without calling the supervisor again.
func (m *Monitors) SetMode(ctx context.Context, id, mode string) error {
	if !ValidMonitorMode(mode) {
		return fmt.Errorf("monitor: mode %q: %w", mode, hotline.ErrInvalid)
	}
	return m.send(ctx, id, mode)
}

// Stop ends a live session: the supervisor's phone is hung up, the call goes on.
func (m *Monitors) Stop(ctx context.Context, id string) error { return m.send(ctx, id, "") }

func (m *Monitors) send(ctx context.Context, id, mode string) error {
	m.mu.Lock()
	s := m.sessions[id]
	m.mu.Unlock()
	if s == nil {
		return fmt.Errorf("monitoring session %s: %w", id, hotline.ErrNotFound)
	}
	cmd := monitorCmd{mode: mode, reply: make(chan error, 1)}
	select {
	case s.cmds <- cmd:
	case <-s.inbox.Done():
		return fmt.Errorf("monitoring session %s has ended: %w", id, hotline.ErrConflict)
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-cmd.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Sessions lists the live sessions.
func (m *Monitors) Sessions() []MonitorState {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]MonitorState, 0, len(m.sessions))
	for _, s := range m.sessions {
		out = append(out, s.state)
	}
	slices.SortFunc(out, func(a, b MonitorState) int { return a.Since.Compare(b.Since) })
	return out
}

// Wait returns when every session has ended.
func (m *Monitors) Wait() { m.wg.Wait() }

// run is the session's life: ringing, then spying in the chosen modes until it ends.
func (s *monitor) run() {
	reason := "shutdown"
	defer func() {
		s.cleanup()
		s.m.mu.Lock()
		delete(s.m.sessions, s.req.ID)
		s.m.mu.Unlock()
		s.log.Info("monitoring ended", "reason", reason, "modes", len(s.spans))
		s.m.ended(MonitorEnd{ID: s.req.ID, Answered: s.answered, Ended: time.Now(), Modes: s.spans, Reason: reason})
		close(s.done)
	}()
	engineDone := s.m.e.ctx.Done()
	for {
		select {
		case <-engineDone:
			return
		case <-s.callCtx.Done():
			reason = "call_ended"
			return
		case cmd := <-s.cmds:
			if cmd.mode == "" {
				reason = "stopped"
				cmd.reply <- nil
				return
			}
			err := s.switchTo(cmd.mode)
			cmd.reply <- err
			if errors.Is(err, ari.ErrChannelGone) || errors.Is(err, ari.ErrNotFound) {
				reason = "call_ended"
				return
			}
		case <-s.inbox.Ready():
			for {
				ev, ok := s.inbox.TryNext()
				if !ok {
					break
				}
				if r := s.handle(ev); r != "" {
					reason = r
					return
				}
			}
		}
	}
}

// handle reacts to an event of the session's channels; it returns why the session ends, or
// "".
func (s *monitor) handle(ev ari.Event) string {
	switch ev := ev.(type) {
	case *ari.StasisStart:
		if ev.Channel.ID != s.superID {
			return ""
		}
		s.answered = time.Now()
		ctx, cancel := context.WithTimeout(s.m.e.ctx, s.m.e.cfg.RequestTimeout)
		defer cancel()
		if err := s.client.Bridge(s.bridgeID).AddChannel(ctx, s.superID); err != nil {
			s.log.Warn("bridge the supervisor", "err", err)
			return "failed"
		}
		if err := s.spy(ctx, s.mode); err != nil {
			if errors.Is(err, ari.ErrChannelGone) || errors.Is(err, ari.ErrNotFound) {
				return "call_ended"
			}
			s.log.Warn("snoop on the agent's leg", "err", err)
			return "failed"
		}
		s.setState("active")
		s.m.mu.Lock()
		told := s.m.answered
		s.m.mu.Unlock()
		if told != nil {
			told(s.req.ID, s.answered)
		}
	case *ari.StasisEnd:
		switch ev.Channel.ID {
		case s.superID:
			return "supervisor_hangup"
		case s.snoopID:
			return "call_ended" // the agent's leg is gone
		}
	case *ari.ChannelDestroyed:
		if ev.Channel.ID == s.superID {
			if s.answered.IsZero() {
				return "no_answer"
			}
			return "supervisor_hangup"
		}
	}
	return ""
}

// switchTo changes the mode: at once while the phone rings, else by a new snoop channel put
// in the supervisor's bridge before the old one leaves, so the supervisor hears no gap.
func (s *monitor) switchTo(mode string) error {
	if mode == s.mode {
		return nil
	}
	if s.answered.IsZero() {
		s.mode = mode
		s.setState("ringing")
		return nil
	}
	ctx, cancel := context.WithTimeout(s.m.e.ctx, s.m.e.cfg.RequestTimeout)
	defer cancel()
	return s.spy(ctx, mode)
}

// spy puts a snoop channel in mode's directions into the session's bridge and hangs up the
// one it replaces.
func (s *monitor) spy(ctx context.Context, mode string) error {
	old := s.snoopID
	id := ari.NewID()
	if err := s.inbox.Own(ari.ChannelRef(id)); err != nil {
		return err
	}
	dir := snoopDirections[mode]
	_, err := s.client.Channel(s.legID).Snoop(ctx, ari.SnoopOptions{ID: id, Spy: dir[0], Whisper: dir[1],
		App: s.app, AppArgs: []string{"monitor", s.req.ID}})
	if err == nil {
		s.snoopID = id
		err = s.client.Bridge(s.bridgeID).AddChannel(ctx, id)
	}
	if err != nil {
		s.inbox.Release(ari.ChannelRef(id))
		return fmt.Errorf("%s: %w", mode, err)
	}
	if old != "" {
		s.inbox.Release(ari.ChannelRef(old))
		if err := s.client.Channel(old).Hangup(ctx, ari.HangupNormal); err != nil && !errors.Is(err, ari.ErrNotFound) {
			s.log.Warn("hang up the previous snoop", "err", err)
		}
	}
	s.mode = mode
	s.spans = append(s.spans, MonitorSpan{Mode: mode, At: time.Now()})
	s.setState("active")
	return nil
}

func (s *monitor) setState(state string) {
	s.m.mu.Lock()
	s.state.Mode, s.state.State = s.mode, state
	s.m.mu.Unlock()
}

// cleanup hangs up the session's channels and destroys its bridge; the call goes on.
func (s *monitor) cleanup() {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.m.e.ctx), s.m.e.cfg.RequestTimeout)
	defer cancel()
	s.inbox.Close()
	for _, id := range []string{s.snoopID, s.superID} {
		if id == "" {
			continue
		}
		if err := s.client.Channel(id).Hangup(ctx, ari.HangupNormal); err != nil && !errors.Is(err, ari.ErrNotFound) {
			s.log.Warn("hang up", "channel_id", id, "err", err)
		}
	}
	if err := s.client.Bridge(s.bridgeID).Destroy(ctx); err != nil && !errors.Is(err, ari.ErrNotFound) {
		s.log.Warn("destroy the monitoring bridge", "err", err)
	}
}
