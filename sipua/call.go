package sipua

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// CallOptions are the settings of one call.
type CallOptions struct {
	// AnswerTimeout bounds the wait for the far end to answer; default 30 s.
	AnswerTimeout time.Duration
	// Record, when set, receives what the far end says.
	Record PCMWriter
	// Source, when set, supplies the voice after Config.Audio (see StreamOptions.Source).
	Source func(frame []int16) bool
}

// hangupTimeout bounds the wait for the far end's answer to the phone's BYE.
const hangupTimeout = 5 * time.Second

// Call dials target, runs script once the call is answered, hangs up and reports what
// happened. The error is only for a target that cannot be called at all; a call that fails
// on the way (busy, no answer, nothing heard) returns a Report whose OK is false.
func (p *Phone) Call(ctx context.Context, target string, script Script, opts CallOptions) (*Report, error) {
	uri, err := ParseTarget(target)
	if err != nil {
		return nil, err
	}
	transport := p.cfg.Transport
	if tr, ok := uri.UriParams.Get("transport"); ok && tr != transport {
		return nil, fmt.Errorf("%w %q: transport=%s, but the phone uses %s", ErrBadTarget, target, tr, transport)
	}
	if opts.AnswerTimeout <= 0 {
		opts.AnswerTimeout = 30 * time.Second
	}
	rep := &Report{Target: target, From: p.cfg.From, Transport: transport, Script: script.String(), Started: time.Now(),
		Responses: []Response{}, Steps: []StepResult{}}
	c := &call{p: p, rep: rep, script: script, opts: opts, uri: uri}
	c.run(ctx)
	rep.Duration = Millis(time.Since(rep.Started))
	if rep.Outcome == "" {
		rep.Outcome, rep.OK = OutcomeOK, true
	}
	return rep, nil
}

// call is one call in progress.
type call struct {
	p      *Phone
	rep    *Report
	script Script
	opts   CallOptions
	uri    sip.Uri

	dialog *diago.DialogClientSession
	stream *Stream
	local  atomic.Bool // the phone hung up
}

func (c *call) since() Millis { return Millis(time.Since(c.rep.Started)) }

func (c *call) run(ctx context.Context) {
	d, err := c.p.dg.NewDialog(c.uri, diago.NewDialogOptions{Transport: c.p.cfg.Transport})
	if err != nil {
		c.rep.fail(OutcomeError, "new dialog: %v", err)
		c.rep.Ended = "not placed"
		return
	}
	defer d.Close()
	c.dialog = d
	med, ok := c.invite(ctx, d)
	if !ok {
		return
	}
	defer med.Close()
	if err := d.Ack(ctx); err != nil {
		c.rep.fail(OutcomeError, "ACK: %v", err)
		c.hangup()
		return
	}
	c.stream, err = NewStream(med, StreamOptions{Audio: c.p.cfg.Audio, Record: c.opts.Record, Source: c.opts.Source})
	if err != nil {
		c.rep.fail(OutcomeCodec, "%v", err)
		c.hangup()
		return
	}
	st := c.stream.Stats()
	c.rep.Media = &st
	sctx, stop := context.WithCancel(ctx)
	c.stream.Start(sctx)
	c.runScript(ctx)
	if d.Context().Err() == nil {
		c.hangup()
	}
	stop()
	med.Close()
	c.stream.Wait()
	st = c.stream.Stats()
	c.rep.Media = &st
	switch {
	case c.local.Load():
		c.rep.Ended = "hung up by the phone (BYE)"
	default:
		c.rep.Ended = "hung up by the far end (BYE)"
	}
}

