package ari

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Channel is Asterisk's description of a channel.
type Channel struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	State        string            `json:"state"` // Down, Ring, Ringing, Up, ...
	ProtocolID   string            `json:"protocol_id"`
	Caller       CallerID          `json:"caller"`
	Connected    CallerID          `json:"connected"`
	AccountCode  string            `json:"accountcode"`
	Dialplan     DialplanCEP       `json:"dialplan"`
	CreationTime Time              `json:"creationtime"`
	Language     string            `json:"language"`
	ChannelVars  map[string]string `json:"channelvars,omitempty"`
	CallerRDNIS  string            `json:"caller_rdnis,omitempty"`
	TenantID     string            `json:"tenantid,omitempty"`
}

// CallerID is a caller or connected-line identity.
type CallerID struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// DialplanCEP is a channel's position in the dialplan.
type DialplanCEP struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

// OriginateRequest is the input of Client.Originate. Set ChannelID (and
// OtherChannelID for Local channels) and own them in the call's Inbox before
// originating: events for the new channel can arrive before the response.
type OriginateRequest struct {
	Endpoint       string // e.g. "PJSIP/1001" or "Local/s@agents"; required
	App            string // Stasis app; or Extension/Context/Priority/Label
	AppArgs        []string
	Extension      string
	Context        string
	Priority       int
	Label          string
	CallerID       string // e.g. `Hotline <4000>`
	Timeout        time.Duration
	ChannelID      string
	OtherChannelID string
	Originator     string
	Formats        []string
	Variables      map[string]string // sent in the JSON body
}

func (r OriginateRequest) query(withID bool) url.Values {
	q := url.Values{}
	q.Set("endpoint", r.Endpoint)
	setIf(q, "extension", r.Extension)
	setIf(q, "context", r.Context)
	setInt(q, "priority", r.Priority)
	setIf(q, "label", r.Label)
	setIf(q, "app", r.App)
	if len(r.AppArgs) > 0 {
		q.Set("appArgs", strings.Join(r.AppArgs, ","))
	}
	setIf(q, "callerId", r.CallerID)
	setInt(q, "timeout", seconds(r.Timeout))
	if withID {
		setIf(q, "channelId", r.ChannelID)
	}
	setIf(q, "otherChannelId", r.OtherChannelID)
	setIf(q, "originator", r.Originator)
	if len(r.Formats) > 0 {
		q.Set("formats", strings.Join(r.Formats, ","))
	}
	return q
}

// variablesBody is the JSON body carrying channel variables.
type variablesBody struct {
	Variables map[string]string `json:"variables"`
}

func varsBody(v map[string]string) any {
	if len(v) == 0 {
		return nil
	}
	return variablesBody{Variables: v}
}

// Originate creates a channel to r.Endpoint and sends it to r.App (or the
// dialplan). An endpoint that cannot be allocated gives a 500 *Error with
// message "Allocation failed"; a duplicate ChannelID gives ErrConflict.
func (c *Client) Originate(ctx context.Context, r OriginateRequest) (*Channel, error) {
	if r.Endpoint == "" {
		return nil, fmt.Errorf("ari: originate: endpoint is required")
	}
	var ch Channel
	err := c.do(ctx, request{method: http.MethodPost, path: "/channels", query: r.query(true), body: varsBody(r.Variables)}, &ch)
	if err != nil {
		return nil, fmt.Errorf("originate %s: %w", r.Endpoint, err)
	}
	return &ch, nil
}

// CreateRequest is the input of Client.CreateChannel (create without dialing;
// Dial it afterwards).
type CreateRequest struct {
	Endpoint       string // required
	App            string
	AppArgs        []string
	ChannelID      string
	OtherChannelID string
	Originator     string
	Formats        []string
	Variables      map[string]string
}

