package agentdesk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres"
)

// AgentStates is the ACD as the agent API drives it: an agent's working state. Errors wrap
// hotline.ErrConflict when the command does not fit the agent's state, hotline.ErrInvalid for
// a bad value (an unknown pause reason or disposition) and hotline.ErrNotFound for an agent
// the ACD does not know. *postgres.ACD implements it.
type AgentStates interface {
	// Login puts the agent's session sessionID in charge of the agent and returns the
	// session it replaced ("" for none) and the agent's state.
	Login(ctx context.Context, agentID int64, sessionID string) (previousSession string, st hotline.AgentStatus, err error)
	// Logout logs the agent out for cause (logout, session_expired, forced …).
	Logout(ctx context.Context, agentID int64, cause string) error
	SetAvailable(ctx context.Context, agentID int64) (hotline.AgentStatus, error)
	// Pause pauses the agent with a reason code of hotline.pause_reasons; during a call the
	// pause is taken after wrap-up.
	Pause(ctx context.Context, agentID int64, reason string) (hotline.AgentStatus, error)
	// EndWrapUp ends the agent's wrap-up with a disposition code of the call's queue and notes.
	EndWrapUp(ctx context.Context, agentID int64, disposition, notes string) (hotline.AgentStatus, error)
	// ExtendWrapUp gives the agent d more wrap-up time.
	ExtendWrapUp(ctx context.Context, agentID int64, d time.Duration) (hotline.AgentStatus, error)
	Status(ctx context.Context, agentID int64) (hotline.AgentStatus, error)
}

var _ AgentStates = (*postgres.ACD)(nil)

// Defaults of Options.
const (
	DefaultSendBuffer   = 16
	DefaultQueueRefresh = 5 * time.Second
	// DefaultInstanceLease is how long after its last heartbeat an instance's queued calls
	// still count as waiting.
	DefaultInstanceLease = 30 * time.Second
	// DefaultWrapUpExtension is the wrap-up time POST /api/agent/wrapup/extend adds when
	// the request does not say.
	DefaultWrapUpExtension = 30 * time.Second
)

// Options configure a Server.
type Options struct {
	// DB is the hotline's database: sessions, and what an agent's snapshot shows.
	DB *sqlx.DB
	// SnapshotDB is the pool the hub reads agents' snapshots from (nil: DB). Connections of
	// its own keep screen-pops from waiting behind the rest of the server's queries.
	SnapshotDB *sqlx.DB
	// DatabaseURL is the same database's URL, for the LISTEN connection of Run.
	DatabaseURL string
	// States is the ACD.
	States AgentStates
	// Log receives errors and security events; nil discards them.
	Log *slog.Logger
	// Now tells the time; nil means time.Now.
	Now func() time.Time
	// AllowedOrigins are origins (https://desk.example.org) besides the server's own from
	// which browsers may send commands and open the events websocket.
	AllowedOrigins []string
	// Sessions tunes logins and sessions; its Now is replaced by Now.
	Sessions postgres.SessionOptions
	// SecureCookies marks the session cookie Secure even on plain HTTP requests, for a
	// server behind a proxy that terminates TLS. Requests over TLS always get Secure.
	SecureCookies bool
	// SendBuffer is how many messages a websocket may have waiting before its browser is
	// dropped as too slow.
	SendBuffer int
	// QueueRefresh is how often the queue counts of connected agents are refreshed.
	QueueRefresh time.Duration
	// InstanceLease is how long an instance without a heartbeat keeps its calls counted.
	InstanceLease time.Duration
	// Phones are the desk's softphones; nil when every agent has a desk phone.
	Phones PhoneLines
	// Calendars are the business-hours calendars supervisors edit; nil: none.
	Calendars *postgres.Calendars
	// Flows checks, tests and publishes call flows for /api/flows; nil leaves only the
	// reading of flows, drafts and versions.
	Flows Flows
	// WallboardRefresh is how often the supervisors' wallboard is read while anyone watches
	// it; zero means DefaultWallboardRefresh.
	WallboardRefresh time.Duration
	// Calls carries out call control (POST /api/calls/{id}/control) wherever the call is
	// owned; nil refuses it with 409. *postgres.CommandBus implements it.
	Calls CallControl
	// Answerer answers or rejects an offered call's ringing phone for the agent; nil when
	// agents answer on their phones (the demo's simulator sets one, see SetAnswerer).
	Answerer Answerer
	// PII hashes ID numbers for the citizen search by ID number; nil refuses that search.
	PII *pii.Protector
	// CallFlows names the flows (the card's journey) and lists those an agent may send a
	// caller to (GET /api/transfer-targets).
	CallFlows []CallFlow
	// WorkOrders are the deadline rules of work orders: the calendar of working days
	// (flow.Calendar of flows/calendars.yaml) and the limits; unset parts are Monday to
	// Friday and workorder.DefaultLimits.
	WorkOrders postgres.WorkOrderRules
	// RecordingAudio opens a recording's audio (WAV) where it is stored; nil answers 404.
	RecordingAudio func(ctx context.Context, rec hotline.Recording) (io.ReadCloser, error)
	// RecordingRetention is how long recordings of conversations are kept, as the recordings
	// page tells.
	RecordingRetention time.Duration
	// Prompts are the IVR's prompts supervisors hear and change.
	Prompts PromptOptions
}

