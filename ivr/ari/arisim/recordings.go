package arisim

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// liveRecording is a recording in progress. Simulated channels carry no
// audio, so the file written is silence of the recorded length.
type liveRecording struct {
	name, format, target string
	state                string
	ch                   *channel
	br                   *bridge
	start                time.Time
	pausedAt             time.Time
	paused               time.Duration
	maxSilence           int
	terminateOn          string
	timer                *action
}

var knownFormats = map[string]bool{"wav": true, "wav16": true, "gsm": true, "ulaw": true, "alaw": true, "sln": true, "g722": true}

func (l *liveRecording) json() liveRecordingJSON {
	return liveRecordingJSON{Name: l.name, Format: l.format, State: l.state, TargetURI: l.target}
}

func (s *Sim) recordingDirOK() bool {
	if s.opts.RecordingDir == "" {
		return false
	}
	st, err := os.Stat(s.opts.RecordingDir)
	return err == nil && st.IsDir()
}

// storedPath returns the WAV path of a stored recording, or "".
func (s *Sim) storedPath(name string) string {
	if !s.recordingDirOK() || name == "" || strings.Contains(name, "..") {
		return ""
	}
	p := filepath.Join(s.opts.RecordingDir, filepath.FromSlash(name)+".wav")
	if !fileExists(p) {
		return ""
	}
	return p
}

func (s *Sim) emitRecording(l *liveRecording, e *ev) {
	if l.ch != nil {
		s.emitChan(l.ch, e)
	} else if l.br != nil {
		s.emitBridge(l.br, e)
	}
}

// startRecording validates and starts a recording of ch or b.
func (s *Sim) startRecording(r *req, ch *channel, b *bridge, target string) resp {
	name := r.p.get("name")
	if name == "" {
		return fail(errParsingRequest)
	}
	format := r.p.get("format")
	if !knownFormats[format] {
		return fail(errUnknownFormat)
	}
	if s.live[name] != nil {
		return fail(errRecordingExists(name))
	}
	if !s.recordingDirOK() {
		if b != nil && b.typ == "mixing" {
			// Asterisk inserts the recorder before it fails to open the file.
			s.removeHelper(b, s.addHelper(b, "Recorder/ARI-"))
		}
		return fail(errInternal)
	}
	if s.storedPath(name) != "" && r.p.get("ifExists") != "overwrite" && r.p.get("ifExists") != "append" {
		return fail(errRecordingExists(name))
	}
	l := &liveRecording{name: name, format: format, target: target, state: "queued", ch: ch, br: b,
		start: s.now(), maxSilence: r.p.intParam("maxSilenceSeconds", 0), terminateOn: r.p.get("terminateOn")}
	out := l.json()
	s.live[name] = l
	if b != nil && b.typ == "mixing" {
		b.recorder = s.addHelper(b, "Recorder/ARI-")
	}
	l.state = "recording"
	s.emitRecording(l, &ev{typ: "RecordingStarted", body: []kv{{"recording", l.json()}}})
	limit := time.Duration(r.p.intParam("maxDurationSeconds", 0)) * time.Second
	if l.maxSilence > 0 {
		// A simulated channel is silent: silence detection ends the
		// recording as a real Asterisk did on a silent Local channel.
		if sl := time.Duration(l.maxSilence+3) * time.Second; limit == 0 || sl < limit {
			limit = sl
		}
	}
	if limit > 0 {
		l.timer = s.after(limit, func() { s.finishRecording(l, false) })
	}
	return created(out, "/ari/recordings/live/"+name)
}

// finishRecording ends a live recording; cancel deletes the file.
func (s *Sim) finishRecording(l *liveRecording, cancel bool) {
	if s.live[l.name] != l {
		return
	}
	s.stop(l.timer)
	delete(s.live, l.name)
	end := s.now()
	if l.state == "paused" {
		l.paused += end.Sub(l.pausedAt)
	}
	simLen := time.Duration(float64(end.Sub(l.start)-l.paused) * s.speed)
	dur := int(simLen / time.Second)
	if cancel {
		os.Remove(filepath.Join(s.opts.RecordingDir, l.name+".wav"))
	} else if err := writeSilentWAV(filepath.Join(s.opts.RecordingDir, l.name+".wav"), simLen); err != nil {
		s.log.Warn("recording not written", "recording", l.name, "err", err)
	}
	l.state = "done"
	j := l.json()
	if l.maxSilence > 0 {
		zero := 0
		j.Duration, j.TalkingDuration, j.SilenceDuration = &zero, &zero, &zero
	} else {
		j.Duration = &dur
	}
	s.emitRecording(l, &ev{typ: "RecordingFinished", body: []kv{{"recording", j}}})
	if l.br != nil && l.br.recorder != "" {
		s.removeHelper(l.br, l.br.recorder)
		l.br.recorder = ""
	}
}

