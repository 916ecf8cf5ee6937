package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
)

// MonitoringSpan is a mode a monitoring session was in from At.
type MonitoringSpan struct {
	Mode string    `json:"mode"`
	At   time.Time `json:"at"`
}

// MonitoringSession is a row of hotline.monitoring_sessions: a supervisor listening to,
// whispering to or barging in on an agent's call.
type MonitoringSession struct {
	ID           int64        `db:"id" json:"id"`
	SupervisorID int64        `db:"supervisor_id" json:"supervisor_id"`
	Supervisor   string       `db:"supervisor" json:"supervisor"`
	AgentID      int64        `db:"agent_id" json:"agent_id"`
	Agent        string       `db:"agent" json:"agent"`
	CallID       string       `db:"call_id" json:"call_id"`
	Endpoint     string       `db:"endpoint" json:"endpoint"`
	StartedAt    time.Time    `db:"started_at" json:"started_at"`
	AnsweredAt   sql.NullTime `db:"answered_at" json:"-"`
	EndedAt      sql.NullTime `db:"ended_at" json:"-"`
	ModesJSON    []byte       `db:"modes" json:"-"`
	EndReason    string       `db:"end_reason" json:"end_reason"`
	// Modes and Seconds (listened, from the answer to the end) are filled from the row.
	Modes   []MonitoringSpan `db:"-" json:"modes"`
	Seconds int64            `db:"-" json:"seconds"`
	Ended   bool             `db:"-" json:"ended"`
}

// MonitorPhones are the phones of a supervisor and an agent a monitoring session joins.
type MonitorPhones struct {
	Supervisor string
	Agent      string
}

const monitorPhonesQuery = `
	SELECT COALESCE(s.endpoint, '') AS supervisor, COALESCE(a.endpoint, '') AS agent
	FROM hotline.agents a, hotline.agents s
	WHERE a.id = $1 AND s.id = $2`

// MonitorPhonesOf returns the phone endpoints of agentID and supervisorID ("" for none);
// hotline.ErrNotFound when either is unknown.
func MonitorPhonesOf(ctx context.Context, db *sqlx.DB, agentID, supervisorID int64) (MonitorPhones, error) {
	var p MonitorPhones
	err := db.QueryRowxContext(ctx, monitorPhonesQuery, agentID, supervisorID).Scan(&p.Supervisor, &p.Agent)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("agent %d: %w", agentID, hotline.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("phones of agent %d and supervisor %d: %w", agentID, supervisorID, err)
	}
	return p, nil
}

const monitoringInsert = `
	INSERT INTO hotline.monitoring_sessions (supervisor_id, agent_id, call_id, endpoint, started_at, ip)
	VALUES ($1, $2, $3, $4, $5, NULLIF($6, '')::inet)
	RETURNING id`

const monitoringAudit = `
	INSERT INTO hotline.audit_log (at, actor_id, action, object_type, object_id, detail, ip)
	VALUES ($1, $2, $3, 'monitoring', $4, $5, NULLIF($6, '')::inet)`

// StartMonitoring writes a new session of supervisorID on agentID's call with its audit row
// (monitor_start, with the mode asked for) and returns its id.
func StartMonitoring(ctx context.Context, db *sqlx.DB, now time.Time, supervisorID, agentID int64, callID, endpoint, mode, ip string) (int64, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("start monitoring: %w", err)
	}
	defer tx.Rollback()
	var id int64
	if err := tx.GetContext(ctx, &id, monitoringInsert, supervisorID, agentID, callID, endpoint, now, ip); err != nil {
		return 0, fmt.Errorf("start monitoring: %w", err)
	}
	detail, _ := json.Marshal(map[string]any{"agent_id": agentID, "call_id": callID, "mode": mode, "endpoint": endpoint})
	if _, err := tx.ExecContext(ctx, monitoringAudit, now, supervisorID, "monitor_start", fmt.Sprint(id), detail, ip); err != nil {
		return 0, fmt.Errorf("audit monitoring: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("start monitoring: %w", err)
	}
	return id, nil
}

// AuditMonitoringMode writes the audit row of a supervisor switching a session's mode.
func AuditMonitoringMode(ctx context.Context, db *sqlx.DB, now time.Time, supervisorID, id int64, mode, ip string) error {
	detail, _ := json.Marshal(map[string]any{"mode": mode})
	if _, err := db.ExecContext(ctx, monitoringAudit, now, supervisorID, "monitor_mode", fmt.Sprint(id), detail, ip); err != nil {
		return fmt.Errorf("audit monitoring mode: %w", err)
	}
	return nil
}

const monitoringEnd = `
	UPDATE hotline.monitoring_sessions
	SET answered_at = $2, ended_at = $3, modes = $4, end_reason = $5
	WHERE id = $1 AND ended_at IS NULL
	RETURNING supervisor_id`

