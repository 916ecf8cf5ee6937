package postgres_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// idNumber completes 17 digits with their GB 11643 check character.
func idNumber(first17 string) string { return first17 + string(hotline.IDCheckChar(first17)) }

// Fixture ID numbers, mobiles and PINs.
var (
	realID     = idNumber("44060419900307123")
	ordinaryID = idNumber("44060519851111002")
	bareID     = idNumber("44060620000229456")
	inconsID   = idNumber("44060719781231789")
	unknownID  = idNumber("44060819700101000") // valid, never stored
	xID        = idNumberEndingX("440608198805160")
)

// idNumberEndingX returns a valid ID number starting with 15 digits whose check character is X.
func idNumberEndingX(first15 string) string {
	for i := 0; i < 100; i++ {
		first17 := fmt.Sprintf("%s%02d", first15, i)
		if hotline.IDCheckChar(first17) == 'X' {
			return first17 + "X"
		}
	}
	panic("no check character X after " + first15)
}

const (
	realPIN = "123456"
	barePIN = "654321"
)

// testClock is a settable clock for the PIN lockout rule.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fixture is a small platform: a real-name citizen with accounts, bills, applications, social
// insurance and housing fund; an ordinary user with nothing; a real-name user with nothing; an
// ordinary user who (inconsistently) has insurance and fund accounts; a catalogue; stations.
type fixture struct {
	db    *sqlx.DB
	store *postgres.Store
	pii   *pii.Protector
	clock *testClock

	real, ordinary, bare, incons int64 // citizen ids
	withX                        int64 // a citizen whose ID number ends in X
	water, electricity, telecom  int64 // account ids of real
	commerce, police             int   // department ids
	licence, hukou, residence    int   // service item ids
	chanchengA, chanchengB       int   // station ids in 440604
	nanhai                       int   // station id in 440605
	noHistoryCase                string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	keys, err := pii.GenerateKeys()
	if err != nil {
		t.Fatal(err)
	}
	p, err := pii.NewProtector(keys)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: pgtest.DB(t), pii: p, clock: &testClock{t: time.Date(2026, 3, 10, 9, 0, 0, 0, time.Local)}}
	f.store = postgres.New(f.db, p, f.clock.Now)

	for _, d := range hotline.Districts {
		f.exec(t, `INSERT INTO platform.districts (code, name) VALUES ($1, $2)`, d.Code, d.Name)
	}
	f.real = f.citizen(t, "王芳", "13800138000", realID, hotline.LevelRealName, "440604", realPIN)
	f.ordinary = f.citizen(t, "李明", "13900139000", ordinaryID, hotline.LevelOrdinary, "440605", "")
	f.bare = f.citizen(t, "陈静", "13700137000", bareID, hotline.LevelRealName, "440606", barePIN)
	f.incons = f.citizen(t, "张伟", "13600136000", inconsID, hotline.LevelOrdinary, "440607", "")
	f.withX = f.citizen(t, "赵雷", "19912345678", xID, hotline.LevelOrdinary, "440608", "")

	const account = `INSERT INTO platform.utility_accounts (citizen_id, kind, provider, account_number, address, opened_on)
		VALUES ($1, $2, $3, $4, '禅城区季华五路1号', '2019-05-01') RETURNING id`
	f.telecom = f.id64(t, account, f.real, "telecom", "中国电信佛山分公司", "075588880001")
	f.water = f.id64(t, account, f.real, "water", "佛山水业集团", "100200300")
	f.electricity = f.id64(t, account, f.real, "electricity", "广东电网佛山供电局", "0300123456")

	// Water bills from August 2025 to January 2026, November missing; January unpaid.
	const bill = `INSERT INTO platform.bills (account_id, period, amount_fen, due_date, paid_at) VALUES ($1, $2, $3, $4, $5)`
	for i, period := range []string{"2025-08-01", "2025-09-01", "2025-10-01", "2025-12-01", "2026-01-01"} {
		p, _ := time.Parse(time.DateOnly, period)
		var paid any = p.AddDate(0, 1, 3)
		if period == "2026-01-01" {
			paid = nil
		}
		f.exec(t, bill, f.water, period, 4200+int64(i)*100, p.AddDate(0, 1, 14), paid)
	}

	const si = `INSERT INTO platform.social_insurance_accounts (citizen_id, account_number, status, balance_fen,
		monthly_contribution_fen, months_paid, last_paid_period, updated_at)
		VALUES ($1, $2, 'active', $3, 120000, 86, '2026-02-01', '2026-02-15 10:00:00+08')`
	f.exec(t, si, f.real, "4406040001", 3456789)
	f.exec(t, si, f.incons, "4406070002", 100)
	const hf = `INSERT INTO platform.housing_fund_accounts (citizen_id, account_number, status, employer, balance_fen,
		monthly_deposit_fen, months_paid, last_deposit_period, updated_at)
		VALUES ($1, $2, 'active', '佛山市顺德区美的电器有限公司', $3, 96000, 60, NULL, '2026-02-20 10:00:00+08')`
	f.exec(t, hf, f.real, "8806040001", 5678900)
	f.exec(t, hf, f.incons, "8806070002", 200)

	const dep = `INSERT INTO platform.departments (name, phone) VALUES ($1, $2) RETURNING id`
	f.commerce = f.id(t, dep, "佛山市市场监督管理局", "0757-12345")
	f.police = f.id(t, dep, "佛山市公安局", "0757-110")
	const item = `INSERT INTO platform.service_items (code, name, department_id, category, materials, fee_fen,
		time_limit_days, keywords, description) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`
	f.licence = f.id(t, item, "SC-001", "营业执照办理", f.commerce, "市场主体", `{身份证,经营场所证明}`, 0, 3, `{营业执照,开办企业}`, "个体工商户与企业的设立登记")
	f.hukou = f.id(t, item, "HJ-001", "户籍迁入", f.police, "户籍", `{户口簿,身份证,迁移证}`, 0, 20, `{落户,迁户口}`, "")
	f.residence = f.id(t, item, "HJ-002", "居住证申领", f.police, "户籍", `{身份证,居住证明}`, 2000, 10, `{}`, "")

	const app = `INSERT INTO platform.applications (case_number, item_id, citizen_id, department_id, status, submitted_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`
	hukouApp := f.id64(t, app, "2026010500001", f.hukou, f.real, f.police, "completed", "2026-01-05 09:30:00+08", "2026-01-28 16:00:00+08")
	licenceApp := f.id64(t, app, "2026020300002", f.licence, f.real, f.commerce, "reviewing", "2026-02-03 14:00:00+08", "2026-02-04 10:00:00+08")
	f.noHistoryCase = "2025120100003"
	f.id64(t, app, f.noHistoryCase, f.residence, f.real, f.police, "accepted", "2025-12-01 11:00:00+08", "2025-12-01 11:00:00+08")
	const ev = `INSERT INTO platform.application_events (application_id, seq, status, at, note) VALUES ($1, $2, $3, $4, $5)`
	// Inserted out of order: the history must come back by seq.
	f.exec(t, ev, hukouApp, 3, "correction", "2026-01-12 10:00:00+08", "请补充迁移证原件")
	f.exec(t, ev, hukouApp, 1, "accepted", "2026-01-05 09:30:00+08", "")
	f.exec(t, ev, hukouApp, 4, "completed", "2026-01-28 16:00:00+08", "")
	f.exec(t, ev, hukouApp, 2, "reviewing", "2026-01-06 09:00:00+08", "")
	f.exec(t, ev, licenceApp, 1, "accepted", "2026-02-03 14:00:00+08", "")
	f.exec(t, ev, licenceApp, 2, "reviewing", "2026-02-04 10:00:00+08", "")

	const st = `INSERT INTO platform.service_stations (district_code, name, address, hours, phone)
		VALUES ($1, $2, $3, '周一至周五 9:00-17:00', $4) RETURNING id`
	f.chanchengA = f.id(t, st, "440604", "祖庙街道社区服务站", "禅城区祖庙路21号", "0757-83000001")
	f.nanhai = f.id(t, st, "440605", "桂城街道社区服务站", "南海区南海大道北1号", "0757-86000001")
	f.chanchengB = f.id(t, st, "440604", "石湾镇街道社区服务站", "禅城区石湾公园路5号", "0757-82000001")
	return f
}

