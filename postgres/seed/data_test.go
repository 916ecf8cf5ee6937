package seed_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres/seed"
)

// TestData seeds one database and checks what the generated data must look like.
func TestData(t *testing.T) {
	t.Parallel()
	opts := options(t, testCitizens, 20260316)
	opts.Now = now
	db, sum := seeded(t, opts)
	p := opts.Protector

	t.Run("ID numbers", func(t *testing.T) { checkIDNumbers(t, db, p) })
	t.Run("mobiles", func(t *testing.T) { checkMobiles(t, db) })
	t.Run("levels and PINs", func(t *testing.T) { checkLevels(t, db) })
	t.Run("accounts and bills", func(t *testing.T) { checkAccounts(t, db) })
	t.Run("insurance", func(t *testing.T) { checkInsurance(t, db) })
	t.Run("applications", func(t *testing.T) { checkApplications(t, db) })
	t.Run("catalogue, stations, queues", func(t *testing.T) { checkReference(t, db) })
	t.Run("staff credentials", func(t *testing.T) { checkStaff(t, db, sum.Staff) })
	t.Run("demo citizens", func(t *testing.T) { checkDemoCitizens(t, db, p, sum.Citizens) })
	t.Run("summary rows", func(t *testing.T) {
		for table, n := range sum.Rows {
			var got int64
			if err := db.GetContext(t.Context(), &got, "SELECT count(*) FROM "+table); err != nil {
				t.Fatal(err)
			}
			if got != n {
				t.Errorf("%s: %d rows, summary says %d", table, got, n)
			}
		}
		if got, want := sum.Rows["platform.citizens"], int64(testCitizens); got != want {
			t.Errorf("citizens: %d, want %d", got, want)
		}
	})
}

func checkIDNumbers(t *testing.T, db *sqlx.DB, p *pii.Protector) {
	var rows []struct {
		Enc  []byte `db:"id_number_enc"`
		HMAC []byte `db:"id_number_hmac"`
		Mask string `db:"id_number_mask"`
	}
	if err := db.SelectContext(t.Context(), &rows, `SELECT id_number_enc, id_number_hmac, id_number_mask FROM platform.citizens`); err != nil {
		t.Fatal(err)
	}
	if got, want := len(rows), testCitizens; got != want {
		t.Fatalf("%d citizens, want %d", got, want)
	}
	foshan, xs := 0, 0
	for _, r := range rows {
		id, err := p.Open(r.Enc)
		if err != nil {
			t.Fatalf("open sealed ID number: %v", err)
		}
		if err := hotline.ValidateIDNumber(id); err != nil {
			t.Errorf("%s: %v", hotline.MaskIDNumber(id), err)
		}
		if got, want := r.Mask, hotline.MaskIDNumber(id); got != want {
			t.Errorf("mask %s, want %s", got, want)
		}
		if string(r.HMAC) != string(p.LookupHash(id)) {
			t.Errorf("%s: lookup hash does not match", r.Mask)
		}
		if y := id[6:10]; y < "1940" || y > "2006" {
			t.Errorf("%s: birth year %s", r.Mask, y)
		}
		if strings.HasPrefix(id, "4406") {
			foshan++
		}
		if id[17] == 'X' {
			xs++
		}
	}
	if share := float64(foshan) / float64(len(rows)); share < 0.6 || share > 0.85 {
		t.Errorf("%.0f%% of ID numbers from Foshan, want most but not all", share*100)
	}
	if xs == 0 {
		t.Errorf("no ID number ends in X; about one in eleven should")
	}
}

func checkMobiles(t *testing.T, db *sqlx.DB) {
	var mobiles []string
	if err := db.SelectContext(t.Context(), &mobiles, `SELECT mobile FROM platform.citizens`); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, m := range mobiles {
		if !mobileRE.MatchString(m) {
			t.Errorf("mobile %q", m)
		}
		if seen[m] {
			t.Errorf("mobile %s given twice", m)
		}
		seen[m] = true
	}
}

