package seed

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/foshan-hotline/hotline"
)

// sources bundles one reusable source per citizen aspect; each pass makes its own.
type sources struct {
	core, accounts, insurance, applications, engagement *source
}

func newSources(seed int64) *sources {
	return &sources{
		core:         newSource(seed, streamCore),
		accounts:     newSource(seed, streamAccounts),
		insurance:    newSource(seed, streamInsurance),
		applications: newSource(seed, streamApplications),
		engagement:   newSource(seed, streamEngagement),
	}
}

// numberPerms make the unique numbers: account numbers per kind, case numbers and insurance
// account numbers. Each maps a citizen-derived index (citizen × 4 + slot) into its own range.
type numberPerms struct {
	water, electricity, gas, telecom, cases, social, housing permutation
}

func newNumberPerms(seed int64) numberPerms {
	return numberPerms{
		water:       newPermutation(seed, 10, 1e8),
		electricity: newPermutation(seed, 11, 1e9),
		gas:         newPermutation(seed, 12, 1e8),
		telecom:     newPermutation(seed, 13, 1e8),
		cases:       newPermutation(seed, 20, 1e8),
		social:      newPermutation(seed, 30, 1e8),
		housing:     newPermutation(seed, 31, 1e8),
	}
}

// accountNumber returns the number of slot's account of citizen i: a kind-specific prefix
// (with the district's digit where the provider is organised by district) and the image of
// i×4+slot, which no other account of the kind shares.
func (np numberPerms) accountNumber(kind hotline.AccountKind, district string, i, slot int) string {
	k := uint64(i)*4 + uint64(slot)
	d := district[5:] // 4..8
	switch kind {
	case hotline.Water:
		return fmt.Sprintf("1%s%08d", d, np.water.of(k)) // 10 digits
	case hotline.Electricity:
		return fmt.Sprintf("030%s%09d", d, np.electricity.of(k)) // 13 digits
	case hotline.Gas:
		return fmt.Sprintf("86%08d", np.gas.of(k)) // 10 digits
	default:
		return fmt.Sprintf("0757%08d", np.telecom.of(k)) // 12 digits
	}
}

// kindWeights says how common each kind of account is: nearly every household pays for
// electricity, fewer have piped gas.
var kindWeights = []int{9, 10, 5, 7} // water, electricity, gas, telecom

var accountCounts = newWeighted(choice[int]{1, 20}, choice[int]{2, 35}, choice[int]{3, 30}, choice[int]{4, 15})

// Providers by district (in hotline.Districts order) where they differ.
var (
	waterProviders = []string{"佛山市水业集团有限公司", "佛山市南海供水集团有限公司", "佛山市顺德区供水有限公司",
		"佛山市三水区供水有限公司", "佛山市高明供水有限公司"}
	gasProviders = []string{"佛山市燃气集团股份有限公司", "佛山市燃气集团股份有限公司", "佛山市顺德区港华燃气有限公司",
		"佛山市燃气集团股份有限公司", "佛山市燃气集团股份有限公司"}
	telecomProviders = newWeighted(
		choice[string]{"中国电信股份有限公司佛山分公司", 40},
		choice[string]{"中国移动通信集团广东有限公司佛山分公司", 40},
		choice[string]{"中国联合网络通信有限公司佛山市分公司", 20},
	)
)

func provider(r *rand.Rand, kind hotline.AccountKind, district int) string {
	switch kind {
	case hotline.Water:
		return waterProviders[district]
	case hotline.Electricity:
		if district == 2 {
			return "广东电网有限责任公司佛山顺德供电局"
		}
		return "广东电网有限责任公司佛山供电局"
	case hotline.Gas:
		return gasProviders[district]
	default:
		return telecomProviders.pick(r)
	}
}

// payer is how an account's bills get paid.
type payer int

const (
	payerAutomatic  payer = iota // bank deduction right after the bill is issued
	payerPrompt                  // pays by hand before the due date
	payerLate                    // often pays after the due date
	payerDelinquent              // has stopped paying the last few bills
)

var payers = newWeighted(
	choice[payer]{payerAutomatic, 35}, choice[payer]{payerPrompt, 50},
	choice[payer]{payerLate, 12}, choice[payer]{payerDelinquent, 3},
)

// account is one utility account with the model its bills are drawn from.
type account struct {
	slot     int
	kind     hotline.AccountKind
	provider string
	number   string
	address  string
	openedOn time.Time
	base     float64 // typical monthly amount in yuan
	payer    payer
	unpaid   int // delinquent: how many of the latest bills are left unpaid
}