func (s *Sim) stopRecordingsOf(target string, _ bool) {
	names := make([]string, 0)
	for n, l := range s.live {
		if l.target == target {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		s.finishRecording(s.live[n], false)
	}
}

// recordingDTMF ends recordings of ch whose terminateOn matches d.
func (s *Sim) recordingDTMF(ch *channel, d string) {
	for _, l := range s.live {
		if l.ch == ch && (l.terminateOn == d || l.terminateOn == "any") {
			s.finishRecording(l, false)
		}
	}
}

// writeSilentWAV writes 8 kHz mono 16-bit silence of length d.
func writeSilentWAV(path string, d time.Duration) error {
	n := int(d.Seconds()*8000) * 2
	buf := make([]byte, 44+n)
	copy(buf[0:], "RIFF")
	binary.LittleEndian.PutUint32(buf[4:], uint32(36+n))
	copy(buf[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(buf[16:], 16)
	binary.LittleEndian.PutUint16(buf[20:], 1)
	binary.LittleEndian.PutUint16(buf[22:], 1)
	binary.LittleEndian.PutUint32(buf[24:], 8000)
	binary.LittleEndian.PutUint32(buf[28:], 16000)
	binary.LittleEndian.PutUint16(buf[32:], 2)
	binary.LittleEndian.PutUint16(buf[34:], 16)
	copy(buf[36:], "data")
	binary.LittleEndian.PutUint32(buf[40:], uint32(n))
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return fmt.Errorf("write wav: %w", err)
	}
	return nil
}

func (s *Sim) liveIn(r *req) (*liveRecording, *apiError) {
	l := s.live[r.vars["name"]]
	if l == nil {
		return nil, errRecordingNotFound
	}
	return l, nil
}

func withLive(f func(s *Sim, l *liveRecording) resp) handlerFunc {
	return func(s *Sim, r *req) resp {
		l, err := s.liveIn(r)
		if err != nil {
			return fail(err)
		}
		return f(s, l)
	}
}

func init() {
	handle("POST", "channels/{channelId}/record", withStasis(func(s *Sim, ch *channel, r *req) resp {
		return s.startRecording(r, ch, nil, "channel:"+ch.id)
	}))
	handle("POST", "bridges/{bridgeId}/record", withBridge(func(s *Sim, b *bridge, r *req) resp {
		return s.startRecording(r, nil, b, "bridge:"+b.id)
	}))
	handle("GET", "recordings/live/{name}", withLive(func(s *Sim, l *liveRecording) resp { return ok(l.json()) }))
	handle("DELETE", "recordings/live/{name}", withLive(func(s *Sim, l *liveRecording) resp {
		s.finishRecording(l, true)
		return noContent()
	}))
	handle("POST", "recordings/live/{name}/stop", withLive(func(s *Sim, l *liveRecording) resp {
		s.finishRecording(l, false)
		return noContent()
	}))
	handle("POST", "recordings/live/{name}/pause", withLive(func(s *Sim, l *liveRecording) resp {
		if l.state == "recording" {
			l.state, l.pausedAt = "paused", s.now()
		}
		return noContent()
	}))
	handle("DELETE", "recordings/live/{name}/pause", withLive(func(s *Sim, l *liveRecording) resp {
		if l.state == "paused" {
			l.state = "recording"
			l.paused += s.now().Sub(l.pausedAt)
		}
		return noContent()
	}))
	nop := withLive(func(s *Sim, l *liveRecording) resp { return noContent() })
	handle("POST", "recordings/live/{name}/mute", nop)
	handle("DELETE", "recordings/live/{name}/mute", nop)
	handle("GET", "recordings/stored", func(s *Sim, r *req) resp {
		if !s.recordingDirOK() {
			return fail(errAllocation)
		}
		files, _ := filepath.Glob(filepath.Join(s.opts.RecordingDir, "*.wav"))
		out := make([]storedRecordingJSON, 0, len(files))
		for _, f := range files {
			out = append(out, storedRecordingJSON{Name: strings.TrimSuffix(filepath.Base(f), ".wav"), Format: "wav"})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return ok(out)
	})
	handle("GET", "recordings/stored/{name}", func(s *Sim, r *req) resp {
		if s.storedPath(r.vars["name"]) == "" {
			return fail(errRecordingNotFound)
		}
		return ok(storedRecordingJSON{Name: r.vars["name"], Format: "wav"})
	})
	handle("DELETE", "recordings/stored/{name}", func(s *Sim, r *req) resp {
		p := s.storedPath(r.vars["name"])
		if p == "" {
			return fail(errRecordingNotFound)
		}
		if err := os.Remove(p); err != nil {
			return fail(errInternal)
		}
		return noContent()
	})
	handle("GET", "recordings/stored/{name}/file", func(s *Sim, r *req) resp {
		p := s.storedPath(r.vars["name"])
		if p == "" {
			return fail(errRecordingNotFound)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fail(errInternal)
		}
		return resp{status: 200, raw: data, ctype: "audio/wav"}
	})
	handle("POST", "recordings/stored/{name}/copy", func(s *Sim, r *req) resp {
		p := s.storedPath(r.vars["name"])
		if p == "" {
			return fail(errRecordingNotFound)
		}
		dst := r.p.get("destinationRecordingName")
		if dst == "" || strings.Contains(dst, "..") {
			return fail(errMissingDest)
		}
		if s.storedPath(dst) != "" {
			return fail(errStoredExists)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return fail(errInternal)
		}
		if err := os.WriteFile(filepath.Join(s.opts.RecordingDir, dst+".wav"), data, 0o644); err != nil {
			return fail(errInternal)
		}
		return ok(storedRecordingJSON{Name: dst, Format: "wav"})
	})
}