// CreateChannel creates a channel in the Down state, placed in App, without
// dialing it. Only the created channel is subscribed, not its Local peer.
// Asterisk 20 answers an endpoint that cannot be allocated with a misleading
// 409 "Channel with given unique ID already exists".
func (c *Client) CreateChannel(ctx context.Context, r CreateRequest) (*Channel, error) {
	if r.Endpoint == "" {
		return nil, fmt.Errorf("ari: create channel: endpoint is required")
	}
	q := url.Values{}
	q.Set("endpoint", r.Endpoint)
	setIf(q, "app", r.App)
	if len(r.AppArgs) > 0 {
		q.Set("appArgs", strings.Join(r.AppArgs, ","))
	}
	setIf(q, "channelId", r.ChannelID)
	setIf(q, "otherChannelId", r.OtherChannelID)
	setIf(q, "originator", r.Originator)
	if len(r.Formats) > 0 {
		q.Set("formats", strings.Join(r.Formats, ","))
	}
	var ch Channel
	if err := c.do(ctx, request{method: http.MethodPost, path: "/channels/create", query: q, body: varsBody(r.Variables)}, &ch); err != nil {
		return nil, fmt.Errorf("create channel %s: %w", r.Endpoint, err)
	}
	return &ch, nil
}

// ListChannels returns every channel on the node.
func (c *Client) ListChannels(ctx context.Context) ([]Channel, error) {
	var out []Channel
	if err := c.do(ctx, request{method: http.MethodGet, path: "/channels"}, &out); err != nil {
		return nil, fmt.Errorf("list channels: %w", err)
	}
	return out, nil
}

// Channel returns a handle on the channel with the given id. It does no I/O.
func (c *Client) Channel(id string) *ChannelHandle {
	return &ChannelHandle{c: c, id: id}
}

// ChannelHandle performs operations on one channel. Errors for a channel that
// hung up or left Stasis meanwhile match ErrChannelGone.
type ChannelHandle struct {
	c  *Client
	id string
}

// ID returns the channel id.
func (h *ChannelHandle) ID() string { return h.id }

func (h *ChannelHandle) path(sub string) string { return "/channels/" + escape(h.id) + sub }

// simple performs a request without response body on the channel.
func (h *ChannelHandle) simple(ctx context.Context, method, sub string, q url.Values, what string) error {
	if err := h.c.do(ctx, request{method: method, path: h.path(sub), query: q}, nil); err != nil {
		return fmt.Errorf("%s channel %s: %w", what, h.id, err)
	}
	return nil
}

// Get returns the channel's current description.
func (h *ChannelHandle) Get(ctx context.Context) (*Channel, error) {
	var ch Channel
	if err := h.c.do(ctx, request{method: http.MethodGet, path: h.path("")}, &ch); err != nil {
		return nil, fmt.Errorf("get channel %s: %w", h.id, err)
	}
	return &ch, nil
}

// Originate creates this channel with the handle's id (POST /channels/{id}).
// r.ChannelID is ignored.
func (h *ChannelHandle) Originate(ctx context.Context, r OriginateRequest) (*Channel, error) {
	var ch Channel
	err := h.c.do(ctx, request{method: http.MethodPost, path: h.path(""), query: r.query(false), body: varsBody(r.Variables)}, &ch)
	if err != nil {
		return nil, fmt.Errorf("originate %s as %s: %w", r.Endpoint, h.id, err)
	}
	return &ch, nil
}

// Answer answers the channel.
func (h *ChannelHandle) Answer(ctx context.Context) error {
	return h.simple(ctx, http.MethodPost, "/answer", nil, "answer")
}

// Ring indicates ringing to the channel.
func (h *ChannelHandle) Ring(ctx context.Context) error {
	return h.simple(ctx, http.MethodPost, "/ring", nil, "ring")
}

// StopRing stops indicating ringing.
func (h *ChannelHandle) StopRing(ctx context.Context) error {
	return h.simple(ctx, http.MethodDelete, "/ring", nil, "stop ring")
}

// Progress indicates call progress (early media) to the channel.
func (h *ChannelHandle) Progress(ctx context.Context) error {
	return h.simple(ctx, http.MethodPost, "/progress", nil, "progress")
}

// HangupReason is a reason for Hangup, mapped by Asterisk to a Q.850 cause.
type HangupReason string

// Hangup reasons accepted by Asterisk 20.
const (
	HangupNormal            HangupReason = "normal"
	HangupBusy              HangupReason = "busy"
	HangupCongestion        HangupReason = "congestion"
	HangupNoAnswer          HangupReason = "no_answer"
	HangupTimeout           HangupReason = "timeout"
	HangupRejected          HangupReason = "rejected"
	HangupUnallocated       HangupReason = "unallocated"
	HangupNormalUnspecified HangupReason = "normal_unspecified"
	HangupNumberIncomplete  HangupReason = "number_incomplete"
	HangupCodecMismatch     HangupReason = "codec_mismatch"
	HangupInterworking      HangupReason = "interworking"
	HangupFailure           HangupReason = "failure"
	HangupAnsweredElsewhere HangupReason = "answered_elsewhere"
)

