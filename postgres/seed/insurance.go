package seed

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// fund is a social insurance or housing fund account: both are paid monthly, have a
// balance that grows with the months paid, and stop being paid when suspended or closed.
type fund struct {
	number     string
	status     string
	employer   string // housing fund only
	monthlyFen int64
	months     int
	balanceFen int64
	lastPeriod time.Time // zero when nothing was ever paid
	updatedAt  time.Time
}

// Foshan employers paying housing fund deposits.
var employers = []string{
	"美的集团股份有限公司", "佛山市海天调味食品股份有限公司", "广东格兰仕集团有限公司", "佛山市顺德区北滘镇人民政府",
	"佛山市第一人民医院", "佛山市禅城区人民政府祖庙街道办事处", "广东碧桂园物业服务股份有限公司", "佛山市南海区人民医院",
	"佛山电器照明股份有限公司", "广东东鹏控股股份有限公司", "佛山市公用事业控股有限公司", "佛山市地铁集团有限公司",
	"佛山科学技术学院", "佛山市第一中学", "佛山农村商业银行股份有限公司", "广东顺德农村商业银行股份有限公司",
	"一汽-大众汽车有限公司佛山分公司", "佛山市国星光电股份有限公司", "箭牌家居集团股份有限公司", "佛山市三水区人民医院",
	"佛山市高明区人民政府荷城街道办事处", "广东健力宝集团有限公司", "佛山市南海区桂城街道办事处", "佛山市燃气集团股份有限公司",
}

var fundStatuses = newWeighted(choice[string]{"active", 84}, choice[string]{"suspended", 12}, choice[string]{"closed", 4})

// insurance draws citizen p's social insurance and housing fund accounts from r; either may
// be absent (nil). Only real-name citizens have them.
func (g *generator) insurance(r *rand.Rand, p *person) (social, housing *fund) {
	if !p.realName() {
		return nil, nil
	}
	wage := 2300 + math.Round(r.ExpFloat64()*4500) // monthly wage base in yuan, floored at Foshan's minimum
	workFrom := p.adultFrom(between(r, 17, 24))
	if chance(r, 0.88) {
		social = g.fund(r, workFrom, time.Date(1995, 1, 1, 0, 0, 0, 0, chinaTime), wage*0.08)
		if social != nil {
			social.number = fmt.Sprintf("4406%08d", g.perms.social.of(uint64(p.index)))
		}
	}
	if p.ageAt(g.now) < 62 && chance(r, 0.66) {
		rate := float64(between(r, 5, 12)) / 100 * 2 // employee and employer share alike
		housing = g.fund(r, workFrom, time.Date(2000, 1, 1, 0, 0, 0, 0, chinaTime), wage*rate)
		if housing != nil {
			housing.number = fmt.Sprintf("0106%08d", g.perms.housing.of(uint64(p.index)))
			housing.employer = employers[r.IntN(len(employers))]
			if housing.status != "closed" && chance(r, 0.3) { // part withdrawn for rent or a home purchase
				housing.balanceFen = housing.balanceFen * int64(between(r, 10, 70)) / 100
			}
		}
	}
	return social, housing
}

// fund draws an account paid monthly (monthly yuan) since the later of workFrom and floor.
func (g *generator) fund(r *rand.Rand, workFrom, floor time.Time, monthly float64) *fund {
	start := monthStart(workFrom)
	if start.Before(floor) {
		start = floor
	}
	f := &fund{status: fundStatuses.pick(r), monthlyFen: int64(math.Round(monthly * 100))}
	last := monthStart(g.now).AddDate(0, -1, 0)
	switch f.status {
	case "suspended":
		last = last.AddDate(0, -between(r, 2, 30), 0)
	case "closed":
		last = last.AddDate(0, -between(r, 6, 60), 0)
	}
	if last.Before(start) {
		return nil // not yet working, or stopped before starting
	}
	span := monthsBetween(start, last) + 1
	f.months = max(1, int(float64(span)*(0.6+0.4*r.Float64())))
	f.lastPeriod = last
	// Earlier months were paid on lower wages, and balances earn a little interest: the
	// balance lies between 75% and 105% of months × the current amount.
	f.balanceFen = int64(float64(f.months) * float64(f.monthlyFen) * (0.75 + 0.3*r.Float64()))
	if f.status == "closed" {
		f.balanceFen = 0 // paid out or transferred when the account was closed
	}
	f.updatedAt = randomTime(r, last.AddDate(0, 1, 5), last.AddDate(0, 1, 15))
	if f.updatedAt.After(g.now) {
		f.updatedAt = g.now
	}
	return f
}

func monthsBetween(a, b time.Time) int {
	return (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
}

func (g *generator) fillSocialInsurance(put put) error {
	src := newSources(g.seed)
	for i := 0; i < g.n; i++ {
		p := g.person(src.core, i)
		s, _ := g.insurance(src.insurance.at(i), &p)
		if s == nil {
			continue
		}
		if err := put(p.id, s.number, s.status, s.balanceFen, s.monthlyFen, s.months, date(s.lastPeriod),
			timestamp(s.updatedAt)); err != nil {
			return err
		}
	}
	return nil
}

func (g *generator) fillHousingFund(put put) error {
	src := newSources(g.seed)
	for i := 0; i < g.n; i++ {
		p := g.person(src.core, i)
		_, h := g.insurance(src.insurance.at(i), &p)
		if h == nil {
			continue
		}
		if err := put(p.id, h.number, h.status, h.employer, h.balanceFen, h.monthlyFen, h.months, date(h.lastPeriod),
			timestamp(h.updatedAt)); err != nil {
			return err
		}
	}
	return nil
}
