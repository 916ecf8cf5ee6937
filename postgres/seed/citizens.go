package seed

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/foshan-hotline/hotline"
)

// platformLaunch is when the first citizens registered.
var platformLaunch = time.Date(2016, 6, 1, 9, 0, 0, 0, chinaTime)

// generator makes the data set of one seed. Apart from the ID number registry and the demo
// picks, which only the citizens pass touches, it holds nothing that changes while it runs.
type generator struct {
	opts    Options
	seed    int64
	now     time.Time
	n       int
	mobiles mobiles
	perms   numberPerms
	pins    []string // the PIN pool in clear
	hashes  []string // the PIN pool's bcrypt hashes
	items   []serviceItem
	staff   []Credential
	// staffHashes are the bcrypt hashes of staff's passwords.
	staffHashes []string
	demo        *demoPicks
}

func newGenerator(opts Options) (*generator, error) {
	g := &generator{
		opts:    opts,
		seed:    opts.Seed,
		now:     opts.Now,
		n:       opts.Citizens,
		mobiles: newMobiles(opts.Seed),
		perms:   newNumberPerms(opts.Seed),
		items:   catalogue(),
		demo:    newDemoPicks(),
	}
	g.pins = pinPool(opts.Seed)
	g.staff = staffCredentials(opts.Seed)
	secrets := append([]string(nil), g.pins...)
	for _, c := range g.staff {
		secrets = append(secrets, c.Password)
	}
	hashes, err := hashAll(secrets, opts.PINCost)
	if err != nil {
		return nil, err
	}
	g.hashes, g.staffHashes = hashes[:len(g.pins)], hashes[len(g.pins):]
	return g, nil
}

// steps lists the tables to load, referenced tables first.
func (g *generator) steps() []step {
	return []step{
		{tDistricts, g.fillDistricts},
		{tDepartments, fillDepartments},
		{tItems, g.fillItems},
		{tStations, g.fillStations},
		{tSkills, fillSkills},
		{tQueues, fillQueues},
		{tAgents, g.fillAgents},
		{tAgentSkills, g.fillAgentSkills},
		{tCitizens, g.fillCitizens},
		{tAccounts, g.fillAccounts},
		{tBills, g.fillBills},
		{tSocial, g.fillSocialInsurance},
		{tHousing, g.fillHousingFund},
		{tApplications, g.fillApplications},
		{tEvents, g.fillEvents},
		{tSubscriptions, g.fillSubscriptions},
		{tMessages, g.fillMessages},
	}
}

func (g *generator) fillDistricts(put put) error {
	for _, d := range hotline.Districts {
		if err := put(d.Code, d.Name); err != nil {
			return err
		}
	}
	return nil
}

// person is the core of a citizen: who they are, without their ID number, which only the
// citizens pass assigns.
type person struct {
	index      int
	id         int64
	name       string
	male       bool
	birth      time.Time
	district   int // index into hotline.Districts
	region     string
	idDraw     int
	level      hotline.Level
	registered time.Time
	verified   time.Time // zero unless real-name
	status     string
	pin        int // index into the PIN pool, -1 for none
}

func (p *person) realName() bool              { return p.level == hotline.LevelRealName }
func (p *person) districtCode() string        { return hotline.Districts[p.district].Code }
func (p *person) districtName() string        { return hotline.Districts[p.district].Name }
func (p *person) ageAt(t time.Time) int       { return yearsBetween(p.birth, t) }
func (p *person) adultFrom(age int) time.Time { return p.birth.AddDate(age, 0, 0).In(chinaTime) }