// Hangup hangs the channel up with reason (empty: Asterisk's default, normal).
func (h *ChannelHandle) Hangup(ctx context.Context, reason HangupReason) error {
	q := url.Values{}
	setIf(q, "reason", string(reason))
	return h.simple(ctx, http.MethodDelete, "", q, "hang up")
}

// HangupCode hangs the channel up with a numeric Q.850 cause.
func (h *ChannelHandle) HangupCode(ctx context.Context, cause int) error {
	q := url.Values{}
	q.Set("reason_code", fmt.Sprint(cause))
	return h.simple(ctx, http.MethodDelete, "", q, "hang up")
}

// Dial dials a channel made by CreateChannel. caller is the id of the channel
// that originated the dial (may be empty); timeout 0 means Asterisk's default.
// Dialing a channel not in the Down state gives ErrConflict.
func (h *ChannelHandle) Dial(ctx context.Context, caller string, timeout time.Duration) error {
	q := url.Values{}
	setIf(q, "caller", caller)
	setInt(q, "timeout", seconds(timeout))
	return h.simple(ctx, http.MethodPost, "/dial", q, "dial")
}

// Hold puts the channel on hold. Asterisk reports no event for it.
func (h *ChannelHandle) Hold(ctx context.Context) error {
	return h.simple(ctx, http.MethodPost, "/hold", nil, "hold")
}

// Unhold takes the channel off hold. Asterisk reports no event for it.
func (h *ChannelHandle) Unhold(ctx context.Context) error {
	return h.simple(ctx, http.MethodDelete, "/hold", nil, "unhold")
}

// StartMOH plays music on hold of class (empty: default) to the channel.
func (h *ChannelHandle) StartMOH(ctx context.Context, class string) error {
	q := url.Values{}
	setIf(q, "mohClass", class)
	return h.simple(ctx, http.MethodPost, "/moh", q, "start moh on")
}

// StopMOH stops music on hold on the channel.
func (h *ChannelHandle) StopMOH(ctx context.Context) error {
	return h.simple(ctx, http.MethodDelete, "/moh", nil, "stop moh on")
}

// Direction is an audio direction for Mute, Unmute and Snoop.
type Direction string

// Audio directions.
const (
	DirectionNone Direction = "none"
	DirectionIn   Direction = "in"
	DirectionOut  Direction = "out"
	DirectionBoth Direction = "both"
)

// Mute mutes the channel in direction dir (empty: both).
func (h *ChannelHandle) Mute(ctx context.Context, dir Direction) error {
	q := url.Values{}
	setIf(q, "direction", string(dir))
	return h.simple(ctx, http.MethodPost, "/mute", q, "mute")
}

// Unmute unmutes the channel in direction dir (empty: both).
func (h *ChannelHandle) Unmute(ctx context.Context, dir Direction) error {
	q := url.Values{}
	setIf(q, "direction", string(dir))
	return h.simple(ctx, http.MethodDelete, "/mute", q, "unmute")
}

// StartSilence plays silence to the channel.
func (h *ChannelHandle) StartSilence(ctx context.Context) error {
	return h.simple(ctx, http.MethodPost, "/silence", nil, "start silence on")
}

// StopSilence stops playing silence to the channel.
func (h *ChannelHandle) StopSilence(ctx context.Context) error {
	return h.simple(ctx, http.MethodDelete, "/silence", nil, "stop silence on")
}

// ContinueOptions says where Continue resumes the dialplan; all empty means
// the next priority after Stasis().
type ContinueOptions struct {
	Context   string
	Extension string
	Priority  int
	Label     string
}

// Continue makes the channel leave Stasis and continue in the dialplan. It
// waits for a running playback to finish. A missing label gives ErrNotFound.
func (h *ChannelHandle) Continue(ctx context.Context, o ContinueOptions) error {
	q := url.Values{}
	setIf(q, "context", o.Context)
	setIf(q, "extension", o.Extension)
	setInt(q, "priority", o.Priority)
	setIf(q, "label", o.Label)
	return h.simple(ctx, http.MethodPost, "/continue", q, "continue")
}

