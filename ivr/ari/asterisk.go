package ari

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// AsteriskInfo is the node's build, system, configuration and status.
type AsteriskInfo struct {
	Build struct {
		OS      string `json:"os"`
		Kernel  string `json:"kernel"`
		Options string `json:"options"`
		Machine string `json:"machine"`
		Date    string `json:"date"`
		User    string `json:"user"`
	} `json:"build"`
	System struct {
		Version  string `json:"version"`
		EntityID string `json:"entity_id"`
	} `json:"system"`
	Config struct {
		Name            string  `json:"name"`
		DefaultLanguage string  `json:"default_language"`
		MaxChannels     int     `json:"max_channels"`
		MaxOpenFiles    int     `json:"max_open_files"`
		MaxLoad         float64 `json:"max_load"`
		SetID           struct {
			User  string `json:"user"`
			Group string `json:"group"`
		} `json:"setid"`
	} `json:"config"`
	Status struct {
		StartupTime    Time `json:"startup_time"`
		LastReloadTime Time `json:"last_reload_time"`
	} `json:"status"`
}

// AsteriskPing is the answer to Ping.
type AsteriskPing struct {
	Ping       string `json:"ping"`
	Timestamp  Time   `json:"timestamp"`
	AsteriskID string `json:"asterisk_id"`
}

// Info returns the node's description. only restricts it to some sections
// ("build", "system", "config", "status").
func (c *Client) Info(ctx context.Context, only ...string) (*AsteriskInfo, error) {
	var q url.Values
	if len(only) > 0 {
		q = url.Values{"only": {strings.Join(only, ",")}}
	}
	var info AsteriskInfo
	if err := c.do(ctx, request{method: http.MethodGet, path: "/asterisk/info", query: q}, &info); err != nil {
		return nil, fmt.Errorf("asterisk info: %w", err)
	}
	return &info, nil
}

// Ping checks that the node answers ARI requests.
func (c *Client) Ping(ctx context.Context) (*AsteriskPing, error) {
	var p AsteriskPing
	if err := c.do(ctx, request{method: http.MethodGet, path: "/asterisk/ping"}, &p); err != nil {
		return nil, fmt.Errorf("asterisk ping: %w", err)
	}
	return &p, nil
}

// GlobalVariable returns a global dialplan variable ("" when unset).
func (c *Client) GlobalVariable(ctx context.Context, name string) (string, error) {
	var v struct {
		Value string `json:"value"`
	}
	q := url.Values{}
	q.Set("variable", name)
	if err := c.do(ctx, request{method: http.MethodGet, path: "/asterisk/variable", query: q}, &v); err != nil {
		return "", fmt.Errorf("get global variable %s: %w", name, err)
	}
	return v.Value, nil
}

// SetGlobalVariable sets a global dialplan variable.
func (c *Client) SetGlobalVariable(ctx context.Context, name, value string) error {
	q := url.Values{}
	q.Set("variable", name)
	q.Set("value", value)
	if err := c.do(ctx, request{method: http.MethodPost, path: "/asterisk/variable", query: q}, nil); err != nil {
		return fmt.Errorf("set global variable %s: %w", name, err)
	}
	return nil
}
