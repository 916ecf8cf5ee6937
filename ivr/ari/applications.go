package ari

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Application is Asterisk's description of a Stasis application: what it is
// subscribed to. ChannelIDs lists the channels in (or subscribed by) the app.
type Application struct {
	Name             string           `json:"name"`
	ChannelIDs       []string         `json:"channel_ids"`
	BridgeIDs        []string         `json:"bridge_ids"`
	EndpointIDs      []string         `json:"endpoint_ids"`
	DeviceNames      []string         `json:"device_names"`
	EventsAllowed    []map[string]any `json:"events_allowed"`
	EventsDisallowed []map[string]any `json:"events_disallowed"`
}

// ListApplications returns the applications registered on the node. An app
// appears once a websocket has connected for it, and disappears when its
// socket closes while it has no channels.
func (c *Client) ListApplications(ctx context.Context) ([]Application, error) {
	var out []Application
	if err := c.do(ctx, request{method: http.MethodGet, path: "/applications"}, &out); err != nil {
		return nil, fmt.Errorf("list applications: %w", err)
	}
	return out, nil
}

// Application returns a handle on the application name. It does no I/O.
func (c *Client) Application(name string) *ApplicationHandle {
	return &ApplicationHandle{c: c, name: name}
}

// ApplicationHandle operates on one Stasis application.
type ApplicationHandle struct {
	c    *Client
	name string
}

// Name returns the application name.
func (h *ApplicationHandle) Name() string { return h.name }

// Get returns the application's description; ErrNotFound if not registered.
func (h *ApplicationHandle) Get(ctx context.Context) (*Application, error) {
	var a Application
	if err := h.c.do(ctx, request{method: http.MethodGet, path: "/applications/" + escape(h.name)}, &a); err != nil {
		return nil, fmt.Errorf("get application %s: %w", h.name, err)
	}
	return &a, nil
}

// Subscribe subscribes the application to event sources such as
// "channel:ID", "bridge:ID", "endpoint:PJSIP/1001" or "deviceState:NAME".
// Subscriptions are reference counted by Asterisk.
func (h *ApplicationHandle) Subscribe(ctx context.Context, sources ...string) (*Application, error) {
	return h.subscription(ctx, http.MethodPost, "subscribe", sources)
}

// Unsubscribe drops one reference of each subscription in sources.
func (h *ApplicationHandle) Unsubscribe(ctx context.Context, sources ...string) (*Application, error) {
	return h.subscription(ctx, http.MethodDelete, "unsubscribe", sources)
}

func (h *ApplicationHandle) subscription(ctx context.Context, method, what string, sources []string) (*Application, error) {
	if len(sources) == 0 {
		return nil, fmt.Errorf("ari: %s: no event source", what)
	}
	// Asterisk keeps only the last of repeated parameters: one comma list.
	q := url.Values{"eventSource": {strings.Join(sources, ",")}}
	var a Application
	if err := h.c.do(ctx, request{method: method, path: "/applications/" + escape(h.name) + "/subscription", query: q}, &a); err != nil {
		return nil, fmt.Errorf("%s application %s: %w", what, h.name, err)
	}
	return &a, nil
}