// citizen inserts a citizen the way the platform stores one: the ID number sealed, hashed and
// masked, the PIN hashed (at bcrypt's lowest cost, for speed).
func (f *fixture) citizen(t *testing.T, name, mobile, id string, level hotline.Level, district, pin string) int64 {
	t.Helper()
	sealed, err := f.pii.Seal(id)
	if err != nil {
		t.Fatal(err)
	}
	var pinHash any
	if pin != "" {
		h, err := pii.HashPIN(pin, 4)
		if err != nil {
			t.Fatal(err)
		}
		pinHash = h
	}
	var verified any
	if level == hotline.LevelRealName {
		verified = "2021-06-01 10:00:00+08"
	}
	return f.id64(t, `INSERT INTO platform.citizens (name, mobile, id_number_enc, id_number_hmac, id_number_mask, level,
		district_code, pin_hash, registered_at, verified_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '2020-03-01 08:00:00+08', $9) RETURNING id`,
		name, mobile, sealed, f.pii.LookupHash(id), hotline.MaskIDNumber(id), level, district, pinHash, verified)
}

func (f *fixture) exec(t *testing.T, query string, args ...any) {
	t.Helper()
	if _, err := f.db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

func (f *fixture) id64(t *testing.T, query string, args ...any) int64 {
	t.Helper()
	var id int64
	if err := f.db.Get(&id, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return id
}

func (f *fixture) id(t *testing.T, query string, args ...any) int {
	t.Helper()
	return int(f.id64(t, query, args...))
}
