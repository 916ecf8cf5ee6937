package browsertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Size is a window size in CSS pixels.
type Size struct{ W, H int64 }

// Page is one tab of a test's Chromium with the steps a test takes on it; each fails the
// test instead of returning an error.
type Page struct {
	T   testing.TB
	Tab context.Context // the tab's chromedp context

	// Shots is the directory Shoot saves its screenshots in.
	Shots string
	// Sizes are the window sizes the page must fit without scrolling sideways; Shoot tries
	// each and leaves the window at the first.
	Sizes []Size
	// Keep says whether Shoot saves the screenshot of name at s; nil saves every one.
	Keep func(name string, s Size) bool

	mu       sync.Mutex
	watching bool
	problems []string // exceptions, console errors, blocked scripts or styles
}

// NewPage wraps a tab (the context New returns, or one chromedp.NewContext makes from it)
// whose screenshots go to shots, and checks it at 1280×800 and 1920×1080.
func NewPage(t testing.TB, tab context.Context, shots string) *Page {
	return &Page{T: t, Tab: tab, Shots: shots, Sizes: []Size{{1280, 800}, {1920, 1080}}}
}

// FailOnProblems fails the test, when it ends, for each exception or console error the page
// raises from now on; refused requests, which the browser logs, are not problems. Wait's
// failure lists the problems seen so far.
func (p *Page) FailOnProblems() {
	p.mu.Lock()
	p.watching = true
	p.mu.Unlock()
	messages := chromedp.Console(p.Tab)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if (m.Type == chromedp.ConsoleError || m.IsException()) && m.Source != "network" {
				p.mu.Lock()
				p.problems = append(p.problems, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
				p.mu.Unlock()
			}
		}
	}()
	p.T.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, pr := range p.problems {
			p.T.Errorf("in the page: %s", pr)
		}
	})
}

// Do runs chromedp actions on the tab; what names them in the failure.
func (p *Page) Do(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.T.Helper()
	if err := chromedp.Do(p.Tab, steps...); err != nil {
		p.T.Fatalf("%s: %v", what, err)
	}
}

// Click clicks the first element sel matches. A list that re-renders (a live update) can
// replace the element between the driver finding it and clicking it, which a person's click,
// landing on whatever is under the pointer, never notices; the click is then tried again on
// the new element, for up to 10 s.
func (p *Page) Click(what, sel string) {
	p.T.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := chromedp.Do(p.Tab, chromedp.Click(sel))
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "Could not find node with given id") || time.Now().After(deadline) {
			p.T.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Wait polls a JavaScript condition until it holds, for up to 30 s. It goes on polling
// across a navigation (a login, a refresh), which WaitJS does not; its failure says what the
// page shows.
func (p *Page) Wait(what, expr string) {
	p.T.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(p.Tab, chromedp.Evaluate[bool](`Boolean(`+expr+`)`))
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	said, _ := chromedp.Run(p.Tab, chromedp.Evaluate[string](`String(document.body && document.body.innerText)`))
	p.mu.Lock()
	problems := ""
	if p.watching {
		problems = "\nproblems: " + strings.Join(p.problems, "\n")
	}
	p.mu.Unlock()
	p.T.Fatalf("waiting for %s (%s): last error %v\nthe page says: %s%s", what, expr, last, said, problems)
}

// Eval evaluates a JavaScript expression in the page and returns it as a string.
func (p *Page) Eval(expr string) string {
	p.T.Helper()
	s, err := chromedp.Run(p.Tab, chromedp.Evaluate[string](`String(`+expr+`)`))
	if err != nil {
		p.T.Fatalf("%s: %v", expr, err)
	}
	return s
}

// Text returns the text of the element with the id.
func (p *Page) Text(id string) string {
	p.T.Helper()
	return p.Eval(fmt.Sprintf(`document.getElementById(%q).innerText`, id))
}

// WaitText waits until the text of the element with the id includes s.
func (p *Page) WaitText(id, s string) {
	p.T.Helper()
	p.Wait(fmt.Sprintf("%s to say %q", id, s), fmt.Sprintf(`(document.getElementById(%q)?.innerText || "").includes(%q)`, id, s))
}

// Key presses a key, with modifiers.
func (p *Page) Key(what, key string, mods ...chromedp.Modifier) {
	p.T.Helper()
	p.Do(what, chromedp.KeyEvent(key, chromedp.KeyModifiers(mods...)))
}

// Shoot sets the window to each of Sizes, fails the test where the page is wider than the
// window, and saves a full-page screenshot there as Shots/<name>-<w>x<h>.png (those Keep
// keeps). It leaves the window at the first size.
func (p *Page) Shoot(name string) {
	p.T.Helper()
	for _, s := range p.Sizes {
		p.Do("resize", chromedp.EmulateViewport(s.W, s.H), chromedp.Sleep(300*time.Millisecond))
		if got := p.Eval(`document.documentElement.scrollWidth > document.documentElement.clientWidth || document.body.scrollWidth > document.body.clientWidth`); got != "false" {
			p.T.Errorf("%s at %d×%d: the page scrolls sideways (scrollWidth %s, window %d)", name, s.W, s.H,
				p.Eval(`document.documentElement.scrollWidth`), s.W)
		}
		if p.Keep != nil && !p.Keep(name, s) {
			continue
		}
		png, err := chromedp.Run(p.Tab, chromedp.FullScreenshot(100))
		if err != nil {
			p.T.Fatalf("screenshot %s: %v", name, err)
		}
		file := filepath.Join(p.Shots, fmt.Sprintf("%s-%dx%d.png", name, s.W, s.H))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			p.T.Fatal(err)
		}
	}
	if len(p.Sizes) > 1 {
		p.Do("resize back", chromedp.EmulateViewport(p.Sizes[0].W, p.Sizes[0].H))
	}
}