// invite sends the INVITE and waits for the answer; it reports and returns false when the
// call was not answered.
func (c *call) invite(ctx context.Context, d *diago.DialogClientSession) (*diago.DialogMedia, bool) {
	var provisional, timedOut atomic.Bool
	// sipgo cancels an INVITE when the context ends, but waits for a provisional response
	// before sending CANCEL; with none ever received, it is told not to wait.
	actx, acancel := context.WithCancelCause(context.Background())
	defer acancel(nil)
	answered := make(chan struct{})
	go func() {
		t := time.NewTimer(c.opts.AnswerTimeout)
		defer t.Stop()
		select {
		case <-answered:
			return
		case <-t.C:
			timedOut.Store(true)
		case <-ctx.Done():
		}
		if provisional.Load() {
			acancel(context.DeadlineExceeded)
		} else {
			acancel(sipgo.WaitAnswerForceCancelErr)
		}
	}()
	headers := []sip.Header{&sip.FromHeader{
		Address: sip.Uri{Scheme: "sip", User: c.p.cfg.From, Host: c.uri.Host},
		Params:  sip.NewParams(),
	}}
	if c.p.proxy != nil {
		headers = append(headers, &sip.RouteHeader{Address: *c.p.proxy})
	}
	med, err := d.Invite(actx, diago.InviteClientOptions{
		Headers:  headers,
		Username: c.p.cfg.Username,
		Password: c.p.cfg.Password,
		OnResponse: func(res *sip.Response) error {
			if res.IsProvisional() {
				provisional.Store(true)
			}
			c.rep.Responses = append(c.rep.Responses, Response{At: c.since(), Code: res.StatusCode, Reason: res.Reason})
			return nil
		},
	})
	close(answered)
	if id := d.InviteRequest.CallID(); id != nil {
		c.rep.CallID = id.Value()
	}
	if err == nil {
		c.rep.Answered = true
		c.rep.AnswerTime = c.since()
		if n := len(c.rep.Responses); n > 0 {
			c.rep.AnswerTime = c.rep.Responses[n-1].At
		}
		return med, true
	}
	c.inviteFailed(ctx, err, timedOut.Load(), provisional.Load())
	return nil, false
}

// inviteFailed reports why the INVITE got no answer.
func (c *call) inviteFailed(ctx context.Context, err error, timedOut, provisional bool) {
	where := fmt.Sprintf("%s over %s", HostPort(c.uri), c.p.cfg.Transport)
	if c.p.proxy != nil {
		where = fmt.Sprintf("%s via proxy %s", where, HostPort(*c.p.proxy))
	}
	var dre *sipgo.ErrDialogResponse
	var drv sipgo.ErrDialogResponse
	var res *sip.Response
	if errors.As(err, &dre) {
		res = dre.Res
	} else if errors.As(err, &drv) {
		res = drv.Res
	}
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case res != nil:
		status := fmt.Sprintf("%d %s", res.StatusCode, res.Reason)
		c.rep.Ended = status
		switch res.StatusCode {
		case 401, 407:
			c.rep.fail(status, "the far end asks for authentication and %s: check --user and --password", authState(c.p.cfg.Password))
		case 415, 488, 606:
			c.rep.fail(OutcomeCodec, "the far end refuses the offered codecs (%s): %s", c.p.codecs, status)
		default:
			c.rep.fail(status, "the far end answered %s", status)
		}
	case timedOut && provisional:
		c.rep.Ended = fmt.Sprintf("cancelled after %s without an answer", c.opts.AnswerTimeout)
		c.rep.fail(OutcomeNoAnswer, "no answer within %s (last response %s)", c.opts.AnswerTimeout, c.lastResponse())
	case timedOut:
		c.rep.Ended = "no response"
		c.rep.fail(OutcomeNoResponse, "no response from %s within %s: is a SIP server listening there?", where, c.opts.AnswerTimeout)
	case ctx.Err() != nil:
		c.rep.Ended = "interrupted before the answer"
		c.rep.fail(OutcomeInterrupted, "interrupted before the answer")
	case errors.As(err, &dnsErr):
		c.rep.Ended = "not placed"
		c.rep.fail(OutcomeUnreachable, "cannot resolve %s: %v", c.uri.Host, dnsErr)
	case errors.As(err, &opErr):
		c.rep.Ended = "not placed"
		c.rep.fail(OutcomeUnreachable, "cannot reach %s: %v", where, opErr.Err)
	case strings.Contains(err.Error(), "codecs"):
		c.rep.Ended = "hung up by the phone after the answer (BYE)"
		c.rep.fail(OutcomeCodec, "the far end answered without a codec the phone offered (%s): %v", c.p.codecs, err)
	default:
		c.rep.Ended = "failed"
		c.rep.fail(OutcomeError, "%s: %v", where, err)
	}
}

func (c *call) lastResponse() string {
	if n := len(c.rep.Responses); n > 0 {
		r := c.rep.Responses[n-1]
		return fmt.Sprintf("%d %s", r.Code, r.Reason)
	}
	return "none"
}

func authState(password string) string {
	if password == "" {
		return "no password was given"
	}
	return "refused the credentials"
}

// hangup sends BYE, once.
func (c *call) hangup() {
	if c.local.Swap(true) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
	defer cancel()
	_ = c.dialog.Hangup(ctx) // a BYE that gets no answer still ends the call here
}
