package agentdesk

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// AuditDownloadRecording is the audit action of a recording downloaded (object_type
// recording); playing one is AuditPlayRecording.
const AuditDownloadRecording = "download_recording"

// recordingRoutes are the supervisors' recordings: the list and the download; playing is
// GET /api/recordings/{id}/audio of the work orders.
func (s *Server) recordingRoutes() []route {
	return []route{
		{"GET /api/recordings", hotline.RoleSupervisor, s.listRecordings},
		{"GET /api/recordings/{id}/download", hotline.RoleSupervisor, s.downloadRecording},
	}
}

// recordingItem is a recording of GET /api/recordings: the caller's number masked.
type recordingItem struct {
	postgres.RecordingRow
	Caller   string `json:"caller"`
	AudioURL string `json:"audio_url"`
	Download string `json:"download_url"`
}

// dayOrTime reads a bound of the date range: a day (YYYY-MM-DD, China Standard Time; as the
// end it includes the whole day) or an RFC 3339 time.
func dayOrTime(v string, end bool) (time.Time, error) {
	if d, err := time.ParseInLocation(time.DateOnly, v, chinaTime); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return d, nil
	}
	return time.Parse(time.RFC3339, v)
}

// chinaTime is the hotline's time zone, in which days of the date filters begin.
var chinaTime = time.FixedZone("CST", 8*3600)

// isDigits reports whether s is only ASCII digits.
func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// listRecordings is GET /api/recordings?from=&to=&queue=&agent=&number=&kind=&limit=&offset=:
// the recordings, newest first, with the callers' numbers masked, and the retention period.
func (s *Server) listRecordings(w http.ResponseWriter, r *http.Request, _ *postgres.Session) error {
	q := r.URL.Query()
	f := postgres.RecordingFilter{Queue: q.Get("queue"), Number: q.Get("number"), Kind: q.Get("kind"), Limit: 50}
	var err error
	if v := q.Get("from"); v != "" {
		if f.From, err = dayOrTime(v, false); err != nil {
			return badRequest("from must be a day (2026-12-01) or an RFC 3339 time")
		}
	}
	if v := q.Get("to"); v != "" {
		if f.To, err = dayOrTime(v, true); err != nil {
			return badRequest("to must be a day (2026-12-31) or an RFC 3339 time")
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return badRequest("from must be before to")
	}
	if v := q.Get("agent"); v != "" {
		if f.AgentID, err = strconv.ParseInt(v, 10, 64); err != nil || f.AgentID <= 0 {
			return badRequest("agent must be an agent id")
		}
	}
	if f.Number != "" && (!isDigits(f.Number) || len(f.Number) < 4 || len(f.Number) > 20) {
		return badRequest("number must be 4 to 20 digits: the whole number or its last digits")
	}
	if f.Kind != "" && f.Kind != hotline.RecordingConversation && f.Kind != hotline.RecordingMessage {
		return badRequest("kind must be conversation or message")
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > 200 {
			return badRequest("limit must be 1 to 200")
		}
	}
	if v := q.Get("offset"); v != "" {
		if f.Offset, err = strconv.Atoi(v); err != nil || f.Offset < 0 {
			return badRequest("offset must be 0 or more")
		}
	}
	rows, total, err := postgres.SearchRecordings(r.Context(), s.o.DB, f)
	if err != nil {
		return err
	}
	out := make([]recordingItem, len(rows))
	for i, row := range rows {
		id := strconv.FormatInt(row.ID, 10)
		out[i] = recordingItem{RecordingRow: row, Caller: postgres.MaskMobile(row.CallerNumber),
			AudioURL: "/api/recordings/" + id + "/audio", Download: "/api/recordings/" + id + "/download"}
	}
	queues, agents, err := postgres.RecordingChoices(r.Context(), s.o.DB)
	if err != nil {
		return err
	}
	ret := s.o.RecordingRetention
	writeJSON(w, http.StatusOK, map[string]any{"recordings": out, "total": total, "limit": f.Limit, "offset": f.Offset,
		"retention_days": int(ret / (24 * time.Hour)), "retention": ret.String(),
		"filters": map[string]any{"queues": nonNil(queues), "agents": nonNil(agents)}})
	return nil
}

// downloadRecording is GET /api/recordings/{id}/download: the recording's WAV as an
// attachment, audited (download_recording).
func (s *Server) downloadRecording(w http.ResponseWriter, r *http.Request, sess *postgres.Session) error {
	id, err := pathID(r, "recording")
	if err != nil {
		return err
	}
	ctx := r.Context()
	rec, err := postgres.RecordingByID(ctx, s.o.DB, id)
	if err != nil {
		return err
	}
	if s.o.RecordingAudio == nil {
		return &problem{err: hotline.ErrNotFound, reason: "the recording's audio is not available here"}
	}
	body, err := s.o.RecordingAudio(ctx, rec)
	if errors.Is(err, hotline.ErrNotFound) {
		return &problem{err: hotline.ErrNotFound, reason: "the recording's audio is gone"}
	}
	if err != nil {
		return err
	}
	defer body.Close()
	if err := postgres.AuditWorkOrder(ctx, s.o.DB, s.now(), sess.Agent.ID, AuditDownloadRecording, "recording", id,
		map[string]any{"kind": rec.Kind, "call_id": rec.CallID}, clientIP(r)); err != nil {
		return err
	}
	name := fmt.Sprintf("recording-%d-%s.wav", id, rec.StartedAt.In(chinaTime).Format("20060102-150405"))
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.WriteHeader(http.StatusOK)
	io.Copy(w, body) // a failed copy means the client left
	return nil
}