// accounts makes citizen p's accounts from the accounts stream, leaving r positioned where
// the bills begin.
func (g *generator) accounts(r *rand.Rand, p *person) []account {
	n := accountCounts.pick(r)
	kinds := pickKinds(r, n)
	home := address(r, p.district)
	firstPeriod := monthStart(g.now).AddDate(0, -12, 0)
	earliest := p.adultFrom(18)
	if floor := time.Date(1998, 1, 1, 0, 0, 0, 0, chinaTime); earliest.Before(floor) {
		earliest = floor
	}
	if !earliest.Before(firstPeriod) {
		earliest = firstPeriod.AddDate(-1, 0, 0)
	}
	accs := make([]account, n)
	for slot, kind := range kinds {
		a := account{slot: slot, kind: kind, address: home}
		a.provider = provider(r, kind, p.district)
		a.number = g.perms.accountNumber(kind, p.districtCode(), p.index, slot)
		a.openedOn = randomTime(r, earliest, firstPeriod.AddDate(0, 0, -1))
		a.base = baseAmount(r, kind)
		a.payer = payers.pick(r)
		if a.payer == payerDelinquent {
			a.unpaid = between(r, 1, 3)
		}
		accs[slot] = a
	}
	return accs
}

// pickKinds draws n distinct kinds, the common ones more likely, in menu order.
func pickKinds(r *rand.Rand, n int) []hotline.AccountKind {
	w := append([]int(nil), kindWeights...)
	chosen := [4]bool{}
	for k := 0; k < n; k++ {
		total := 0
		for _, x := range w {
			total += x
		}
		x := r.IntN(total)
		for j := range w {
			if x < w[j] {
				chosen[j], w[j] = true, 0
				break
			}
			x -= w[j]
		}
	}
	kinds := make([]hotline.AccountKind, 0, n)
	for j, c := range chosen {
		if c {
			kinds = append(kinds, hotline.AccountKinds[j])
		}
	}
	return kinds
}

// fillAccounts loads every citizen's accounts, numbering them in citizen order.
func (g *generator) fillAccounts(put put) error {
	src := newSources(g.seed)
	var id int64
	for i := 0; i < g.n; i++ {
		p := g.person(src.core, i)
		for _, a := range g.accounts(src.accounts.at(i), &p) {
			id++
			if err := put(id, p.id, string(a.kind), a.provider, a.number, a.address, date(a.openedOn)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Roads and estates per district (hotline.Districts order).
var (
	roads = [][]string{
		{"祖庙路", "汾江中路", "季华五路", "岭南大道北", "文华北路", "普君北路", "建新路", "卫国路", "绿景路", "南庄大道", "石湾镇公仁路", "张槎一路", "同济西路", "朝安南路"},
		{"南海大道北", "海八路", "南桂东路", "灯湖东路", "桂澜北路", "佛平路", "广佛路", "大沥镇建设大道", "狮山镇罗村大道", "里水镇和顺大道", "九江镇沙口路", "西樵镇樵华路"},
		{"大良凤山中路", "大良德和路", "容桂大道中", "容桂文华路", "伦教三洲路", "北滘镇跃进路", "乐从镇佛山大道", "陈村镇佛陈路", "龙江镇东华路", "勒流镇新城路", "均安镇百安路", "杏坛镇杏龙路"},
		{"西南街道张边路", "广海大道西", "健力宝南路", "西青大道", "云东海街道宝云路", "白坭镇富景路", "乐平镇乐华路", "芦苞镇解放路"},
		{"荷城街道沧江路", "海华路", "文华路", "跃华路", "高明大道", "杨和镇朗新路", "明城镇明二路", "更合镇新城路"},
	}
	estates = [][]string{
		{"保利花园", "岭南天地璟庭", "万科金色家园", "绿景花园", "中海文华熙岸", "华侨城天鹅堡", "东建世纪城", "城南花园"},
		{"中海金沙湾", "万科城市花园", "保利中央公园", "碧桂园翡翠湾", "怡翠玫瑰园", "雅居乐花园", "万达广场公寓", "千灯湖壹号"},
		{"碧桂园", "美的君兰江山", "保利东湖林语", "万科城", "金域滨江", "顺德华侨城", "融创御园", "新城花园"},
		{"恒福城", "碧桂园凤凰城", "保利林语山", "时代倾城", "雅居乐御龙山", "华侨城欢乐海岸"},
		{"碧桂园翡翠湾", "保利中央公园", "时代水岸", "明湖北岸", "美的未来城", "雅苑新村"},
	}
)

// address draws a home address in the district: 佛山市南海区桂澜北路28号中海金沙湾3座1502房.
func address(r *rand.Rand, district int) string {
	road := roads[district][r.IntN(len(roads[district]))]
	no := between(r, 1, 288)
	floor, room := between(r, 1, 32), between(r, 1, 8)
	if chance(r, 0.3) { // an older street building without an estate name
		return fmt.Sprintf("佛山市%s%s%d号%d%02d房", hotline.Districts[district].Name, road, no, min(floor, 9), room)
	}
	estate := estates[district][r.IntN(len(estates[district]))]
	return fmt.Sprintf("佛山市%s%s%d号%s%d座%d%02d房", hotline.Districts[district].Name, road, no, estate,
		between(r, 1, 18), floor, room)
}
