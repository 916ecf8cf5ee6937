package ari_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline/ivr/ari"
)

const (
	testUser     = "hotline"
	testPassword = "s3cret-pa55"
)

// seen is what the fake Asterisk received.
type seen struct {
	method, path, auth string
	query              url.Values
	body               []byte
}

// replayServer answers every request with one recorded response and keeps
// the last request.
type replayServer struct {
	mu   sync.Mutex
	line ari.TranscriptLine
	last seen
}

func (s *replayServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.last = seen{method: r.Method, path: r.URL.EscapedPath(), auth: r.Header.Get("Authorization"), query: r.URL.Query(), body: body}
	l := s.line
	s.mu.Unlock()
	for k, v := range l.RespHeaders {
		if k != "Content-Length" && k != "Date" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(l.Status)
	switch {
	case l.RespB64 != "":
		b, _ := base64.StdEncoding.DecodeString(l.RespB64)
		w.Write(b)
	case len(l.RespBody) > 0 && string(l.RespBody) != "null":
		w.Write(l.RespBody)
	case l.RespText != "":
		io.WriteString(w, l.RespText)
	}
}

// findREST returns the first recorded REST exchange with that request.
func findREST(t *testing.T, all map[string][]ari.TranscriptLine, file, method, path, query string) ari.TranscriptLine {
	t.Helper()
	for _, l := range all[file] {
		if l.Kind == "rest" && l.Method == method && l.Path == path && l.Query == query {
			return l
		}
	}
	t.Fatalf("no %s %s?%s in %s", method, path, query, file)
	return ari.TranscriptLine{}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestClientRequestsMatchTranscripts(t *testing.T) {
	all := ari.ReadTranscripts(t)
	srv := &replayServer{}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, err := ari.NewClient(hs.URL, testUser, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	type result struct {
		v   any
		err error
	}
	wantErr := func(targets ...error) func(*testing.T, result) {
		return func(t *testing.T, r result) {
			t.Helper()
			for _, target := range targets {
				if !errors.Is(r.err, target) {
					t.Errorf("err = %v, want it to match %v", r.err, target)
				}
			}
		}
	}
	notErr := func(target error) func(*testing.T, result) {
		return func(t *testing.T, r result) {
			t.Helper()
			if r.err == nil || errors.Is(r.err, target) {
				t.Errorf("err = %v, want a non-nil error not matching %v", r.err, target)
			}
		}
	}
	ok := func(check func(v any) bool) func(*testing.T, result) {
		return func(t *testing.T, r result) {
			t.Helper()
			if r.err != nil {
				t.Fatalf("err = %v", r.err)
			}
			if check != nil && !check(r.v) {
				t.Errorf("decoded %+v", r.v)
			}
		}
	}
	two := func(v any, err error) result { return result{v, err} }
	one := func(err error) result { return result{nil, err} }
	ch := func(id string) *ari.ChannelHandle { return c.Channel(id) }

	tests := []struct {
		name                      string
		file, method, path, query string
		extra                     url.Values // parameters the client adds (client-chosen ids)
		body                      string     // expected JSON body, if any
		call                      func() result
		check                     func(*testing.T, result)
	}{
		{"ping", "errors.jsonl", "GET", "/ari/asterisk/ping", "api_key=hotline:hotline-secret", nil, "",
			func() result { return two(c.Ping(ctx)) }, nil},
		{"originate with ids", "originate-failures.jsonl", "POST", "/ari/channels",
			"endpoint=Local%2F13800138011%40hotline-in&app=caller&channelId=test-caller-1&otherChannelId=test-caller-1-b", nil, "",
			func() result {
				return two(c.Originate(ctx, ari.OriginateRequest{Endpoint: "Local/13800138011@hotline-in", App: "caller",
					ChannelID: "test-caller-1", OtherChannelID: "test-caller-1-b"}))
			}, ok(func(v any) bool { return v.(*ari.Channel).ID == "test-caller-1" && v.(*ari.Channel).State == "Down" })},
		{"originate agent", "bridge-agent.jsonl", "POST", "/ari/channels",
			"endpoint=Local%2Fs%40caller-side&app=hotline&appArgs=agent%2C1001&callerId=Hotline+%3C4000%3E&timeout=20", nil, "",
			func() result {
				return two(c.Originate(ctx, ari.OriginateRequest{Endpoint: "Local/s@caller-side", App: "hotline",
					AppArgs: []string{"agent", "1001"}, CallerID: "Hotline <4000>", Timeout: 20 * time.Second}))
			}, ok(nil)},
		{"originate variables in body", "originate-failures.jsonl", "POST", "/ari/channels",
			"endpoint=Local%2F13800138013%40hotline-in&extension=s&context=caller-side&priority=1", nil,
			`{"variables":{"CALLERID(name)":"Tester","MYVAR":"hello"}}`,
			func() result {
				return two(c.Originate(ctx, ari.OriginateRequest{Endpoint: "Local/13800138013@hotline-in", Extension: "s",
					Context: "caller-side", Priority: 1, Variables: map[string]string{"CALLERID(name)": "Tester", "MYVAR": "hello"}}))
			}, ok(nil)},
		{"originate allocation failed", "originate-failures.jsonl", "POST", "/ari/channels", "endpoint=SIP%2F9999&app=hotline", nil, "",
			func() result {
				return two(c.Originate(ctx, ari.OriginateRequest{Endpoint: "SIP/9999", App: "hotline"}))
			},
			func(t *testing.T, r result) {
				var e *ari.Error
				if !errors.As(r.err, &e) {
					t.Fatalf("err = %v, want *ari.Error", r.err)
				}
				if got, want := e.Status, 500; got != want {
					t.Errorf("Status = %d, want %d", got, want)
				}
				if got, want := e.Message, "Allocation failed"; got != want {
					t.Errorf("Message = %q, want %q", got, want)
				}
			}},
		{"originate duplicate id", "originate-failures.jsonl", "POST", "/ari/channels/test-caller-1", "endpoint=Local%2F13800138012%40hotline-in&app=caller", nil, "",
			func() result {
				return two(ch("test-caller-1").Originate(ctx, ari.OriginateRequest{Endpoint: "Local/13800138012@hotline-in", App: "caller"}))
			}, wantErr(ari.ErrConflict)},
		{"create channel", "originate-failures.jsonl", "POST", "/ari/channels/create", "endpoint=Local%2Fs%40caller-side&app=hotline&appArgs=dialed", nil, "",
			func() result {
				return two(c.CreateChannel(ctx, ari.CreateRequest{Endpoint: "Local/s@caller-side", App: "hotline", AppArgs: []string{"dialed"}}))
			}, ok(func(v any) bool { return v.(*ari.Channel).State == "Down" })},
		{"list channels", "ivr-basic.jsonl", "GET", "/ari/channels", "", nil, "",
			func() result { return two(c.ListChannels(ctx)) }, ok(func(v any) bool { return len(v.([]ari.Channel)) > 0 })},
		{"answer", "ivr-basic.jsonl", "POST", "/ari/channels/1795629163.116/answer", "", nil, "",
			func() result { return one(ch("1795629163.116").Answer(ctx)) }, ok(nil)},
		{"answer unknown channel", "errors.jsonl", "POST", "/ari/channels/nope/answer", "", nil, "",
			func() result { return one(ch("nope").Answer(ctx)) }, wantErr(ari.ErrNotFound, ari.ErrChannelGone)},
		{"answer not in stasis", "errors.jsonl", "POST", "/ari/channels/1795629709.200/answer", "", nil, "",
			func() result { return one(ch("1795629709.200").Answer(ctx)) }, wantErr(ari.ErrChannelGone, ari.ErrConflict)},
		{"hangup busy", "hangup-during-playback.jsonl", "DELETE", "/ari/channels/1795629188.122", "reason=busy", nil, "",
			func() result { return one(ch("1795629188.122").Hangup(ctx, ari.HangupBusy)) }, ok(nil)},
		{"hangup code", "errors.jsonl", "DELETE", "/ari/channels/1795629737.207", "reason_code=17", nil, "",
			func() result { return one(ch("1795629737.207").HangupCode(ctx, 17)) }, ok(nil)},
		{"hangup twice", "errors.jsonl", "DELETE", "/ari/channels/1795629709.201", "", nil, "",
			func() result { return one(ch("1795629709.201").Hangup(ctx, "")) }, wantErr(ari.ErrChannelGone)},
		{"play media list", "ivr-basic.jsonl", "POST", "/ari/channels/1795629163.116/play", "media=sound%3Adigits%2F4%2Csound%3Adigits%2F5",
			url.Values{"playbackId": {"pb-1"}}, "",
			func() result {
				return two(ch("1795629163.116").Play(ctx, ari.PlayOptions{ID: "pb-1", Media: []string{"sound:digits/4", "sound:digits/5"}}))
			}, ok(func(v any) bool {
				p := v.(*ari.Playback)
				return p.MediaURI == "sound:digits/4" && p.NextMediaURI == "sound:digits/5"
			})},
		{"play lang", "errors.jsonl", "POST", "/ari/channels/1795629709.201/play", "media=sound%3Abeep&lang=xx",
			url.Values{"playbackId": {"pb-2"}}, "",
			func() result {
				return two(ch("1795629709.201").Play(ctx, ari.PlayOptions{ID: "pb-2", Media: []string{"sound:beep"}, Lang: "xx"}))
			}, ok(func(v any) bool { return v.(*ari.Playback).Language == "xx" })},
		{"play gone channel", "errors.jsonl", "POST", "/ari/channels/nope/play", "media=sound%3Ahello-world", url.Values{"playbackId": {"pb-3"}}, "",
			func() result {
				return two(ch("nope").Play(ctx, ari.PlayOptions{ID: "pb-3", Media: []string{"sound:hello-world"}}))
			}, wantErr(ari.ErrChannelGone)},
		{"dtmf", "ivr-basic.jsonl", "POST", "/ari/channels/1795629163.115/dtmf", "dtmf=12%23", nil, "",
			func() result { return one(ch("1795629163.115").SendDTMF(ctx, "12#", ari.DTMFOptions{})) }, ok(nil)},
		{"dtmf duration", "ivr-basic.jsonl", "POST", "/ari/channels/1795629163.115/dtmf", "dtmf=5&duration=250", nil, "",
			func() result {
				return one(ch("1795629163.115").SendDTMF(ctx, "5", ari.DTMFOptions{Duration: 250 * time.Millisecond}))
			}, ok(nil)},
		{"hold off", "bridge-agent.jsonl", "DELETE", "/ari/channels/1795629194.126/hold", "", nil, "",
			func() result { return one(ch("1795629194.126").Unhold(ctx)) }, ok(nil)},
		{"moh", "bridge-agent.jsonl", "POST", "/ari/channels/1795629194.126/moh", "mohClass=default", nil, "",
			func() result { return one(ch("1795629194.126").StartMOH(ctx, "default")) }, ok(nil)},
		{"snoop", "snoop-and-record.jsonl", "POST", "/ari/channels/1795629292.178/snoop", "spy=both&whisper=none&app=hotline&appArgs=snooping",
			url.Values{"snoopId": {"snoop-1"}}, "",
			func() result {
				return two(ch("1795629292.178").Snoop(ctx, ari.SnoopOptions{ID: "snoop-1", Spy: ari.DirectionBoth,
					Whisper: ari.DirectionNone, App: "hotline", AppArgs: []string{"snooping"}}))
			}, ok(func(v any) bool { return strings.HasPrefix(v.(*ari.Channel).Name, "Snoop/") })},
		{"snoop gone", "errors.jsonl", "POST", "/ari/channels/nope/snoop", "spy=both&app=hotline", url.Values{"snoopId": {"s2"}}, "",
			func() result {
				return two(ch("nope").Snoop(ctx, ari.SnoopOptions{ID: "s2", Spy: ari.DirectionBoth, App: "hotline"}))
			}, wantErr(ari.ErrNotFound, ari.ErrChannelGone)},
		{"record channel", "snoop-and-record.jsonl", "POST", "/ari/channels/1795629292.178/record",
			"name=chan-rec-1&format=wav&beep=true&terminateOn=%23&maxSilenceSeconds=5&ifExists=overwrite", nil, "",
			func() result {
				return two(ch("1795629292.178").Record(ctx, ari.RecordOptions{Name: "chan-rec-1", Format: "wav", Beep: true,
					TerminateOn: "#", MaxSilence: 5 * time.Second, IfExists: ari.IfExistsOverwrite}))
			}, ok(func(v any) bool { return v.(*ari.LiveRecording).State == "queued" })},
		{"record name in use", "snoop-and-record.jsonl", "POST", "/ari/channels/1795629292.179/record", "name=snoop-rec-1&format=wav", nil, "",
			func() result {
				return two(ch("1795629292.179").Record(ctx, ari.RecordOptions{Name: "snoop-rec-1", Format: "wav"}))
			}, func(t *testing.T, r result) { wantErr(ari.ErrConflict)(t, r); notErr(ari.ErrChannelGone)(t, r) }},
		{"record bad format", "snoop-and-record.jsonl", "POST", "/ari/channels/1795629292.179/record", "name=bad-fmt&format=nosuchfmt", nil, "",
			func() result {
				return two(ch("1795629292.179").Record(ctx, ari.RecordOptions{Name: "bad-fmt", Format: "nosuchfmt"}))
			}, wantErr(ari.ErrInvalid)},
		{"variable", "errors.jsonl", "GET", "/ari/channels/1795629709.201/variable", "variable=CALLERID%28num%29", nil, "",
			func() result { return two(ch("1795629709.201").Variable(ctx, "CALLERID(num)")) },
			ok(func(v any) bool { return v.(string) == "13800138020" })},
		{"variable unset is not a gone channel", "errors.jsonl", "GET", "/ari/channels/1795629709.201/variable", "variable=NOT_SET_VAR", nil, "",
			func() result { return two(ch("1795629709.201").Variable(ctx, "NOT_SET_VAR")) },
			func(t *testing.T, r result) { wantErr(ari.ErrNotFound)(t, r); notErr(ari.ErrChannelGone)(t, r) }},
		{"variable of gone channel", "errors.jsonl", "GET", "/ari/channels/nope/variable", "variable=X", nil, "",
			func() result { return two(ch("nope").Variable(ctx, "X")) }, wantErr(ari.ErrChannelGone)},
		{"set variable", "errors.jsonl", "POST", "/ari/channels/1795629709.201/variable", "variable=MYVAR&value=hello+world", nil, "",
			func() result { return one(ch("1795629709.201").SetVariable(ctx, "MYVAR", "hello world")) }, ok(nil)},
		{"continue", "errors.jsonl", "POST", "/ari/channels/1795629709.201/continue", "context=caller-side&extension=s&priority=1", nil, "",
			func() result {
				return one(ch("1795629709.201").Continue(ctx, ari.ContinueOptions{Context: "caller-side", Extension: "s", Priority: 1}))
			}, ok(nil)},
		{"continue bad label", "errors.jsonl", "POST", "/ari/channels/1795629735.205/continue", "context=hotline-in&extension=13800138022&label=nolabel", nil, "",
			func() result {
				return one(ch("1795629735.205").Continue(ctx, ari.ContinueOptions{Context: "hotline-in", Extension: "13800138022", Label: "nolabel"}))
			}, func(t *testing.T, r result) { wantErr(ari.ErrNotFound)(t, r); notErr(ari.ErrChannelGone)(t, r) }},
		{"move", "errors.jsonl", "POST", "/ari/channels/1795629709.201/move", "app=caller&appArgs=moved", nil, "",
			func() result { return one(ch("1795629709.201").Move(ctx, "caller", "moved")) }, ok(nil)},
		{"dial", "originate-failures.jsonl", "POST", "/ari/channels/1795629252.163/dial", "timeout=2", nil, "",
			func() result { return one(ch("1795629252.163").Dial(ctx, "", 2*time.Second)) }, ok(nil)},
		{"dial twice", "originate-failures.jsonl", "POST", "/ari/channels/1795629249.161/dial", "", nil, "",
			func() result { return one(ch("1795629249.161").Dial(ctx, "", 0)) },
			func(t *testing.T, r result) { wantErr(ari.ErrConflict)(t, r); notErr(ari.ErrChannelGone)(t, r) }},
		{"create bridge with id", "bridge-agent.jsonl", "POST", "/ari/bridges/my-bridge-1", "type=mixing%2Cdtmf_events&name=conf", nil, "",
			func() result {
				return two(c.CreateBridge(ctx, ari.BridgeOptions{ID: "my-bridge-1", Types: []string{ari.BridgeMixing, ari.BridgeDTMFEvents}, Name: "conf"}))
			}, ok(func(v any) bool { return v.(*ari.Bridge).ID == "my-bridge-1" && v.(*ari.Bridge).BridgeType == "mixing" })},
		{"add channels", "bridge-agent.jsonl", "POST", "/ari/bridges/my-bridge-1/addChannel", "channel=1795629211.136%2C1795629211.138", nil, "",
			func() result { return one(c.Bridge("my-bridge-1").AddChannel(ctx, "1795629211.136", "1795629211.138")) }, ok(nil)},
		{"add unknown channel", "errors.jsonl", "POST", "/ari/bridges/ff74e25f-3f3a-434e-a38c-42708cedafd0/addChannel", "channel=nope", nil, "",
			func() result { return one(c.Bridge("ff74e25f-3f3a-434e-a38c-42708cedafd0").AddChannel(ctx, "nope")) },
			wantErr(ari.ErrChannelGone, ari.ErrInvalid)},
		{"remove channel not in bridge", "errors.jsonl", "POST", "/ari/bridges/ff74e25f-3f3a-434e-a38c-42708cedafd0/removeChannel", "channel=1795629709.201", nil, "",
			func() result {
				return one(c.Bridge("ff74e25f-3f3a-434e-a38c-42708cedafd0").RemoveChannel(ctx, "1795629709.201"))
			},
			wantErr(ari.ErrInvalid)},
		{"bridge moh stop when none", "bridge-agent.jsonl", "DELETE", "/ari/bridges/b31250f1-c37e-4323-ac98-afbbf55a7a46/moh", "", nil, "",
			func() result { return one(c.Bridge("b31250f1-c37e-4323-ac98-afbbf55a7a46").StopMOH(ctx)) }, wantErr(ari.ErrConflict)},
		{"bridge moh stop", "bridge-agent.jsonl", "DELETE", "/ari/bridges/b31250f1-c37e-4323-ac98-afbbf55a7a46/moh", "", nil, "",
			func() result { return one(c.Bridge("b31250f1-c37e-4323-ac98-afbbf55a7a46").StopMOH(ctx)) }, ok(nil)},
		{"bridge play", "snoop-and-record.jsonl", "POST", "/ari/bridges/bd2b2408-b950-40e2-9ea4-964c8ffd5a9e/play", "media=sound%3Ahello-world",
			url.Values{"playbackId": {"bp-1"}}, "",
			func() result {
				return two(c.Bridge("bd2b2408-b950-40e2-9ea4-964c8ffd5a9e").Play(ctx, ari.PlayOptions{ID: "bp-1", Media: []string{"sound:hello-world"}}))
			}, ok(func(v any) bool { return strings.HasPrefix(v.(*ari.Playback).TargetURI, "bridge:") })},
		{"bridge record", "snoop-and-record.jsonl", "POST", "/ari/bridges/bd2b2408-b950-40e2-9ea4-964c8ffd5a9e/record", "name=bridge-rec-1&format=wav&ifExists=overwrite", nil, "",
			func() result {
				return two(c.Bridge("bd2b2408-b950-40e2-9ea4-964c8ffd5a9e").Record(ctx, ari.RecordOptions{Name: "bridge-rec-1", Format: "wav", IfExists: ari.IfExistsOverwrite}))
			}, ok(nil)},
		{"get deleted bridge", "bridge-agent.jsonl", "GET", "/ari/bridges/21d79884-f712-4435-ba5e-79ee391785a7", "", nil, "",
			func() result { return two(c.Bridge("21d79884-f712-4435-ba5e-79ee391785a7").Get(ctx)) },
			func(t *testing.T, r result) { wantErr(ari.ErrNotFound)(t, r); notErr(ari.ErrChannelGone)(t, r) }},
		{"destroy bridge", "bridge-agent.jsonl", "DELETE", "/ari/bridges/my-bridge-1", "", nil, "",
			func() result { return one(c.Bridge("my-bridge-1").Destroy(ctx)) }, ok(nil)},
		{"playback control", "ivr-basic.jsonl", "POST", "/ari/playbacks/55363ef3-56cf-4b49-8b4f-001fc1991997/control", "operation=pause", nil, "",
			func() result {
				return one(c.Playback("55363ef3-56cf-4b49-8b4f-001fc1991997").Control(ctx, ari.PlaybackPause))
			}, ok(nil)},
		{"playback not found", "errors.jsonl", "POST", "/ari/playbacks/nope/control", "operation=pause", nil, "",
			func() result { return one(c.Playback("nope").Control(ctx, ari.PlaybackPause)) },
			func(t *testing.T, r result) { wantErr(ari.ErrNotFound)(t, r); notErr(ari.ErrChannelGone)(t, r) }},
		{"playback get", "ivr-basic.jsonl", "GET", "/ari/playbacks/55363ef3-56cf-4b49-8b4f-001fc1991997", "", nil, "",
			func() result { return two(c.Playback("55363ef3-56cf-4b49-8b4f-001fc1991997").Get(ctx)) }, ok(nil)},
		{"playback stop", "snoop-and-record.jsonl", "DELETE", "/ari/playbacks/9b58437e-c46f-479c-aa9d-ab8421672d01", "", nil, "",
			func() result { return one(c.Playback("9b58437e-c46f-479c-aa9d-ab8421672d01").Stop(ctx)) }, ok(nil)},
		{"live recording get", "snoop-and-record.jsonl", "GET", "/ari/recordings/live/snoop-rec-1", "", nil, "",
			func() result { return two(c.LiveRecording("snoop-rec-1").Get(ctx)) },
			ok(func(v any) bool { return v.(*ari.LiveRecording).State == "recording" })},
		{"live recording pause", "snoop-and-record.jsonl", "POST", "/ari/recordings/live/snoop-rec-1/pause", "", nil, "",
			func() result { return one(c.LiveRecording("snoop-rec-1").Pause(ctx)) }, ok(nil)},
		{"live recording unpause", "snoop-and-record.jsonl", "DELETE", "/ari/recordings/live/snoop-rec-1/pause", "", nil, "",
			func() result { return one(c.LiveRecording("snoop-rec-1").Unpause(ctx)) }, ok(nil)},
		{"live recording mute", "snoop-and-record.jsonl", "POST", "/ari/recordings/live/snoop-rec-1/mute", "", nil, "",
			func() result { return one(c.LiveRecording("snoop-rec-1").Mute(ctx)) }, ok(nil)},
		{"live recording unmute", "snoop-and-record.jsonl", "DELETE", "/ari/recordings/live/snoop-rec-1/mute", "", nil, "",
			func() result { return one(c.LiveRecording("snoop-rec-1").Unmute(ctx)) }, ok(nil)},
		{"live recording stop", "snoop-and-record.jsonl", "POST", "/ari/recordings/live/snoop-rec-1/stop", "", nil, "",
			func() result { return one(c.LiveRecording("snoop-rec-1").Stop(ctx)) }, ok(nil)},
		{"live recording cancel", "snoop-and-record.jsonl", "DELETE", "/ari/recordings/live/snoop-rec-3", "", nil, "",
			func() result { return one(c.LiveRecording("snoop-rec-3").Cancel(ctx)) }, ok(nil)},
		{"live recording gone", "errors.jsonl", "POST", "/ari/recordings/live/nope/stop", "", nil, "",
			func() result { return one(c.LiveRecording("nope").Stop(ctx)) }, wantErr(ari.ErrNotFound)},
		{"stored list", "snoop-and-record.jsonl", "GET", "/ari/recordings/stored", "", nil, "",
			func() result { return two(c.ListStoredRecordings(ctx)) }, ok(nil)},
		{"stored list without dir", "snoop-and-record-missing-recording-dir.jsonl", "GET", "/ari/recordings/stored", "", nil, "",
			func() result { return two(c.ListStoredRecordings(ctx)) },
			func(t *testing.T, r result) {
				var e *ari.Error
				if !errors.As(r.err, &e) || e.Status != 500 || e.Message != "Allocation failed" {
					t.Errorf("err = %v, want 500 Allocation failed", r.err)
				}
			}},
		{"stored get", "snoop-and-record.jsonl", "GET", "/ari/recordings/stored/snoop-rec-1", "", nil, "",
			func() result { return two(c.StoredRecording("snoop-rec-1").Get(ctx)) },
			ok(func(v any) bool { return v.(*ari.StoredRecording).Format == "wav" })},
		{"stored copy", "snoop-and-record.jsonl", "POST", "/ari/recordings/stored/snoop-rec-1/copy", "destinationRecordingName=snoop-rec-1-copy", nil, "",
			func() result { return two(c.StoredRecording("snoop-rec-1").Copy(ctx, "snoop-rec-1-copy")) },
			ok(func(v any) bool { return v.(*ari.StoredRecording).Name == "snoop-rec-1-copy" })},
		{"stored delete", "snoop-and-record.jsonl", "DELETE", "/ari/recordings/stored/snoop-rec-1", "", nil, "",
			func() result { return one(c.StoredRecording("snoop-rec-1").Delete(ctx)) }, ok(nil)},
		{"stored file", "snoop-and-record.jsonl", "GET", "/ari/recordings/stored/snoop-rec-1/file", "", nil, "",
			func() result {
				var buf bytes.Buffer
				_, ctype, err := c.StoredRecording("snoop-rec-1").Download(ctx, &buf)
				return result{[2]string{ctype, buf.String()[:4]}, err}
			}, ok(func(v any) bool { return v.([2]string) == [2]string{"audio/wav", "RIFF"} })},
		{"endpoints", "errors.jsonl", "GET", "/ari/endpoints", "", nil, "",
			func() result { return two(c.ListEndpoints(ctx)) }, ok(func(v any) bool { return len(v.([]ari.Endpoint)) == 4 })},
		{"endpoint", "errors.jsonl", "GET", "/ari/endpoints/SIP/1001", "", nil, "",
			func() result { return two(c.Endpoint("SIP", "1001").Get(ctx)) },
			ok(func(v any) bool { return v.(*ari.Endpoint).State == "unknown" })},
		{"endpoint unknown", "errors.jsonl", "GET", "/ari/endpoints/SIP/9999", "", nil, "",
			func() result { return two(c.Endpoint("SIP", "9999").Get(ctx)) }, wantErr(ari.ErrNotFound)},
		{"application", "reconnect.jsonl", "GET", "/ari/applications/hotline", "", nil, "",
			func() result { return two(c.Application("hotline").Get(ctx)) }, ok(nil)},
		{"subscribe", "bridge-agent.jsonl", "POST", "/ari/applications/hotline/subscription", "eventSource=bridge%3A171abd5b-789f-4463-a7fc-a00a0570d6cb", nil, "",
			func() result {
				return two(c.Application("hotline").Subscribe(ctx, "bridge:171abd5b-789f-4463-a7fc-a00a0570d6cb"))
			}, ok(func(v any) bool { return len(v.(*ari.Application).BridgeIDs) == 1 })},
		{"unsubscribe", "reconnect.jsonl", "DELETE", "/ari/applications/caller/subscription", "eventSource=channel%3A1795629333.195", nil, "",
			func() result { return two(c.Application("caller").Unsubscribe(ctx, "channel:1795629333.195")) }, ok(nil)},
		{"unauthorized", "errors.jsonl", "GET", "/ari/channels", "", nil, "",
			func() result { return two(c.ListChannels(ctx)) }, wantErr(ari.ErrUnauthorized)},
	}
	// Cases replaying a later exchange of the same request.
	byStatus := map[string]int{"unauthorized": 401, "bridge moh stop when none": 409, "get deleted bridge": 404}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := findREST(t, all, tt.file, tt.method, tt.path, tt.query)
			if status, ok := byStatus[tt.name]; ok {
				line = firstWithStatus(t, all, tt.file, tt.method, tt.path, status)
			}
			srv.mu.Lock()
			srv.line = line
			srv.mu.Unlock()
			r := tt.call()

			srv.mu.Lock()
			got := srv.last
			srv.mu.Unlock()
			if got.method != tt.method || got.path != tt.path {
				t.Errorf("request = %s %s, want %s %s", got.method, got.path, tt.method, tt.path)
			}
			want := mustQuery(t, tt.query)
			want.Del("api_key") // the client authenticates with a header, never in the URL
			for k, v := range tt.extra {
				want[k] = v
			}
			if len(want) == 0 {
				want = url.Values{}
			}
			if !reflect.DeepEqual(got.query, want) {
				t.Errorf("query = %v, want %v", got.query, want)
			}
			if got, want := got.auth, "Basic "+base64.StdEncoding.EncodeToString([]byte(testUser+":"+testPassword)); got != want {
				t.Errorf("Authorization = %q, want %q", got, want)
			}
			if tt.body != "" {
				var g, w any
				if err := json.Unmarshal(got.body, &g); err != nil {
					t.Fatalf("body %q: %v", got.body, err)
				}
				_ = json.Unmarshal([]byte(tt.body), &w)
				if !reflect.DeepEqual(g, w) {
					t.Errorf("body = %s, want %s", got.body, tt.body)
				}
			} else if len(got.body) != 0 {
				t.Errorf("unexpected body %s", got.body)
			}
			if r.err != nil && strings.Contains(r.err.Error(), testPassword) {
				t.Errorf("error leaks the password: %v", r.err)
			}
			if tt.check == nil {
				tt.check = ok(nil)
			}
			tt.check(t, r)
		})
	}
}

