package sipua

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// ErrBadTarget is wrapped by errors about a SIP URI that cannot be called.
var ErrBadTarget = errors.New("bad SIP URI")

// Config describes the phone: how it reaches the far end and who it says it is.
type Config struct {
	// Transport is "udp" (the default) or "tcp".
	Transport string
	// LocalHost is the address SIP and RTP are bound to and announced in Contact and SDP;
	// LocalHostFor finds the right one for a target. Default 127.0.0.1.
	LocalHost string
	// From is the caller's number (the user part of From and Contact).
	From string
	// Username and Password answer a digest challenge (401 or 407); Username defaults to From.
	Username string
	Password string
	// Proxy, when set, is the SIP URI of an outbound proxy every INVITE is routed through.
	Proxy string
	// Codecs lists the audio codecs offered, in order of preference: "PCMU", "PCMA". Default
	// both; telephone-event/8000 is always offered too.
	Codecs []string
	// Audio is what the phone says: played once from the answer, then silence. Nil: silence.
	Audio []int16
	// Log receives the SIP library's warnings; nil discards them.
	Log *slog.Logger
	// Incoming, when set, takes the calls made to the phone (see Register); without it they
	// are refused with 480. It runs in its own goroutine per call, and the call ends when it
	// returns.
	Incoming func(*diago.DialogServerSession)
}

// Phone is a SIP user agent that places scripted calls; one Phone may place many calls at
// once. Close releases its sockets.
type Phone struct {
	cfg      Config
	ua       *sipgo.UserAgent
	dg       *diago.Diago
	listener io.Closer
	proxy    *sip.Uri
	offer    []media.Codec
	codecs   string // for messages, e.g. "PCMU, PCMA"
}

// New starts a phone listening on cfg.LocalHost (a port chosen by the system) for the
// far end's in-dialog requests, such as its BYE.
func New(ctx context.Context, cfg Config) (*Phone, error) {
	if cfg.Transport == "" {
		cfg.Transport = "udp"
	}
	cfg.Transport = strings.ToLower(cfg.Transport)
	if cfg.Transport != "udp" && cfg.Transport != "tcp" {
		return nil, fmt.Errorf("transport %q: want udp or tcp", cfg.Transport)
	}
	if cfg.LocalHost == "" {
		cfg.LocalHost = "127.0.0.1"
	}
	if net.ParseIP(cfg.LocalHost) == nil {
		return nil, fmt.Errorf("local host %q is not an IP address", cfg.LocalHost)
	}
	if cfg.From == "" {
		cfg.From = "hotline-phone"
	}
	if cfg.Username == "" {
		cfg.Username = cfg.From
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	codecs, names, err := offer(cfg.Codecs)
	if err != nil {
		return nil, err
	}
	p := &Phone{cfg: cfg, offer: codecs, codecs: names}
	if cfg.Proxy != "" {
		var u sip.Uri
		if err := sip.ParseUri(cfg.Proxy, &u); err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: outbound proxy %q", ErrBadTarget, cfg.Proxy)
		}
		u.UriParams = sip.NewParams()
		u.UriParams.Add("lr", "")
		p.proxy = &u
	}
	p.ua, err = sipgo.NewUA(sipgo.WithUserAgent(cfg.From))
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	if err := p.listen(ctx); err != nil {
		p.ua.Close()
		return nil, fmt.Errorf("listen for SIP on %s over %s: %w", cfg.LocalHost, cfg.Transport, err)
	}
	return p, nil
}

