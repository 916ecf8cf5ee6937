package agentdesk_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk"
)

// recordingsFixture stores four recordings: three conversations in two queues with two
// agents over two days, and a voice message. It returns their ids in that order.
func (d *desk) recordingsFixture() []int64 {
	d.t.Helper()
	d.exec(`INSERT INTO hotline.skills (id, name) VALUES ('utilities', '公用事业'), ('general', '综合咨询')`)
	d.exec(`INSERT INTO hotline.queues (id, name, skill_id) VALUES ('utilities', '公用事业', 'utilities'), ('general', '综合咨询', 'general')`)
	rows := []struct {
		call, caller, queue, kind string
		agent                     int64
		at                        string
	}{
		{"aaaaaaaa-0000-4000-8000-000000000001", "13812345678", "utilities", "conversation", d.ids["agent01"], "2026-12-01T10:00:00+08:00"},
		{"aaaaaaaa-0000-4000-8000-000000000002", "13900001111", "general", "conversation", d.ids["agent02"], "2026-12-01T23:30:00+08:00"},
		{"aaaaaaaa-0000-4000-8000-000000000003", "075712345678", "utilities", "conversation", d.ids["agent02"], "2026-12-02T09:00:00+08:00"},
		{"aaaaaaaa-0000-4000-8000-000000000004", "13812345678", "general", "message", 0, "2026-12-02T20:00:00+08:00"},
	}
	var ids []int64
	for i, r := range rows {
		d.exec(`INSERT INTO hotline.calls (id, node, channel_id, caller_number, started_at, queue_id, agent_id)
			VALUES ($1, 'ast1', $2, $3, $4, $5, NULLIF($6, 0))`, r.call, "ch-"+r.call[len(r.call)-1:], r.caller, r.at, r.queue, r.agent)
		var id int64
		if err := d.db.Get(&id, `INSERT INTO hotline.recordings (call_id, kind, name, duration_ms, agent_id, node, started_at)
			VALUES ($1, $2, $3, $4, NULLIF($5, 0), 'ast1', $6) RETURNING id`, r.call, r.kind, "rec-"+r.call, 30000+i*1000, r.agent, r.at); err != nil {
			d.t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// fakeAudio serves every recording as a few bytes of "audio".
func fakeAudio(o *agentdesk.Options) {
	o.RecordingAudio = func(ctx context.Context, rec hotline.Recording) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("RIFF-of-" + rec.Name)), nil
	}
	o.RecordingRetention = 180 * 24 * time.Hour
}

type recordingPage struct {
	Recordings []struct {
		ID          int64  `json:"id"`
		Caller      string `json:"caller"`
		Queue       string `json:"queue_id"`
		QueueName   string `json:"queue_name"`
		AgentName   string `json:"agent_name"`
		Kind        string `json:"kind"`
		AudioURL    string `json:"audio_url"`
		DownloadURL string `json:"download_url"`
	} `json:"recordings"`
	Total         int `json:"total"`
	RetentionDays int `json:"retention_days"`
}

func TestRecordingsSearch(t *testing.T) {
	d := newDesk(t, fakeAudio)
	ids := d.recordingsFixture()
	sup := d.login("supervisor")
	list := func(query string) recordingPage {
		t.Helper()
		status, b := sup.do("GET", "/api/recordings?"+query, "")
		if status != http.StatusOK {
			t.Fatalf("GET /api/recordings?%s: %d %s", query, status, b)
		}
		if strings.Contains(string(b), "13812345678") || strings.Contains(string(b), "075712345678") {
			t.Errorf("a full caller number in the list: %s", b)
		}
		var p recordingPage
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	idsOf := func(p recordingPage) []int64 {
		var out []int64
		for _, r := range p.Recordings {
			out = append(out, r.ID)
		}
		return out
	}
	all := list("")
	if all.Total != 4 || all.RetentionDays != 180 {
		t.Errorf("total %d retention %d, want 4 and 180", all.Total, all.RetentionDays)
	}
	first := all.Recordings[3]
	if first.Caller != "138****5678" || first.QueueName != "公用事业" || first.AgentName != "用户agent01" ||
		first.AudioURL == "" || first.DownloadURL == "" {
		t.Errorf("oldest = %+v", first)
	}
	if got := all.Recordings[1].Caller; got != "075*****5678" {
		t.Errorf("landline masked as %q", got)
	}
	for _, tc := range []struct {
		query string
		want  []int64
	}{
		{"from=2026-12-02", []int64{ids[3], ids[2]}},
		{"to=2026-12-01", []int64{ids[1], ids[0]}}, // the whole day, China Standard Time
		{"from=2026-12-01&to=2026-12-01", []int64{ids[1], ids[0]}},
		{"queue=utilities", []int64{ids[2], ids[0]}},
		{"agent=" + itoa(d.ids["agent02"]), []int64{ids[2], ids[1]}},
		{"number=5678", []int64{ids[3], ids[2], ids[0]}},
		{"number=13812345678", []int64{ids[3], ids[0]}},
		{"kind=message", []int64{ids[3]}},
		{"queue=utilities&number=13812345678", []int64{ids[0]}},
		{"limit=1&offset=1", []int64{ids[2]}},
	} {
		p := list(tc.query)
		if got := idsOf(p); !equalIDs(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}
	if p := list("limit=1&offset=1"); p.Total != 4 {
		t.Errorf("paged total = %d, want 4", p.Total)
	}
	for _, q := range []string{"from=yesterday", "to=2026-13-01", "from=2026-12-03&to=2026-12-01", "agent=x", "number=12",
		"number=13a", "kind=video", "limit=0", "limit=500", "offset=-1"} {
		status, b := sup.do("GET", "/api/recordings?"+q, "")
		if code, reason := errorOf(t, b); status != http.StatusBadRequest || code != "invalid" || reason == "" {
			t.Errorf("%s: %d %s %q, want 400 with a reason", q, status, code, reason)
		}
	}
	agent := d.login("agent01")
	for _, path := range []string{"/api/recordings", "/api/recordings/" + itoa(ids[0]) + "/download", "/api/recordings/" + itoa(ids[0]) + "/audio"} {
		if status, b := agent.do("GET", path, ""); status != http.StatusForbidden {
			t.Errorf("agent %s: %d %s, want 403", path, status, b)
		}
	}
}

func TestRecordingPlayAndDownloadAudited(t *testing.T) {
	d := newDesk(t, fakeAudio)
	ids := d.recordingsFixture()
	sup := d.login("supervisor")
	resp := sup.response("GET", "/api/recordings/"+itoa(ids[0])+"/download", "")
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment; filename=\"recording-") ||
		string(body) != "RIFF-of-rec-aaaaaaaa-0000-4000-8000-000000000001" {
		t.Errorf("download: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Disposition"), body)
	}
	if status, b := sup.do("GET", "/api/recordings/"+itoa(ids[1])+"/audio", ""); status != http.StatusOK {
		t.Errorf("play: %d %s", status, b)
	}
	if status, _ := sup.do("GET", "/api/recordings/999999/download", ""); status != http.StatusNotFound {
		t.Errorf("download of no recording: %d, want 404", status)
	}
	var rows []struct {
		Action   string `db:"action"`
		ObjectID string `db:"object_id"`
		Actor    int64  `db:"actor_id"`
	}
	if err := d.db.Select(&rows, `SELECT action, object_id, actor_id FROM hotline.audit_log
		WHERE object_type = 'recording' ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	want := []string{"download_recording " + itoa(ids[0]), "play_recording " + itoa(ids[1])}
	if len(rows) != len(want) {
		t.Fatalf("audit rows = %+v, want %v", rows, want)
	}
	for i, r := range rows {
		if got := r.Action + " " + r.ObjectID; got != want[i] || r.Actor != d.ids["supervisor"] {
			t.Errorf("audit row %d = %+v, want %s by the supervisor", i, r, want[i])
		}
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
