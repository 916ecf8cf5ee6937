package flowtest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres"
)

// Role is a kind of seeded citizen a scenario calls as, chosen by what the seeded data says
// about them rather than by who they are, so scenarios keep working when the seed changes.
type Role struct {
	Name string
	// Description says who fits, in Chinese, for people writing scenarios.
	Description string
	// where selects the fitting active citizens c; $1 is today (a date), $2 the PIN hashes
	// whose PIN is known (text[]).
	where string
}

// latestWater is the latest bill of a citizen's first water account.
const latestWater = `(SELECT b FROM platform.utility_accounts a JOIN platform.bills b ON b.account_id = a.id
	WHERE a.citizen_id = c.id AND a.kind = 'water' ORDER BY a.id, b.period DESC LIMIT 1)`

// Roles are the kinds of callers a scenario may name as caller: {citizen: ROLE}. A citizen
// whose PIN is "known" is one the seed listed with its PIN, or who shares that PIN's hash
// (the seed hashes a small pool of PINs once each).
var Roles = []Role{
	{"registered", "任一注册用户", `true`},
	{"ordinary", "普通注册用户（非实名）", `c.level = 'ordinary'`},
	{"real_name", "实名用户，查询密码已知，有社保和公积金账户",
		`c.level = 'real_name' AND c.pin_hash = ANY($2) AND ` + hasSI + ` AND ` + hasHF},
	{"real_name_no_si", "实名用户，查询密码已知，没有社保账户", `c.level = 'real_name' AND c.pin_hash = ANY($2) AND NOT ` + hasSI},
	{"real_name_no_hf", "实名用户，查询密码已知，没有公积金账户", `c.level = 'real_name' AND c.pin_hash = ANY($2) AND NOT ` + hasHF},
	{"real_name_x", "实名用户，查询密码已知，身份证号末位为X", `c.level = 'real_name' AND c.pin_hash = ANY($2) AND c.id_number_mask LIKE '%X'`},
	{"real_name_no_pin", "实名用户，未设置查询密码", `c.level = 'real_name' AND c.pin_hash IS NULL`},
	{"with_pin", "实名用户，已设置查询密码（密码不必已知）", `c.level = 'real_name' AND c.pin_hash IS NOT NULL`},
	{"water_paid", "水费最新账单已缴", `(` + latestWater + `).paid_at IS NOT NULL`},
	{"water_unpaid", "水费最新账单未缴、未逾期", `(` + latestWater + `).paid_at IS NULL AND (` + latestWater + `).due_date >= $1::date`},
	{"water_overdue", "水费最新账单逾期未缴", `(` + latestWater + `).paid_at IS NULL AND (` + latestWater + `).due_date < $1::date - 1`},
	{"all_kinds", "水、电、燃气、通信四类账户都有", `(SELECT count(DISTINCT a.kind) FROM platform.utility_accounts a WHERE a.citizen_id = c.id) = 4`},
	{"no_water_account", "没有水费账户的注册用户", `NOT EXISTS (SELECT 1 FROM platform.utility_accounts a WHERE a.citizen_id = c.id AND a.kind = 'water')`},
	{"two_applications", "恰好有两件办件", `(SELECT count(*) FROM platform.applications a WHERE a.citizen_id = c.id) = 2`},
	{"no_applications", "没有办件的注册用户", `NOT EXISTS (SELECT 1 FROM platform.applications a WHERE a.citizen_id = c.id)`},
	{"unregistered", "不是注册用户的手机号", ``},
}

const (
	hasSI = `EXISTS (SELECT 1 FROM platform.social_insurance_accounts s WHERE s.citizen_id = c.id)`
	hasHF = `EXISTS (SELECT 1 FROM platform.housing_fund_accounts h WHERE h.citizen_id = c.id)`
)

// RoleNames lists the roles' names.
func RoleNames() []string {
	out := make([]string, len(Roles))
	for i, r := range Roles {
		out[i] = r.Name
	}
	return out
}

func roleByName(name string) (Role, bool) {
	i := slices.IndexFunc(Roles, func(r Role) bool { return r.Name == name })
	if i < 0 {
		return Role{}, false
	}
	return Roles[i], true
}

// KeyPlaceholders are what press may key in for the caller: {id_number} (X keyed as *),
// {pin}, {wrong_pin} (a PIN that is surely not the citizen's), {mobile} (the calling number),
// {water_account} … {telecom_account} (the first account of that kind) and {case_number}
// (the most recent application).
var KeyPlaceholders = []string{"id_number", "pin", "wrong_pin", "mobile", "water_account", "electricity_account",
	"gas_account", "telecom_account", "case_number"}

