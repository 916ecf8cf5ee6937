package main

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/foshan-hotline/hotline/postgres/throwaway"
)

// Config is the hotline's whole configuration. Every field has a default, so `hotline demo`
// runs without a file; a YAML file, HOTLINE_* environment variables and flags override it,
// in that order.
type Config struct {
	Database  DatabaseConfig  `mapstructure:"database" yaml:"database"`
	Shutdown  ShutdownConfig  `mapstructure:"shutdown" yaml:"shutdown"`
	HTTP      HTTPConfig      `mapstructure:"http" yaml:"http"`
	PII       PIIConfig       `mapstructure:"pii" yaml:"pii"`
	Asterisk  AsteriskConfig  `mapstructure:"asterisk" yaml:"asterisk"`
	IVR       IVRConfig       `mapstructure:"ivr" yaml:"ivr"`
	ACD       ACDConfig       `mapstructure:"acd" yaml:"acd"`
	Desk      DeskConfig      `mapstructure:"desk" yaml:"desk"`
	Privacy   PrivacyConfig   `mapstructure:"privacy" yaml:"privacy"`
	Softphone SoftphoneConfig `mapstructure:"softphone" yaml:"softphone"`
	Demo      DemoConfig      `mapstructure:"demo" yaml:"demo"`
	Orders    OrdersConfig    `mapstructure:"workorders" yaml:"workorders"` // work orders (工单)
	Log       LogConfig       `mapstructure:"log" yaml:"log"`
	CallLog   CallLogConfig   `mapstructure:"calllog" yaml:"calllog"`
	Failover  FailoverConfig  `mapstructure:"failover" yaml:"failover"`
}

// FailoverConfig is how instances hold their Stasis applications and take over those of an
// instance that died: a lease per application renewed every RenewEvery, lasting LeaseTTL,
// taken over TakeoverGrace after it expired (with Adopt), the calls resumed where they were.
type FailoverConfig struct {
	Enabled       bool          `mapstructure:"enabled" yaml:"enabled"`
	Adopt         bool          `mapstructure:"adopt" yaml:"adopt"`
	LeaseTTL      time.Duration `mapstructure:"lease_ttl" yaml:"lease_ttl"`
	RenewEvery    time.Duration `mapstructure:"renew_every" yaml:"renew_every"`
	TakeoverGrace time.Duration `mapstructure:"takeover_grace" yaml:"takeover_grace"`
}

// check reports a failover setting out of range, naming its key.
func (c FailoverConfig) check() error {
	if c.RenewEvery < 100*time.Millisecond || c.RenewEvery >= c.LeaseTTL {
		return fmt.Errorf("failover.renew_every: must be at least 100ms and shorter than failover.lease_ttl (%v), got %v", c.LeaseTTL, c.RenewEvery)
	}
	if c.LeaseTTL > time.Minute {
		return fmt.Errorf("failover.lease_ttl: must be at most 1m, got %v", c.LeaseTTL)
	}
	if c.TakeoverGrace < 0 {
		return fmt.Errorf("failover.takeover_grace: must not be negative, got %v", c.TakeoverGrace)
	}
	return nil
}

// CallLogConfig bounds the call log's memory: records beyond MemoryRecords wait in a file in
// SpoolDir until the database takes them, so callers never wait for the database.
type CallLogConfig struct {
	SpoolDir      string `mapstructure:"spool_dir" yaml:"spool_dir"`
	MemoryRecords int    `mapstructure:"memory_records" yaml:"memory_records"`
}

// check reports a call log setting out of range, naming its key.
func (c CallLogConfig) check() error {
	if c.SpoolDir == "" {
		return errors.New("calllog.spool_dir: must name a directory for records beyond memory")
	}
	if c.MemoryRecords < 100 || c.MemoryRecords > 10_000_000 {
		return fmt.Errorf("calllog.memory_records: must be between 100 and 10000000, got %d", c.MemoryRecords)
	}
	return nil
}

