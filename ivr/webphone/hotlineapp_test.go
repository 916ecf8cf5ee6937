package webphone_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/ivr/speech"
)

// soundDirs lays the repository's prompts out as Asterisk holds them,
// <lang>/hotline/<id>.wav, and returns the simulator's language map.
func soundDirs(t *testing.T) map[string]string {
	t.Helper()
	src := filepath.Join(repotest.Root(t), "sounds")
	root := t.TempDir()
	dirs := map[string]string{}
	for _, lang := range []string{"zh", "yue", "en"} {
		if _, err := os.Stat(filepath.Join(src, lang)); err != nil {
			continue
		}
		d := filepath.Join(root, lang)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(src, lang), filepath.Join(d, "hotline")); err != nil {
			t.Fatal(err)
		}
		dirs[lang] = d
	}
	if dirs["zh"] == "" {
		t.Fatal("no Mandarin prompts in sounds/zh")
	}
	return dirs
}

// startSim runs a simulator with the repository's prompts over real HTTP
// and returns it with its ARI and control URLs.
func startSim(t *testing.T, speed float64) (sim *arisim.Sim, ariURL, controlURL string) {
	t.Helper()
	sim = arisim.New(arisim.Options{Speed: speed, SoundDirs: soundDirs(t)})
	t.Cleanup(func() { sim.Close() })
	a := httptest.NewServer(sim.Handler())
	t.Cleanup(a.Close)
	c := httptest.NewServer(sim.ControlHandler())
	t.Cleanup(c.Close)
	return sim, a.URL, c.URL
}

// scriptedHotline is a tiny hotline for the browser tests, over the
// project's ARI client: it answers, welcomes the caller, reads an amount,
// waits for a key, says goodbye and hangs up. With bargeIn, a key pressed
// during the welcome stops it and goes straight to goodbye.
type scriptedHotline struct {
	amount  int64 // fen
	bargeIn bool
	errs    chan error
}

// run connects to the simulator as the "hotline" application until ctx ends.
func (h *scriptedHotline) run(ctx context.Context, ariURL string) error {
	h.errs = make(chan error, 4)
	node := ari.Node{Name: "sim", URL: ariURL, User: "hotline", Password: "hotline-secret", App: "hotline"}
	conn, err := ari.NewConn(node, ari.ConnOptions{Handler: func(c *ari.Conn, ev ari.Event) {
		if s, ok := ev.(*ari.StasisStart); ok {
			in := c.Router().NewInbox(ari.ChannelRef(s.Channel.ID))
			go func() {
				defer in.Close()
				if err := h.call(ctx, c.Client(), in, s.Channel.ID); err != nil {
					h.errs <- fmt.Errorf("call %s: %w", s.Channel.ID, err)
				}
			}()
		}
	}})
	if err != nil {
		return err
	}
	go conn.Run(ctx)
	// Wait until the application is registered, so the call does not
	// meet the dialplan's fallback.
	for ctx.Err() == nil {
		if conn.Health().Connected {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return ctx.Err()
}

func (h *scriptedHotline) call(ctx context.Context, c *ari.Client, in *ari.Inbox, chID string) error {
	ch := c.Channel(chID)
	if err := ch.Answer(ctx); err != nil {
		return err
	}
	pressed, err := play(ctx, c, in, chID, h.bargeIn, "sound:hotline/common/welcome")
	if err != nil {
		return err
	}
	if !pressed {
		var money []string
		for _, f := range speech.Money(h.amount, speech.Mandarin) {
			money = append(money, "sound:hotline/"+string(f))
		}
		early, err := play(ctx, c, in, chID, false, money...)
		if err != nil {
			return err
		}
		if !early {
			if err := waitKey(ctx, in); err != nil {
				return err
			}
		}
	}
	if _, err := play(ctx, c, in, chID, false, "sound:hotline/common/goodbye"); err != nil {
		return err
	}
	return ch.Hangup(ctx, ari.HangupNormal)
}

func waitKey(ctx context.Context, in *ari.Inbox) error {
	for {
		ev, err := in.Next(ctx)
		if err != nil {
			return err
		}
		switch ev.(type) {
		case *ari.ChannelDtmfReceived:
			return nil
		case *ari.StasisEnd:
			return errors.New("caller hung up before pressing a key")
		}
	}
}

// play plays media in Mandarin and waits for the playback to finish,
// reporting whether a key was pressed meanwhile; with bargeIn the key stops
// the playback.
func play(ctx context.Context, c *ari.Client, in *ari.Inbox, chID string, bargeIn bool, media ...string) (pressed bool, err error) {
	id := ari.NewID()
	if err := in.Own(ari.PlaybackRef(id)); err != nil {
		return false, err
	}
	if _, err := c.Channel(chID).Play(ctx, ari.PlayOptions{ID: id, Media: media, Lang: "zh"}); err != nil {
		return false, err
	}
	for {
		ev, err := in.Next(ctx)
		if err != nil {
			return pressed, err
		}
		switch e := ev.(type) {
		case *ari.ChannelDtmfReceived:
			if bargeIn && !pressed {
				if err := c.Playback(id).Stop(ctx); err != nil {
					return true, err
				}
			}
			pressed = true
		case *ari.PlaybackFinished:
			if e.Playback.ID == id {
				if e.Playback.State == "failed" {
					return pressed, fmt.Errorf("playback of %v failed", media)
				}
				return pressed, nil
			}
		case *ari.StasisEnd:
			return pressed, errors.New("caller hung up during a prompt")
		}
	}
}
