package ari

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Playback is Asterisk's description of a playback. State is "queued",
// "playing", "paused" (seen though undocumented), "continuing", "done" or
// "failed".
type Playback struct {
	ID           string `json:"id"`
	MediaURI     string `json:"media_uri"`
	NextMediaURI string `json:"next_media_uri,omitempty"`
	TargetURI    string `json:"target_uri"`
	Language     string `json:"language"`
	State        string `json:"state"`
}

// PlayOptions is the input of ChannelHandle.Play and BridgeHandle.Play.
//
// Set ID yourself (NewID) and own it in the call's Inbox before playing:
// PlaybackStarted often arrives before the 201 response. When ID is empty a
// fresh id is chosen, which is too late to own for the first events.
//
// Several Media are sent as ONE comma-separated media parameter (or a JSON
// body array when an item contains a comma): Asterisk plays only the last of
// repeated media= parameters.
type PlayOptions struct {
	ID       string
	Media    []string // e.g. "sound:zh/welcome", "digits:42", "recording:msg1"
	Lang     string
	Offset   time.Duration // offsetms: start this far into the first media
	Skip     time.Duration // skipms for forward/reverse control
	Announce string        // announcer_format (bridges only)
}

// mediaBody is the JSON body form of a media list.
type mediaBody struct {
	Media []string `json:"media"`
}

// build returns the query and optional body of a play request.
func (o *PlayOptions) build(bridge bool) (url.Values, any, error) {
	if len(o.Media) == 0 {
		return nil, nil, fmt.Errorf("ari: play: no media")
	}
	if o.ID == "" {
		o.ID = NewID()
	}
	q := url.Values{}
	var body any
	if commaFree(o.Media) {
		q.Set("media", strings.Join(o.Media, ","))
	} else {
		body = mediaBody{Media: o.Media}
	}
	q.Set("playbackId", o.ID)
	setIf(q, "lang", o.Lang)
	setInt(q, "offsetms", ms(o.Offset))
	setInt(q, "skipms", ms(o.Skip))
	if bridge {
		setIf(q, "announcer_format", o.Announce)
	}
	return q, body, nil
}

func commaFree(media []string) bool {
	for _, m := range media {
		if strings.Contains(m, ",") {
			return false
		}
	}
	return true
}

// play posts a play request for a channel or bridge target path.
func (c *Client) play(ctx context.Context, target string, o PlayOptions, bridge bool) (*Playback, error) {
	q, body, err := o.build(bridge)
	if err != nil {
		return nil, err
	}
	var p Playback
	if err := c.do(ctx, request{method: http.MethodPost, path: target + "/play", query: q, body: body}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Playback returns a handle on the playback with the given id. It does no I/O.
func (c *Client) Playback(id string) *PlaybackHandle {
	return &PlaybackHandle{c: c, id: id}
}

// PlaybackHandle performs operations on one playback. A playback that has
// finished is gone: its operations give ErrNotFound.
type PlaybackHandle struct {
	c  *Client
	id string
}

// ID returns the playback id.
func (h *PlaybackHandle) ID() string { return h.id }

// Get returns the playback's current description.
func (h *PlaybackHandle) Get(ctx context.Context) (*Playback, error) {
	var p Playback
	if err := h.c.do(ctx, request{method: http.MethodGet, path: "/playbacks/" + escape(h.id)}, &p); err != nil {
		return nil, fmt.Errorf("get playback %s: %w", h.id, err)
	}
	return &p, nil
}

// PlaybackOperation is an operation for PlaybackHandle.Control.
type PlaybackOperation string

// Playback control operations. Only unpause produces an event (a new
// PlaybackStarted).
const (
	PlaybackPause   PlaybackOperation = "pause"
	PlaybackUnpause PlaybackOperation = "unpause"
	PlaybackRestart PlaybackOperation = "restart"
	PlaybackReverse PlaybackOperation = "reverse"
	PlaybackForward PlaybackOperation = "forward"
)

// Control pauses, unpauses, restarts, rewinds or fast-forwards the playback.
func (h *PlaybackHandle) Control(ctx context.Context, op PlaybackOperation) error {
	q := url.Values{}
	q.Set("operation", string(op))
	if err := h.c.do(ctx, request{method: http.MethodPost, path: "/playbacks/" + escape(h.id) + "/control", query: q}, nil); err != nil {
		return fmt.Errorf("%s playback %s: %w", op, h.id, err)
	}
	return nil
}

// Stop stops the playback; PlaybackFinished (state "done") follows, possibly
// before Stop returns. A queued playback finishes when the one before it ends.
func (h *PlaybackHandle) Stop(ctx context.Context) error {
	if err := h.c.do(ctx, request{method: http.MethodDelete, path: "/playbacks/" + escape(h.id)}, nil); err != nil {
		return fmt.Errorf("stop playback %s: %w", h.id, err)
	}
	return nil
}