// DatabaseConfig says where PostgreSQL is. An empty URL means a throwaway cluster (demo only).
type DatabaseConfig struct {
	URL            string        `mapstructure:"url" yaml:"url" secret:"url"`
	MaxOpenConns   int           `mapstructure:"max_open_conns" yaml:"max_open_conns"`
	ConnectTimeout time.Duration `mapstructure:"connect_timeout" yaml:"connect_timeout"`
	// SnapshotConns is the desk's own pool for reading agents' snapshots (0: the main pool).
	SnapshotConns int `mapstructure:"snapshot_conns" yaml:"snapshot_conns"`
}

// HTTPConfig is the agent desk and operations HTTP server.
type HTTPConfig struct {
	Listen          string        `mapstructure:"listen" yaml:"listen"`
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout" yaml:"shutdown_timeout"`
	// Pprof serves Go's runtime profiles under /debug/pprof/ for diagnosing load; off by default.
	Pprof bool `mapstructure:"pprof" yaml:"pprof"`
	// AllowedOrigins are origins besides the server's own from which browsers may use the
	// desk (https://desk.example.org), e.g. behind a proxy with another host name.
	AllowedOrigins []string `mapstructure:"allowed_origins" yaml:"allowed_origins"`
	// SecureCookies marks the session cookie Secure on plain HTTP, for TLS ended at a proxy.
	SecureCookies bool `mapstructure:"secure_cookies" yaml:"secure_cookies"`
}

// ACDConfig is the contact centre: this instance among several, and the recordings it keeps.
type ACDConfig struct {
	// Instance names this controller among several on one database; empty means the host
	// name and process id.
	Instance string `mapstructure:"instance" yaml:"instance"`
	// InstanceLease is how long an instance may miss heartbeats before the others release its
	// agents and stop counting its calls.
	InstanceLease time.Duration `mapstructure:"instance_lease" yaml:"instance_lease"`
	// RecordingRetention is how long recordings of conversations are kept.
	RecordingRetention time.Duration `mapstructure:"recording_retention" yaml:"recording_retention"`
	// CallbackSpacing is the wait before the next try of an unanswered callback (times the
	// tries so far).
	CallbackSpacing time.Duration `mapstructure:"callback_spacing" yaml:"callback_spacing"`
}

// DeskConfig tunes the agent desk's sessions.
type DeskConfig struct {
	IdleTimeout     time.Duration `mapstructure:"idle_timeout" yaml:"idle_timeout"`
	AbsoluteTimeout time.Duration `mapstructure:"absolute_timeout" yaml:"absolute_timeout"`
}

// PrivacyConfig is how long the hotline keeps what it records of calls (recordings of
// conversations: acd.recording_retention).
type PrivacyConfig struct {
	// CallStepRetention is how long the IVR path of an ended call (nodes, keys, what was
	// heard) is kept; the call's own row stays for the statistics.
	CallStepRetention time.Duration `mapstructure:"call_step_retention" yaml:"call_step_retention"`
}

// SoftphoneConfig is the desk's built-in softphone: where agents' lines register.
type SoftphoneConfig struct {
	// Registrar is the SIP URI of the Asterisk node (sip:10.0.0.5:5060, ;transport=tcp);
	// empty means no softphones.
	Registrar string `mapstructure:"registrar" yaml:"registrar"`
	// LocalHost is the address the lines bind and announce; empty: the one routing to the
	// registrar.
	LocalHost string `mapstructure:"local_host" yaml:"local_host"`
	// Expiry is the registrations' lifetime.
	Expiry time.Duration `mapstructure:"expiry" yaml:"expiry"`
}

// PIIConfig holds the keys protecting ID numbers at rest, base64 of 32 bytes each.
type PIIConfig struct {
	SealKey   string `mapstructure:"seal_key" yaml:"seal_key" secret:"true"`
	LookupKey string `mapstructure:"lookup_key" yaml:"lookup_key" secret:"true"`
}

// AsteriskConfig lists the Asterisk nodes the controller connects to.
type AsteriskConfig struct {
	Nodes []NodeConfig `mapstructure:"nodes" yaml:"nodes"`
}