// EndMonitoring closes a session with how it went — when the supervisor answered (zero:
// never), the modes in order, why it ended — and writes its audit row (monitor_end, with the
// modes and the seconds listened). A session already closed is left as it is.
func EndMonitoring(ctx context.Context, db *sqlx.DB, id int64, answered, ended time.Time, modes []MonitoringSpan, reason string) error {
	if modes == nil {
		modes = []MonitoringSpan{}
	}
	js, err := json.Marshal(modes)
	if err != nil {
		return fmt.Errorf("end monitoring %d: %w", id, err)
	}
	ans := sql.NullTime{Time: answered, Valid: !answered.IsZero()}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("end monitoring %d: %w", id, err)
	}
	defer tx.Rollback()
	var supervisor int64
	switch err := tx.GetContext(ctx, &supervisor, monitoringEnd, id, ans, ended, js, reason); {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("end monitoring %d: %w", id, err)
	}
	var seconds int64
	if ans.Valid {
		seconds = int64(ended.Sub(answered).Round(time.Second) / time.Second)
	}
	names := make([]string, len(modes))
	for i, m := range modes {
		names[i] = m.Mode
	}
	detail, _ := json.Marshal(map[string]any{"modes": names, "seconds": seconds, "reason": reason})
	if _, err := tx.ExecContext(ctx, monitoringAudit, ended, supervisor, "monitor_end", fmt.Sprint(id), detail, ""); err != nil {
		return fmt.Errorf("audit monitoring end: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("end monitoring %d: %w", id, err)
	}
	return nil
}

const monitoringList = `
	SELECT m.id, m.supervisor_id, s.display_name AS supervisor, m.agent_id, a.display_name AS agent,
	       m.call_id::text AS call_id, m.endpoint, m.started_at, m.answered_at, m.ended_at, m.modes, m.end_reason
	FROM hotline.monitoring_sessions m
	JOIN hotline.agents s ON s.id = m.supervisor_id
	JOIN hotline.agents a ON a.id = m.agent_id
	WHERE ($1 = 0 OR m.id = $1)
	ORDER BY m.started_at DESC, m.id DESC
	LIMIT $2`

// MonitoringSessions returns the latest sessions, newest first (at most limit), or the one
// with id (ErrNotFound when there is none).
func MonitoringSessions(ctx context.Context, db *sqlx.DB, id int64, limit int) ([]MonitoringSession, error) {
	var out []MonitoringSession
	if err := db.SelectContext(ctx, &out, monitoringList, id, limit); err != nil {
		return nil, fmt.Errorf("monitoring sessions: %w", err)
	}
	if id != 0 && len(out) == 0 {
		return nil, fmt.Errorf("monitoring session %d: %w", id, hotline.ErrNotFound)
	}
	for i := range out {
		m := &out[i]
		if err := json.Unmarshal(m.ModesJSON, &m.Modes); err != nil {
			return nil, fmt.Errorf("modes of monitoring session %d: %w", m.ID, err)
		}
		m.Ended = m.EndedAt.Valid
		if m.AnsweredAt.Valid && m.EndedAt.Valid {
			m.Seconds = int64(m.EndedAt.Time.Sub(m.AnsweredAt.Time).Round(time.Second) / time.Second)
		}
	}
	return out, nil
}

const monitoringAnswered = `
	UPDATE hotline.monitoring_sessions SET answered_at = $2
	WHERE id = $1 AND ended_at IS NULL AND answered_at IS NULL`

// MonitoringAnswered records that the supervisor of a live session answered their phone, so
// that every instance can tell the session is active; the session's end writes it again.
func MonitoringAnswered(ctx context.Context, db *sqlx.DB, id int64, at time.Time) error {
	if _, err := db.ExecContext(ctx, monitoringAnswered, id, at); err != nil {
		return fmt.Errorf("monitoring session %d answered: %w", id, err)
	}
	return nil
}

// LiveMonitoring is a session that has not ended, as any instance sees it from the database:
// its mode is the last one asked for (the start's, or a switch's), its state ringing until
// the supervisor answered, then active.
type LiveMonitoring struct {
	ID         int64        `db:"id"`
	CallID     string       `db:"call_id"`
	AgentID    int64        `db:"agent_id"`
	Mode       string       `db:"mode"`
	StartedAt  time.Time    `db:"started_at"`
	AnsweredAt sql.NullTime `db:"answered_at"`
}

// State is ringing or active.
func (l LiveMonitoring) State() string {
	if l.AnsweredAt.Valid {
		return "active"
	}
	return "ringing"
}

// liveMonitoringQuery lists the sessions not ended on calls that have not ended and belong
// to an instance other than $2 live since $1 (one that died leaves its sessions open); the
// mode is read from the session's audit rows (indexed by object).
const liveMonitoringQuery = `
	SELECT m.id, m.call_id::text AS call_id, m.agent_id, m.started_at, m.answered_at,
	       COALESCE((SELECT l.detail->>'mode' FROM hotline.audit_log l
	                 WHERE l.object_type = 'monitoring' AND l.object_id = m.id::text
	                   AND l.action IN ('monitor_start', 'monitor_mode')
	                 ORDER BY l.at DESC, l.id DESC LIMIT 1), '') AS mode
	FROM hotline.monitoring_sessions m
	JOIN hotline.calls c ON c.id = m.call_id
	JOIN hotline.instances i ON i.id = c.instance_id
	WHERE m.ended_at IS NULL AND c.ended_at IS NULL AND c.instance_id <> $2 AND i.heartbeat_at > $1
	ORDER BY m.started_at, m.id`

// LiveMonitoringSessions returns the sessions that have not ended on the calls in progress
// of the instances other than except (the caller's own, which knows its sessions better)
// whose heartbeat is later than live. A call of no instance is no other instance's.
func LiveMonitoringSessions(ctx context.Context, db *sqlx.DB, live time.Time, except string) ([]LiveMonitoring, error) {
	var out []LiveMonitoring
	if err := db.SelectContext(ctx, &out, liveMonitoringQuery, live, except); err != nil {
		return nil, fmt.Errorf("live monitoring sessions: %w", err)
	}
	return out, nil
}