// Value references a say step may expect, read from the database for the scenario's
// caller: KIND_bill.amount_fen|period|due_date (the latest bill of the first account of that
// kind), KIND_account.number, social_insurance.balance_fen|monthly_contribution_fen|
// months_paid|last_paid_period, housing_fund.balance_fen|monthly_deposit_fen|months_paid|
// last_deposit_period, applications.count (at most 5, as the flows ask for) and
// application.case_number (the most recent). A literal (100530, 2026-03-20, 13800138000) is
// taken as it is.
var valueRef = regexp.MustCompile(`^(water|electricity|gas|telecom)_(bill\.(amount_fen|period|due_date)|account\.number)$|` +
	`^social_insurance\.(balance_fen|monthly_contribution_fen|months_paid|last_paid_period)$|` +
	`^housing_fund\.(balance_fen|monthly_deposit_fen|months_paid|last_deposit_period)$|` +
	`^applications\.count$|^application\.case_number$`)

var (
	intLiteral  = regexp.MustCompile(`^[0-9]{1,15}$`)
	dateLiteral = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// checkRef reports whether ref fits a spoken value of kind.
func checkRef(kind, ref string) error {
	if valueRef.MatchString(ref) {
		return nil
	}
	ok := false
	switch kind {
	case "amount", "number", "digits":
		ok = intLiteral.MatchString(ref)
	case "date", "month":
		_, err := time.Parse("2006-01-02", ref)
		ok = dateLiteral.MatchString(ref) && err == nil
	}
	if !ok {
		return fmt.Errorf("%q is neither a literal nor a known reference to the caller's data", ref)
	}
	return nil
}

// citizen is a seeded citizen picked for a scenario, with what the caller knows.
type citizen struct {
	ID       int64
	Mobile   string
	IDNumber string
	PIN      string // empty when not known
	PINHash  string
}

// roster picks seeded citizens for scenarios, a different one for every scenario so that
// calls running at once do not disturb each other (PIN lockouts, arranged data).
type roster struct {
	db    *sqlx.DB
	store *postgres.Store
	today time.Time
	pins  map[string]string // hash → PIN, from the seed's summary

	mu     sync.Mutex
	used   map[int64]bool
	spares int // numbers handed out as unregistered
}

const knownPINQuery = `SELECT pin_hash FROM platform.citizens WHERE id = $1 AND pin_hash IS NOT NULL`

// newRoster learns the PINs the seed's summary gives in clear.
func newRoster(ctx context.Context, db *sqlx.DB, store *postgres.Store, today time.Time, known map[int64]string) (*roster, error) {
	r := &roster{db: db, store: store, today: today, pins: map[string]string{}, used: map[int64]bool{}}
	for id, pin := range known {
		var hash string
		if err := db.GetContext(ctx, &hash, knownPINQuery, id); err != nil {
			return nil, fmt.Errorf("PIN of seeded citizen %d: %w", id, err)
		}
		if !pii.CheckPIN(hash, pin) {
			return nil, fmt.Errorf("seeded citizen %d: the summary's PIN does not match its hash", id)
		}
		r.pins[hash] = pin
	}
	return r, nil
}

const roleQuery = `SELECT c.id FROM platform.citizens c
	WHERE c.status = 'active' AND $1::date IS NOT NULL AND $2::text[] IS NOT NULL AND (%s)
	ORDER BY c.id`

const citizenQuery = `SELECT id, mobile, COALESCE(pin_hash, '') AS pin_hash FROM platform.citizens WHERE id = $1`

// pick returns the first citizen of role, judged on the day of now, that no scenario has had
// yet.
func (r *roster) pick(ctx context.Context, role Role, now time.Time) (*citizen, error) {
	hashes := make([]string, 0, len(r.pins))
	for h := range r.pins {
		hashes = append(hashes, h)
	}
	var ids []int64
	if err := r.db.SelectContext(ctx, &ids, fmt.Sprintf(roleQuery, role.where), now.Format("2006-01-02"), pq.Array(hashes)); err != nil {
		return nil, fmt.Errorf("citizens of role %s: %w", role.Name, err)
	}
	r.mu.Lock()
	var id int64
	for _, c := range ids {
		if !r.used[c] {
			id = c
			r.used[c] = true
			break
		}
	}
	r.mu.Unlock()
	if id == 0 {
		if len(ids) == 0 {
			return nil, fmt.Errorf("no seeded citizen fits role %s (%s) on %s", role.Name, role.Description, now.Format("2006-01-02"))
		}
		return nil, fmt.Errorf("no seeded citizen left for role %s (%s): the %d who fit are taken by other scenarios; seed more citizens", role.Name, role.Description, len(ids))
	}
	var row struct {
		ID      int64  `db:"id"`
		Mobile  string `db:"mobile"`
		PINHash string `db:"pin_hash"`
	}
	if err := r.db.GetContext(ctx, &row, citizenQuery, id); err != nil {
		return nil, fmt.Errorf("citizen %d: %w", id, err)
	}
	idNumber, err := r.store.RevealIDNumber(ctx, id)
	if err != nil {
		return nil, err
	}
	return &citizen{ID: id, Mobile: row.Mobile, IDNumber: idNumber, PINHash: row.PINHash, PIN: r.pins[row.PINHash]}, nil
}

const mobileTakenQuery = `SELECT count(*) FROM platform.citizens WHERE mobile = $1`

// unregistered returns a mobile number no citizen has, a different one each time.
func (r *roster) unregistered(ctx context.Context) (string, error) {
	for range 1000 {
		r.mu.Lock()
		r.spares++
		n := r.spares
		r.mu.Unlock()
		number := fmt.Sprintf("139%08d", 99999999-n)
		var taken int
		if err := r.db.GetContext(ctx, &taken, mobileTakenQuery, number); err != nil {
			return "", fmt.Errorf("unregistered number: %w", err)
		}
		if taken == 0 {
			return number, nil
		}
	}
	return "", errors.New("unregistered number: every number tried is taken")
}

// wrongPIN returns a 6-digit PIN that does not match hash.
func wrongPIN(hash string) string {
	for i := 0; ; i++ {
		pin := fmt.Sprintf("%06d", (135790+i*7919)%1000000)
		if hash == "" || !pii.CheckPIN(hash, pin) {
			return pin
		}
	}
}

// arrange applies a scenario's Given to its citizen.
func (r *roster) arrange(ctx context.Context, c *citizen, g Given) error {
	for range g.WrongPINs {
		err := r.store.VerifyPIN(ctx, c.ID, wrongPIN(c.PINHash), "")
		if err == nil || !(errors.Is(err, hotline.ErrPINMismatch) || errors.Is(err, hotline.ErrPINLocked)) {
			return fmt.Errorf("given wrong_pins: a wrong PIN gave %v", err)
		}
	}
	if g.SecondAccount != "" {
		if err := r.secondAccount(ctx, c, g.SecondAccount); err != nil {
			return fmt.Errorf("given second_account: %w", err)
		}
	}
	for _, what := range g.NoLastPayment {
		q := noLastPaidSI
		if what == "housing_fund" {
			q = noLastDepositHF
		}
		res, err := r.db.ExecContext(ctx, q, c.ID)
		if err != nil {
			return fmt.Errorf("given no_last_payment: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("given no_last_payment: citizen %d has no %s account", c.ID, what)
		}
	}
	return nil
}

const (
	noLastPaidSI    = `UPDATE platform.social_insurance_accounts SET last_paid_period = NULL WHERE citizen_id = $1`
	noLastDepositHF = `UPDATE platform.housing_fund_accounts SET last_deposit_period = NULL WHERE citizen_id = $1`
)

const secondAccountInsert = `
	INSERT INTO platform.utility_accounts (citizen_id, kind, provider, account_number, address, opened_on)
	SELECT c.id, $2, '佛山测试供应商', $3, '佛山市', $4::date - 400 FROM platform.citizens c WHERE c.id = $1
	RETURNING id`

const secondBillInsert = `
	INSERT INTO platform.bills (account_id, period, amount_fen, due_date)
	VALUES ($1, date_trunc('month', $2::date - 20)::date, $3, $2::date + 10)`

// secondAccount opens another account of kind with one unpaid bill of SecondBillFen.
func (r *roster) secondAccount(ctx context.Context, c *citizen, kind string) error {
	tx, err := r.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var id int64
	if err := tx.GetContext(ctx, &id, secondAccountInsert, c.ID, kind, fmt.Sprintf("99%012d", c.ID), r.today); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, secondBillInsert, id, r.today, SecondBillFen); err != nil {
		return err
	}
	return tx.Commit()
}

// keys replaces the placeholders of a press step.
func (r *roster) keys(ctx context.Context, keys, number string, c *citizen) (string, error) {
	var err error
	out := placeRe.ReplaceAllStringFunc(keys, func(m string) string {
		name := m[1 : len(m)-1]
		if name == "mobile" {
			return number
		}
		if c == nil {
			err = fmt.Errorf("{%s} needs a seeded citizen as the caller", name)
			return ""
		}
		switch name {
		case "id_number":
			return strings.ReplaceAll(c.IDNumber, "X", "*")
		case "pin":
			if c.PIN == "" {
				err = fmt.Errorf("{pin}: the PIN of citizen %d is not known (use a role whose PIN is known)", c.ID)
			}
			return c.PIN
		case "wrong_pin":
			return wrongPIN(c.PINHash)
		case "case_number":
			var s string
			s, err = r.str(ctx, latestCaseQuery, c.ID)
			return s
		}
		kind, _ := strings.CutSuffix(name, "_account")
		var s string
		s, err = r.str(ctx, firstAccountQuery, c.ID, kind)
		return s
	})
	return out, err
}

const (
	latestCaseQuery = `SELECT case_number FROM platform.applications WHERE citizen_id = $1
		ORDER BY submitted_at DESC, id DESC LIMIT 1`
	firstAccountQuery = `SELECT account_number FROM platform.utility_accounts WHERE citizen_id = $1 AND kind = $2
		ORDER BY id LIMIT 1`
	latestBillQuery = `SELECT b.amount_fen, b.period, b.due_date FROM platform.utility_accounts a
		JOIN platform.bills b ON b.account_id = a.id
		WHERE a.citizen_id = $1 AND a.kind = $2 ORDER BY a.id, b.period DESC LIMIT 1`
	siQuery = `SELECT balance_fen, monthly_contribution_fen AS monthly, months_paid, last_paid_period AS last
		FROM platform.social_insurance_accounts WHERE citizen_id = $1`
	hfQuery = `SELECT balance_fen, monthly_deposit_fen AS monthly, months_paid, last_deposit_period AS last
		FROM platform.housing_fund_accounts WHERE citizen_id = $1`
	appCountQuery = `SELECT least(count(*), 5) FROM platform.applications WHERE citizen_id = $1`
)

func (r *roster) str(ctx context.Context, q string, args ...any) (string, error) {
	var s string
	if err := r.db.GetContext(ctx, &s, q, args...); err != nil {
		return "", fmt.Errorf("caller's data: %w", err)
	}
	return s, nil
}

// value resolves a spoken value's reference for the caller: an int64, a string of digits or
// a time.
func (r *roster) value(ctx context.Context, v Spoken, c *citizen) (any, error) {
	if !valueRef.MatchString(v.Ref) {
		switch v.Kind {
		case "amount", "number":
			return strconv.ParseInt(v.Ref, 10, 64)
		case "digits":
			return v.Ref, nil
		default:
			return time.Parse("2006-01-02", v.Ref)
		}
	}
	if c == nil {
		return nil, fmt.Errorf("%s needs a seeded citizen as the caller", v.Ref)
	}
	record, field, _ := strings.Cut(v.Ref, ".")
	var vals map[string]any
	var err error
	switch {
	case strings.HasSuffix(record, "_bill"):
		var b struct {
			Amount int64     `db:"amount_fen"`
			Period time.Time `db:"period"`
			Due    time.Time `db:"due_date"`
		}
		err = r.db.GetContext(ctx, &b, latestBillQuery, c.ID, strings.TrimSuffix(record, "_bill"))
		vals = map[string]any{"amount_fen": b.Amount, "period": b.Period, "due_date": b.Due}
	case strings.HasSuffix(record, "_account"):
		var s string
		s, err = r.str(ctx, firstAccountQuery, c.ID, strings.TrimSuffix(record, "_account"))
		vals = map[string]any{"number": s}
	case record == "social_insurance" || record == "housing_fund":
		var a struct {
			Balance int64      `db:"balance_fen"`
			Monthly int64      `db:"monthly"`
			Months  int64      `db:"months_paid"`
			Last    *time.Time `db:"last"`
		}
		q, monthly, last := siQuery, "monthly_contribution_fen", "last_paid_period"
		if record == "housing_fund" {
			q, monthly, last = hfQuery, "monthly_deposit_fen", "last_deposit_period"
		}
		err = r.db.GetContext(ctx, &a, q, c.ID)
		vals = map[string]any{"balance_fen": a.Balance, monthly: a.Monthly, "months_paid": a.Months}
		if a.Last != nil {
			vals[last] = *a.Last
		}
	case record == "applications":
		var n int64
		err = r.db.GetContext(ctx, &n, appCountQuery, c.ID)
		vals = map[string]any{"count": n}
	case record == "application":
		var s string
		s, err = r.str(ctx, latestCaseQuery, c.ID)
		vals = map[string]any{"case_number": s}
	}
	if err != nil {
		return nil, fmt.Errorf("%s of citizen %d: %w", v.Ref, c.ID, err)
	}
	x, ok := vals[field]
	if !ok {
		return nil, fmt.Errorf("%s: citizen %d has none", v.Ref, c.ID)
	}
	return x, nil
}
