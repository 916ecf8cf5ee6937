package postgres

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline"
)

// Desk login and session rules (../shared/DESIGN.md, Privacy and security).
//
//   - A session ends after DefaultIdleTimeout without a request (an open events websocket
//     counts as one) and DefaultAbsoluteTimeout after login, whichever comes first.
//   - The browser holds a random 32-byte token; the database only its SHA-256 hash, so a copy
//     of hotline.sessions cannot be replayed.
//   - Failed logins are written to hotline.audit_log (action login_failed, object desk_user,
//     the username as typed, and the client's address). DefaultMaxFailuresPerUser failures of
//     one username within DefaultFailureWindow since its last successful login, or
//     DefaultMaxFailuresPerIP from one address within the window, refuse further logins until
//     enough of them age out. A refused login compares no password and records nothing.
const (
	DefaultIdleTimeout        = 30 * time.Minute
	DefaultAbsoluteTimeout    = 12 * time.Hour
	DefaultFailureWindow      = 15 * time.Minute
	DefaultMaxFailuresPerUser = 10
	// DefaultMaxFailuresPerIP is higher than the per-user limit: a call centre's agents often
	// reach the desk through one address.
	DefaultMaxFailuresPerIP = 50
)

// Audit log actions of desk logins (object_type desk_user, object_id the username).
const (
	AuditLogin       = "login"
	AuditLoginFailed = "login_failed"
	AuditLogout      = "logout"
)

// ErrLoginThrottled means too many failed logins; errors.As gives a *ThrottledError with the
// time to wait.
var ErrLoginThrottled = errors.New("too many failed logins")

// ThrottledError is a login refused because of earlier failures.
type ThrottledError struct {
	// By is what hit its limit: "username" or "ip".
	By string
	// RetryAfter is how long until a login may be tried again.
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins for this %s: retry in %s", e.By, e.RetryAfter.Round(time.Second))
}

// Unwrap makes a ThrottledError match ErrLoginThrottled.
func (e *ThrottledError) Unwrap() error { return ErrLoginThrottled }

// SessionOptions tune Sessions; zero values take the defaults above.
type SessionOptions struct {
	IdleTimeout        time.Duration
	AbsoluteTimeout    time.Duration
	FailureWindow      time.Duration
	MaxFailuresPerUser int
	MaxFailuresPerIP   int
	// PasswordCost is the bcrypt cost of the stand-in hash compared with the password of an
	// unknown username, so that it takes as long as a known one: match the staff's hashes.
	// Zero means bcrypt.DefaultCost.
	PasswordCost int
	// Now tells the time; nil means time.Now.
	Now func() time.Time
}

// Session is a logged-in desk user's server-side session.
type Session struct {
	// ID names the session in the database and to the ACD (the hex of the token's hash); it
	// is no credential and is never sent to the browser.
	ID         string        `db:"id"`
	Agent      hotline.Agent `db:"agent"`
	CSRFToken  string        `db:"csrf_token"`
	CreatedAt  time.Time     `db:"created_at"`
	LastSeenAt time.Time     `db:"last_seen_at"`
	ExpiresAt  time.Time     `db:"expires_at"`
	UserAgent  string        `db:"user_agent"`
	IP         string        `db:"ip"`
}

// Sessions keeps desk users' logins and sessions in hotline.sessions. It is safe for
// concurrent use.
type Sessions struct {
	db      *sqlx.DB
	o       SessionOptions
	standIn []byte // bcrypt hash of a random password nobody knows
}

