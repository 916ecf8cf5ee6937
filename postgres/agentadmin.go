package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline"
)

// Agent management by supervisors and admins: the list of desk users with their skills and
// state, skills and levels, new users, deactivation and password resets. Every change is
// written to hotline.audit_log (object_type agent, object_id the agent's id); password hashes
// never leave this file.

// Audit actions of agent management.
const (
	AuditAgentCreated     = "agent_created"
	AuditAgentSkills      = "agent_skills_changed"
	AuditAgentDeactivated = "agent_deactivated"
	AuditAgentPassword    = "agent_password_reset"
	// AuditForceReason keeps the words a supervisor gave for a forced pause, beside the
	// ACD's agent_state_forced row, which has the pause reason code.
	AuditForceReason = "agent_state_forced_reason"
)

// MinPasswordLength is the shortest password an admin may set.
const MinPasswordLength = 8

// ManagedAgent is a desk user as agent management shows them.
type ManagedAgent struct {
	ID          int64        `db:"id" json:"id"`
	Username    string       `db:"username" json:"username"`
	DisplayName string       `db:"display_name" json:"display_name"`
	Role        hotline.Role `db:"role" json:"role"`
	Endpoint    string       `db:"endpoint" json:"endpoint"`
	Active      bool         `db:"active" json:"active"`
	State       string       `db:"state" json:"state"`
	Reason      string       `db:"reason" json:"reason"`
	Since       *time.Time   `db:"since" json:"since"`
	Skills      []SkillLevel `db:"-" json:"skills"`
}

// SkillLevel is one of an agent's skills with its level, 1 (basic) to 5 (expert).
type SkillLevel struct {
	Skill string `db:"skill_id" json:"skill"`
	Level int    `db:"level" json:"level"`
}

// Skill is a skill queues ask for.
type Skill struct {
	ID   string `db:"id" json:"id"`
	Name string `db:"name" json:"name"`
}

const managedAgentsQuery = `
	SELECT a.id, a.username, a.display_name, a.role, coalesce(a.endpoint, '') AS endpoint, a.active,
	       coalesce(st.state, 'offline') AS state, coalesce(st.reason, '') AS reason, st.since
	FROM hotline.agents a LEFT JOIN hotline.agent_status st ON st.agent_id = a.id
	ORDER BY a.active DESC, a.display_name, a.id`

const managedSkillsQuery = `SELECT agent_id, skill_id, level FROM hotline.agent_skills ORDER BY agent_id, skill_id`

// ManagedAgents lists every desk user, active first, with their skills and state.
func ManagedAgents(ctx context.Context, db *sqlx.DB) ([]ManagedAgent, error) {
	out := []ManagedAgent{}
	if err := db.SelectContext(ctx, &out, managedAgentsQuery); err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	var skills []struct {
		AgentID int64 `db:"agent_id"`
		SkillLevel
	}
	if err := db.SelectContext(ctx, &skills, managedSkillsQuery); err != nil {
		return nil, fmt.Errorf("agents' skills: %w", err)
	}
	byID := map[int64]int{}
	for i := range out {
		out[i].Skills = []SkillLevel{}
		byID[out[i].ID] = i
	}
	for _, s := range skills {
		if i, ok := byID[s.AgentID]; ok {
			out[i].Skills = append(out[i].Skills, s.SkillLevel)
		}
	}
	return out, nil
}

// Skills lists the skills there are.
func Skills(ctx context.Context, db *sqlx.DB) ([]Skill, error) {
	out := []Skill{}
	if err := db.SelectContext(ctx, &out, `SELECT id, name FROM hotline.skills ORDER BY id`); err != nil {
		return nil, fmt.Errorf("skills: %w", err)
	}
	return out, nil
}

const adminAuditInsert = `
	INSERT INTO hotline.audit_log (at, actor_id, action, object_type, object_id, detail, ip)
	VALUES ($1, $2, $3, 'agent', $4, $5, NULLIF($6, '')::inet)`

// adminAudit writes what actorID did to agentID.
func adminAudit(ctx context.Context, tx *sqlx.Tx, now time.Time, actorID int64, action string, agentID int64, detail any, ip string) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, adminAuditInsert, now, actorID, action, strconv.FormatInt(agentID, 10), b, normalIP(ip)); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// inAdminTx runs fn in a transaction.
func inAdminTx(ctx context.Context, db *sqlx.DB, what string, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
	}
	return nil
}

