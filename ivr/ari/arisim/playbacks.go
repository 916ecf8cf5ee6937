package arisim

import (
	"slices"
	"time"
)

// playback is one ARI playback: a media list played in order on a
// channel or bridge, queued FIFO behind earlier playbacks.
type playback struct {
	id        string
	media     []string
	idx       int
	lang      string
	target    string
	state     string
	ch        *channel
	br        *bridge
	timer     *action
	started   time.Time     // simulated start of the current segment
	remaining time.Duration // simulated time left in the current media
	full      time.Duration
	stopped   bool
	internal  bool // dialplan fallback: no ARI object, no events
}

func (p *playback) json() playbackJSON {
	j := playbackJSON{ID: p.id, MediaURI: p.media[p.idx], TargetURI: p.target, Language: p.lang, State: p.state}
	if p.idx+1 < len(p.media) {
		j.NextMediaURI = p.media[p.idx+1]
	}
	return j
}

func (s *Sim) newPlayback(id string, media []string, lang, target string) *playback {
	if id == "" {
		id = newUUID()
	}
	return &playback{id: id, media: media, lang: lang, target: target, state: "queued"}
}

func (s *Sim) emitPlayback(p *playback, typ string) {
	if p.internal {
		return
	}
	e := &ev{typ: typ, body: []kv{{"playback", p.json()}}}
	if p.ch != nil {
		s.emitChan(p.ch, e)
	} else if p.br != nil {
		s.emitBridge(p.br, e)
	}
}

func (s *Sim) register(p *playback) {
	if !p.internal {
		s.playbacks[p.id] = append(s.playbacks[p.id], p)
	}
}

func (s *Sim) unregister(p *playback) {
	l := s.playbacks[p.id]
	if i := slices.Index(l, p); i >= 0 {
		l = slices.Delete(l, i, i+1)
	}
	if len(l) == 0 {
		delete(s.playbacks, p.id)
	} else {
		s.playbacks[p.id] = l
	}
}

func (s *Sim) queueOf(p *playback) *[]*playback {
	if p.ch != nil {
		return &p.ch.plays
	}
	return &p.br.plays
}

func (s *Sim) enqueueChannel(ch *channel, p *playback) {
	p.ch = ch
	s.register(p)
	ch.plays = append(ch.plays, p)
	if len(ch.plays) == 1 {
		s.startNext(&ch.plays)
	}
}

// startNext starts the head of a queue, skipping stopped entries.
func (s *Sim) startNext(q *[]*playback) {
	for len(*q) > 0 {
		p := (*q)[0]
		if p.stopped {
			p.state = "done"
			s.emitPlayback(p, "PlaybackFinished")
			s.dequeue(p)
			continue
		}
		s.startMedia(p)
		return
	}
}

// dequeue removes a finished playback and starts the next one.
func (s *Sim) dequeue(p *playback) {
	q := s.queueOf(p)
	if i := slices.Index(*q, p); i >= 0 {
		*q = slices.Delete(*q, i, i+1)
	}
	s.unregister(p)
	if len(*q) > 0 && (*q)[0].state == "queued" {
		s.startNext(q)
	}
	if len(*q) == 0 {
		s.queueDrained(p)
	}
}

func (s *Sim) queueDrained(p *playback) {
	if ch := p.ch; ch != nil {
		if ch.fallback && !ch.hungup {
			ch.fallback = false
			s.dialplanHangup(ch, ch.dp.Priority+1)
			return
		}
		if f := ch.pending; f != nil && !ch.hungup {
			ch.pending = nil
			f()
		}
		return
	}
	if p.br != nil {
		s.announcerDone(p.br)
	}
}

func (s *Sim) startMedia(p *playback) {
	p.state = "playing"
	s.emitPlayback(p, "PlaybackStarted")
	m := s.resolveMedia(p.media[p.idx], p.lang)
	switch m.kind {
	case mediaMissing:
		p.state = "failed"
		s.emitPlayback(p, "PlaybackFinished")
		s.dequeue(p)
		return
	case mediaVanish:
		s.dequeue(p)
		return
	}
	s.heardPlay(p, m)
	p.full, p.remaining = m.dur, m.dur
	s.armPlayback(p)
}

func (s *Sim) armPlayback(p *playback) {
	p.started = s.now()
	p.timer = s.after(p.remaining, func() { s.mediaDone(p) })
}

func (s *Sim) mediaDone(p *playback) {
	p.timer = nil
	if p.idx+1 < len(p.media) {
		p.state = "continuing"
		s.emitPlayback(p, "PlaybackContinuing")
		p.idx++
		s.startMedia(p)
		return
	}
	p.state = "done"
	s.emitPlayback(p, "PlaybackFinished")
	s.heardStop(p)
	s.dequeue(p)
}

