package ari

import (
	"context"
	"fmt"
	"net/http"
)

// Endpoint is Asterisk's description of an endpoint (e.g. an agent phone).
// State is "unknown" for an unregistered SIP peer, "online" or "offline".
type Endpoint struct {
	Technology string   `json:"technology"`
	Resource   string   `json:"resource"`
	State      string   `json:"state"`
	ChannelIDs []string `json:"channel_ids"`
}

// ListEndpoints returns every endpoint on the node.
func (c *Client) ListEndpoints(ctx context.Context) ([]Endpoint, error) {
	var out []Endpoint
	if err := c.do(ctx, request{method: http.MethodGet, path: "/endpoints"}, &out); err != nil {
		return nil, fmt.Errorf("list endpoints: %w", err)
	}
	return out, nil
}

// ListEndpointsByTech returns the endpoints of one technology (e.g. "PJSIP").
func (c *Client) ListEndpointsByTech(ctx context.Context, tech string) ([]Endpoint, error) {
	var out []Endpoint
	if err := c.do(ctx, request{method: http.MethodGet, path: "/endpoints/" + escape(tech)}, &out); err != nil {
		return nil, fmt.Errorf("list %s endpoints: %w", tech, err)
	}
	return out, nil
}

// Endpoint returns a handle on the endpoint tech/resource. It does no I/O.
func (c *Client) Endpoint(tech, resource string) *EndpointHandle {
	return &EndpointHandle{c: c, tech: tech, resource: resource}
}

// EndpointHandle reads one endpoint.
type EndpointHandle struct {
	c              *Client
	tech, resource string
}

// ID returns the endpoint as "tech/resource", the form used in dial strings.
func (h *EndpointHandle) ID() string { return h.tech + "/" + h.resource }

// Get returns the endpoint's description; an unknown endpoint gives ErrNotFound.
func (h *EndpointHandle) Get(ctx context.Context) (*Endpoint, error) {
	var e Endpoint
	p := "/endpoints/" + escape(h.tech) + "/" + escape(h.resource)
	if err := h.c.do(ctx, request{method: http.MethodGet, path: p}, &e); err != nil {
		return nil, fmt.Errorf("get endpoint %s: %w", h.ID(), err)
	}
	return &e, nil
}