// person makes the core of citizen i from the core stream.
func (g *generator) person(src *source, i int) person {
	r := src.at(i)
	p := person{index: i, id: int64(i) + 1, pin: -1}
	p.district = residence.pick(r)
	p.male = r.IntN(2) == 0
	p.birth = birthDate(r)
	p.name = personName(r, p.male, p.birth.Year())
	p.region = idRegion(r, p.districtCode(), p.birth)
	p.idDraw = r.IntN(500)

	earliest := p.adultFrom(16)
	if earliest.Before(platformLaunch) {
		earliest = platformLaunch
	}
	p.registered = randomTime(r, earliest, g.now.Add(-24*time.Hour))
	p.level = hotline.LevelOrdinary
	if chance(r, 0.6) {
		p.level = hotline.LevelRealName
		latest := p.registered.AddDate(1, 0, 0)
		if latest.After(g.now) {
			latest = g.now
		}
		p.verified = randomTime(r, p.registered, latest)
	}
	switch x := r.Float64(); {
	case x < 0.985:
		p.status = "active"
	case x < 0.995:
		p.status = "suspended"
	default:
		p.status = "cancelled"
	}
	if p.realName() && chance(r, 0.9) {
		p.pin = r.IntN(PINPoolSize)
	}
	return p
}

// fillCitizens is the only pass that assigns ID numbers (they must be made in order) and
// seals them; it also picks the demo citizens.
func (g *generator) fillCitizens(put put) error {
	core := newSource(g.seed, streamCore)
	aux := newSources(g.seed)
	ids := newIDNumbers(g.n)
	protector := g.opts.Protector.WithRand(nonceStream(g.seed))
	for i := 0; i < g.n; i++ {
		p := g.person(core, i)
		id := ids.next(p.region, p.birth, p.male, p.idDraw)
		enc, err := protector.Seal(id)
		if err != nil {
			return err
		}
		var pinHash, verified any
		if p.pin >= 0 {
			pinHash = g.hashes[p.pin]
		}
		if p.realName() {
			verified = timestamp(p.verified)
		}
		g.demo.consider(g, aux, &p, id)
		if err := put(p.id, p.name, g.mobiles.of(i), enc, protector.LookupHash(id), hotline.MaskIDNumber(id),
			string(p.level), p.districtCode(), pinHash, p.status, timestamp(p.registered), verified); err != nil {
			return err
		}
	}
	return nil
}

// nonceStream is the seed's deterministic source of AES-GCM nonces.
func nonceStream(seed int64) *rand.ChaCha8 {
	var key [32]byte
	for i := 0; i < 4; i++ {
		k := streamKey(seed, streamNonce+stream(i)<<32)
		for j := 0; j < 8; j++ {
			key[i*8+j] = byte(k >> (8 * j))
		}
	}
	return rand.NewChaCha8(key)
}

// pinPool draws PINPoolSize distinct 6-digit PINs, none of them trivially weak.
func pinPool(seed int64) []string {
	r := newSource(seed, streamStatic).at(0)
	seen := map[string]bool{}
	var pins []string
	for len(pins) < PINPoolSize {
		pin := fmt.Sprintf("%06d", r.IntN(1_000_000))
		if seen[pin] || weakPIN(pin) {
			continue
		}
		seen[pin] = true
		pins = append(pins, pin)
	}
	return pins
}

// weakPIN reports PINs people are told not to choose: one digit repeated or a straight run.
func weakPIN(pin string) bool {
	same, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		same = same && pin[i] == pin[0]
		up = up && pin[i] == pin[i-1]+1
		down = down && pin[i] == pin[i-1]-1
	}
	return same || up || down
}

// randomTime returns a time uniformly between from and to, to the second.
func randomTime(r *rand.Rand, from, to time.Time) time.Time {
	span := to.Sub(from)
	if span <= 0 {
		return from.Truncate(time.Second)
	}
	return from.Add(time.Duration(r.Int64N(int64(span)))).Truncate(time.Second)
}

// yearsBetween returns the whole years from a to b.
func yearsBetween(a, b time.Time) int {
	y := b.Year() - a.Year()
	if b.YearDay() < a.YearDay() {
		y--
	}
	return y
}

// timestamp formats t for a timestamptz column, with its offset so the session's time zone
// does not matter.
func timestamp(t time.Time) string { return t.In(chinaTime).Format("2006-01-02 15:04:05-07") }

// date formats t for a date column.
func date(t time.Time) string { return t.Format("2006-01-02") }

// monthStart returns the first day of t's month, at midnight China time.
func monthStart(t time.Time) time.Time {
	t = t.In(chinaTime)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, chinaTime)
}

// dayStart returns midnight China time of t's day.
func dayStart(t time.Time) time.Time {
	t = t.In(chinaTime)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, chinaTime)
}
