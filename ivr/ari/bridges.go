package ari

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Bridge is Asterisk's description of a bridge.
type Bridge struct {
	ID            string   `json:"id"`
	Technology    string   `json:"technology"`
	BridgeType    string   `json:"bridge_type"` // mixing, holding
	BridgeClass   string   `json:"bridge_class"`
	Creator       string   `json:"creator"`
	Name          string   `json:"name"`
	Channels      []string `json:"channels"`
	CreationTime  Time     `json:"creationtime"`
	VideoMode     string   `json:"video_mode,omitempty"`
	VideoSourceID string   `json:"video_source_id,omitempty"`
}

// Bridge types (flags) for BridgeOptions.Types.
const (
	BridgeMixing     = "mixing"
	BridgeHolding    = "holding"
	BridgeDTMFEvents = "dtmf_events"
	BridgeProxyMedia = "proxy_media"
)

// BridgeOptions is the input of Client.CreateBridge. Set ID (NewID) and own
// it in the call's Inbox before creating the bridge.
type BridgeOptions struct {
	ID    string
	Types []string // e.g. {BridgeMixing} or {BridgeMixing, BridgeDTMFEvents}
	Name  string
}

// CreateBridge creates a bridge (POST /bridges/{id}). An existing id gives
// ErrConflict. ARI bridges persist when empty: Destroy them.
func (c *Client) CreateBridge(ctx context.Context, o BridgeOptions) (*Bridge, error) {
	if o.ID == "" {
		o.ID = NewID()
	}
	q := url.Values{}
	if len(o.Types) > 0 {
		q.Set("type", strings.Join(o.Types, ","))
	}
	setIf(q, "name", o.Name)
	var b Bridge
	if err := c.do(ctx, request{method: http.MethodPost, path: "/bridges/" + escape(o.ID), query: q}, &b); err != nil {
		return nil, fmt.Errorf("create bridge %s: %w", o.ID, err)
	}
	return &b, nil
}

// ListBridges returns every bridge on the node.
func (c *Client) ListBridges(ctx context.Context) ([]Bridge, error) {
	var out []Bridge
	if err := c.do(ctx, request{method: http.MethodGet, path: "/bridges"}, &out); err != nil {
		return nil, fmt.Errorf("list bridges: %w", err)
	}
	return out, nil
}

// Bridge returns a handle on the bridge with the given id. It does no I/O.
func (c *Client) Bridge(id string) *BridgeHandle {
	return &BridgeHandle{c: c, id: id}
}

// BridgeHandle performs operations on one bridge.
type BridgeHandle struct {
	c  *Client
	id string
}

// ID returns the bridge id.
func (h *BridgeHandle) ID() string { return h.id }

func (h *BridgeHandle) path(sub string) string { return "/bridges/" + escape(h.id) + sub }

func (h *BridgeHandle) simple(ctx context.Context, method, sub string, q url.Values, what string) error {
	if err := h.c.do(ctx, request{method: method, path: h.path(sub), query: q}, nil); err != nil {
		return fmt.Errorf("%s bridge %s: %w", what, h.id, err)
	}
	return nil
}

// Get returns the bridge's current description.
func (h *BridgeHandle) Get(ctx context.Context) (*Bridge, error) {
	var b Bridge
	if err := h.c.do(ctx, request{method: http.MethodGet, path: h.path("")}, &b); err != nil {
		return nil, fmt.Errorf("get bridge %s: %w", h.id, err)
	}
	return &b, nil
}

// AddChannel adds channels to the bridge. A channel already in another bridge
// is moved. An unknown channel gives a 400 that matches ErrChannelGone.
func (h *BridgeHandle) AddChannel(ctx context.Context, channelIDs ...string) error {
	return h.AddChannelWith(ctx, AddChannelOptions{}, channelIDs...)
}

// AddChannelOptions tunes BridgeHandle.AddChannelWith.
type AddChannelOptions struct {
	Role                        string
	AbsorbDTMF                  bool
	Mute                        bool
	InhibitConnectedLineUpdates bool
}

// AddChannelWith adds channels to the bridge with options.
func (h *BridgeHandle) AddChannelWith(ctx context.Context, o AddChannelOptions, channelIDs ...string) error {
	if len(channelIDs) == 0 {
		return fmt.Errorf("ari: add channel: no channel")
	}
	q := url.Values{}
	q.Set("channel", strings.Join(channelIDs, ","))
	setIf(q, "role", o.Role)
	if o.AbsorbDTMF {
		q.Set("absorbDTMF", "true")
	}
	if o.Mute {
		q.Set("mute", "true")
	}
	if o.InhibitConnectedLineUpdates {
		q.Set("inhibitConnectedLineUpdates", "true")
	}
	return h.simple(ctx, http.MethodPost, "/addChannel", q, "add "+strings.Join(channelIDs, ",")+" to")
}

// RemoveChannel removes channels from the bridge; they stay in Stasis. A
// channel not in the bridge gives ErrInvalid (422).
func (h *BridgeHandle) RemoveChannel(ctx context.Context, channelIDs ...string) error {
	if len(channelIDs) == 0 {
		return fmt.Errorf("ari: remove channel: no channel")
	}
	q := url.Values{}
	q.Set("channel", strings.Join(channelIDs, ","))
	return h.simple(ctx, http.MethodPost, "/removeChannel", q, "remove "+strings.Join(channelIDs, ",")+" from")
}

// Play plays media to every member of the bridge; the playback events go to
// the apps subscribed to the bridge.
func (h *BridgeHandle) Play(ctx context.Context, o PlayOptions) (*Playback, error) {
	p, err := h.c.play(ctx, h.path(""), o, true)
	if err != nil {
		return nil, fmt.Errorf("play on bridge %s: %w", h.id, err)
	}
	return p, nil
}

// Record records the bridge's mixed audio into o.Name.
func (h *BridgeHandle) Record(ctx context.Context, o RecordOptions) (*LiveRecording, error) {
	r, err := h.c.record(ctx, h.path(""), o, true)
	if err != nil {
		return nil, fmt.Errorf("record bridge %s: %w", h.id, err)
	}
	return r, nil
}

// StartMOH plays music on hold of class (empty: default) to the bridge.
func (h *BridgeHandle) StartMOH(ctx context.Context, class string) error {
	q := url.Values{}
	setIf(q, "mohClass", class)
	return h.simple(ctx, http.MethodPost, "/moh", q, "start moh on")
}

// StopMOH stops music on hold in the bridge; ErrConflict when none plays.
func (h *BridgeHandle) StopMOH(ctx context.Context) error {
	return h.simple(ctx, http.MethodDelete, "/moh", nil, "stop moh on")
}

// Destroy destroys the bridge; its channels stay in Stasis. BridgeDestroyed
// reaches the app only in some cases (see the package documentation).
func (h *BridgeHandle) Destroy(ctx context.Context) error {
	return h.simple(ctx, http.MethodDelete, "", nil, "destroy")
}
