package web_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/postgres"
)

// pageMonitor is the engine's monitoring as the page drives it: every request kept.
type pageMonitor struct {
	mu   sync.Mutex
	did  []string
	live map[string]agentdesk.LiveMonitor
}

func (f *pageMonitor) Control(context.Context, string, hotline.CallCommand) error {
	return hotline.ErrConflict
}

func (f *pageMonitor) CallState(context.Context, string) (hotline.CallState, error) {
	return hotline.CallState{}, hotline.ErrNotFound
}

func (f *pageMonitor) StartMonitor(_ context.Context, m agentdesk.MonitorStart) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.did = append(f.did, "start "+m.Mode)
	f.live[m.ID] = agentdesk.LiveMonitor{ID: m.ID, CallID: m.CallID, AgentID: m.AgentID, Mode: m.Mode, State: "active", Since: time.Now()}
	return nil
}

func (f *pageMonitor) SetMonitorMode(_ context.Context, id, mode string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.live[id]
	if !ok {
		return hotline.ErrNotFound
	}
	l.Mode = mode
	f.live[id] = l
	f.did = append(f.did, "mode "+mode)
	return nil
}

func (f *pageMonitor) StopMonitor(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.live, id)
	f.did = append(f.did, "stop")
	return nil
}

func (f *pageMonitor) LiveMonitors() []agentdesk.LiveMonitor {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []agentdesk.LiveMonitor
	for _, l := range f.live {
		out = append(out, l)
	}
	return out
}

// A supervisor listens to agent01's call from the wallboard, whispers, barges and stops.
func TestSupervisorListensWhispersBarges(t *testing.T) {
	mon := &pageMonitor{live: map[string]agentdesk.LiveMonitor{}}
	e := newEnv(t, func(o *agentdesk.Options) {
		o.States = postgres.NewACD(postgres.New(o.DB, nil, nil), "live")
		o.Calls = mon
	})
	e.queues()
	hash, _ := bcrypt.GenerateFromPassword([]byte("boss-pw"), bcrypt.MinCost)
	e.exec(`INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint) VALUES ('boss', '张班长', 'supervisor', $1, 'PJSIP/1100')`, string(hash))
	call := "8a8a8a8a-0000-4000-8000-000000000001"
	e.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at) VALUES ($1, 'node1', 'talk-1', '13900139001', now() - interval '1 minute')`, call)
	e.exec(`INSERT INTO hotline.agent_status (agent_id, state, since, call_id) VALUES ($1, 'talking', now() - interval '30 seconds', $2)`, e.ids["agent01"], call)

	p := newPage(t, e)
	p.loginAs("boss", "boss-pw")
	p.Do("open the wallboard", chromedp.Navigate(e.url+"/desk/supervisor"))
	p.Wait("the board", `document.body.dataset.ready === "true" && !!document.body.dataset.board`)

	tile := fmt.Sprintf(`document.querySelector('#sv-agent-grid li[data-agent="%d"]')`, e.ids["agent01"])
	other := fmt.Sprintf(`document.querySelector('#sv-agent-grid li[data-agent="%d"] .sv-monitor')`, e.ids["agent02"])
	p.Wait("agent01 talking with the buttons", tile+`.dataset.state === "talking" && !!`+tile+`.querySelector('.sv-monitor button[data-mode=listen]')`)
	p.Wait("no buttons for an agent not talking", `!`+other+` || `+other+`.hidden`)
	click := func(sel string) { p.Eval(tile + `.querySelector('` + sel + `').click()`) }
	state := tile + `.querySelector('.mon-state').textContent`
	click(".sv-monitor button[data-mode=listen]")
	p.Wait("listening", state+`.startsWith("监听中")`)
	p.Shoot("monitor-listen")
	click(".sv-monitor button[data-mode=whisper]")
	p.Wait("whispering", state+`.startsWith("耳语中") && `+tile+`.querySelector('button[data-mode=whisper]').getAttribute("aria-pressed") === "true"`)
	click(".sv-monitor button[data-mode=barge]")
	p.Wait("barging", state+`.startsWith("强插中")`)
	p.Shoot("monitor-barge")
	click(".sv-monitor .mon-stop")
	p.Wait("stopped", state+` === "" && `+tile+`.querySelector('.mon-stop').hidden`)

	mon.mu.Lock()
	defer mon.mu.Unlock()
	if want := []string{"start listen", "mode whisper", "mode barge", "stop"}; !slices.Equal(mon.did, want) {
		t.Errorf("the engine was asked %v, want %v", mon.did, want)
	}
	var n int
	if err := e.db.Get(&n, `SELECT count(*) FROM hotline.audit_log WHERE object_type = 'monitoring'`); err != nil || n != 3 {
		t.Errorf("%d audit rows (%v), want monitor_start and two monitor_mode", n, err)
	}
}