// listen binds the phone's SIP socket (a port of the system's choice) and serves it. The
// socket is bound here rather than by diago so that its address is known: sipgo sends UDP
// requests from the listening socket once it is in the transport's pool, which happens after
// diago reports the listener ready, and a request sent in between fails to bind.
func (p *Phone) listen(ctx context.Context) error {
	srv, err := sipgo.NewServer(p.ua, sipgo.WithServerLogger(p.cfg.Log))
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(p.cfg.LocalHost, "0")
	var serve func() error
	var laddr net.Addr
	if p.cfg.Transport == "tcp" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		p.listener, laddr, serve = l, l.Addr(), func() error { return srv.ServeTCP(l) }
	} else {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		p.listener, laddr, serve = c, c.LocalAddr(), func() error { return srv.ServeUDP(c) }
	}
	_, port, _ := net.SplitHostPort(laddr.String())
	portNum, _ := strconv.Atoi(port)
	p.dg = diago.NewDiago(p.ua,
		diago.WithServer(srv),
		diago.WithLogger(p.cfg.Log),
		diago.WithTransport(diago.Transport{Transport: p.cfg.Transport, BindHost: p.cfg.LocalHost, BindPort: portNum}),
		diago.WithMediaConfig(diago.MediaConfig{Codecs: p.offer}),
	)
	// Without Incoming the phone takes no calls: an INVITE to it gets diago's 480.
	p.dg.HandleFunc(func(d *diago.DialogServerSession) {
		if p.cfg.Incoming != nil {
			p.cfg.Incoming(d)
		}
	})
	go func() { _ = serve() }()
	if p.cfg.Transport == "tcp" {
		return nil
	}
	for range 5000 {
		if _, err := p.ua.TransportLayer().GetConnection("udp", laddr.String()); err == nil {
			return nil
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	p.listener.Close()
	return errors.New("the SIP socket was not served in time")
}

// Codecs returns the audio codecs the phone offers and accepts, telephone-event included.
func (p *Phone) Codecs() []media.Codec { return append([]media.Codec(nil), p.offer...) }

// Register registers the phone as cfg.From at registrar (a SIP URI such as
// sip:asterisk.example:5060, ;transport=tcp to use TCP) with the digest credentials of cfg,
// for expiry, renews the registration until ctx ends and then removes it. A registration
// that fails is tried again, after 2 s, then doubling up to a minute. onChange, when set,
// hears every change: nil once registered, the error when it failed.
func (p *Phone) Register(ctx context.Context, registrar string, expiry time.Duration, onChange func(error)) error {
	uri, err := ParseTarget(registrar)
	if err != nil {
		return err
	}
	if tr, ok := uri.UriParams.Get("transport"); ok && tr != p.cfg.Transport {
		return fmt.Errorf("%w %q: transport=%s, but the phone uses %s", ErrBadTarget, registrar, tr, p.cfg.Transport)
	}
	uri.User = p.cfg.From // the address of record: the phone's own number at the registrar
	uri.UriParams = sip.NewParams()
	uri.UriParams.Add("transport", p.cfg.Transport)
	if onChange == nil {
		onChange = func(error) {}
	}
	t, err := p.dg.RegisterTransaction(ctx, uri, diago.RegisterOptions{Username: p.cfg.Username, Password: p.cfg.Password, Expiry: expiry})
	if err != nil {
		return fmt.Errorf("register at %s: %w", registrar, err)
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = t.Unregister(uctx)
	}()
	backoff := 2 * time.Second
	for {
		err := t.Register(ctx)
		if err == nil {
			onChange(nil)
			backoff = 2 * time.Second
			err = t.QualifyLoop(ctx) // renews until it fails or ctx ends
		}
		if ctx.Err() != nil {
			return nil
		}
		onChange(fmt.Errorf("register at %s: %w", registrar, err))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Minute)
	}
}

// Close stops listening and closes the phone's sockets; calls in progress end.
func (p *Phone) Close() error {
	return errors.Join(p.listener.Close(), p.ua.Close())
}

// offer returns the codecs to put in the SDP offer.
func offer(names []string) ([]media.Codec, string, error) {
	if len(names) == 0 {
		names = []string{"PCMU", "PCMA"}
	}
	var codecs []media.Codec
	var shown []string
	for _, n := range names {
		switch strings.ToUpper(strings.TrimSpace(n)) {
		case "PCMU", "ULAW", "G711U":
			codecs = append(codecs, media.CodecAudioUlaw)
			shown = append(shown, "PCMU")
		case "PCMA", "ALAW", "G711A":
			codecs = append(codecs, media.CodecAudioAlaw)
			shown = append(shown, "PCMA")
		default:
			return nil, "", fmt.Errorf("codec %q: want PCMU or PCMA", n)
		}
	}
	return append(codecs, media.CodecTelephoneEvent8000), strings.Join(shown, ", "), nil
}

// ParseTarget parses the SIP URI to call, e.g. sip:12345@asterisk.example:5060;transport=tcp.
func ParseTarget(target string) (sip.Uri, error) {
	var u sip.Uri
	t := strings.TrimSpace(target)
	if !strings.HasPrefix(strings.ToLower(t), "sip:") {
		return u, fmt.Errorf("%w %q: it must start with sip: (e.g. sip:12345@asterisk.example)", ErrBadTarget, target)
	}
	if err := sip.ParseUri(t, &u); err != nil {
		return u, fmt.Errorf("%w %q: %v", ErrBadTarget, target, err)
	}
	if u.Host == "" || strings.ContainsAny(u.Host, " /@") {
		return u, fmt.Errorf("%w %q: no host", ErrBadTarget, target)
	}
	if u.Port < 0 || u.Port > 65535 {
		return u, fmt.Errorf("%w %q: port out of range", ErrBadTarget, target)
	}
	if tr, ok := u.UriParams.Get("transport"); ok && tr != "udp" && tr != "tcp" {
		return u, fmt.Errorf("%w %q: transport=%s (want udp or tcp)", ErrBadTarget, target, tr)
	}
	return u, nil
}

// HostPort returns where a request to u is sent: its host and port (5060 when it has none).
func HostPort(u sip.Uri) string {
	port := u.Port
	if port == 0 {
		port = 5060
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(port))
}

// LocalHostFor returns the local address the system would use to reach target's host (a
// SIP URI or a host name): 127.0.0.1 for a loopback target.
func LocalHostFor(ctx context.Context, host string) (string, error) {
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return "", fmt.Errorf("cannot resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return "", fmt.Errorf("cannot resolve %s: no address", host)
	}
	if ips[0].IP.IsLoopback() {
		if ips[0].IP.To4() == nil {
			return "::1", nil
		}
		return "127.0.0.1", nil
	}
	// A UDP "connection" sends nothing; it only asks the routing table.
	c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: ips[0].IP, Port: 5060})
	if err != nil {
		return "", fmt.Errorf("no route to %s: %w", host, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).IP.String(), nil
}
