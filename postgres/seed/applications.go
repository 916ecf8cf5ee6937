package seed

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/foshan-hotline/hotline"
)

// event is one step of an application's history.
type event struct {
	status hotline.ApplicationStatus
	at     time.Time
	note   string
}

// application is one generated application (办件) with its history up to Now.
type application struct {
	item       *serviceItem
	caseNumber string
	submitted  time.Time
	events     []event
}

func (a *application) status() hotline.ApplicationStatus { return a.events[len(a.events)-1].status }
func (a *application) updated() time.Time                { return a.events[len(a.events)-1].at }

var applicationCounts = newWeighted(choice[int]{1, 60}, choice[int]{2, 30}, choice[int]{3, 10})

var rejections = []string{
	"不予受理：逾期未补正材料",
	"不予受理：不符合申请条件",
	"不予受理：申请事项不属于本部门职权范围",
	"不予受理：申请人撤回申请",
}

var completions = []string{
	"已办结，结果已寄出",
	"已办结，请携带受理回执到窗口领取",
	"已办结，电子证照已发放",
	"已办结",
}

// applications draws citizen p's applications from r: most citizens have none, a few up to
// three, submitted over the last eighteen months and moved along their history as far as
// Now allows.
func (g *generator) applications(r *rand.Rand, p *person, pick weighted[int]) []application {
	if !chance(r, 0.3) {
		return nil
	}
	apps := make([]application, applicationCounts.pick(r))
	earliest := g.now.AddDate(0, -18, 0)
	if adult := p.adultFrom(16); adult.After(earliest) {
		earliest = adult
	}
	for slot := range apps {
		a := &apps[slot]
		a.item = &g.items[pick.pick(r)]
		day := dayStart(randomTime(r, earliest, g.now))
		a.submitted = day.Add(time.Duration(between(r, 8*3600+1800, 17*3600+1800)) * time.Second)
		if a.submitted.After(g.now) { // today, after this morning's Now
			a.submitted = g.now.Add(-time.Duration(between(r, 60, 3600)) * time.Second)
		}
		a.caseNumber = fmt.Sprintf("%s%s%08d", a.submitted.Format("060102"), p.districtCode()[4:],
			g.perms.cases.of(uint64(p.index)*4+uint64(slot)))
		a.events = g.history(r, a)
	}
	return apps
}

// history draws an application's steps: 已受理 → 审核中 → (补正材料 → 审核中) → 已办结 or
// 不予受理, keeping those that happened by Now. The first always has: submitted ≤ Now.
func (g *generator) history(r *rand.Rand, a *application) []event {
	hour := func(lo, hi int) time.Duration { return time.Duration(between(r, lo*3600, hi*3600)) * time.Second }
	accepted := "网上申请，已受理"
	if chance(r, 0.5) {
		accepted = "窗口受理"
	}
	t := a.submitted
	evs := []event{{hotline.StatusAccepted, t, accepted}}
	t = t.Add(hour(1, 48))
	evs = append(evs, event{hotline.StatusReviewing, t, "材料审核中"})
	if chance(r, 0.15) {
		t = t.Add(hour(24, 72))
		m := a.item.materials[r.IntN(len(a.item.materials))]
		evs = append(evs, event{hotline.StatusCorrection, t, "请补正：" + m})
		t = t.Add(hour(24, 240))
		evs = append(evs, event{hotline.StatusReviewing, t, "已补正材料，重新审核"})
	}
	// The time limit counts working days: about seven calendar days to five.
	limit := time.Duration(a.item.days) * 24 * time.Hour * 7 / 5
	end := a.submitted.Add(time.Duration(float64(limit) * (0.3 + 0.7*r.Float64())))
	if floor := t.Add(2 * time.Hour); end.Before(floor) {
		end = floor.Add(hour(0, 6))
	}
	if chance(r, 0.92) {
		evs = append(evs, event{hotline.StatusCompleted, end, completions[r.IntN(len(completions))]})
	} else {
		evs = append(evs, event{hotline.StatusRejected, end, rejections[r.IntN(len(rejections))]})
	}
	n := 0
	for n < len(evs) && !evs[n].at.After(g.now) {
		evs[n].at = evs[n].at.Truncate(time.Second)
		n++
	}
	return evs[:n]
}

// fillApplications and fillEvents walk the applications in the same order, so an
// application's id is its position in that walk.
func (g *generator) fillApplications(put put) error {
	return g.walkApplications(func(id int64, p *person, a *application) error {
		return put(id, a.caseNumber, a.item.id, p.id, a.item.dept, string(a.status()),
			timestamp(a.submitted), timestamp(a.updated()))
	})
}

func (g *generator) fillEvents(put put) error {
	return g.walkApplications(func(id int64, _ *person, a *application) error {
		for seq, e := range a.events {
			if err := put(id, seq+1, string(e.status), timestamp(e.at), e.note); err != nil {
				return err
			}
		}
		return nil
	})
}

func (g *generator) walkApplications(visit func(id int64, p *person, a *application) error) error {
	src := newSources(g.seed)
	pick := itemPicker(g.items)
	var id int64
	for i := 0; i < g.n; i++ {
		p := g.person(src.core, i)
		apps := g.applications(src.applications.at(i), &p, pick)
		for k := range apps {
			id++
			if err := visit(id, &p, &apps[k]); err != nil {
				return err
			}
		}
	}
	return nil
}
