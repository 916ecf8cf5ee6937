package web_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/sipua"
	"github.com/foshan-hotline/hotline/sipua/siptest"
	"github.com/foshan-hotline/hotline/sipua/softphone"
)

// lineFor starts an agent's softphone line registered as their endpoint's number.
type lineFor struct {
	*softphone.Lines
	e **env
}

func (l lineFor) Online(ctx context.Context, agentID int64) error {
	var endpoint string
	if err := (*l.e).db.GetContext(ctx, &endpoint, `SELECT endpoint FROM hotline.agents WHERE id = $1`, agentID); err != nil {
		return err
	}
	_, user, _ := strings.Cut(endpoint, "/")
	return l.Lines.Online(agentID, softphone.Account{User: user, Password: "pw"})
}

type heard struct {
	mu  sync.Mutex
	pcm []int16
}

func (h *heard) Write(pcm []int16) error {
	h.mu.Lock()
	h.pcm = append(h.pcm, pcm...)
	h.mu.Unlock()
	return nil
}

// share returns the share of the energy heard at freq Hz, and the mean loudness.
func (h *heard) share(freq float64) (float64, float64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := 2 * math.Cos(2*math.Pi*freq/sipua.SampleRate)
	var s1, s2, total float64
	for _, v := range h.pcm {
		x := float64(v)
		s1, s2 = x+k*s1-s2, s1
		total += x * x
	}
	if total == 0 {
		return 0, 0
	}
	n := float64(len(h.pcm))
	return 2 * (s1*s1 + s2*s2 - k*s1*s2) / (n * total), math.Sqrt(total / n)
}

// The softphone end to end in headless Chromium: the agent logs in and the page shows the
// line registered; a caller with a 440 Hz voice rings it; once answered, the page's audio
// output carries 440 Hz (an AnalyserNode), and the caller hears the page's microphone —
// Chromium's fake device playing a 1000 Hz tone.
func TestSoftphoneInTheBrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	sip, err := siptest.Start(ctx, siptest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sip.Close()
	lines, err := softphone.New(softphone.Options{Registrar: "sip:" + sip.Addr("udp")})
	if err != nil {
		t.Fatal(err)
	}
	defer lines.Close()
	var e *env
	e = newEnv(t, func(o *agentdesk.Options) { o.Phones = lineFor{Lines: lines, e: &e} })

	tone := filepath.Join(t.TempDir(), "mic.wav")
	f, err := os.Create(tone)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sipua.NewWAVWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(siptest.Tone(1000, 30*time.Second))
	w.Close()
	f.Close()
	p := newPage(t, e,
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-file-for-fake-audio-capture", tone))
	p.login()
	p.Wait("the softphone registered", `document.getElementById("softphone")?.dataset.state === "idle"`)
	p.WaitText("softphone", "软电话就绪")
	contact, ok := sip.Registered("1001")
	if !ok {
		t.Fatal("agent01's softphone is not registered")
	}

	caller, err := sipua.New(ctx, sipua.Config{From: "13800138000", Audio: siptest.Tone(440, 8*time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	defer caller.Close()
	script, _ := sipua.ParseScript("wait:prompt 5s; listen 2s; hangup")
	var callerHeard heard
	done := make(chan *sipua.Report, 1)
	go func() {
		rep, err := caller.Call(ctx, strings.Trim(contact, "<>"), script, sipua.CallOptions{Record: &callerHeard})
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	p.Wait("the softphone ringing", `document.getElementById("softphone").dataset.state === "ringing"`)
	if err := lines.Line(e.ids["agent01"]).Answer(); err != nil {
		t.Fatal(err)
	}
	p.Wait("the softphone talking", `document.getElementById("softphone").dataset.state === "talking"`)
	p.Wait("the caller's 440 Hz in the page's audio output",
		`(() => { const h = window.deskSoftphone.heard(); return Math.abs(h.hz - 440) < 15 && h.db > -70; })()`)
	p.Shoot("softphone-talking")
	rep := <-done
	if rep == nil || !rep.OK {
		t.Fatalf("the caller's call: %+v", rep)
	}
	share, level := callerHeard.share(1000)
	t.Logf("the caller heard 1000 Hz at %.2f of the energy, RMS %.0f", share, level)
	if share < 0.3 || level < 100 {
		t.Errorf("the caller heard the page's microphone at %.2f of the energy (RMS %.0f); want the 1000 Hz tone", share, level)
	}
	p.Wait("the softphone idle again", `document.getElementById("softphone").dataset.state === "idle"`)
}
