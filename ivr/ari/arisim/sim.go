package arisim

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Options configures a simulated Asterisk node.
type Options struct {
	// Logger receives the simulator's own log lines; nil discards them.
	Logger *slog.Logger
	// Users maps ARI user names to passwords. Empty means the single
	// user "hotline" with password "hotline-secret", as in the transcripts.
	Users map[string]string
	// AsteriskID is the node's asterisk_id; default "02:fc:00:00:00:01".
	AsteriskID string
	// SoundDirs maps a language to a directory of WAV files: sound:hello
	// played with language zh plays <SoundDirs["zh"]>/hello.wav.
	SoundDirs map[string]string
	// BuiltinSounds gives durations of sounds a stock Asterisk ships and
	// which are not found in SoundDirs; nil means DefaultBuiltinSounds.
	BuiltinSounds map[string]time.Duration
	// Speed divides every simulated duration (playbacks, DTMF, timeouts,
	// phone behaviour); 10 runs ten times faster. Zero means 1.
	Speed float64
	// RecordingDir receives recordings as 8 kHz mono 16-bit WAV files. If it
	// is empty or does not exist, recording fails the way a misconfigured
	// Asterisk does.
	RecordingDir string
	// APIDocsDir, if set, is served under /ari/api-docs/.
	APIDocsDir string
	// Dialplan maps a context to what it runs; nil means DefaultDialplan.
	Dialplan map[string]Context
	// Endpoints lists the configured SIP/PJSIP phones; nil means
	// DefaultEndpoints (SIP tester, 1001–1003, none registered).
	Endpoints []EndpointConfig
	// OriginateTimeout is the default originate timeout; zero means 30 s.
	OriginateTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ControlToken is the token a web page must send to use the control
	// API (see ControlHandler); empty means a random one, see
	// Sim.ControlToken.
	ControlToken string
	// ControlOrigins lists other origins whose pages may use the control
	// API (with the token), as path.Match patterns of the host
	// ("localhost:8080") or of scheme and host ("https://*.example.com");
	// a page of any other origin is refused.
	ControlOrigins []string
}

// Sim is one simulated Asterisk node speaking ARI.
type Sim struct {
	log     *slog.Logger
	opts    Options
	users   map[string]string
	astID   string
	speed   float64
	dialp   map[string]Context
	builtin map[string]time.Duration
	sounds  sync.Map // lang|name → soundEntry
	token   string   // of the control API

	mu        sync.Mutex
	closed    bool
	uniq      uint64 // uniqueid counter
	localHex  uint32 // Local/Announcer/Recorder name counter
	snoopHex  uint32
	chanSeq   uint64
	channels  map[string]*channel
	bridges   map[string]*bridge
	playbacks map[string][]*playback
	live      map[string]*liveRecording
	apps      map[string]*app
	endpoints map[string]*endpoint
	numbers   map[string]PhoneBehaviour // outside phones (SetNumber)
	globals   map[string]string
	calls     map[string]*Call
	callSeq   uint64
	watchers  map[*watcher]struct{}
	due       actionQueue // pending actions, soonest first; see after
	clock     *time.Timer // fires for the soonest
	clockAt   time.Time   // when clock fires; zero when it is not set
	actionSeq uint64
	wsConns   map[*socket]struct{}
	lose      map[string]int // event type → how many more to lose (LoseEvents)
	faults    faults
	srv       []*http.Server
}

// ErrClosed is returned by operations on a closed simulator.
var ErrClosed = errors.New("arisim: simulator closed")