func firstWithStatus(t *testing.T, all map[string][]ari.TranscriptLine, file, method, path string, status int) ari.TranscriptLine {
	t.Helper()
	for _, l := range all[file] {
		if l.Kind == "rest" && l.Method == method && l.Path == path && l.Status == status {
			return l
		}
	}
	t.Fatalf("no %s %s with status %d in %s", method, path, status, file)
	return ari.TranscriptLine{}
}

func TestPlayMediaWithCommaUsesJSONBody(t *testing.T) {
	srv := &replayServer{line: ari.TranscriptLine{Status: 201, RespBody: json.RawMessage(`{"id":"p1","media_uri":"sound:a","target_uri":"channel:c1","language":"en","state":"queued"}`)}}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c, err := ari.NewClient(hs.URL+"/ari", testUser, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Channel("c1").Play(context.Background(), ari.PlayOptions{ID: "p1", Media: []string{"sound:a", "tone:ring,x"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := srv.last.path, "/ari/channels/c1/play"; got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
	if got, want := srv.last.query.Get("media"), ""; got != want {
		t.Errorf("media query = %q, want none", got)
	}
	if got, want := string(srv.last.body), `{"media":["sound:a","tone:ring,x"]}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
}

func TestCredentialsNeverShown(t *testing.T) {
	c, err := ari.NewClient("http://127.0.0.1:8088", testUser, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	n := ari.Node{Name: "n1", URL: "http://127.0.0.1:8088", User: testUser, Password: testPassword, App: "hotline"}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("node", "node", n)
	for name, s := range map[string]string{
		"client":   c.String(),
		"node":     n.String(),
		"node log": logged.String(),
		"node %v":  fmt.Sprintf("%v %+v %#v", n, n, n),
	} {
		if strings.Contains(s, testPassword) {
			t.Errorf("%s shows the password: %s", name, s)
		}
	}
	_, err = ari.NewClient("http://hotline:"+testPassword+"@127.0.0.1:8088", "", "")
	if err == nil {
		t.Fatal("NewClient accepted credentials in the URL")
	}
	if strings.Contains(err.Error(), testPassword) {
		t.Errorf("error shows the password: %v", err)
	}
	// A transport failure must not show them either.
	c2, _ := ari.NewClient("http://127.0.0.1:1", testUser, testPassword)
	if _, err := c2.Ping(context.Background()); err == nil || strings.Contains(err.Error(), testPassword) {
		t.Errorf("Ping error = %v, want an error without the password", err)
	}
}
