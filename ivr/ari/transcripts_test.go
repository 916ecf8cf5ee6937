package ari

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/foshan-hotline/hotline/internal/repotest"
)

// transcriptLine is one JSON line of a transcript.
type transcriptLine struct {
	Seq         int             `json:"seq"`
	Kind        string          `json:"kind"`
	WS          string          `json:"ws"`
	Event       json.RawMessage `json:"event"`
	Method      string          `json:"method"`
	Path        string          `json:"path"`
	Query       string          `json:"query"`
	Body        json.RawMessage `json:"body"`
	Status      int             `json:"status"`
	RespHeaders map[string]string
	RespBody    json.RawMessage `json:"resp_body"`
	RespText    string          `json:"resp_text"`
	RespB64     string          `json:"resp_body_b64_prefix"`
}

// readTranscripts returns the lines of every *.jsonl transcript by file name.
func readTranscripts(t testing.TB) map[string][]transcriptLine {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repotest.Shared(t, "ari-transcripts"), "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts found: %v", err)
	}
	out := make(map[string][]transcriptLine)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var l transcriptLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			l.RespHeaders = respHeaders(sc.Bytes())
			out[filepath.Base(f)] = append(out[filepath.Base(f)], l)
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func respHeaders(line []byte) map[string]string {
	var h struct {
		RespHeaders map[string]string `json:"resp_headers"`
	}
	_ = json.Unmarshal(line, &h)
	return h.RespHeaders
}

// TestTranscriptEventsDecode decodes every event of every transcript into
// its typed struct, refusing any JSON field the struct does not model.
func TestTranscriptEventsDecode(t *testing.T) {
	types := map[string]int{}
	for file, lines := range readTranscripts(t) {
		for _, l := range lines {
			if l.Kind != "event" {
				continue
			}
			ev, err := DecodeEvent(l.Event)
			if err != nil {
				t.Errorf("%s seq %d: %v", file, l.Seq, err)
				continue
			}
			if u, ok := ev.(*UnknownEvent); ok {
				t.Errorf("%s seq %d: type %s decoded as unknown", file, l.Seq, u.Type)
				continue
			}
			b := ev.Base()
			types[b.Type]++
			if b.Type == "" || b.Timestamp.IsZero() || b.AsteriskID == "" || b.Application == "" {
				t.Errorf("%s seq %d: missing common fields: %+v", file, l.Seq, *b)
			}
			// Every field Asterisk sent must land in a struct field.
			dec := json.NewDecoder(bytes.NewReader(l.Event))
			dec.DisallowUnknownFields()
			std := newEvent(b.Type)
			if err := dec.Decode(std); err != nil {
				t.Errorf("%s seq %d: %s has a field the struct lacks: %v", file, l.Seq, b.Type, err)
			}
			// The faster decoder DecodeEvent uses must give what encoding/json gives.
			if !reflect.DeepEqual(ev, std) {
				t.Errorf("%s seq %d: %s decodes to\n%+v\nencoding/json gives\n%+v", file, l.Seq, b.Type, ev, std)
			}
		}
	}
	if got, want := len(types), 25; got < want {
		t.Errorf("decoded %d event types (%v), want at least %d", got, types, want)
	}
}