// NodeConfig is one Asterisk node's ARI endpoint.
type NodeConfig struct {
	Name     string `mapstructure:"name" yaml:"name"`
	URL      string `mapstructure:"url" yaml:"url"`
	Username string `mapstructure:"username" yaml:"username"`
	Password string `mapstructure:"password" yaml:"password" secret:"true"`
	App      string `mapstructure:"app" yaml:"app"`
}

// IVRConfig tunes the call flows.
type IVRConfig struct {
	FlowsDir      string        `mapstructure:"flows_dir" yaml:"flows_dir"`
	SoundsDir     string        `mapstructure:"sounds_dir" yaml:"sounds_dir"`
	SoundURI      string        `mapstructure:"sound_uri" yaml:"sound_uri"`
	LookupTimeout time.Duration `mapstructure:"lookup_timeout" yaml:"lookup_timeout"`
	// HotlineNumber is the caller ID of the calls the hotline places (callbacks).
	HotlineNumber string `mapstructure:"hotline_number" yaml:"hotline_number"`
	// TestNumbers are caller numbers whose calls run the flows' drafts instead of the
	// published flows: supervisors try a draft by calling from one of them.
	TestNumbers []string `mapstructure:"test_numbers" yaml:"test_numbers"`
	// MaxCalls is how many calls the controller serves at once: a caller beyond it hears the
	// busy apology and is hung up (0: no limit). Above SoftCalls (0: 80 % of MaxCalls) queue
	// announcements are skipped and lookups wait at most a second.
	MaxCalls  int `mapstructure:"max_calls" yaml:"max_calls"`
	SoftCalls int `mapstructure:"soft_calls" yaml:"soft_calls"`
}

// ShutdownConfig is how `hotline serve` stops on SIGTERM: it refuses new calls (the busy
// apology), lets the calls in progress finish for up to DrainTimeout, then apologises to
// the callers still on the line and hangs them up.
type ShutdownConfig struct {
	DrainTimeout time.Duration `mapstructure:"drain_timeout" yaml:"drain_timeout"`
}

// DemoConfig sizes the demo's seeded data and says where it keeps its state.
type DemoConfig struct {
	Dir        string `mapstructure:"dir" yaml:"dir"`
	Citizens   int    `mapstructure:"citizens" yaml:"citizens"`
	Seed       int64  `mapstructure:"seed" yaml:"seed"`
	SimListen  string `mapstructure:"sim_listen" yaml:"sim_listen"`
	SimControl string `mapstructure:"sim_control" yaml:"sim_control"`
}

// LogConfig selects the log level and format.
type LogConfig struct {
	Level  string `mapstructure:"level" yaml:"level"`
	Format string `mapstructure:"format" yaml:"format"`
}

// defaults are the embedded configuration: enough to run the demo.
var defaults = map[string]any{
	"database.url":                "",
	"database.max_open_conns":     20,
	"database.snapshot_conns":     8,
	"database.connect_timeout":    "5s",
	"http.listen":                 "127.0.0.1:8080",
	"http.shutdown_timeout":       "10s",
	"http.pprof":                  false,
	"http.allowed_origins":        []string{},
	"http.secure_cookies":         false,
	"acd.instance":                "",
	"acd.instance_lease":          "30s",
	"acd.recording_retention":     "4320h",
	"acd.callback_spacing":        "10m",
	"desk.idle_timeout":           "15m",
	"desk.absolute_timeout":       "12h",
	"privacy.call_step_retention": "8760h",
	"softphone.registrar":         "",
	"softphone.local_host":        "",
	"softphone.expiry":            "120s",
	"pii.seal_key":                "",
	"pii.lookup_key":              "",
	"asterisk.nodes": []map[string]any{{
		"name": "ast1", "url": "http://127.0.0.1:8088", "username": "hotline", "password": "hotline-secret", "app": "hotline",
	}},
	"ivr.flows_dir":      "flows",
	"ivr.sounds_dir":     "sounds",
	"ivr.sound_uri":      "sound:hotline",
	"ivr.lookup_timeout": "2s",
	"ivr.hotline_number": "12345",
	"ivr.test_numbers":   []string{},
	"ivr.max_calls":      0,
	"ivr.soft_calls":     0,
	"demo.dir":           ".demo",
	"demo.citizens":      2000,
	"demo.seed":          1,
	"demo.sim_listen":    "127.0.0.1:8088",
	"demo.sim_control":   "127.0.0.1:8089",
	"log.level":          "info",
	"log.format":         "text",

	// SIGTERM: new calls refused, calls in progress given this long to finish.
	"shutdown.drain_timeout": "60s",

	// Records of calls the database has not taken yet: in memory up to memory_records, then
	// in a file in spool_dir replayed in order.
	"calllog.spool_dir":      "calllog-spool",
	"calllog.memory_records": 8192,
	// Leases of the Stasis applications and adoption of a dead instance's calls.
	"failover.enabled":        true,
	"failover.adopt":          true,
	"failover.lease_ttl":      "3s",
	"failover.renew_every":    "1s",
	"failover.takeover_grace": "2s",
}

