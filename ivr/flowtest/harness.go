package flowtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// SoundURI is the media prefix the harness's engine uses; the simulator finds the prompts
// under <lang>/hotline/ like an Asterisk set up as README describes.
const SoundURI = "sound:hotline/"

// Options configure a Harness.
type Options struct {
	// Engine is the engine's configuration; SoundURI and Log are filled in when empty.
	Engine ivr.Config
	// Speed divides every simulated duration (prompt lengths, DTMF timing).
	Speed float64
	// StateDir holds the simulator's view of the sounds; empty means a temporary directory.
	StateDir string
	// NodeName names the simulated Asterisk node ("sim" when empty); harnesses that share one
	// call log need names of their own, since calls are recorded by node and channel id.
	NodeName string
	Log      *slog.Logger
}

// Harness is a simulated Asterisk node with an engine serving its calls.
type Harness struct {
	Sim     *arisim.Sim
	Engine  *ivr.Engine
	Cluster *ari.Cluster
	URL     string

	srv       *http.Server
	cancel    context.CancelFunc
	done      chan error
	tempDir   string
	closeOnce sync.Once
	closeErr  error
}

// Start starts the simulator on a loopback port and the engine on it, and waits until the
// engine's websocket is connected.
func Start(o Options) (*Harness, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &Harness{done: make(chan error, 1)}
	dir := o.StateDir
	if dir == "" {
		d, err := os.MkdirTemp("", "flowtest-")
		if err != nil {
			return nil, err
		}
		dir, h.tempDir = d, d
	}
	dirs, err := SoundDirs(o.Engine.SoundsDir, dir)
	if err != nil {
		h.cleanup()
		return nil, err
	}
	rec := filepath.Join(dir, "recordings")
	if err := os.MkdirAll(rec, 0o755); err != nil {
		h.cleanup()
		return nil, err
	}
	h.Sim = arisim.New(arisim.Options{SoundDirs: dirs, Speed: o.Speed, RecordingDir: rec, Logger: o.Log.With("component", "arisim")})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.cleanup()
		return nil, err
	}
	h.URL = "http://" + ln.Addr().String()
	h.srv = &http.Server{Handler: h.Sim.Handler()}
	go h.srv.Serve(ln)

	cfg := o.Engine
	if cfg.SoundURI == "" {
		cfg.SoundURI = SoundURI
	}
	if cfg.Log == nil {
		cfg.Log = o.Log
	}
	h.Engine, err = ivr.New(cfg)
	if err != nil {
		h.cleanup()
		return nil, err
	}
	name := o.NodeName
	if name == "" {
		name = "sim"
	}
	node := ari.Node{Name: name, URL: h.URL, User: "hotline", Password: "hotline-secret", App: "hotline"}
	h.Cluster, err = ari.NewCluster([]ari.Node{node}, h.Engine.Options(ari.ConnOptions{Logger: o.Log}))
	if err != nil {
		h.cleanup()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.Engine.Run(ctx, h.Cluster) }()
	deadline := time.Now().Add(10 * time.Second)
	for h.Cluster.Ready() != nil {
		if time.Now().After(deadline) {
			h.Close()
			return nil, fmt.Errorf("flowtest: engine did not connect: %w", h.Cluster.Ready())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return h, nil
}

// Close stops the engine (ending calls in progress), the simulator and removes temporary
// files. It may be called more than once.
func (h *Harness) Close() error {
	h.closeOnce.Do(func() {
		if h.cancel != nil {
			h.cancel()
			h.closeErr = <-h.done
		}
		if h.srv != nil {
			h.srv.Close()
		}
		if h.Sim != nil {
			h.Sim.Close()
		}
		h.cleanup()
	})
	return h.closeErr
}

func (h *Harness) cleanup() {
	if h.tempDir != "" {
		os.RemoveAll(h.tempDir)
	}
}

// SoundDirs lays the prompts of soundsDir out as a real Asterisk holds them,
// <lang>/hotline/<id>.wav, with links under stateDir, and returns the simulator's
// language → directory map.
func SoundDirs(soundsDir, stateDir string) (map[string]string, error) {
	abs, err := filepath.Abs(soundsDir)
	if err != nil {
		return nil, err
	}
	langs, err := os.ReadDir(abs)
	if err != nil {
		return nil, fmt.Errorf("sounds: %w", err)
	}
	root, err := filepath.Abs(filepath.Join(stateDir, "asterisk-sounds"))
	if err != nil {
		return nil, err
	}
	dirs := map[string]string{}
	for _, l := range langs {
		if !l.IsDir() {
			continue
		}
		langDir := filepath.Join(root, l.Name())
		if err := os.MkdirAll(langDir, 0o755); err != nil {
			return nil, err
		}
		link := filepath.Join(langDir, "hotline")
		if err := os.Remove(link); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		if err := os.Symlink(filepath.Join(abs, l.Name()), link); err != nil {
			return nil, fmt.Errorf("sounds: %w", err)
		}
		dirs[l.Name()] = langDir
	}
	return dirs, nil
}

// PromptID returns the prompt id of a media URI the engine played, or "" for other media.
func PromptID(media string) string {
	id, ok := strings.CutPrefix(media, SoundURI)
	if !ok {
		return ""
	}
	return id
}
