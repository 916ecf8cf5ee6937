package seed

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/foshan-hotline/hotline"
)

// BillMonths is the number of monthly bills per account: the twelve months before Now's.
const BillMonths = 12

// season scales a kind's typical amount by calendar month (index 0 is January): Foshan's
// air conditioning doubles summer electricity, water use rises with the heat, and gas
// (cooking and water heating) peaks in the cool months.
var season = map[hotline.AccountKind][12]float64{
	hotline.Water:       {0.90, 0.95, 0.90, 0.95, 1.05, 1.15, 1.25, 1.25, 1.15, 1.00, 0.95, 0.90},
	hotline.Electricity: {0.75, 0.80, 0.70, 0.85, 1.15, 1.55, 1.85, 1.90, 1.60, 1.10, 0.85, 0.80},
	hotline.Gas:         {1.45, 1.40, 1.20, 1.00, 0.85, 0.75, 0.70, 0.70, 0.75, 0.90, 1.10, 1.35},
	hotline.Telecom:     {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
}

// amountRange bounds a month's amount per kind, in yuan.
var amountRange = map[hotline.AccountKind][2]float64{
	hotline.Water:       {20, 150},
	hotline.Electricity: {50, 600},
	hotline.Gas:         {20, 200},
	hotline.Telecom:     {19, 299},
}

// telecomPlans are monthly plan prices in yuan.
var telecomPlans = []float64{19, 29, 39, 59, 79, 99, 129, 169, 199, 239}

// baseAmount draws an account's typical monthly amount in yuan.
func baseAmount(r *rand.Rand, kind hotline.AccountKind) float64 {
	switch kind {
	case hotline.Water:
		return 30 + r.Float64()*60
	case hotline.Electricity:
		return 90 + r.Float64()*200
	case hotline.Gas:
		return 35 + r.Float64()*70
	default:
		return telecomPlans[r.IntN(len(telecomPlans))]
	}
}

// bill is one generated monthly bill.
type bill struct {
	period, due time.Time
	amountFen   int64
	paidAt      time.Time // zero when unpaid
}

// overdue reports whether the bill is unpaid past its due date at now.
func (b bill) overdue(now time.Time) bool {
	return b.paidAt.IsZero() && now.After(b.due.AddDate(0, 0, 1))
}

// bills draws the BillMonths bills of a, oldest first, from r.
func (g *generator) bills(r *rand.Rand, a *account) []bill {
	bs := make([]bill, BillMonths)
	first := monthStart(g.now).AddDate(0, -BillMonths, 0)
	lim := amountRange[a.kind]
	for m := range bs {
		period := first.AddDate(0, m, 0)
		var yuan float64
		if a.kind == hotline.Telecom {
			yuan = a.base
			if chance(r, 0.2) { // calls or data beyond the plan
				yuan += float64(between(r, 1, 3000)) / 100
			}
		} else {
			yuan = a.base * season[a.kind][period.Month()-1] * (0.88 + r.Float64()*0.24)
		}
		yuan = math.Max(lim[0], math.Min(lim[1], yuan))
		b := bill{period: period, amountFen: int64(math.Round(yuan * 100))}
		issued := period.AddDate(0, 1, 2).Add(8 * time.Hour)
		if a.kind == hotline.Telecom {
			b.due = period.AddDate(0, 2, -1) // end of the next month
		} else {
			b.due = period.AddDate(0, 1, 19) // the 20th of the next month
		}
		b.paidAt = a.payment(r, issued, b.due, BillMonths-m)
		if b.paidAt.After(g.now) {
			b.paidAt = time.Time{}
		}
		bs[m] = b
	}
	return bs
}

// payment draws when a bill issued at issued and due at due is paid; age is 1 for the latest
// bill. Zero means never.
func (a *account) payment(r *rand.Rand, issued, due time.Time, age int) time.Time {
	daytime := time.Duration(between(r, 8*3600, 22*3600)) * time.Second
	window := int(due.Sub(issued).Hours()/24) + 1
	switch a.payer {
	case payerAutomatic:
		return issued.Add(time.Duration(between(r, 0, 2))*24*time.Hour + 2*time.Hour)
	case payerPrompt:
		return dayStart(issued).Add(time.Duration(r.IntN(window))*24*time.Hour + daytime)
	default:
		if a.payer == payerDelinquent && age <= a.unpaid {
			return time.Time{}
		}
		if chance(r, 0.6) {
			return due.Add(time.Duration(between(r, 1, 25))*24*time.Hour + daytime)
		}
		return dayStart(issued).Add(time.Duration(r.IntN(window))*24*time.Hour + daytime)
	}
}

// fillBills loads the bills of every account, regenerating the accounts in the same order
// (and so with the same ids) as fillAccounts.
func (g *generator) fillBills(put put) error {
	src := newSources(g.seed)
	dates := map[int64]string{} // periods and due dates repeat on every account
	day := func(t time.Time) string {
		s, ok := dates[t.Unix()]
		if !ok {
			s = date(t)
			dates[t.Unix()] = s
		}
		return s
	}
	var id int64
	for i := 0; i < g.n; i++ {
		p := g.person(src.core, i)
		r := src.accounts.at(i)
		accs := g.accounts(r, &p)
		for k := range accs {
			id++
			for _, b := range g.bills(r, &accs[k]) {
				var paid any
				if !b.paidAt.IsZero() {
					paid = timestamp(b.paidAt)
				}
				if err := put(id, day(b.period), b.amountFen, day(b.due), paid); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
