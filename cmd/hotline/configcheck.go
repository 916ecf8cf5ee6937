package main

import (
	"fmt"
	"math"
	"net"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres"
)

// checkValues reports, through bad, every value of settings that its field of t cannot hold:
// a duration without a unit, a number or a boolean that does not parse, a mapping or list
// where a single value belongs.
func checkValues(settings map[string]any, t reflect.Type, prefix string, bad func(key, format string, args ...any)) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := f.Tag.Get("mapstructure")
		val, ok := settings[name]
		if !ok || val == nil {
			continue
		}
		key := prefix + name
		switch ft := f.Type; {
		case ft == reflect.TypeFor[time.Duration]():
			if _, isDuration := val.(time.Duration); isDuration {
				continue
			}
			if s, isString := val.(string); !isString || !validDuration(s) {
				bad(key, "must be a duration with a unit such as 5s, 800ms or 1m30s, got %s", describe(val))
			}
		case ft.Kind() == reflect.Struct:
			m, isMap := val.(map[string]any)
			if !isMap {
				bad(key, "must be a mapping of keys, got %s", describe(val))
				continue
			}
			checkValues(m, ft, key+".", bad)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			items, isList := toMaps(val)
			if !isList {
				bad(key, "must be a list, got %s", describe(val))
				continue
			}
			for j, item := range items {
				checkValues(item, ft.Elem(), fmt.Sprintf("%s[%d].", key, j), bad)
			}
		case ft.Kind() == reflect.Int || ft.Kind() == reflect.Int64:
			if !validInt(val) {
				bad(key, "must be a whole number, got %s", describe(val))
			}
		case ft.Kind() == reflect.Bool:
			if !validBool(val) {
				bad(key, "must be true or false, got %s", describe(val))
			}
		case ft.Kind() == reflect.String:
			switch val.(type) {
			case map[string]any, []any, []map[string]any:
				bad(key, "must be a single value, got %s", describe(val))
			}
		}
	}
}

func validDuration(s string) bool {
	_, err := time.ParseDuration(s)
	return err == nil
}

func validInt(val any) bool {
	switch x := val.(type) {
	case int, int64, int32, uint, uint64, uint32:
		return true
	case float64:
		return x == math.Trunc(x)
	case string:
		_, err := strconv.ParseInt(x, 10, 64)
		return err == nil
	}
	return false
}

func validBool(val any) bool {
	switch x := val.(type) {
	case bool:
		return true
	case string:
		_, err := strconv.ParseBool(x)
		return err == nil
	}
	return false
}

// describe shows a value given for a key: a string quoted, a mapping or list by its shape
// only, since it may hold a secret.
func describe(val any) string {
	switch x := val.(type) {
	case string:
		return strconv.Quote(x)
	case map[string]any:
		return "a mapping"
	case []any, []map[string]any:
		return "a list"
	default:
		return fmt.Sprint(x)
	}
}