func checkLevels(t *testing.T, db *sqlx.DB) {
	var c struct {
		RealName   int    `db:"real_name"`
		PINs       int    `db:"pins"`
		BadPIN     int    `db:"bad_pin"`
		Verified   int    `db:"verified"`
		TopSurname string `db:"top_surname"`
	}
	const q = `SELECT count(*) FILTER (WHERE level = 'real_name') AS real_name,
		count(pin_hash) AS pins,
		count(*) FILTER (WHERE pin_hash IS NOT NULL AND level <> 'real_name') AS bad_pin,
		count(*) FILTER (WHERE verified_at IS NOT NULL AND verified_at >= registered_at) AS verified,
		(SELECT left(name, 1) FROM platform.citizens GROUP BY 1 ORDER BY count(*) DESC LIMIT 1) AS top_surname
		FROM platform.citizens`
	if err := db.GetContext(t.Context(), &c, q); err != nil {
		t.Fatal(err)
	}
	if share := float64(c.RealName) / testCitizens; math.Abs(share-0.6) > 0.04 {
		t.Errorf("%.1f%% real-name users, want about 60%%", share*100)
	}
	if c.BadPIN != 0 {
		t.Errorf("%d ordinary users with a PIN", c.BadPIN)
	}
	if c.PINs < c.RealName*8/10 || c.PINs == c.RealName {
		t.Errorf("%d PINs among %d real-name users, want most but not all", c.PINs, c.RealName)
	}
	if c.Verified != c.RealName {
		t.Errorf("%d verified after registering, want %d", c.Verified, c.RealName)
	}
	if c.TopSurname != "陈" {
		t.Errorf("commonest surname %s, want 陈 as in Guangdong", c.TopSurname)
	}
}

func checkAccounts(t *testing.T, db *sqlx.DB) {
	var bad int
	const perCitizen = `SELECT count(*) FROM platform.citizens c
		WHERE (SELECT count(*) FROM platform.utility_accounts a WHERE a.citizen_id = c.id) NOT BETWEEN 1 AND 4`
	if err := db.GetContext(t.Context(), &bad, perCitizen); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("%d citizens without 1–4 accounts", bad)
	}
	// Twelve bills per account, the twelve months before now's.
	const perAccount = `SELECT count(*) FROM (
		SELECT account_id FROM platform.bills GROUP BY account_id
		HAVING count(*) <> 12 OR min(period) <> $1::date OR max(period) <> $2::date) x`
	first, last := time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)
	if err := db.GetContext(t.Context(), &bad, perAccount, first, last); err != nil {
		t.Fatal(err)
	}
	var accounts, billed int
	if err := db.GetContext(t.Context(), &accounts, `SELECT count(*) FROM platform.utility_accounts`); err != nil {
		t.Fatal(err)
	}
	if err := db.GetContext(t.Context(), &billed, `SELECT count(DISTINCT account_id) FROM platform.bills`); err != nil {
		t.Fatal(err)
	}
	if bad != 0 || billed != accounts {
		t.Errorf("%d of %d accounts have bills, %d not for the 12 months before now", billed, accounts, bad)
	}
	var kinds []struct {
		Kind    string  `db:"kind"`
		Min     int64   `db:"min"`
		Max     int64   `db:"max"`
		Summer  float64 `db:"summer"`
		Winter  float64 `db:"winter"`
		Unpaid  int     `db:"unpaid"`
		Overdue int     `db:"overdue"`
		Late    int     `db:"late"`
	}
	const q = `SELECT a.kind, min(amount_fen), max(amount_fen),
		avg(amount_fen) FILTER (WHERE extract(month FROM period) IN (7, 8)) AS summer,
		avg(amount_fen) FILTER (WHERE extract(month FROM period) IN (1, 2)) AS winter,
		count(*) FILTER (WHERE paid_at IS NULL) AS unpaid,
		count(*) FILTER (WHERE paid_at IS NULL AND due_date < $1::date) AS overdue,
		count(*) FILTER (WHERE paid_at > $2) AS late
		FROM platform.bills b JOIN platform.utility_accounts a ON a.id = b.account_id GROUP BY a.kind ORDER BY 1`
	if err := db.SelectContext(t.Context(), &kinds, q, now, now); err != nil {
		t.Fatal(err)
	}
	ranges := map[string][2]int64{"water": {2000, 15000}, "electricity": {5000, 60000}, "gas": {2000, 20000}, "telecom": {1900, 29900}}
	for _, k := range kinds {
		r := ranges[k.Kind]
		if k.Min < r[0] || k.Max > r[1] {
			t.Errorf("%s bills from %d to %d fen, want within %v", k.Kind, k.Min, k.Max, r)
		}
		if k.Unpaid == 0 || k.Overdue == 0 {
			t.Errorf("%s: %d unpaid, %d overdue bills; want some of each", k.Kind, k.Unpaid, k.Overdue)
		}
		if k.Late != 0 {
			t.Errorf("%s: %d bills paid after now", k.Kind, k.Late)
		}
	}
	if len(kinds) != 4 {
		t.Fatalf("account kinds %+v", kinds)
	}
	if e := kinds[0]; e.Kind != "electricity" || e.Summer < 1.5*e.Winter {
		t.Errorf("electricity: summer average %.0f, winter %.0f fen; want a summer peak", e.Summer, e.Winter)
	}
	if g := kinds[1]; g.Kind != "gas" || g.Winter < 1.3*g.Summer {
		t.Errorf("gas: summer average %.0f, winter %.0f fen; want a winter peak", g.Summer, g.Winter)
	}
}