// New returns a simulator configured by opts.
func New(opts Options) *Sim {
	s := &Sim{
		log:       opts.Logger,
		opts:      opts,
		users:     opts.Users,
		astID:     opts.AsteriskID,
		speed:     opts.Speed,
		dialp:     opts.Dialplan,
		builtin:   opts.BuiltinSounds,
		token:     opts.ControlToken,
		channels:  make(map[string]*channel),
		bridges:   make(map[string]*bridge),
		playbacks: make(map[string][]*playback),
		live:      make(map[string]*liveRecording),
		apps:      make(map[string]*app),
		endpoints: make(map[string]*endpoint),
		globals:   make(map[string]string),
		calls:     make(map[string]*Call),
		watchers:  make(map[*watcher]struct{}),
		wsConns:   make(map[*socket]struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if len(s.users) == 0 {
		s.users = map[string]string{"hotline": "hotline-secret"}
	}
	if s.token == "" {
		s.token = rand.Text()
	}
	if s.astID == "" {
		s.astID = "02:fc:00:00:00:01"
	}
	if s.speed <= 0 {
		s.speed = 1
	}
	if s.dialp == nil {
		s.dialp = DefaultDialplan()
	}
	if s.builtin == nil {
		s.builtin = DefaultBuiltinSounds()
	}
	if s.opts.Now == nil {
		s.opts.Now = time.Now
	}
	if s.opts.OriginateTimeout <= 0 {
		s.opts.OriginateTimeout = 30 * time.Second
	}
	eps := opts.Endpoints
	if eps == nil {
		eps = DefaultEndpoints()
	}
	for i, e := range eps {
		s.endpoints[e.Technology+"/"+e.Resource] = newEndpoint(e, i)
	}
	return s
}

// Close stops all timers, closes websockets and servers started by
// ListenAndServe. The simulator cannot be used afterwards.
func (s *Sim) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.clock != nil {
		s.clock.Stop()
	}
	s.due = nil
	socks := make([]*socket, 0, len(s.wsConns))
	for k := range s.wsConns {
		socks = append(socks, k)
	}
	for w := range s.watchers {
		w.close()
	}
	srvs := s.srv
	s.mu.Unlock()
	for _, k := range socks {
		k.kill()
	}
	var errs []error
	for _, srv := range srvs {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		cancel()
	}
	return errors.Join(errs...)
}

// ListenAndServe serves ARI on ariAddr and the control API on controlAddr
// (skipped when empty) until ctx ends.
func (s *Sim) ListenAndServe(ctx context.Context, ariAddr, controlAddr string) error {
	type lsn struct {
		l net.Listener
		h http.Handler
	}
	var ls []lsn
	l, err := net.Listen("tcp", ariAddr)
	if err != nil {
		return fmt.Errorf("listen ari: %w", err)
	}
	ls = append(ls, lsn{l, s.Handler()})
	if controlAddr != "" {
		cl, err := net.Listen("tcp", controlAddr)
		if err != nil {
			l.Close()
			return fmt.Errorf("listen control: %w", err)
		}
		ls = append(ls, lsn{cl, s.ControlHandler()})
	}
	errc := make(chan error, len(ls))
	s.mu.Lock()
	for _, x := range ls {
		srv := &http.Server{Handler: x.h, ReadHeaderTimeout: 10 * time.Second}
		s.srv = append(s.srv, srv)
		go func(srv *http.Server, l net.Listener) { errc <- srv.Serve(l) }(srv, x.l)
	}
	s.mu.Unlock()
	s.log.Info("asterisk simulator listening", "ari", ls[0].l.Addr().String(), "control", controlAddr)
	select {
	case <-ctx.Done():
		return s.Close()
	case err := <-errc:
		s.Close()
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	}
}

// Main runs a standalone simulator until ctx ends: ARI on ariAddr and the
// control API on controlAddr. It is what `hotline sim-asterisk` calls.
func Main(ctx context.Context, opts Options, ariAddr, controlAddr string) error {
	return New(opts).ListenAndServe(ctx, ariAddr, controlAddr)
}

func (s *Sim) now() time.Time { return s.opts.Now() }

// scale converts a simulated duration into wall-clock time.
func (s *Sim) scale(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.speed)
}

// newUniqueID returns an Asterisk uniqueid: "<epoch>.<counter>".
func (s *Sim) newUniqueID() string {
	id := strconv.FormatInt(s.now().Unix(), 10) + "." + strconv.FormatUint(s.uniq, 10)
	s.uniq++
	return id
}

func (s *Sim) nextLocalHex() string {
	s.localHex++
	return fmt.Sprintf("%08x", s.localHex)
}

func (s *Sim) nextSnoopHex() string {
	s.snoopHex++
	return fmt.Sprintf("%08x", s.snoopHex)
}