// Server is the agent API: login and sessions, the agent's state commands and the events
// websocket under /api/.
type Server struct {
	o        Options
	log      *slog.Logger
	now      func() time.Time
	sessions *postgres.Sessions
	states   AgentStates
	hub      *hub
	wall     *wallboardHub
	origins  map[string]bool             // allowed origins, scheme://host[:port]
	answerer atomic.Pointer[answererBox] // set by SetAnswerer, else o.Answerer
	handler  http.Handler
}

// New returns the agent API on o.DB and o.States.
func New(o Options) (*Server, error) {
	if o.DB == nil || o.States == nil {
		return nil, errors.New("agentdesk: a database and the ACD's agent states are required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SendBuffer <= 0 {
		o.SendBuffer = DefaultSendBuffer
	}
	if o.QueueRefresh <= 0 {
		o.QueueRefresh = DefaultQueueRefresh
	}
	if o.InstanceLease <= 0 {
		o.InstanceLease = DefaultInstanceLease
	}
	if o.WallboardRefresh <= 0 {
		o.WallboardRefresh = DefaultWallboardRefresh
	}
	o.WorkOrders = o.WorkOrders.OrDefault()
	s := &Server{o: o, log: o.Log, now: o.Now, states: o.States, origins: map[string]bool{}}
	for _, origin := range o.AllowedOrigins {
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("agentdesk: allowed origin %q: want scheme://host[:port]", origin)
		}
		s.origins[strings.ToLower(u.Scheme+"://"+u.Host)] = true
	}
	so := o.Sessions
	so.Now = o.Now
	sessions, err := postgres.NewSessions(o.DB, so)
	if err != nil {
		return nil, fmt.Errorf("agentdesk: %w", err)
	}
	s.sessions = sessions
	s.hub = newHub(s)
	s.wall = newWallboardHub(s)
	s.handler = s.routes()
	return s, nil
}

// Handler serves the API; mount it at the root of the desk's HTTP server (it answers /api/…
// only). The events websocket needs Run.
func (s *Server) Handler() http.Handler { return s.handler }

// Run follows agent changes until ctx ends: it listens on PostgreSQL's hotline_agent channel
// and pushes the snapshot of a changed agent to their websockets, refreshes queue counts,
// keeps the sessions of open websockets alive and purges expired sessions (logging their
// agents out of the ACD). It returns nil when ctx ends.
func (s *Server) Run(ctx context.Context) error {
	if s.o.DatabaseURL == "" {
		return errors.New("agentdesk: run: no database URL to listen on")
	}
	defer s.wall.stop()
	return s.hub.run(ctx, s.o.DatabaseURL)
}
