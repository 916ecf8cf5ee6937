package seed

import (
	"strings"

	"github.com/foshan-hotline/hotline"
)

// profile is what the demo picks look at in a citizen.
type profile struct {
	p          *person
	idNumber   string
	accounts   []account
	overdue    int // index into accounts of one with an overdue bill, or -1
	apps       []application
	inProgress int // index into apps of one still being processed, or -1
	social     bool
	housing    bool
}

// demoSlot describes one kind of citizen worth showing in the demo.
type demoSlot struct {
	note string
	want func(*profile) bool
}

var demoSlots = []demoSlot{
	{"实名用户，已设置查询密码，有社保和公积金账户及办件", func(f *profile) bool {
		return f.p.pin >= 0 && f.social && f.housing && len(f.apps) > 0 && f.overdue < 0
	}},
	{"实名用户，有逾期未缴账单", func(f *profile) bool { return f.p.pin >= 0 && f.overdue >= 0 }},
	{"实名用户，办件正在办理中", func(f *profile) bool { return f.p.pin >= 0 && f.inProgress >= 0 }},
	{"实名用户，身份证号末位为X", func(f *profile) bool { return f.p.pin >= 0 && strings.HasSuffix(f.idNumber, "X") }},
	{"实名用户，未设置查询密码", func(f *profile) bool { return f.p.realName() && f.p.pin < 0 }},
	{"普通注册用户，不能查询社保和公积金", func(f *profile) bool { return !f.p.realName() && len(f.apps) > 0 }},
}

// demoPicks collects, in citizen order, the first active citizen fitting each slot; a
// citizen fills at most one slot.
type demoPicks struct {
	picked []*DemoCitizen
	open   int
}

func newDemoPicks() *demoPicks {
	return &demoPicks{picked: make([]*DemoCitizen, len(demoSlots)), open: len(demoSlots)}
}

// consider offers citizen p, whose ID number is id, for the open slots.
func (d *demoPicks) consider(g *generator, src *sources, p *person, id string) {
	if d.open == 0 || p.status != "active" {
		return
	}
	f := g.profile(src, p, id)
	for k, slot := range demoSlots {
		if d.picked[k] != nil || !slot.want(f) {
			continue
		}
		c := &DemoCitizen{
			ID: p.id, Name: p.name, Mobile: g.mobiles.of(p.index), IDNumber: id, Level: string(p.level),
			DistrictCode: p.districtCode(), Note: slot.note,
		}
		if p.pin >= 0 {
			c.PIN = g.pins[p.pin]
		}
		if len(f.accounts) > 0 {
			a := f.accounts[max(f.overdue, 0)]
			c.AccountKind, c.AccountNumber = string(a.kind), a.number
		}
		if len(f.apps) > 0 {
			c.CaseNumber = f.apps[max(f.inProgress, 0)].caseNumber
		}
		d.picked[k] = c
		d.open--
		return
	}
}

// profile regenerates what the demo slots ask about citizen p.
func (g *generator) profile(src *sources, p *person, id string) *profile {
	f := &profile{p: p, idNumber: id, overdue: -1, inProgress: -1}
	r := src.accounts.at(p.index)
	f.accounts = g.accounts(r, p)
	for k := range f.accounts {
		for _, b := range g.bills(r, &f.accounts[k]) {
			if f.overdue < 0 && b.overdue(g.now) {
				f.overdue = k
			}
		}
	}
	f.apps = g.applications(src.applications.at(p.index), p, itemPicker(g.items))
	for k, a := range f.apps {
		if s := a.status(); f.inProgress < 0 && s != hotline.StatusCompleted && s != hotline.StatusRejected {
			f.inProgress = k
		}
	}
	s, h := g.insurance(src.insurance.at(p.index), p)
	f.social, f.housing = s != nil, h != nil
	return f
}

// list returns the citizens picked, in slot order.
func (d *demoPicks) list() []DemoCitizen {
	var out []DemoCitizen
	for _, c := range d.picked {
		if c != nil {
			out = append(out, *c)
		}
	}
	return out
}
