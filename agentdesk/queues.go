package agentdesk

import (
	"fmt"
	"net/http"
	"time"

	"github.com/foshan-hotline/hotline/postgres"
)

// queuesResponse is the answer of GET /api/agent/queues.
type queuesResponse struct {
	ServerTime time.Time   `json:"server_time"`
	Queues     []queueView `json:"queues"`
}

// agentQueues is GET /api/agent/queues: the queues the agent's skills serve, highest skill
// level first, with the calls waiting and the agents available in each.
func (s *Server) agentQueues(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	snap, err := s.loadSnapshot(r.Context(), sess.Agent)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, queuesResponse{ServerTime: s.now(), Queues: snap.Queues})
	return nil
}

const pauseReasonsQuery = `SELECT code, name FROM hotline.pause_reasons ORDER BY position, code`

// pauseReasons is GET /api/pause-reasons: the reason codes an agent pauses with, in the
// order to show them.
func (s *Server) pauseReasons(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	reasons := []codeName{}
	if err := s.o.DB.SelectContext(r.Context(), &reasons, pauseReasonsQuery); err != nil {
		return fmt.Errorf("pause reasons: %w", err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"pause_reasons": reasons})
	return nil
}