// validate checks every value that could otherwise fail later, naming the key and, unless it
// is a secret, the value: "key: problem, got value".
func (c *Config) validate() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if u := c.Database.URL; u != "" {
		if p, err := url.Parse(u); err != nil || (p.Scheme != "postgres" && p.Scheme != "postgresql") {
			bad("database.url", "must be a postgres:// URL, got %q", redactURL(u))
		}
	}
	if c.Database.MaxOpenConns < 1 {
		bad("database.max_open_conns", "must be at least 1, got %d", c.Database.MaxOpenConns)
	}
	if c.Database.SnapshotConns < 0 || c.Database.SnapshotConns > 100 {
		bad("database.snapshot_conns", "must be between 0 and 100, got %d", c.Database.SnapshotConns)
	}
	positive := map[string]time.Duration{
		"database.connect_timeout": c.Database.ConnectTimeout,
		"http.shutdown_timeout":    c.HTTP.ShutdownTimeout,
		"ivr.lookup_timeout":       c.IVR.LookupTimeout,
	}
	for _, key := range sortedKeys(positive) {
		if positive[key] <= 0 {
			bad(key, "must be a positive duration, got %s", positive[key])
		}
	}
	for _, m := range []struct {
		key      string
		d, least time.Duration
	}{
		{"acd.instance_lease", c.ACD.InstanceLease, 5 * time.Second},
		{"acd.recording_retention", c.ACD.RecordingRetention, 24 * time.Hour},
		{"acd.callback_spacing", c.ACD.CallbackSpacing, time.Minute},
		{"desk.idle_timeout", c.Desk.IdleTimeout, time.Minute},
		{"desk.absolute_timeout", c.Desk.AbsoluteTimeout, c.Desk.IdleTimeout},
		{"privacy.call_step_retention", c.Privacy.CallStepRetention, 24 * time.Hour},
		{"softphone.expiry", c.Softphone.Expiry, 30 * time.Second},
	} {
		if m.d < m.least {
			bad(m.key, "must be at least %v, got %v", m.least, m.d)
		}
	}
	if c.ACD.Instance != "" {
		if err := postgres.ValidInstance(c.ACD.Instance); err != nil {
			bad("acd.instance", "must be 1 to 48 letters, digits, '.', '_' or '-', got %q", c.ACD.Instance)
		}
	}
	if !validNumber(c.IVR.HotlineNumber) {
		bad("ivr.hotline_number", "must be 3 to 20 digits, got %q", c.IVR.HotlineNumber)
	}
	for i, n := range c.IVR.TestNumbers {
		if !validNumber(n) {
			bad(fmt.Sprintf("ivr.test_numbers[%d]", i), "must be 3 to 20 digits, got %q", n)
		}
	}
	for i, o := range c.HTTP.AllowedOrigins {
		if p, err := url.Parse(o); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" || p.Path != "" {
			bad(fmt.Sprintf("http.allowed_origins[%d]", i), "must be an origin such as https://desk.example.org, got %q", o)
		}
	}
	if d := c.IVR.LookupTimeout; d > 0 && (d < flow.MinLookupTimeout || d > flow.MaxLookupTimeout) {
		bad("ivr.lookup_timeout", "must be %v to %v, got %v", flow.MinLookupTimeout, flow.MaxLookupTimeout, d)
	}
	for _, a := range []struct{ key, addr string }{
		{"http.listen", c.HTTP.Listen}, {"demo.sim_listen", c.Demo.SimListen}, {"demo.sim_control", c.Demo.SimControl},
	} {
		if problem := checkAddr(a.addr); problem != "" {
			bad(a.key, "%s, got %q", problem, a.addr)
		}
	}
	for _, k := range []struct{ key, value string }{{"pii.seal_key", c.PII.SealKey}, {"pii.lookup_key", c.PII.LookupKey}} {
		if _, err := pii.DecodeKey(k.value); k.value != "" && err != nil {
			bad(k.key, "%v", err)
		}
	}
	if (c.PII.SealKey == "") != (c.PII.LookupKey == "") {
		bad("pii", "set both seal_key and lookup_key, or neither, got only one")
	}
	if len(c.Asterisk.Nodes) == 0 {
		bad("asterisk.nodes", "at least one node is required, got none")
	}
	seen := map[string]bool{}
	for i, n := range c.Asterisk.Nodes {
		key := fmt.Sprintf("asterisk.nodes[%d]", i)
		if n.Name == "" || seen[n.Name] {
			bad(key+".name", "must be a unique, non-empty name, got %q", n.Name)
		}
		seen[n.Name] = true
		if p, err := url.Parse(n.URL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			bad(key+".url", "must be an http(s):// URL, got %q", redactURL(n.URL))
		} else if problem := checkHost(p.Hostname(), p.Port(), p.Port() != ""); problem != "" {
			bad(key+".url", "%s, got %q", problem, redactURL(n.URL))
		}
		if n.App == "" {
			bad(key+".app", "must not be empty, got \"\"")
		}
	}
	if c.Demo.Citizens < 1 {
		bad("demo.citizens", "must be at least 1, got %d", c.Demo.Citizens)
	}
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "must be text or json, got %q", c.Log.Format)
	}
	return errs
}

// checkAddr returns what is wrong with a host:port address to listen on, or "".
func checkAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "must be host:port"
	}
	return checkHost(host, port, true)
}

// checkHost returns what is wrong with the host and port of an address, or "": the port a
// number 1–65535, the host empty, an IP address or a host name, whose last label is not a
// number ("300.1.1.1" is no address).
func checkHost(host, port string, hasPort bool) string {
	if hasPort {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "port must be a number 1–65535"
		}
	}
	if _, err := netip.ParseAddr(host); host == "" || err == nil {
		return ""
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	bad := len(host) > 253 || strings.Trim(labels[len(labels)-1], "0123456789") == ""
	for _, l := range labels {
		bad = bad || !hostLabel.MatchString(l)
	}
	if bad {
		return "host must be an IP address or a host name"
	}
	return ""
}

var hostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// validNumber reports whether s is a telephone number of 3 to 20 digits.
func validNumber(s string) bool {
	if len(s) < 3 || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