// NewSessions returns the sessions of the desk users of db.
func NewSessions(db *sqlx.DB, o SessionOptions) (*Sessions, error) {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.AbsoluteTimeout <= 0 {
		o.AbsoluteTimeout = DefaultAbsoluteTimeout
	}
	if o.FailureWindow <= 0 {
		o.FailureWindow = DefaultFailureWindow
	}
	if o.MaxFailuresPerUser <= 0 {
		o.MaxFailuresPerUser = DefaultMaxFailuresPerUser
	}
	if o.MaxFailuresPerIP <= 0 {
		o.MaxFailuresPerIP = DefaultMaxFailuresPerIP
	}
	if o.PasswordCost == 0 {
		o.PasswordCost = bcrypt.DefaultCost
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	standIn, err := bcrypt.GenerateFromPassword([]byte(randomToken()), o.PasswordCost)
	if err != nil {
		return nil, fmt.Errorf("sessions: stand-in password hash: %w", err)
	}
	return &Sessions{db: db, o: o, standIn: standIn}, nil
}

// IdleTimeout is how long a session lives without a request.
func (s *Sessions) IdleTimeout() time.Duration { return s.o.IdleTimeout }

// tokenBytes is the length of session and CSRF tokens before encoding.
const tokenBytes = 32

// tokenLen is the length of an encoded token.
var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

// randomToken returns tokenBytes random bytes, base64url-encoded.
func randomToken() string {
	b := make([]byte, tokenBytes)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// tokenHash is what the database keeps of a session token.
func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

const userByUsernameQuery = `
	SELECT id, username, display_name, role, COALESCE(endpoint, '') AS endpoint, active
	FROM hotline.agents
	WHERE username = $1`

// UserByUsername returns the desk user with username, active or not, or an error wrapping
// hotline.ErrNotFound.
func (s *Sessions) UserByUsername(ctx context.Context, username string) (hotline.Agent, error) {
	var a hotline.Agent
	if err := s.db.GetContext(ctx, &a, userByUsernameQuery, normalUsername(username)); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return a, fmt.Errorf("desk user %q: %w", username, hotline.ErrNotFound)
		}
		return a, fmt.Errorf("desk user %q: %w", username, err)
	}
	return a, nil
}

// normalUsername is a username as stored: usernames are lower case, and people type them
// with a capital now and then.
func normalUsername(u string) string {
	u = strings.ToLower(strings.TrimSpace(u))
	if len(u) > 64 {
		u = u[:64]
	}
	return u
}

const credentialsQuery = `
	SELECT id, username, display_name, role, COALESCE(endpoint, '') AS endpoint, active, password_hash
	FROM hotline.agents
	WHERE username = $1`

// failuresQuery counts the failed logins of username ($1) since the later of $3 and its last
// successful login, and those from address $2 since $3.
const failuresQuery = `
	SELECT
	  (SELECT count(*) FROM hotline.audit_log f
	   WHERE f.object_type = 'desk_user' AND f.object_id = $1 AND f.action = 'login_failed'
	     AND f.at > GREATEST($3, (SELECT max(ok.at) FROM hotline.audit_log ok
	                              WHERE ok.object_type = 'desk_user' AND ok.object_id = $1
	                                AND ok.action = 'login'))) AS by_user,
	  (SELECT count(*) FROM hotline.audit_log f
	   WHERE f.action = 'login_failed' AND f.at > $3 AND f.ip = NULLIF($2, '')::inet) AS by_ip`

// nthFailureQuery returns the time of the $4-th most recent failure counted by failuresQuery
// for the username ($1, with $2 empty) or the address ($2, with $1 empty): when it ages out of the window, the
// count drops below the limit.
const nthFailureQuery = `
	SELECT f.at FROM hotline.audit_log f
	WHERE f.action = 'login_failed' AND f.at > $3
	  AND (($1 <> '' AND f.object_type = 'desk_user' AND f.object_id = $1)
	       OR ($2 <> '' AND f.ip = NULLIF($2, '')::inet))
	ORDER BY f.at DESC
	OFFSET $4 - 1 LIMIT 1`

const sessionAuditInsert = `
	INSERT INTO hotline.audit_log (at, actor_id, action, object_type, object_id, ip)
	VALUES ($1, NULLIF($2::bigint, 0), $3, 'desk_user', $4, NULLIF($5, '')::inet)`

// Authenticate checks a username and password given from address ip and returns the user. A
// wrong password, an unknown username and an inactive user all give the same error wrapping
// hotline.ErrUnauthorized, after the same bcrypt comparison; too many failures give a
// *ThrottledError without comparing anything. Every outcome but a throttled one is audited.
func (s *Sessions) Authenticate(ctx context.Context, username, password, ip string) (hotline.Agent, error) {
	username, ip = normalUsername(username), normalIP(ip)
	if err := s.throttled(ctx, username, ip); err != nil {
		return hotline.Agent{}, err
	}
	var u struct {
		hotline.Agent
		Hash string `db:"password_hash"`
	}
	hash := s.standIn
	err := s.db.GetContext(ctx, &u, credentialsQuery, username)
	switch {
	case err == nil:
		hash = []byte(u.Hash)
	case !errors.Is(err, sql.ErrNoRows):
		return hotline.Agent{}, fmt.Errorf("login %q: %w", username, err)
	}
	match := bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
	ok := err == nil && match && u.Active
	action, actor := AuditLoginFailed, int64(0)
	if ok {
		action, actor = AuditLogin, u.ID
	}
	if _, err := s.db.ExecContext(ctx, sessionAuditInsert, s.o.Now(), actor, action, username, ip); err != nil {
		return hotline.Agent{}, fmt.Errorf("login %q: audit: %w", username, err)
	}
	if !ok {
		return hotline.Agent{}, fmt.Errorf("login %q: wrong username or password: %w", username, hotline.ErrUnauthorized)
	}
	return u.Agent, nil
}