// flagKeys maps global flags to configuration keys.
var flagKeys = map[string]string{
	"database-url": "database.url",
	"listen":       "http.listen",
	"log-level":    "log.level",
}

// addConfigFlags declares the global flags that override configuration keys.
func addConfigFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "YAML configuration file (defaults < file < HOTLINE_* environment < flags)")
	fs.String("database-url", "", "PostgreSQL URL (database.url); empty starts a throwaway cluster in demo")
	fs.String("listen", "", "HTTP listen address (http.listen)")
	fs.String("log-level", "", "debug, info, warn or error (log.level)")
}

// loadConfig builds the effective configuration from defaults, the file named by --config,
// the environment and the flags, and validates it.
func loadConfig(fs *pflag.FlagSet, environ []string) (*Config, error) {
	v := viper.New()
	for k, val := range defaults {
		v.SetDefault(k, val)
	}
	if path, _ := fs.GetString("config"); path != "" {
		if err := readConfigFile(v, path); err != nil {
			return nil, err
		}
	}
	applyEnv(v, environ)
	for name, key := range flagKeys {
		if f := fs.Lookup(name); f != nil && f.Changed {
			v.Set(key, f.Value.String())
		}
	}
	// Values of the wrong type are reported here, with the value given, and replaced by their
	// default so that the rest is still decoded and validated: every problem is named at once.
	var errs []error
	var unfixable bool
	checkValues(v.AllSettings(), reflect.TypeFor[Config](), "", func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
		if def, ok := defaults[key]; ok {
			v.Set(key, def)
		} else {
			unfixable = true
		}
	})
	if unfixable {
		return nil, invalid(errs)
	}
	var c Config
	dec := func(dc *mapstructure.DecoderConfig) {
		dc.ErrorUnused = true
		dc.DecodeHook = mapstructure.ComposeDecodeHookFunc(mapstructure.StringToTimeDurationHookFunc())
	}
	if err := v.Unmarshal(&c, dec); err != nil {
		return nil, fmt.Errorf("configuration: %w", err)
	}
	if err := invalid(append(errs, c.validate()...)); err != nil {
		return nil, err
	}
	return &c, nil
}

// invalid is the error of a configuration with the problems errs, or nil when there are none.
func invalid(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration: %w", errors.Join(errs...))
}

// readConfigFile merges a YAML file, rejecting keys the configuration does not have: a typo
// in a key must not silently leave the default in force.
func readConfigFile(v *viper.Viper, path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("configuration file: %w", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("configuration file %s: %w", path, err)
	}
	if err := checkKeys(doc, reflect.TypeOf(Config{}), ""); err != nil {
		return fmt.Errorf("configuration file %s: %w", path, err)
	}
	if err := v.MergeConfigMap(doc); err != nil {
		return fmt.Errorf("configuration file %s: %w", path, err)
	}
	return nil
}