func checkInsurance(t *testing.T, db *sqlx.DB) {
	for _, tc := range []struct{ table, monthly string }{
		{"platform.social_insurance_accounts", "monthly_contribution_fen"},
		{"platform.housing_fund_accounts", "monthly_deposit_fen"},
	} {
		t.Run(tc.table, func(t *testing.T) {
			var c struct {
				N        int `db:"n"`
				Ordinary int `db:"ordinary"`
				Bad      int `db:"bad"`
			}
			q := `SELECT count(*) AS n, count(*) FILTER (WHERE c.level <> 'real_name') AS ordinary,
				count(*) FILTER (WHERE months_paid < 1 OR balance_fen > months_paid * ` + tc.monthly + ` * 1.05
				    OR (f.status = 'closed') <> (balance_fen = 0) OR updated_at > $1) AS bad
				FROM ` + tc.table + ` f JOIN platform.citizens c ON c.id = f.citizen_id`
			if err := db.GetContext(t.Context(), &c, q, now); err != nil {
				t.Fatal(err)
			}
			if c.N < testCitizens/5 || c.Ordinary != 0 || c.Bad != 0 {
				t.Errorf("%d accounts, %d of ordinary users, %d inconsistent", c.N, c.Ordinary, c.Bad)
			}
		})
	}
}

func checkApplications(t *testing.T, db *sqlx.DB) {
	var apps []struct {
		ID        int64     `db:"id"`
		Case      string    `db:"case_number"`
		Status    string    `db:"status"`
		Submitted time.Time `db:"submitted_at"`
		Updated   time.Time `db:"updated_at"`
	}
	if err := db.SelectContext(t.Context(), &apps, `SELECT id, case_number, status, submitted_at, updated_at FROM platform.applications`); err != nil {
		t.Fatal(err)
	}
	var events []struct {
		App    int64     `db:"application_id"`
		Seq    int       `db:"seq"`
		Status string    `db:"status"`
		At     time.Time `db:"at"`
	}
	if err := db.SelectContext(t.Context(), &events, `SELECT application_id, seq, status, at FROM platform.application_events ORDER BY 1, 2`); err != nil {
		t.Fatal(err)
	}
	history := map[int64][]int{}
	for i, e := range events {
		history[e.App] = append(history[e.App], i)
	}
	// next lists the statuses that may follow each status.
	next := map[string]string{"accepted": "reviewing", "reviewing": "correction completed rejected", "correction": "reviewing"}
	statuses := map[string]int{}
	for _, a := range apps {
		statuses[a.Status]++
		if !caseRE.MatchString(a.Case) || a.Case[:6] != a.Submitted.In(now.Location()).Format("060102") {
			t.Errorf("case number %s for an application submitted %v", a.Case, a.Submitted)
		}
		h := history[a.ID]
		if len(h) == 0 {
			t.Errorf("%s: no history", a.Case)
			continue
		}
		first, last := events[h[0]], events[h[len(h)-1]]
		if first.Status != "accepted" || !first.At.Equal(a.Submitted) {
			t.Errorf("%s: history starts %s at %v, submitted %v", a.Case, first.Status, first.At, a.Submitted)
		}
		if last.Status != a.Status || !last.At.Equal(a.Updated) || a.Updated.After(now) {
			t.Errorf("%s: status %s updated %v, history ends %s at %v", a.Case, a.Status, a.Updated, last.Status, last.At)
		}
		for k := 1; k < len(h); k++ {
			prev, e := events[h[k-1]], events[h[k]]
			if e.Seq != k+1 || e.At.Before(prev.At) || !strings.Contains(next[prev.Status], e.Status) {
				t.Errorf("%s: step %d %s at %v after %s at %v", a.Case, e.Seq, e.Status, e.At, prev.Status, prev.At)
			}
		}
	}
	if len(apps) < testCitizens/5 {
		t.Errorf("%d applications among %d citizens", len(apps), testCitizens)
	}
	for _, s := range []string{"completed", "rejected", "reviewing"} {
		if statuses[s] == 0 {
			t.Errorf("no application %s; statuses %v", s, statuses)
		}
	}
}

