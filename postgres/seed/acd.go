package seed

import (
	"fmt"
	"strings"

	"github.com/foshan-hotline/hotline/pii"
)

// skill is a consultation topic agents are skilled in; each has a queue of the same id.
type skill struct{ id, name string }

// skills are the consultation topics of the platform's rules, plus general enquiries.
var skills = []skill{
	{"social_security", "社会保障"},
	{"housing_fund", "住房公积金"},
	{"health", "卫生医疗"},
	{"education", "文化教育"},
	{"public_safety", "公共安全"},
	{"food_drug", "食品药品安全"},
	{"community", "社区服务"},
	{"transport", "交通出行"},
	{"population", "人口与计划生育"},
	{"disability", "残疾人保障"},
	{"general", "综合咨询"},
}

// staffMember is a demo desk user; skills maps skill id to level (1 basic … 5 expert).
type staffMember struct {
	username, name, role, endpoint string
	skills                         []skillLevel
}

type skillLevel struct {
	skill string
	level int
}

var staffMembers = []staffMember{
	{"agent01", "陈小燕", "agent", "PJSIP/1001", []skillLevel{{"social_security", 5}, {"housing_fund", 4}, {"general", 3}}},
	{"agent02", "李志明", "agent", "PJSIP/1002", []skillLevel{{"health", 5}, {"food_drug", 4}, {"general", 3}}},
	{"agent03", "黄嘉欣", "agent", "PJSIP/1003", []skillLevel{{"education", 4}, {"population", 4}, {"community", 4}, {"general", 3}}},
	{"agent04", "梁伟强", "agent", "PJSIP/1004", []skillLevel{{"public_safety", 5}, {"transport", 5}, {"general", 3}}},
	{"agent05", "何佩珊", "agent", "PJSIP/1005", []skillLevel{{"disability", 5}, {"community", 4}, {"social_security", 3}, {"general", 3}}},
	{"agent06", "罗俊杰", "agent", "PJSIP/1006", []skillLevel{{"housing_fund", 5}, {"social_security", 4}, {"transport", 3}, {"general", 4}}},
	{"supervisor", "张丽华", "supervisor", "PJSIP/1100", []skillLevel{{"general", 4}}},
	{"admin", "系统管理员", "admin", "", nil},
}

// passwordAlphabet leaves out characters easily misread (0/O, 1/l/I).
const passwordAlphabet = "abcdefghijkmnpqrstuvwxyz23456789"

// staffCredentials returns the demo staff with passwords derived from the seed.
func staffCredentials(seed int64) []Credential {
	r := newSource(seed, streamStatic).at(2)
	creds := make([]Credential, len(staffMembers))
	for i, m := range staffMembers {
		var pw strings.Builder
		for k := 0; k < 10; k++ {
			pw.WriteByte(passwordAlphabet[r.IntN(len(passwordAlphabet))])
		}
		c := Credential{Username: m.username, Password: pw.String(), Role: m.role, DisplayName: m.name, Endpoint: m.endpoint}
		for _, s := range m.skills {
			c.Skills = append(c.Skills, s.skill)
		}
		creds[i] = c
	}
	return creds
}

// hashAll bcrypt-hashes secrets at cost, a few at a time.
func hashAll(secrets []string, cost int) ([]string, error) {
	hashes := make([]string, len(secrets))
	errs := make(chan error, len(secrets))
	sem := make(chan struct{}, 4)
	for i, s := range secrets {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			h, err := pii.HashPIN(s, cost)
			hashes[i] = h
			errs <- err
		}()
	}
	var err error
	for range secrets {
		if e := <-errs; e != nil && err == nil {
			err = fmt.Errorf("seed: %w", e)
		}
	}
	return hashes, err
}

func fillSkills(put put) error {
	for _, s := range skills {
		if err := put(s.id, s.name); err != nil {
			return err
		}
	}
	return nil
}

func fillQueues(put put) error {
	for _, s := range skills {
		wait := 300
		if s.id == "general" {
			wait = 600 // the queue of last resort waits longer before overflow
		}
		if err := put(s.id, s.name, s.id, wait, 30); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) fillAgents(put put) error {
	for i, m := range staffMembers {
		var endpoint any
		if m.endpoint != "" {
			endpoint = m.endpoint
		}
		if err := put(i+1, m.username, m.name, m.role, g.staffHashes[i], endpoint, true, timestamp(g.now)); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) fillAgentSkills(put put) error {
	for i, m := range staffMembers {
		for _, s := range m.skills {
			if err := put(i+1, s.skill, s.level); err != nil {
				return err
			}
		}
	}
	return nil
}