// throttled returns a *ThrottledError when username or ip has too many recent failures.
func (s *Sessions) throttled(ctx context.Context, username, ip string) error {
	since := s.o.Now().Add(-s.o.FailureWindow)
	var n struct {
		ByUser int `db:"by_user"`
		ByIP   int `db:"by_ip"`
	}
	if err := s.db.GetContext(ctx, &n, failuresQuery, username, ip, since); err != nil {
		return fmt.Errorf("login %q: count failures: %w", username, err)
	}
	var by, user, addr string
	var limit int
	switch {
	case n.ByUser >= s.o.MaxFailuresPerUser:
		by, user, limit = "username", username, s.o.MaxFailuresPerUser
	case ip != "" && n.ByIP >= s.o.MaxFailuresPerIP:
		by, addr, limit = "ip", ip, s.o.MaxFailuresPerIP
	default:
		return nil
	}
	var at time.Time
	if err := s.db.GetContext(ctx, &at, nthFailureQuery, user, addr, since, limit); err != nil {
		return fmt.Errorf("login %q: failures: %w", username, err)
	}
	wait := at.Add(s.o.FailureWindow).Sub(s.o.Now())
	if wait < time.Second {
		wait = time.Second
	}
	return &ThrottledError{By: by, RetryAfter: wait.Round(time.Second)}
}

// normalIP is ip as PostgreSQL's inet takes it, or "" when it is no address.
func normalIP(ip string) string {
	if p := net.ParseIP(strings.TrimSpace(ip)); p != nil {
		return p.String()
	}
	return ""
}

// sessionColumns are the columns of a Session, from hotline.sessions s joined with
// hotline.agents a.
const sessionColumns = `
	encode(s.token_hash, 'hex') AS id, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at,
	s.user_agent, COALESCE(host(s.ip), '') AS ip,
	a.id AS "agent.id", a.username AS "agent.username", a.display_name AS "agent.display_name",
	a.role AS "agent.role", COALESCE(a.endpoint, '') AS "agent.endpoint", a.active AS "agent.active"`

const sessionInsert = `
	WITH s AS (
	  INSERT INTO hotline.sessions (token_hash, agent_id, csrf_token, created_at, last_seen_at,
	                                expires_at, user_agent, ip)
	  VALUES ($1, $2, $3, $4, $4, $5, $6, NULLIF($7, '')::inet)
	  RETURNING *)
	SELECT ` + sessionColumns + `
	FROM s JOIN hotline.agents a ON a.id = s.agent_id`

// CreateSession starts a session for the desk user agentID, seen with userAgent from ip, and
// returns the token for the browser's cookie and the session. An unknown user is an error
// wrapping hotline.ErrNotFound.
func (s *Sessions) CreateSession(ctx context.Context, agentID int64, userAgent, ip string) (string, Session, error) {
	token := randomToken()
	now := s.o.Now()
	if len(userAgent) > 256 {
		userAgent = strings.ToValidUTF8(userAgent[:256], "")
	}
	var sess Session
	err := s.db.GetContext(ctx, &sess, sessionInsert, tokenHash(token), agentID, randomToken(), now,
		now.Add(s.o.AbsoluteTimeout), userAgent, normalIP(ip))
	if err != nil {
		var pqErr *pq.Error
		if errors.As(err, &pqErr) && pqErr.Code == "23503" {
			return "", Session{}, fmt.Errorf("create session of agent %d: %w", agentID, hotline.ErrNotFound)
		}
		return "", Session{}, fmt.Errorf("create session of agent %d: %w", agentID, err)
	}
	return token, sess, nil
}

// sessionTouch marks the session seen at $2 if it is neither idle since $3 nor expired at $2,
// and its user is active.
const sessionTouch = `
	UPDATE hotline.sessions s
	SET last_seen_at = $2
	FROM hotline.agents a
	WHERE s.token_hash = $1 AND a.id = s.agent_id AND a.active
	  AND s.expires_at > $2 AND s.last_seen_at > $3
	RETURNING ` + sessionColumns

const sessionDeleteByHash = `DELETE FROM hotline.sessions WHERE token_hash = $1`