// Move moves the channel to another Stasis application. An app nobody
// listens to still answers 204; Asterisk then sends ApplicationMoveFailed.
func (h *ChannelHandle) Move(ctx context.Context, app string, args ...string) error {
	q := url.Values{}
	q.Set("app", app)
	if len(args) > 0 {
		q.Set("appArgs", strings.Join(args, ","))
	}
	return h.simple(ctx, http.MethodPost, "/move", q, "move")
}

// Variable returns the value of a channel variable or dialplan function (e.g.
// "CALLERID(num)"). An unset (or empty) variable gives ErrNotFound.
func (h *ChannelHandle) Variable(ctx context.Context, name string) (string, error) {
	q := url.Values{}
	q.Set("variable", name)
	var v struct {
		Value string `json:"value"`
	}
	if err := h.c.do(ctx, request{method: http.MethodGet, path: h.path("/variable"), query: q}, &v); err != nil {
		return "", fmt.Errorf("get variable %s of channel %s: %w", name, h.id, err)
	}
	return v.Value, nil
}

// SetVariable sets a channel variable. Setting an empty value unsets it.
func (h *ChannelHandle) SetVariable(ctx context.Context, name, value string) error {
	q := url.Values{}
	q.Set("variable", name)
	q.Set("value", value)
	return h.simple(ctx, http.MethodPost, "/variable", q, "set variable "+name+" on")
}

// Play plays o.Media to the channel (see PlayOptions for ids and media
// lists). Playbacks on one channel are queued in order. A missing sound file
// still answers 201, then PlaybackStarted and PlaybackFinished("failed"); some
// bad URIs never finish, so callers need a watchdog.
func (h *ChannelHandle) Play(ctx context.Context, o PlayOptions) (*Playback, error) {
	p, err := h.c.play(ctx, h.path(""), o, false)
	if err != nil {
		return nil, fmt.Errorf("play on channel %s: %w", h.id, err)
	}
	return p, nil
}

// Record records the channel's audio into o.Name.
func (h *ChannelHandle) Record(ctx context.Context, o RecordOptions) (*LiveRecording, error) {
	r, err := h.c.record(ctx, h.path(""), o, false)
	if err != nil {
		return nil, fmt.Errorf("record channel %s: %w", h.id, err)
	}
	return r, nil
}

// DTMFOptions tunes SendDTMF; zero values leave Asterisk's defaults (100 ms
// tone, 100 ms between digits; durations under 100 ms are raised to 100 ms).
type DTMFOptions struct {
	Before   time.Duration
	Between  time.Duration
	Duration time.Duration
	After    time.Duration
}

// SendDTMF sends digits (0-9, A-D, *, #; ',' is a pause) to the channel. It
// returns at once; the far end receives each digit after it has been played.
func (h *ChannelHandle) SendDTMF(ctx context.Context, digits string, o DTMFOptions) error {
	q := url.Values{}
	q.Set("dtmf", digits)
	setInt(q, "before", ms(o.Before))
	setInt(q, "between", ms(o.Between))
	setInt(q, "duration", ms(o.Duration))
	setInt(q, "after", ms(o.After))
	return h.simple(ctx, http.MethodPost, "/dtmf", q, "send dtmf to")
}

// SnoopOptions is the input of ChannelHandle.Snoop. Set ID (NewID) and own it
// before snooping: the snoop channel's StasisStart may precede the response.
type SnoopOptions struct {
	ID      string
	Spy     Direction // audio taken from the channel (default none)
	Whisper Direction // audio injected into the channel (default none)
	App     string    // required
	AppArgs []string
}

// Snoop creates a snoop channel on this channel, placed in o.App. Snoop
// channels behave like dialplan channels: StasisEnd ends them, no
// ChannelDestroyed follows.
func (h *ChannelHandle) Snoop(ctx context.Context, o SnoopOptions) (*Channel, error) {
	if o.App == "" {
		return nil, fmt.Errorf("ari: snoop: app is required")
	}
	if o.ID == "" {
		o.ID = NewID()
	}
	q := url.Values{}
	setIf(q, "spy", string(o.Spy))
	setIf(q, "whisper", string(o.Whisper))
	q.Set("app", o.App)
	if len(o.AppArgs) > 0 {
		q.Set("appArgs", strings.Join(o.AppArgs, ","))
	}
	q.Set("snoopId", o.ID)
	var ch Channel
	if err := h.c.do(ctx, request{method: http.MethodPost, path: h.path("/snoop"), query: q}, &ch); err != nil {
		return nil, fmt.Errorf("snoop on channel %s: %w", h.id, err)
	}
	return &ch, nil
}
