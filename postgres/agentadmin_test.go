package postgres_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// auditRows counts the audit rows of action about the agent.
func (f *acdFixture) auditRows(t *testing.T, action string, agentID int64) int64 {
	t.Helper()
	return f.int(t, `SELECT count(*) FROM hotline.audit_log WHERE action = $1 AND object_type = 'agent' AND object_id = $2::text AND actor_id = $3`,
		action, agentID, f.boss)
}

func TestAgentManagement(t *testing.T) {
	f := newACDFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	id := f.agent(t, map[string]int{"general": 3})

	// Skills: replaced as a whole, audited with before and after; bad ones refused whole.
	must(t, postgres.SetSkills(ctx, f.db, now, f.boss, id, []postgres.SkillLevel{{Skill: "insurance", Level: 5}, {Skill: "housing", Level: 1}}, "10.0.0.7"))
	var detail string
	if err := f.db.Get(&detail, `SELECT detail::text FROM hotline.audit_log WHERE action = $1 AND object_id = $2::text`, postgres.AuditAgentSkills, id); err != nil {
		t.Fatal(err)
	}
	if detail != `{"to": {"housing": 1, "insurance": 5}, "from": {"general": 3}}` {
		t.Errorf("audit detail %s", detail)
	}
	for name, bad := range map[string][]postgres.SkillLevel{
		"level 6":       {{Skill: "general", Level: 6}},
		"level 0":       {{Skill: "general", Level: 0}},
		"unknown skill": {{Skill: "astrology", Level: 2}},
		"named twice":   {{Skill: "general", Level: 2}, {Skill: "general", Level: 3}},
	} {
		if err := postgres.SetSkills(ctx, f.db, now, f.boss, id, bad, ""); !errors.Is(err, hotline.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
	if err := postgres.SetSkills(ctx, f.db, now, f.boss, 99999, nil, ""); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("skills of nobody: %v, want not found", err)
	}
	if n := f.auditRows(t, postgres.AuditAgentSkills, id); n != 1 {
		t.Errorf("%d skills audit rows, want 1 (refusals write none)", n)
	}
	agents, err := postgres.ManagedAgents(ctx, f.db)
	must(t, err)
	var got []postgres.SkillLevel
	for _, a := range agents {
		if a.ID == id {
			got = a.Skills
		}
	}
	if len(got) != 2 || got[0] != (postgres.SkillLevel{Skill: "housing", Level: 1}) || got[1] != (postgres.SkillLevel{Skill: "insurance", Level: 5}) {
		t.Errorf("skills now %+v", got)
	}

	// A new user: a bcrypt hash of the password, audited; bad input and duplicates refused.
	n := postgres.NewAgent{Username: " Agent77 ", DisplayName: "陈小敏", Role: hotline.RoleAgent, Endpoint: "PJSIP/1077",
		Password: "long-enough", Skills: []postgres.SkillLevel{{Skill: "general", Level: 2}}}
	newID, err := postgres.CreateAgent(ctx, f.db, now, f.boss, n, bcrypt.MinCost, "")
	must(t, err)
	var hash string
	if err := f.db.Get(&hash, `SELECT password_hash FROM hotline.agents WHERE id = $1 AND username = 'agent77'`, newID); err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte("long-enough")) != nil {
		t.Error("the stored hash does not match the password")
	}
	if f.auditRows(t, postgres.AuditAgentCreated, newID) != 1 {
		t.Error("no agent_created audit row")
	}
	if _, err := postgres.CreateAgent(ctx, f.db, now, f.boss, n, bcrypt.MinCost, ""); !errors.Is(err, hotline.ErrConflict) {
		t.Errorf("the same username again: %v, want conflict", err)
	}
	for name, change := range map[string]func(*postgres.NewAgent){
		"short password":  func(a *postgres.NewAgent) { a.Password = "short" },
		"bad username":    func(a *postgres.NewAgent) { a.Username = "王五" },
		"no display name": func(a *postgres.NewAgent) { a.DisplayName = " " },
		"bad role":        func(a *postgres.NewAgent) { a.Role = "root" },
		"bad endpoint":    func(a *postgres.NewAgent) { a.Endpoint = "tel:110" },
		"bad skill level": func(a *postgres.NewAgent) { a.Skills = []postgres.SkillLevel{{Skill: "general", Level: 9}} },
	} {
		a := n
		a.Username = "fresh"
		a.Endpoint = ""
		change(&a)
		if _, err := postgres.CreateAgent(ctx, f.db, now, f.boss, a, bcrypt.MinCost, ""); !errors.Is(err, hotline.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}

	// A password reset changes the hash, audited without the password.
	must(t, postgres.ResetPassword(ctx, f.db, now, f.boss, newID, "another-one", bcrypt.MinCost, ""))
	if err := f.db.Get(&hash, `SELECT password_hash FROM hotline.agents WHERE id = $1`, newID); err != nil {
		t.Fatal(err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte("another-one")) != nil {
		t.Error("the reset password does not match")
	}
	if n := f.int(t, `SELECT count(*) FROM hotline.audit_log WHERE action = $1 AND object_id = $2::text AND detail::text NOT LIKE '%another%'`,
		postgres.AuditAgentPassword, newID); n != 1 {
		t.Errorf("%d password audit rows without the password, want 1", n)
	}
	if err := postgres.ResetPassword(ctx, f.db, now, f.boss, newID, "1234567", bcrypt.MinCost, ""); !errors.Is(err, hotline.ErrInvalid) {
		t.Errorf("a 7-character password: %v, want invalid", err)
	}

	// Deactivation, once; nobody deactivates themselves.
	must(t, postgres.DeactivateAgent(ctx, f.db, now, f.boss, newID, ""))
	if err := postgres.DeactivateAgent(ctx, f.db, now, f.boss, newID, ""); !errors.Is(err, hotline.ErrConflict) {
		t.Errorf("deactivating twice: %v, want conflict", err)
	}
	if err := postgres.DeactivateAgent(ctx, f.db, now, f.boss, f.boss, ""); !errors.Is(err, hotline.ErrConflict) {
		t.Errorf("deactivating oneself: %v, want conflict", err)
	}
	if f.int(t, `SELECT count(*) FROM hotline.agents WHERE id = $1 AND NOT active`, newID) != 1 || f.auditRows(t, postgres.AuditAgentDeactivated, newID) != 1 {
		t.Error("not deactivated, or not audited once")
	}
	agents, err = postgres.ManagedAgents(ctx, f.db)
	must(t, err)
	if last := agents[len(agents)-1]; last.ID != newID || last.Active {
		t.Errorf("the inactive user is not listed last: %+v", last)
	}
}
