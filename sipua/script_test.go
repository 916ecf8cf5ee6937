package sipua

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseScript(t *testing.T) {
	tests := []struct {
		text string
		want string // the script written back, or the error's text
		err  bool
	}{
		{text: "wait:prompt 2s; keys 1; wait 3s; keys 2; listen 8s; hangup", want: "wait:prompt 2s; keys 1; wait 3s; keys 2; listen 8s; hangup"},
		{text: "WAIT:PROMPT 500ms\nkeys 440604#\n# a comment\nwait:silence 5s; wait:hangup 1m", want: "wait:prompt 500ms; keys 440604#; wait:silence 5s; wait:hangup 1m0s"},
		{text: "keys *0a", want: "keys *0A"},
		{text: "", want: "no steps", err: true},
		{text: "listen", want: `step 1 "listen": want listen DURATION`, err: true},
		{text: "listen 8", want: `"8" is not a duration`, err: true},
		{text: "listen -1s", want: "more than 0", err: true},
		{text: "listen 11m", want: "at most 10m0s", err: true},
		{text: "keys 12x", want: `'x' is not a DTMF digit`, err: true},
		{text: "keys", want: "want keys DIGITS", err: true},
		{text: "hangup; listen 1s", want: `step 2 "listen 1s" comes after hangup`, err: true},
		{text: "dial 123", want: `unknown step "dial"`, err: true},
		{text: "hangup now", want: "hangup takes nothing", err: true},
		{text: strings.Repeat("wait 10m;", 7), want: "last more than 1h0m0s", err: true},
		{text: strings.Repeat("keys 1;", MaxSteps+1), want: "more than 100 steps", err: true},
	}
	for _, tt := range tests {
		s, err := ParseScript(tt.text)
		if tt.err {
			if !errors.Is(err, ErrBadScript) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseScript(%q) = %v, want an error saying %q", tt.text, err, tt.want)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseScript(%q): %v", tt.text, err)
			continue
		}
		if got := s.String(); got != tt.want {
			t.Errorf("ParseScript(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestScriptTotals(t *testing.T) {
	s, err := ParseScript("wait:prompt 2s; keys 12; wait 3s; keys 2; listen 8s; hangup")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Duration(), 13*time.Second; got != want {
		t.Errorf("Duration = %s, want %s", got, want)
	}
	if got, want := s.Digits(), 3; got != want {
		t.Errorf("Digits = %d, want %d", got, want)
	}
}

func TestKeyPressPackets(t *testing.T) {
	// 100 ms in 20 ms frames: four packets under way, then the end three times, all 800.
	got := keyPress(5, 160)
	want := []uint16{160, 320, 480, 640, 800, 800, 800}
	if len(got) != len(want) {
		t.Fatalf("keyPress = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("keyPress = %v, want %v", got, want)
		}
	}
}

func TestEventDecoder(t *testing.T) {
	type pkt struct {
		code byte
		end  bool
		dur  uint16
		ts   uint32
	}
	press := func(code byte, ts uint32) []pkt {
		var ps []pkt
		for i, d := range keyPress(5, 160) {
			ps = append(ps, pkt{code, i >= 4, d, ts})
		}
		return ps
	}
	var stream []pkt
	stream = append(stream, press(1, 1000)...)
	stream = append(stream, press(1, 3000)...) // the same key again, a later event
	lost := press(11, 5000)
	stream = append(stream, lost[:3]...) // # loses its end packets
	stream = append(stream, press(10, 7000)...)
	var d eventDecoder
	var got []string
	for i, p := range stream {
		d.packet(eventPayload(make([]byte, 4), p.code, p.end, p.dur), p.ts, time.Duration(i)*frame, SampleRate, func(r ReceivedDigit) {
			got = append(got, r.Digit+"/"+time.Duration(r.Duration).String())
		})
	}
	want := "1/100ms 1/100ms #/60ms */100ms"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("digits = %q, want %q", g, want)
	}
}
