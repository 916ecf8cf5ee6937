package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// configFrom loads the configuration as the binary would from a file body (empty: no file),
// an environment and flag arguments.
func configFrom(t *testing.T, file string, environ []string, args ...string) (*Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	addConfigFlags(fs)
	if file != "" {
		path := filepath.Join(t.TempDir(), "hotline.yaml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return loadConfig(fs, environ)
}

func TestConfigPrecedence(t *testing.T) {
	const file = "http:\n  listen: 127.0.0.1:7001\n  shutdown_timeout: 3s\nlog:\n  level: warn\n"
	env := []string{"HOTLINE_HTTP_LISTEN=127.0.0.1:7002", "HOTLINE_LOG_LEVEL=error", "PATH=/bin"}
	tests := []struct {
		name         string
		file         string
		env          []string
		args         []string
		listen       string
		level        string
		shutdownWait time.Duration
	}{
		{"defaults", "", nil, nil, "127.0.0.1:8080", "info", 10 * time.Second},
		{"file over defaults", file, nil, nil, "127.0.0.1:7001", "warn", 3 * time.Second},
		{"env over file", file, env, nil, "127.0.0.1:7002", "error", 3 * time.Second},
		{"flag over env", file, env, []string{"--listen", "127.0.0.1:7003"}, "127.0.0.1:7003", "error", 3 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := configFrom(t, tt.file, tt.env, tt.args...)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := c.HTTP.Listen, tt.listen; got != want {
				t.Errorf("http.listen = %q, want %q", got, want)
			}
			if got, want := c.Log.Level, tt.level; got != want {
				t.Errorf("log.level = %q, want %q", got, want)
			}
			if got, want := c.HTTP.ShutdownTimeout, tt.shutdownWait; got != want {
				t.Errorf("http.shutdown_timeout = %v, want %v", got, want)
			}
		})
	}
}

func TestConfigAsteriskNodes(t *testing.T) {
	file := "asterisk:\n  nodes:\n    - {name: a, url: 'http://10.0.0.1:8088', username: u, password: p, app: hotline-a}\n    - {name: b, url: 'http://10.0.0.2:8088', username: u, password: p, app: hotline-b}\n"
	c, err := configFrom(t, file, []string{"HOTLINE_ASTERISK_PASSWORD=fromenv"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(c.Asterisk.Nodes), 2; got != want {
		t.Fatalf("nodes = %d, want %d", got, want)
	}
	if got, want := c.Asterisk.Nodes[0].Password, "fromenv"; got != want {
		t.Errorf("first node password = %q, want %q (environment shorthand)", got, want)
	}
	if got, want := c.Asterisk.Nodes[1].App, "hotline-b"; got != want {
		t.Errorf("second node app = %q, want %q", got, want)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, file string
		env        []string
		want       string
	}{
		{"unknown top-level key", "databse:\n  url: x\n", nil, `unknown key "databse"`},
		{"unknown nested key", "http:\n  listn: :80\n", nil, `unknown key "http.listn"`},
		{"unknown node key", "asterisk:\n  nodes:\n    - {name: a, url: 'http://h:1', app: x, pasword: p}\n", nil, `unknown key "asterisk.nodes[0].pasword"`},
		{"bad database url", "", []string{"HOTLINE_DATABASE_URL=mysql://u:dbsecret@x"}, `database.url: must be a postgres:// URL, got "mysql://u:xxxxx@x"`},
		{"negative timeout", "ivr:\n  lookup_timeout: -2s\n", nil, "ivr.lookup_timeout: must be a positive duration"},
		{"unparsable duration", "", []string{"HOTLINE_HTTP_SHUTDOWN_TIMEOUT=soon"},
			`http.shutdown_timeout: must be a duration with a unit such as 5s, 800ms or 1m30s, got "soon"`},
		{"duration without unit", "http:\n  shutdown_timeout: 10\n", nil,
			`http.shutdown_timeout: must be a duration with a unit such as 5s, 800ms or 1m30s, got 10`},
		{"unparsable number", "", []string{"HOTLINE_DATABASE_MAX_OPEN_CONNS=many"}, `database.max_open_conns: must be a whole number, got "many"`},
		{"unparsable boolean", "", []string{"HOTLINE_HTTP_PPROF=maybe"}, `http.pprof: must be true or false, got "maybe"`},
		{"mapping for a value", "log:\n  level: {a: b}\n", nil, `log.level: must be a single value, got a mapping`},
		{"lookup timeout beyond the flows' range", "", []string{"HOTLINE_IVR_LOOKUP_TIMEOUT=30s"}, "ivr.lookup_timeout: must be 100ms to 10s, got 30s"},
		{"bad listen", "", []string{"HOTLINE_HTTP_LISTEN=8080"}, "http.listen: must be host:port"},
		{"bad log level", "", []string{"HOTLINE_LOG_LEVEL=loud"}, "log.level"},
		{"short key", "pii:\n  seal_key: c2hvcnQ=\n  lookup_key: c2hvcnQ=\n", nil, "pii.seal_key: key must be 32 bytes"},
		{"short lease", "", []string{"HOTLINE_ACD_INSTANCE_LEASE=1s"}, "acd.instance_lease: must be at least 5s, got 1s"},
		{"absolute before idle", "desk:\n  idle_timeout: 2h\n  absolute_timeout: 1h\n", nil, "desk.absolute_timeout: must be at least 2h0m0s, got 1h0m0s"},
		{"hotline number", "", []string{"HOTLINE_IVR_HOTLINE_NUMBER=12a45"}, `ivr.hotline_number: must be 3 to 20 digits, got "12a45"`},
		{"allowed origin with a path", "http:\n  allowed_origins: [https://desk.example.org/x]\n", nil, `http.allowed_origins[0]: must be an origin`},
		{"node url", "", []string{"HOTLINE_ASTERISK_URL=ftp://x"}, "asterisk.nodes[0].url"},
		{"bad yaml", "http: [", nil, "configuration file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := configFrom(t, tt.file, tt.env)
			if err == nil {
				t.Fatalf("no error, want one containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestConfigReportsEveryBadValue(t *testing.T) {
	env := []string{"HOTLINE_HTTP_SHUTDOWN_TIMEOUT=soon", "HOTLINE_LOG_LEVEL=loud", "HOTLINE_DEMO_CITIZENS=lots"}
	_, err := configFrom(t, "", env)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`http.shutdown_timeout: must be a duration with a unit such as 5s, 800ms or 1m30s, got "soon"`,
		`log.level: must be debug, info, warn or error, got "loud"`,
		`demo.citizens: must be a whole number, got "lots"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v\nwant it to contain %q", err, want)
		}
	}
}

func TestConfigAddresses(t *testing.T) {
	tests := []struct {
		addr string
		want string // the problem, or "" for a good address
	}{
		{"127.0.0.1:8080", ""},
		{":8080", ""},
		{"localhost:8080", ""},
		{"[::1]:8080", ""},
		{"hotline-1.example.com:443", ""},
		{"0.0.0.0:65535", ""},
		{"localhost:99999", "port must be a number 1–65535"},
		{":-1", "port must be a number 1–65535"},
		{":0", "port must be a number 1–65535"},
		{"localhost:http", "port must be a number 1–65535"},
		{"300.1.1.1:80", "host must be an IP address or a host name"},
		{"1.2.3:80", "host must be an IP address or a host name"},
		{"bad_host:80", "host must be an IP address or a host name"},
		{"-x.example.com:80", "host must be an IP address or a host name"},
		{"8080", "must be host:port"},
	}
	for _, key := range []string{"http.listen", "demo.sim_listen", "demo.sim_control"} {
		for _, tt := range tests {
			t.Run(key+"="+tt.addr, func(t *testing.T) {
				_, err := configFrom(t, "", []string{envName(key) + "=" + tt.addr})
				switch want := fmt.Sprintf("%s: %s, got %q", key, tt.want, tt.addr); {
				case tt.want == "" && err != nil:
					t.Errorf("error = %v, want none", err)
				case tt.want != "" && (err == nil || !strings.Contains(err.Error(), want)):
					t.Errorf("error = %v\nwant it to contain %q", err, want)
				}
			})
		}
	}
	for _, u := range []string{"http://localhost:99999", "http://300.1.1.1:8088", "http://ast_1:8088"} {
		t.Run("node url "+u, func(t *testing.T) {
			_, err := configFrom(t, "", []string{"HOTLINE_ASTERISK_URL=" + u})
			if want := "asterisk.nodes[0].url: "; err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), u) {
				t.Errorf("error = %v\nwant one naming %s and %s", err, want, u)
			}
		})
	}
}

func TestUnknownEnvironmentVariableWarns(t *testing.T) {
	var out, errOut bytes.Buffer
	env := []string{"HOTLINE_DATABSE_URL=postgres://x/y", "HOTLINE_NOTHING_LIKE_IT=1", "HOTLINE_PG_BINDIR=/usr/lib/postgresql/15/bin",
		"HOTLINE_LOG_LEVEL=warn", "HOTLINE_ASTERISK_PASSWORD=p", "HOTLINEX=1"}
	if err := run(context.Background(), []string{"config"}, env, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	logs := errOut.String()
	for _, want := range []string{
		"level=WARN msg=\"environment variable names no configuration key; ignored\" var=HOTLINE_DATABSE_URL did_you_mean=HOTLINE_DATABASE_URL\n",
		"level=WARN msg=\"environment variable names no configuration key; ignored\" var=HOTLINE_NOTHING_LIKE_IT\n",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	for _, known := range []string{"HOTLINE_PG_BINDIR", "HOTLINE_LOG_LEVEL", "HOTLINE_ASTERISK_PASSWORD", "HOTLINEX"} {
		if strings.Contains(logs, "var="+known) {
			t.Errorf("warned about %s, which is read:\n%s", known, logs)
		}
	}
}

func TestConfigCommandRedacts(t *testing.T) {
	var out, errOut bytes.Buffer
	env := []string{
		"HOTLINE_DATABASE_URL=postgres://hotline:dbsecret@db.example:5432/hotline",
		"HOTLINE_PII_SEAL_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"HOTLINE_PII_LOOKUP_KEY=HxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo=",
		"HOTLINE_ASTERISK_PASSWORD=aripass",
	}
	if err := run(context.Background(), []string{"config"}, env, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, secret := range []string{"dbsecret", "aripass", "AAECAwQF", "HxwdHh8A"} {
		if strings.Contains(s, secret) {
			t.Errorf("config output contains secret %q:\n%s", secret, s)
		}
	}
	for _, want := range []string{"postgres://hotline:xxxxx@db.example:5432/hotline", "seal_key: (redacted)", "connect_timeout: 5s"} {
		if !strings.Contains(s, want) {
			t.Errorf("config output lacks %q:\n%s", want, s)
		}
	}
}

func TestInvalidConfigStopsEveryCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"serve"}, []string{"HOTLINE_IVR_LOOKUP_TIMEOUT=-1s"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "ivr.lookup_timeout") {
		t.Fatalf("serve with a negative timeout: err = %v, want one naming ivr.lookup_timeout", err)
	}
}
