package web_test

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
)

// A supervisor sees the recordings with the callers' numbers masked and the retention
// period, narrows them to a caller's last digits, plays one and downloads another: both are
// in the audit log.
func TestRecordingsPage(t *testing.T) {
	audio := toneWAV(2)
	e := newEnv(t, func(o *agentdesk.Options) {
		o.RecordingAudio = func(ctx context.Context, rec hotline.Recording) (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(audio)), nil
		}
		o.RecordingRetention = 180 * 24 * time.Hour
	})
	e.exec(`INSERT INTO hotline.skills (id, name) VALUES ('utilities', '公用事业'), ('general', '综合咨询')`)
	e.exec(`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('utilities', '公用事业', 'utilities'), ('general', '综合咨询', 'general')`)
	now := time.Now()
	for i, r := range []struct{ caller, queue, kind, agent string }{
		{"13812345678", "utilities", "conversation", "agent01"},
		{"13900001111", "general", "conversation", "agent02"},
		{"13712345678", "general", "message", ""},
	} {
		id := []string{"bbbbbbbb-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002", "bbbbbbbb-0000-4000-8000-000000000003"}[i]
		at := now.Add(-time.Duration(i+1) * time.Hour)
		var agent any
		if r.agent != "" {
			agent = e.ids[r.agent]
		}
		e.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, queue_id, agent_id)
			VALUES ($1, 'ast1', $2, $3, $4, $5, $6)`, id, "ch-"+id, r.caller, at, r.queue, agent)
		e.exec(`INSERT INTO hotline.recordings (call_id, kind, name, duration_ms, agent_id, node, started_at)
			VALUES ($1, $2, $3, 2000, $4, 'ast1', $5)`, id, r.kind, "rec-"+id, agent, at)
	}

	p := newPage(t, e)
	asSupervisor(t, e, p, "boss", "张班长")
	p.Wait("the supervisor's links", `[...document.querySelectorAll(".sb-links a")].some((a) => a.getAttribute("href") === "/desk/recordings")`)
	p.Do("open the recordings", chromedp.Navigate(e.url+"/desk/recordings"))
	p.Wait("the recordings", `document.body.dataset.ready === "true"`)
	p.WaitText("rc-total", "共 3 条")
	p.WaitText("rc-retention", "保存 180 天")
	rows := p.Text("rc-rows")
	for _, full := range []string{"13812345678", "13900001111", "13712345678"} {
		if bytes.Contains([]byte(rows), []byte(full)) {
			t.Errorf("a full number in the list: %s", rows)
		}
	}
	p.WaitText("rc-rows", "138****5678")
	p.WaitText("rc-rows", "公用事业")
	p.WaitText("rc-rows", "语音留言")

	p.Do("search by the last digits", chromedp.SendKeys(chromedp.ID("rc-number"), "5678"), chromedp.Click(chromedp.ID("rc-search")))
	p.Wait("two found", `document.body.dataset.total === "2"`)
	p.Do("choose a queue", chromedp.SetValue(chromedp.ID("rc-queue"), "general"), chromedp.Click(chromedp.ID("rc-search")))
	p.Wait("one found", `document.body.dataset.total === "1"`)
	p.WaitText("rc-rows", "137****5678")
	p.Shoot("recordings")

	p.Click("play it", `#rc-rows button[data-play]`)
	p.Wait("playing", `document.getElementById("rc-audio").readyState >= 1 && Math.abs(document.getElementById("rc-audio").duration - 2) < 0.2`)
	got, err := chromedp.Run(p.Tab, chromedp.Evaluate[string](
		`fetch(document.querySelector("#rc-rows a[download]").href).then((r) => r.status + " " + r.headers.get("Content-Disposition"))`,
		chromedp.EvalAwaitPromise))
	if err != nil || !bytes.HasPrefix([]byte(got), []byte(`200 attachment; filename="recording-`)) {
		t.Errorf("download: %s %v", got, err)
	}
	var actions []string
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		actions = nil
		e.db.Select(&actions, `SELECT action FROM hotline.audit_log WHERE object_type = 'recording' ORDER BY id`)
		if len(actions) >= 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	played, downloaded := 0, 0
	for _, a := range actions {
		switch a {
		case agentdesk.AuditPlayRecording:
			played++
		case agentdesk.AuditDownloadRecording:
			downloaded++
		}
	}
	if played < 1 || downloaded != 1 {
		t.Errorf("audit rows %v: want the play and the download", actions)
	}
}