// checkSkills refuses unknown skills, levels outside 1–5 and a skill named twice.
func checkSkills(ctx context.Context, tx *sqlx.Tx, skills []SkillLevel) error {
	seen := map[string]bool{}
	for _, s := range skills {
		if s.Level < 1 || s.Level > 5 {
			return fmt.Errorf("skill %q: level %d is not 1 to 5: %w", s.Skill, s.Level, hotline.ErrInvalid)
		}
		if seen[s.Skill] {
			return fmt.Errorf("skill %q named twice: %w", s.Skill, hotline.ErrInvalid)
		}
		seen[s.Skill] = true
		var ok bool
		if err := tx.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM hotline.skills WHERE id = $1)`, s.Skill); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no skill %q: %w", s.Skill, hotline.ErrInvalid)
		}
	}
	return nil
}

// lockManaged locks agentID's row and returns whether they are active.
func lockManaged(ctx context.Context, tx *sqlx.Tx, agentID int64) (active bool, err error) {
	err = tx.GetContext(ctx, &active, `SELECT active FROM hotline.agents WHERE id = $1 FOR UPDATE`, agentID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("agent %d: %w", agentID, hotline.ErrNotFound)
	}
	return active, err
}

// SetSkills replaces agentID's skills and levels (1–5), audited with the old and new ones.
func SetSkills(ctx context.Context, db *sqlx.DB, now time.Time, actorID, agentID int64, skills []SkillLevel, ip string) error {
	return inAdminTx(ctx, db, fmt.Sprintf("skills of agent %d", agentID), func(tx *sqlx.Tx) error {
		if _, err := lockManaged(ctx, tx, agentID); err != nil {
			return err
		}
		if err := checkSkills(ctx, tx, skills); err != nil {
			return err
		}
		old := []SkillLevel{}
		if err := tx.SelectContext(ctx, &old, `SELECT skill_id, level FROM hotline.agent_skills WHERE agent_id = $1 ORDER BY skill_id`, agentID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM hotline.agent_skills WHERE agent_id = $1`, agentID); err != nil {
			return err
		}
		for _, s := range skills {
			if _, err := tx.ExecContext(ctx, `INSERT INTO hotline.agent_skills (agent_id, skill_id, level) VALUES ($1, $2, $3)`, agentID, s.Skill, s.Level); err != nil {
				return err
			}
		}
		return adminAudit(ctx, tx, now, actorID, AuditAgentSkills, agentID, map[string]any{"from": skillMap(old), "to": skillMap(skills)}, ip)
	})
}

func skillMap(skills []SkillLevel) map[string]int {
	m := map[string]int{}
	for _, s := range skills {
		m[s.Skill] = s.Level
	}
	return m
}

// NewAgent is a desk user to create.
type NewAgent struct {
	Username    string       `json:"username"`
	DisplayName string       `json:"display_name"`
	Role        hotline.Role `json:"role"`
	Endpoint    string       `json:"endpoint"`
	Password    string       `json:"password"`
	Skills      []SkillLevel `json:"skills"`
}

var (
	usernamePattern = regexp.MustCompile(`^[a-z0-9_.-]{2,32}$`)
	endpointPattern = regexp.MustCompile(`^(PJSIP|SIP|Local)/[A-Za-z0-9_.@+-]{1,64}$`)
)

// checkPassword refuses a password too short or too long for bcrypt.
func checkPassword(p string) error {
	if utf8.RuneCountInString(p) < MinPasswordLength {
		return fmt.Errorf("the password needs at least %d characters: %w", MinPasswordLength, hotline.ErrInvalid)
	}
	if len(p) > 72 {
		return fmt.Errorf("the password may have at most 72 bytes: %w", hotline.ErrInvalid)
	}
	return nil
}

