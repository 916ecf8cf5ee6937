package main

import (
	"bytes"
	"context"
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
		{"bad database url", "", []string{"HOTLINE_DATABASE_URL=mysql://x"}, "database.url: must be a postgres:// URL"},
		{"negative timeout", "ivr:\n  lookup_timeout: -2s\n", nil, "ivr.lookup_timeout: must be a positive duration"},
		{"unparsable duration", "", []string{"HOTLINE_HTTP_SHUTDOWN_TIMEOUT=soon"}, "shutdown_timeout"},
		{"bad listen", "", []string{"HOTLINE_HTTP_LISTEN=8080"}, "http.listen: must be host:port"},
		{"bad log level", "", []string{"HOTLINE_LOG_LEVEL=loud"}, "log.level"},
		{"short key", "pii:\n  seal_key: c2hvcnQ=\n  lookup_key: c2hvcnQ=\n", nil, "pii.seal_key: key must be 32 bytes"},
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