// checkKeys reports the first key of doc that has no field in t.
func checkKeys(doc map[string]any, t reflect.Type, prefix string) error {
	fields := map[string]reflect.StructField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		fields[f.Tag.Get("mapstructure")] = f
	}
	keys := make([]string, 0, len(doc))
	for k := range doc {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f, ok := fields[k]
		if !ok {
			return fmt.Errorf("unknown key %q", prefix+k)
		}
		ft := f.Type
		switch sub := doc[k].(type) {
		case map[string]any:
			if ft.Kind() == reflect.Struct {
				if err := checkKeys(sub, ft, prefix+k+"."); err != nil {
					return err
				}
			}
		case []any:
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				for i, item := range sub {
					if m, ok := item.(map[string]any); ok {
						if err := checkKeys(m, ft.Elem(), fmt.Sprintf("%s%s[%d].", prefix, k, i)); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	return nil
}

// applyEnv sets every known key from its HOTLINE_* variable (database.url ←
// HOTLINE_DATABASE_URL). An unknown HOTLINE_ variable is left to unknownEnv. The first
// Asterisk node has shorthand variables HOTLINE_ASTERISK_URL, _USERNAME, _PASSWORD and _APP.
func applyEnv(v *viper.Viper, environ []string) {
	env := map[string]string{}
	for _, kv := range environ {
		if k, val, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "HOTLINE_") {
			env[k] = val
		}
	}
	for key := range defaults {
		if val, ok := env[envName(key)]; ok {
			v.Set(key, val)
		}
	}
	var node map[string]any
	for _, field := range nodeEnvFields {
		val, ok := env["HOTLINE_ASTERISK_"+strings.ToUpper(field)]
		if !ok {
			continue
		}
		if node == nil {
			node = firstNode(v)
		}
		node[field] = val
	}
	if node != nil {
		nodes := v.Get("asterisk.nodes")
		list, _ := toMaps(nodes)
		if len(list) == 0 {
			list = []map[string]any{node}
		} else {
			list[0] = node
		}
		v.Set("asterisk.nodes", list)
	}
}

// nodeEnvFields are the fields of the first Asterisk node that HOTLINE_ASTERISK_* set.
var nodeEnvFields = []string{"url", "username", "password", "app", "name"}

// otherEnv are the HOTLINE_ variables that other parts of the hotline read: the PostgreSQL
// binaries of the throwaway cluster, the databases of the tests and benchmarks.
var otherEnv = []string{throwaway.BinDirEnv, "HOTLINE_TEST_DATABASE_URL", "HOTLINE_BENCH_DATABASE_URL"}

// envName is the environment variable of a configuration key.
func envName(key string) string {
	return "HOTLINE_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// unknownVar is a HOTLINE_ variable nothing reads, and the one it most likely misspells, if any.
type unknownVar struct{ name, closest string }

// unknownEnv lists the HOTLINE_ variables of environ that no key or part of the hotline reads:
// a typo (HOTLINE_DATABSE_URL) must not leave the default in force without a word.
func unknownEnv(environ []string) []unknownVar {
	known := slices.Clone(otherEnv)
	for key := range defaults {
		known = append(known, envName(key))
	}
	for _, field := range nodeEnvFields {
		known = append(known, "HOTLINE_ASTERISK_"+strings.ToUpper(field))
	}
	sort.Strings(known)
	var out []unknownVar
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "HOTLINE_") || slices.Contains(known, name) {
			continue
		}
		closest, best := "", 4 // farther than 3 edits is no typo
		for _, k := range known {
			if d := editDistance(name, k); d < best {
				closest, best = k, d
			}
		}
		out = append(out, unknownVar{name, closest})
	}
	return out
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func firstNode(v *viper.Viper) map[string]any {
	list, _ := toMaps(v.Get("asterisk.nodes"))
	node := map[string]any{}
	if len(list) > 0 {
		for k, val := range list[0] {
			node[k] = val
		}
	}
	return node
}

func toMaps(x any) ([]map[string]any, bool) {
	switch l := x.(type) {
	case []map[string]any:
		return append([]map[string]any(nil), l...), true
	case []any:
		out := make([]map[string]any, 0, len(l))
		for _, item := range l {
			if m, ok := item.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out, true
	}
	return nil, false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