func TestTranscriptEventFields(t *testing.T) {
	first := map[string]Event{}
	all := readTranscripts(t)
	for _, name := range []string{"ivr-basic.jsonl", "bridge-agent.jsonl", "errors.jsonl", "reconnect.jsonl", "snoop-and-record.jsonl", "originate-failures.jsonl"} {
		for _, l := range all[name] {
			if l.Kind != "event" {
				continue
			}
			ev, err := DecodeEvent(l.Event)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := first[ev.Base().Type]; !ok {
				first[ev.Base().Type] = ev
			}
		}
	}
	tests := []struct {
		typ   string
		check func(Event) bool
	}{
		{"StasisStart", func(e Event) bool {
			s := e.(*StasisStart)
			return s.Channel.ID != "" && s.Args != nil && s.Channel.Dialplan.AppName == "Stasis"
		}},
		{"ChannelDtmfReceived", func(e Event) bool {
			d := e.(*ChannelDtmfReceived)
			return d.Digit != "" && d.DurationMs >= 100 && d.Channel.ID != ""
		}},
		{"PlaybackStarted", func(e Event) bool {
			p := e.(*PlaybackStarted)
			return p.Playback.ID != "" && p.Playback.State == "playing" && strings.HasPrefix(p.Playback.TargetURI, "channel:")
		}},
		{"ChannelHangupRequest", func(e Event) bool { return e.(*ChannelHangupRequest).Channel.ID != "" }},
		{"ChannelDestroyed", func(e Event) bool { return e.(*ChannelDestroyed).CauseTxt != "" }},
		{"ChannelVarset", func(e Event) bool { v := e.(*ChannelVarset); return v.Variable != "" && v.Channel != nil }},
		{"Dial", func(e Event) bool { return e.(*Dial).Peer.ID != "" }},
		{"ChannelEnteredBridge", func(e Event) bool {
			b := e.(*ChannelEnteredBridge)
			return b.Bridge.ID != "" && b.Channel != nil && len(b.Bridge.Channels) > 0
		}},
		{"RecordingFinished", func(e Event) bool {
			r := e.(*RecordingFinished)
			return r.Recording.Name != "" && r.Recording.State == "done"
		}},
		{"ApplicationMoveFailed", func(e Event) bool { return e.(*ApplicationMoveFailed).Destination == "no-such-app" }},
		{"ChannelUserevent", func(e Event) bool { return e.(*ChannelUserevent).EventName == "my-event" }},
		{"DeviceStateChanged", func(e Event) bool { return e.(*DeviceStateChanged).DeviceState.State != "" }},
		{"RESTResponse", func(e Event) bool { r := e.(*RESTResponse); return r.StatusCode == 200 && r.TransactionID == "tx-1" }},
		{"ApplicationReplaced", func(e Event) bool { return e.Base().Application == "hotline" }},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			ev, ok := first[tt.typ]
			if !ok {
				t.Fatalf("no %s event in the transcripts", tt.typ)
			}
			if !tt.check(ev) {
				t.Errorf("%s decoded without expected fields: %+v", tt.typ, ev)
			}
		})
	}
}

func TestTimeFormat(t *testing.T) {
	var tm Time
	if err := json.Unmarshal([]byte(`"2026-11-25T17:42:37.438+0000"`), &tm); err != nil {
		t.Fatal(err)
	}
	if got, want := tm.UnixMilli(), int64(1795628557438); got != want {
		t.Errorf("UnixMilli = %d, want %d", got, want)
	}
	b, err := json.Marshal(tm)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `"2026-11-25T17:42:37.438+0000"`; got != want {
		t.Errorf("Marshal = %s, want %s", got, want)
	}
}

func TestDecodeUnknownEventKeptRaw(t *testing.T) {
	raw := `{"type":"FancyNewEvent","timestamp":"2026-11-25T17:42:37.438+0000","thing":{"id":"x"},"asterisk_id":"a","application":"hotline"}`
	ev, err := DecodeEvent([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	u, ok := ev.(*UnknownEvent)
	if !ok {
		t.Fatalf("got %T, want *UnknownEvent", ev)
	}
	if got, want := string(u.Raw), raw; got != want {
		t.Errorf("Raw = %s, want %s", got, want)
	}
	if got, want := u.Type, "FancyNewEvent"; got != want {
		t.Errorf("Type = %q, want %q", got, want)
	}
	for _, bad := range []string{`{`, `{"timestamp":"x"}`} {
		if _, err := DecodeEvent([]byte(bad)); err == nil {
			t.Errorf("DecodeEvent(%s) succeeded, want error", bad)
		}
	}
}