func checkReference(t *testing.T, db *sqlx.DB) {
	var items, orphans, perDistrictMin, queues int
	if err := db.GetContext(t.Context(), &items, `SELECT count(*) FROM platform.service_items WHERE cardinality(materials) > 0`); err != nil {
		t.Fatal(err)
	}
	if items < 35 || items > 45 {
		t.Errorf("%d service items with materials, want about 40", items)
	}
	const unused = `SELECT count(*) FROM platform.departments d
		WHERE NOT EXISTS (SELECT 1 FROM platform.service_items i WHERE i.department_id = d.id)`
	if err := db.GetContext(t.Context(), &orphans, unused); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 {
		t.Errorf("%d departments without service items", orphans)
	}
	const stations = `SELECT min(n) FROM (SELECT d.code, count(s.id) AS n FROM platform.districts d
		LEFT JOIN platform.service_stations s ON s.district_code = d.code GROUP BY d.code) x`
	if err := db.GetContext(t.Context(), &perDistrictMin, stations); err != nil {
		t.Fatal(err)
	}
	if perDistrictMin < 4 {
		t.Errorf("a district has %d service stations, want several", perDistrictMin)
	}
	want := []string{"community", "disability", "education", "food_drug", "general", "health", "housing_fund",
		"population", "public_safety", "social_security", "transport"}
	const q = `SELECT count(*) FROM hotline.queues q JOIN hotline.skills s ON s.id = q.skill_id WHERE q.id = ANY ($1)`
	if err := db.GetContext(t.Context(), &queues, q, pq.Array(want)); err != nil {
		t.Fatal(err)
	}
	if queues != len(want) {
		t.Errorf("%d of the %d consultation queues with their skills", queues, len(want))
	}
}

func checkStaff(t *testing.T, db *sqlx.DB, staff []seed.Credential) {
	roles := map[string]int{}
	for _, c := range staff {
		var a struct {
			Hash     string  `db:"password_hash"`
			Role     string  `db:"role"`
			Endpoint *string `db:"endpoint"`
			Skills   int     `db:"skills"`
		}
		const q = `SELECT password_hash, role, endpoint,
			(SELECT count(*) FROM hotline.agent_skills s WHERE s.agent_id = a.id) AS skills
			FROM hotline.agents a WHERE username = $1`
		if err := db.GetContext(t.Context(), &a, q, c.Username); err != nil {
			t.Fatalf("%s: %v", c.Username, err)
		}
		if err := bcrypt.CompareHashAndPassword([]byte(a.Hash), []byte(c.Password)); err != nil {
			t.Errorf("%s: password does not match its hash: %v", c.Username, err)
		}
		if bcrypt.CompareHashAndPassword([]byte(a.Hash), []byte(c.Password+"x")) == nil {
			t.Errorf("%s: a wrong password matches", c.Username)
		}
		if a.Role != c.Role || a.Skills != len(c.Skills) || (a.Endpoint == nil) != (c.Endpoint == "") {
			t.Errorf("%s: role %s, %d skills, endpoint %v; credential says %+v", c.Username, a.Role, a.Skills, a.Endpoint, c)
		}
		roles[c.Role]++
	}
	if roles["agent"] < 6 || roles["supervisor"] != 1 || roles["admin"] != 1 {
		t.Errorf("staff roles %v", roles)
	}
}

func checkDemoCitizens(t *testing.T, db *sqlx.DB, p *pii.Protector, demo []seed.DemoCitizen) {
	if len(demo) < 5 {
		t.Fatalf("%d demo citizens, want a handful", len(demo))
	}
	pins, ordinary := 0, 0
	for _, d := range demo {
		var c struct {
			ID    int64   `db:"id"`
			Name  string  `db:"name"`
			Level string  `db:"level"`
			PIN   *string `db:"pin_hash"`
		}
		const q = `SELECT id, name, level, pin_hash FROM platform.citizens WHERE mobile = $1 AND id_number_hmac = $2`
		if err := db.GetContext(t.Context(), &c, q, d.Mobile, p.LookupHash(d.IDNumber)); err != nil {
			t.Fatalf("%s: citizen by mobile and ID number: %v", d.Note, err)
		}
		if c.ID != d.ID || c.Name != d.Name || c.Level != d.Level {
			t.Errorf("%s: %+v, summary says %+v", d.Note, c, d)
		}
		if d.PIN != "" {
			pins++
			if c.PIN == nil || !pii.CheckPIN(*c.PIN, d.PIN) {
				t.Errorf("%s: PIN %s does not match", d.Note, d.PIN)
			}
		}
		if d.Level == "ordinary" {
			ordinary++
		}
		var owner int64
		const acct = `SELECT citizen_id FROM platform.utility_accounts WHERE kind = $1 AND account_number = $2`
		if err := db.GetContext(t.Context(), &owner, acct, d.AccountKind, d.AccountNumber); err != nil || owner != d.ID {
			t.Errorf("%s: account %s %s belongs to %d (%v)", d.Note, d.AccountKind, d.AccountNumber, owner, err)
		}
		if d.CaseNumber != "" {
			const app = `SELECT citizen_id FROM platform.applications WHERE case_number = $1`
			if err := db.GetContext(t.Context(), &owner, app, d.CaseNumber); err != nil || owner != d.ID {
				t.Errorf("%s: case %s belongs to %d (%v)", d.Note, d.CaseNumber, owner, err)
			}
		}
	}
	if pins == 0 || ordinary == 0 {
		t.Errorf("demo citizens: %d with a PIN, %d ordinary; want both kinds", pins, ordinary)
	}
}