// stopPlayback implements DELETE /playbacks/{id}.
func (s *Sim) stopPlayback(p *playback) {
	if p.state == "queued" {
		p.stopped = true
		return
	}
	s.stop(p.timer)
	p.state = "done"
	s.emitPlayback(p, "PlaybackFinished")
	s.heardStop(p)
	s.dequeue(p)
}

// failPlaybacks ends a hung-up channel's playbacks as "failed"; each
// queued one is first reported as started, as Asterisk does.
func (s *Sim) failPlaybacks(ch *channel) {
	ch.pending = nil
	ch.fallback = false
	q := ch.plays
	ch.plays = nil
	for i, p := range q {
		s.stop(p.timer)
		if i > 0 {
			p.state = "playing"
			s.emitPlayback(p, "PlaybackStarted")
		}
		p.state = "failed"
		s.emitPlayback(p, "PlaybackFinished")
		s.unregister(p)
	}
	if len(q) > 0 {
		s.heardStop(q[0])
	}
}

func (s *Sim) control(p *playback, op string, skip time.Duration) *apiError {
	switch op {
	case "pause":
		if p.state == "playing" {
			s.stop(p.timer)
			p.remaining -= time.Duration(float64(s.now().Sub(p.started)) * s.speed)
			p.state = "paused"
		}
	case "unpause":
		if p.state == "paused" {
			p.state = "playing"
			s.emitPlayback(p, "PlaybackStarted")
			s.armPlayback(p)
		}
	case "restart", "forward", "reverse":
		if p.state != "playing" && p.state != "paused" {
			return nil
		}
		elapsed := time.Duration(0)
		if p.state == "playing" {
			elapsed = time.Duration(float64(s.now().Sub(p.started)) * s.speed)
			s.stop(p.timer)
		}
		left := p.remaining - elapsed
		switch op {
		case "restart":
			left = p.full
		case "forward":
			left = max(left-skip, 0)
		case "reverse":
			left = min(left+skip, p.full)
		}
		p.remaining = left
		if p.state == "playing" {
			s.armPlayback(p)
		}
	case "":
		return errMissingOperation
	default:
		return errInvalidOperation(op)
	}
	return nil
}

// currentPlayback returns the active playback with id, preferring the
// one that is playing when an id was reused.
func (s *Sim) currentPlayback(id string) *playback {
	l := s.playbacks[id]
	for _, p := range l {
		if p.state != "queued" {
			return p
		}
	}
	for _, p := range l {
		if !p.stopped {
			return p
		}
	}
	return nil
}

// playRequest validates a play request and builds the playback.
func (s *Sim) playRequest(r *req, target, defLang string) (*playback, *apiError) {
	media := r.p.list("media")
	if len(media) == 0 {
		return nil, errQueueMedia
	}
	if r.p.intParam("offsetms", 0) < 0 {
		return nil, errOffsetNegative
	}
	lang := r.p.get("lang")
	if lang == "" {
		lang = defLang
	}
	id := r.vars["playbackId"]
	if id == "" {
		id = r.p.get("playbackId")
	}
	return s.newPlayback(id, media, lang, target), nil
}

func init() {
	play := withStasis(func(s *Sim, ch *channel, r *req) resp {
		p, err := s.playRequest(r, "channel:"+ch.id, ch.lang)
		if err != nil {
			return fail(err)
		}
		out := p.json()
		if ch.state != "Up" {
			s.progress(ch)
		}
		s.enqueueChannel(ch, p)
		return created(out, "/ari/playbacks/"+p.id)
	})
	handle("POST", "channels/{channelId}/play", play)
	handle("POST", "channels/{channelId}/play/{playbackId}", play)
	handle("GET", "playbacks/{playbackId}", func(s *Sim, r *req) resp {
		p := s.currentPlayback(r.vars["playbackId"])
		if p == nil {
			return fail(errPlaybackNotFound)
		}
		return ok(p.json())
	})
	handle("DELETE", "playbacks/{playbackId}", func(s *Sim, r *req) resp {
		p := s.currentPlayback(r.vars["playbackId"])
		if p == nil {
			return fail(errPlaybackNotFound)
		}
		s.stopPlayback(p)
		return noContent()
	})
	handle("POST", "playbacks/{playbackId}/control", func(s *Sim, r *req) resp {
		p := s.currentPlayback(r.vars["playbackId"])
		if p == nil {
			return fail(errPlaybackNotFound)
		}
		skip := time.Duration(r.p.intParam("skipms", 3000)) * time.Millisecond
		if err := s.control(p, r.p.get("operation"), skip); err != nil {
			return fail(err)
		}
		return noContent()
	})
}