// Session returns the live session of token and marks it seen now, which restarts its idle
// timeout. An unknown, idle or expired token, or one of an inactive user, is an error wrapping
// hotline.ErrUnauthorized; a session found expired is deleted.
func (s *Sessions) Session(ctx context.Context, token string) (Session, error) {
	if len(token) != tokenLen {
		return Session{}, fmt.Errorf("session: malformed token: %w", hotline.ErrUnauthorized)
	}
	h := tokenHash(token)
	now := s.o.Now()
	var sess Session
	err := s.db.GetContext(ctx, &sess, sessionTouch, h, now, now.Add(-s.o.IdleTimeout))
	if err == nil {
		return sess, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Session{}, fmt.Errorf("session: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, sessionDeleteByHash, h); err != nil {
		return Session{}, fmt.Errorf("session: delete expired: %w", err)
	}
	return Session{}, fmt.Errorf("session: unknown or expired: %w", hotline.ErrUnauthorized)
}

// sessionsTouch marks the live sessions among $1 (ids) seen at $2 and returns their ids.
const sessionsTouch = `
	UPDATE hotline.sessions s
	SET last_seen_at = $2
	FROM hotline.agents a
	WHERE s.token_hash = ANY ($1::bytea[]) AND a.id = s.agent_id AND a.active
	  AND s.expires_at > $2 AND s.last_seen_at > $3
	RETURNING encode(s.token_hash, 'hex')`

// TouchSessions marks the live sessions among ids seen now, as a request would, and returns
// the ids of those still alive. The desk calls it for sessions with an open events
// websocket: an agent waiting for calls with the desk open is not idle.
func (s *Sessions) TouchSessions(ctx context.Context, ids []string) ([]string, error) {
	hashes := make([][]byte, 0, len(ids))
	for _, id := range ids {
		if h, err := hex.DecodeString(id); err == nil {
			hashes = append(hashes, h)
		}
	}
	now := s.o.Now()
	alive := []string{}
	if err := s.db.SelectContext(ctx, &alive, sessionsTouch, pq.Array(hashes), now, now.Add(-s.o.IdleTimeout)); err != nil {
		return nil, fmt.Errorf("touch %d sessions: %w", len(ids), err)
	}
	return alive, nil
}

// sessionsLive selects the live sessions among $1 (ids) at $2 (idle since $3), as
// sessionsTouch does, without marking them seen.
const sessionsLive = `
	SELECT encode(s.token_hash, 'hex')
	FROM hotline.sessions s JOIN hotline.agents a ON a.id = s.agent_id
	WHERE s.token_hash = ANY ($1::bytea[]) AND a.active
	  AND s.expires_at > $2 AND s.last_seen_at > $3`

// LiveSessions returns the ids of the sessions among ids that are still alive, without marking
// them seen: a read, for checking often whether the websockets of a session may stay open.
func (s *Sessions) LiveSessions(ctx context.Context, ids []string) ([]string, error) {
	hashes := make([][]byte, 0, len(ids))
	for _, id := range ids {
		if h, err := hex.DecodeString(id); err == nil {
			hashes = append(hashes, h)
		}
	}
	now := s.o.Now()
	alive := []string{}
	if err := s.db.SelectContext(ctx, &alive, sessionsLive, pq.Array(hashes), now, now.Add(-s.o.IdleTimeout)); err != nil {
		return nil, fmt.Errorf("check %d sessions: %w", len(ids), err)
	}
	return alive, nil
}

const sessionDelete = `
	DELETE FROM hotline.sessions WHERE token_hash = decode($1, 'hex')
	RETURNING agent_id`

// DeleteSession ends the session id (a logout) and audits it with the client's address ip.
// A NOTIFY on hotline_agent with the agent's id tells every instance to recheck the sockets
// of that agent. A session already gone is not an error.
func (s *Sessions) DeleteSession(ctx context.Context, id, ip string) error {
	if _, err := hex.DecodeString(id); err != nil || id == "" {
		return fmt.Errorf("delete session: malformed id: %w", hotline.ErrInvalid)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete session: begin: %w", err)
	}
	defer tx.Rollback()
	var agentID int64
	switch err := tx.GetContext(ctx, &agentID, sessionDelete, id); {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("delete session: %w", err)
	}
	if _, err := tx.ExecContext(ctx, sessionAuditLogout, s.o.Now(), agentID, AuditLogout, normalIP(ip)); err != nil {
		return fmt.Errorf("delete session: audit: %w", err)
	}
	if _, err := tx.ExecContext(ctx, agentNotify, agentID); err != nil {
		return fmt.Errorf("delete session: notify: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("delete session: commit: %w", err)
	}
	return nil
}

const sessionAuditLogout = `
	INSERT INTO hotline.audit_log (at, actor_id, action, object_type, object_id, ip)
	SELECT $1, a.id, $3, 'desk_user', a.username, NULLIF($4, '')::inet
	FROM hotline.agents a WHERE a.id = $2`

const sessionsOfDelete = `
	DELETE FROM hotline.sessions WHERE agent_id = $1 AND token_hash <> decode($2, 'hex')
	RETURNING encode(token_hash, 'hex') AS id`

const agentNotify = `SELECT pg_notify('hotline_agent', $1::text)`

// DeleteSessionsOf ends every session of the desk user agentID but the one named keep (a
// new login's, which takes over; "" keeps none), notifies hotline_agent as DeleteSession does
// when any ended, and returns the ids of the sessions ended.
func (s *Sessions) DeleteSessionsOf(ctx context.Context, agentID int64, keep string) ([]string, error) {
	what := fmt.Sprintf("delete sessions of agent %d", agentID)
	if _, err := hex.DecodeString(keep); err != nil {
		return nil, fmt.Errorf("%s: malformed id to keep: %w", what, hotline.ErrInvalid)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback()
	ids := []string{}
	if err := tx.SelectContext(ctx, &ids, sessionsOfDelete, agentID, keep); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(ids) > 0 {
		if _, err := tx.ExecContext(ctx, agentNotify, agentID); err != nil {
			return nil, fmt.Errorf("%s: notify: %w", what, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%s: commit: %w", what, err)
	}
	return ids, nil
}

const sessionsOfQuery = `
	SELECT ` + sessionColumns + `
	FROM hotline.sessions s JOIN hotline.agents a ON a.id = s.agent_id
	WHERE s.agent_id = $1 AND a.active AND s.expires_at > $2 AND s.last_seen_at > $3
	ORDER BY s.created_at, s.token_hash`

// SessionsOf returns the live sessions of the desk user agentID, oldest first, without
// marking them seen.
func (s *Sessions) SessionsOf(ctx context.Context, agentID int64) ([]Session, error) {
	now := s.o.Now()
	out := []Session{}
	if err := s.db.SelectContext(ctx, &out, sessionsOfQuery, agentID, now, now.Add(-s.o.IdleTimeout)); err != nil {
		return nil, fmt.Errorf("sessions of agent %d: %w", agentID, err)
	}
	return out, nil
}

const userByIDQuery = `
	SELECT id, username, display_name, role, COALESCE(endpoint, '') AS endpoint, active
	FROM hotline.agents
	WHERE id = $1`

// UserByID returns the desk user agentID, active or not, or an error wrapping
// hotline.ErrNotFound.
func (s *Sessions) UserByID(ctx context.Context, agentID int64) (hotline.Agent, error) {
	var a hotline.Agent
	if err := s.db.GetContext(ctx, &a, userByIDQuery, agentID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return a, fmt.Errorf("desk user %d: %w", agentID, hotline.ErrNotFound)
		}
		return a, fmt.Errorf("desk user %d: %w", agentID, err)
	}
	return a, nil
}

// Audit writes what desk user actorID did to the desk user objectID (a username) from
// address ip to hotline.audit_log.
func (s *Sessions) Audit(ctx context.Context, actorID int64, action, objectID, ip string) error {
	if _, err := s.db.ExecContext(ctx, sessionAuditInsert, s.o.Now(), actorID, action, objectID, normalIP(ip)); err != nil {
		return fmt.Errorf("audit %s of %s: %w", action, objectID, err)
	}
	return nil
}

// sessionsExpiredDelete deletes the sessions expired at $1 or idle since $2 and returns the
// users left without a live session.
const sessionsExpiredDelete = `
	WITH d AS (
	  DELETE FROM hotline.sessions
	  WHERE expires_at <= $1 OR last_seen_at <= $2
	  RETURNING agent_id)
	SELECT DISTINCT d.agent_id FROM d
	WHERE NOT EXISTS (SELECT 1 FROM hotline.sessions s
	                  WHERE s.agent_id = d.agent_id AND s.expires_at > $1 AND s.last_seen_at > $2)
	ORDER BY d.agent_id`

// PurgeSessions deletes the sessions that have expired or been idle too long and returns the
// users they belonged to who have no live session left, so that they can be logged out of
// the ACD. The sessions of users made inactive die on their next use.
func (s *Sessions) PurgeSessions(ctx context.Context) ([]int64, error) {
	now := s.o.Now()
	out := []int64{}
	if err := s.db.SelectContext(ctx, &out, sessionsExpiredDelete, now, now.Add(-s.o.IdleTimeout)); err != nil {
		return nil, fmt.Errorf("purge sessions: %w", err)
	}
	return out, nil
}
