package seed

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/foshan-hotline/hotline"
)

// residence weights the five districts roughly by population: 南海 and 顺德 are the largest,
// 高明 the smallest. Values index hotline.Districts (禅城, 南海, 顺德, 三水, 高明).
var residence = newWeighted(
	choice[int]{0, 15}, choice[int]{1, 36}, choice[int]{2, 32}, choice[int]{3, 10}, choice[int]{4, 7},
)

// oldRegionCodes are the codes a Foshan native's ID may still carry from before the 2002–2003
// restructuring: 城区 and 石湾区 became 禅城区, and the county-level cities 顺德市, 南海市,
// 三水市 and 高明市 became districts.
var oldRegionCodes = map[string][]string{
	"440604": {"440602", "440603"},
	"440605": {"440682"},
	"440606": {"440681"},
	"440607": {"440683"},
	"440608": {"440684"},
}

// guangdongRegions are counties elsewhere in the province that send many people to Foshan.
var guangdongRegions = []string{
	"440104", "440111", "440513", "440802", "440823", "440881", "440882", "440981", "440983",
	"441202", "441223", "441224", "441302", "441402", "441481", "441702", "441781", "441802",
	"445102", "445202", "445281", "445302", "445381",
}

// otherRegions are counties in other provinces (湖南, 广西, 四川, 江西, 河南, 湖北, 贵州, 重庆).
var otherRegions = []string{
	"430524", "430521", "431102", "431121", "430481", "450881", "450802", "452501", "450821",
	"510722", "511602", "511321", "360730", "360732", "411522", "412726", "411323", "421182",
	"421281", "520221", "522422", "500234", "500228",
}

// birthDecades weights birth years: mostly working age, fewer elderly and young adults.
var birthDecades = newWeighted(
	choice[[2]int]{[2]int{1940, 1949}, 4}, choice[[2]int]{[2]int{1950, 1959}, 8},
	choice[[2]int]{[2]int{1960, 1969}, 14}, choice[[2]int]{[2]int{1970, 1979}, 18},
	choice[[2]int]{[2]int{1980, 1989}, 22}, choice[[2]int]{[2]int{1990, 1999}, 24},
	choice[[2]int]{[2]int{2000, 2006}, 10},
)

// mobilePrefixes are the three-digit prefixes of China Mobile, China Unicom and China Telecom.
var mobilePrefixes = []string{
	"134", "135", "136", "137", "138", "139", "147", "150", "151", "152", "157", "158", "159",
	"178", "182", "183", "184", "187", "188", "198", "130", "131", "132", "145", "155", "156",
	"166", "175", "176", "185", "186", "133", "149", "153", "173", "177", "180", "181", "189", "199",
}

// mobiles hands out unique mobile numbers: citizen i gets the i-th image of a seeded
// permutation of all prefix × 8-digit numbers, so no two citizens share one.
type mobiles struct{ perm permutation }

func newMobiles(seed int64) mobiles {
	return mobiles{perm: newPermutation(seed, 1, uint64(len(mobilePrefixes))*1e8)}
}

func (m mobiles) of(i int) string {
	k := m.perm.of(uint64(i))
	return fmt.Sprintf("%s%08d", mobilePrefixes[k/1e8], k%1e8)
}

// birthDate draws a date of birth between 1940 and 2006.
func birthDate(r *rand.Rand) time.Time {
	span := birthDecades.pick(r)
	y := between(r, span[0], span[1])
	start := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	days := int(start.AddDate(1, 0, 0).Sub(start).Hours() / 24)
	return start.AddDate(0, 0, r.IntN(days))
}

// idRegion draws the region code an ID number starts with for a resident of district code.
func idRegion(r *rand.Rand, district string, birth time.Time) string {
	switch x := r.Float64(); {
	case x < 0.72: // born and registered in Foshan
		code := district
		if chance(r, 0.15) {
			code = hotline.Districts[residence.pick(r)].Code
		}
		if birth.Year() < 2003 && chance(r, 0.5) {
			olds := oldRegionCodes[code]
			code = olds[r.IntN(len(olds))]
		}
		return code
	case x < 0.85:
		return guangdongRegions[r.IntN(len(guangdongRegions))]
	default:
		return otherRegions[r.IntN(len(otherRegions))]
	}
}

// idNumbers builds unique 18-digit ID numbers. The sequence code's last digit is odd for men
// and even for women (GB 11643); when a region, birth date and sequence are already taken,
// the next free sequence of the same parity is used, so the result depends on the citizens
// made before: they must be made in index order.
type idNumbers struct {
	used map[uint64]struct{}
}

func newIDNumbers(capacity int) *idNumbers {
	return &idNumbers{used: make(map[uint64]struct{}, capacity)}
}

// next returns an ID number for a person born on birth in region, with draw in [0, 500)
// choosing the sequence code.
func (ids *idNumbers) next(region string, birth time.Time, male bool, draw int) string {
	regionNum, _ := strconv.ParseUint(region, 10, 64)
	dateNum := uint64(birth.Year()*10000 + int(birth.Month())*100 + birth.Day())
	parity := 0
	if male {
		parity = 1
	}
	for k := 0; k < 500; k++ {
		seq := ((draw+k)%500)*2 + parity
		key := (regionNum*1e8+dateNum)*1e3 + uint64(seq)
		if _, taken := ids.used[key]; taken {
			continue
		}
		ids.used[key] = struct{}{}
		first17 := fmt.Sprintf("%s%08d%03d", region, dateNum, seq)
		return first17 + string(hotline.IDCheckChar(first17))
	}
	// 500 people of one sex born on one day in one county: impossible at the sizes seeded
	// (the caller caps the number of citizens), so this is a programming error.
	panic("seed: ID sequence codes exhausted")
}
