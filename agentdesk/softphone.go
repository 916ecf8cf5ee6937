package agentdesk

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/coder/websocket"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/sipua/softphone"
)

// PhoneLines are the desk's built-in softphones (see sipua/softphone): an agent whose phone
// is the softphone has a line registered at the Asterisk node from login to logout, and
// talks through the browser over GET /api/agent/softphone. The line lives in the instance
// the agent logged in to: behind a load balancer, keep a desk user on one instance.
type PhoneLines interface {
	// Online starts the agent's line if their phone is the softphone (nothing otherwise).
	Online(ctx context.Context, agentID int64) error
	// Offline ends the agent's line, if any.
	Offline(agentID int64)
	// Line returns the agent's line, nil when they have none here.
	Line(agentID int64) *softphone.Line
}

// softphoneRoutes are the softphone's audio.
func (s *Server) softphoneRoutes() []route {
	return []route{
		{"GET /api/agent/softphone", hotline.RoleAgent, s.softphoneAudio},
	}
}

// phoneOnline starts the agent's softphone, if they have one; a line that cannot start is
// logged, the login goes on (the desk shows the line as missing).
func (s *Server) phoneOnline(ctx context.Context, agentID int64) {
	if s.o.Phones == nil {
		return
	}
	if err := s.o.Phones.Online(ctx, agentID); err != nil {
		s.log.Warn("softphone not started", "agent_id", agentID, "err", err)
	}
}

// phoneOffline ends the agent's softphone, if any.
func (s *Server) phoneOffline(agentID int64) {
	if s.o.Phones != nil {
		s.o.Phones.Offline(agentID)
	}
}

// Softphone audio messages: binary messages are audio, a whole number of frames of
// softphone.FrameSamples samples, 16-bit little-endian at 8000 Hz, both ways; text
// messages from the server are the line's status, {"type": "status", "status": Status}.
const (
	frameBytes       = softphone.FrameSamples * 2
	maxAudioMessage  = 16 * frameBytes // what a browser may send at once
	audioSendBuffer  = 25              // frames (half a second) waiting for a slow browser
	statusPollPeriod = 200 * time.Millisecond
)

// softphoneAudio is GET /api/agent/softphone, the websocket carrying the agent's softphone
// audio: the microphone up, the caller down, and the line's status. A second socket (a second
// tab, a refresh) attaches to the same line; the call goes on whatever the sockets do.
func (s *Server) softphoneAudio(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	if !s.originAllowed(r) {
		return forbidden("origin %q is not allowed", r.Header.Get("Origin"))
	}
	if s.o.Phones == nil {
		return &problem{err: hotline.ErrNotFound, reason: "the desk has no softphones: agents' phones are desk phones"}
	}
	line := s.o.Phones.Line(sess.Agent.ID)
	if line == nil {
		return &problem{err: hotline.ErrNotFound, reason: "your phone is not the desk's softphone, or its line is not running: log in again"}
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: slices.Sorted(maps.Keys(s.origins))})
	if err != nil {
		return nil // Accept has answered
	}
	defer conn.CloseNow()
	conn.SetReadLimit(maxAudioMessage)
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	// Down: the caller's voice, dropped rather than queued when the browser is slow.
	down := make(chan []byte, audioSendBuffer)
	stop := line.Listen(func(frame []int16) {
		b := make([]byte, len(frame)*2)
		for i, v := range frame {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
		}
		select {
		case down <- b:
		default:
		}
	})
	defer stop()
	go func() {
		defer cancel()
		var last softphone.Status
		tick := time.NewTicker(statusPollPeriod)
		defer tick.Stop()
		for first := true; ; first = false {
			if st := line.Status(); first || st != last {
				last = st
				msg, _ := json.Marshal(map[string]any{"type": "status", "status": st})
				if err := write(ctx, conn, msg); err != nil {
					return
				}
			}
			select {
			case <-ctx.Done():
				return
			case b := <-down:
				wctx, wcancel := context.WithTimeout(ctx, writeTimeout)
				err := conn.Write(wctx, websocket.MessageBinary, b)
				wcancel()
				if err != nil {
					return
				}
			case <-tick.C:
			}
		}
	}()

	// Up: the microphone.
	frame := make([]int16, softphone.FrameSamples)
	for {
		typ, b, err := conn.Read(ctx)
		if err != nil {
			return nil
		}
		if typ != websocket.MessageBinary || len(b)%frameBytes != 0 {
			conn.Close(websocket.StatusUnsupportedData, "audio is binary frames of 160 16-bit samples")
			return nil
		}
		for off := 0; off < len(b); off += frameBytes {
			for i := range frame {
				frame[i] = int16(binary.LittleEndian.Uint16(b[off+2*i:]))
			}
			line.Speak(frame)
		}
	}
}