// CreateAgent creates a desk user with a bcrypt hash (cost 0 means bcrypt.DefaultCost) of
// their password and returns their id. A taken username or endpoint is hotline.ErrConflict.
func CreateAgent(ctx context.Context, db *sqlx.DB, now time.Time, actorID int64, n NewAgent, cost int, ip string) (int64, error) {
	n.Username = strings.ToLower(strings.TrimSpace(n.Username))
	n.DisplayName = strings.TrimSpace(n.DisplayName)
	n.Endpoint = strings.TrimSpace(n.Endpoint)
	switch {
	case !usernamePattern.MatchString(n.Username):
		return 0, fmt.Errorf("username %q: 2 to 32 of a-z 0-9 _ . -: %w", n.Username, hotline.ErrInvalid)
	case n.DisplayName == "" || utf8.RuneCountInString(n.DisplayName) > 40:
		return 0, fmt.Errorf("a display name of 1 to 40 characters is required: %w", hotline.ErrInvalid)
	case n.Role != hotline.RoleAgent && n.Role != hotline.RoleSupervisor && n.Role != hotline.RoleAdmin:
		return 0, fmt.Errorf("role %q is not agent, supervisor or admin: %w", n.Role, hotline.ErrInvalid)
	case n.Endpoint != "" && !endpointPattern.MatchString(n.Endpoint):
		return 0, fmt.Errorf("endpoint %q: want PJSIP/…, SIP/… or Local/…: %w", n.Endpoint, hotline.ErrInvalid)
	}
	if err := checkPassword(n.Password); err != nil {
		return 0, err
	}
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(n.Password), cost)
	if err != nil {
		return 0, fmt.Errorf("create agent: %w", err)
	}
	var id int64
	err = inAdminTx(ctx, db, "create agent "+n.Username, func(tx *sqlx.Tx) error {
		if err := checkSkills(ctx, tx, n.Skills); err != nil {
			return err
		}
		err := tx.GetContext(ctx, &id, `
			INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint, created_at)
			VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6) RETURNING id`,
			n.Username, n.DisplayName, n.Role, string(hash), n.Endpoint, now)
		if pe := (*pq.Error)(nil); errors.As(err, &pe) && pe.Code == "23505" {
			return fmt.Errorf("the username or endpoint is taken: %w", hotline.ErrConflict)
		}
		if err != nil {
			return err
		}
		for _, s := range n.Skills {
			if _, err := tx.ExecContext(ctx, `INSERT INTO hotline.agent_skills (agent_id, skill_id, level) VALUES ($1, $2, $3)`, id, s.Skill, s.Level); err != nil {
				return err
			}
		}
		return adminAudit(ctx, tx, now, actorID, AuditAgentCreated, id, map[string]any{
			"username": n.Username, "role": n.Role, "endpoint": n.Endpoint, "skills": skillMap(n.Skills)}, ip)
	})
	return id, err
}

// DeactivateAgent marks agentID inactive (they can no longer log in; history keeps them),
// audited. Logging them out of the ACD and ending their sessions is the caller's.
func DeactivateAgent(ctx context.Context, db *sqlx.DB, now time.Time, actorID, agentID int64, ip string) error {
	return inAdminTx(ctx, db, fmt.Sprintf("deactivate agent %d", agentID), func(tx *sqlx.Tx) error {
		active, err := lockManaged(ctx, tx, agentID)
		if err != nil {
			return err
		}
		if !active {
			return fmt.Errorf("agent %d is already inactive: %w", agentID, hotline.ErrConflict)
		}
		if actorID == agentID {
			return fmt.Errorf("nobody deactivates themselves: %w", hotline.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE hotline.agents SET active = false WHERE id = $1`, agentID); err != nil {
			return err
		}
		return adminAudit(ctx, tx, now, actorID, AuditAgentDeactivated, agentID, map[string]any{}, ip)
	})
}

// ResetPassword sets agentID's password, audited (without it). Ending their sessions is the
// caller's.
func ResetPassword(ctx context.Context, db *sqlx.DB, now time.Time, actorID, agentID int64, password string, cost int, ip string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	return inAdminTx(ctx, db, fmt.Sprintf("reset password of agent %d", agentID), func(tx *sqlx.Tx) error {
		if _, err := lockManaged(ctx, tx, agentID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE hotline.agents SET password_hash = $2 WHERE id = $1`, agentID, string(hash)); err != nil {
			return err
		}
		return adminAudit(ctx, tx, now, actorID, AuditAgentPassword, agentID, map[string]any{}, ip)
	})
}

// AuditForcedPause writes why actorID paused agentID: the pause reason code and the words.
func AuditForcedPause(ctx context.Context, db *sqlx.DB, now time.Time, actorID, agentID int64, code, words, ip string) error {
	return inAdminTx(ctx, db, fmt.Sprintf("audit the forced pause of agent %d", agentID), func(tx *sqlx.Tx) error {
		return adminAudit(ctx, tx, now, actorID, AuditForceReason, agentID, map[string]string{"pause_reason": code, "reason": words}, ip)
	})
}
