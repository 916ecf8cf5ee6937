package flow

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"time"

	"github.com/foshan-hotline/hotline"
)

// Sources is the data a lookup node reads, implemented by the engine over the data layer.
// Lookup returns the value of the source's Result type (a record such as Bill, or a slice
// such as []Account) for args, whose values are already of the declared argument types
// (string, int64 or bool; optional arguments may be absent). Errors map to exits by
// LookupExit: hotline.ErrNotFound → not_found, hotline.ErrNotRealName → not_allowed,
// context.DeadlineExceeded → on_timeout, anything else → error. A list source returns an empty
// slice or ErrNotFound when there is nothing; both take not_found.
type Sources interface {
	Lookup(ctx context.Context, source string, args map[string]any) (any, error)
}

// Lookup exits.
const (
	ExitFound      = "found"
	ExitNotFound   = "not_found"
	ExitNotAllowed = "not_allowed"
	ExitError      = "error"
	ExitTimeout    = "on_timeout"
)

// LookupExit returns the name of the exit a lookup takes for the result and error of
// Sources.Lookup.
func LookupExit(result any, err error) string {
	switch {
	case errors.Is(err, hotline.ErrNotFound):
		return ExitNotFound
	case errors.Is(err, hotline.ErrNotRealName):
		return ExitNotAllowed
	case errors.Is(err, context.DeadlineExceeded):
		return ExitTimeout
	case err != nil:
		return ExitError
	}
	if rv := reflect.ValueOf(result); !rv.IsValid() || (rv.Kind() == reflect.Slice && rv.Len() == 0) {
		return ExitNotFound
	}
	return ExitFound
}

// Exit returns the node's exit of that name (see LookupExit).
func (n *Lookup) Exit(name string) *Exit {
	switch name {
	case ExitFound:
		return n.Found
	case ExitNotFound:
		return n.NotFound
	case ExitNotAllowed:
		return n.NotAllowed
	case ExitTimeout:
		return n.OnTimeout
	}
	return n.OnError
}

// EvalArgs evaluates the node's arguments on env, integers as int64.
func (n *Lookup) EvalArgs(env map[string]any) (map[string]any, error) {
	out := make(map[string]any, len(n.Args))
	for _, a := range n.Args {
		v, err := a.Value.Eval(env)
		if err != nil {
			return nil, fmt.Errorf("lookup %s argument %s: %w", n.Source.Name, a.Name, err)
		}
		if i, ok := toInt64(v); ok {
			v = i
		}
		out[a.Name] = v
	}
	return out, nil
}

// Param is an argument a source takes.
type Param struct {
	Name     string
	Type     string // string, int or bool
	Optional bool
}

// Source describes a named data source a lookup may read.
type Source struct {
	Name   string
	Params []Param
	// Result is the type name of the value (a record, or []record).
	Result string
	// CanRefuse reports whether the source refuses some callers (not_allowed).
	CanRefuse bool
	// Doc says what the source returns.
	Doc string
}

// Citizen is a citizen as flows see it: no name, no ID number.
type Citizen struct {
	ID           int64  `expr:"id"`
	Level        string `expr:"level"`
	RealName     bool   `expr:"real_name"`
	DistrictCode string `expr:"district_code"`
	HasPIN       bool   `expr:"has_pin"`
}

// Account is a utility account.
type Account struct {
	ID       int64  `expr:"id"`
	Kind     string `expr:"kind"`
	Provider string `expr:"provider"`
	Number   string `expr:"number"`
	// KindPrompt is the prompt that names the kind (水费 …).
	KindPrompt string `expr:"kind_prompt"`
}

// Bill is the latest bill of an account.
type Bill struct {
	AccountID int64     `expr:"account_id"`
	Period    time.Time `expr:"period"`
	AmountFen int64     `expr:"amount_fen"`
	DueDate   time.Time `expr:"due_date"`
	Paid      bool      `expr:"paid"`
	Overdue   bool      `expr:"overdue"`
}

// Application is an application (办件) and its current state.
type Application struct {
	CaseNumber string    `expr:"case_number"`
	ItemID     int64     `expr:"item_id"`
	Status     string    `expr:"status"`
	Submitted  time.Time `expr:"submitted"`
	Updated    time.Time `expr:"updated"`
	// ItemPrompt, DepartmentPrompt and StatusPrompt name the item, the department and the
	// status as prompts.
	ItemPrompt       string `expr:"item_prompt"`
	DepartmentPrompt string `expr:"department_prompt"`
	StatusPrompt     string `expr:"status_prompt"`
}

// SocialInsurance is a social insurance (社保) account.
type SocialInsurance struct {
	Status                 string    `expr:"status"`
	BalanceFen             int64     `expr:"balance_fen"`
	MonthlyContributionFen int64     `expr:"monthly_contribution_fen"`
	MonthsPaid             int64     `expr:"months_paid"`
	HasLastPaid            bool      `expr:"has_last_paid"`
	LastPaidPeriod         time.Time `expr:"last_paid_period"`
}

// HousingFund is a housing provident fund (公积金) account.
type HousingFund struct {
	Status            string    `expr:"status"`
	BalanceFen        int64     `expr:"balance_fen"`
	MonthlyDepositFen int64     `expr:"monthly_deposit_fen"`
	MonthsPaid        int64     `expr:"months_paid"`
	HasLastDeposit    bool      `expr:"has_last_deposit"`
	LastDepositPeriod time.Time `expr:"last_deposit_period"`
}

// Station is a service station.
type Station struct {
	ID    int64  `expr:"id"`
	Phone string `expr:"phone"`
	// Prompt reads the station's name, address and opening hours.
	Prompt string `expr:"prompt"`
}

// ServiceItem is a service guide entry (办事指南).
type ServiceItem struct {
	ID               int64  `expr:"id"`
	Code             string `expr:"code"`
	FeeFen           int64  `expr:"fee_fen"`
	TimeLimitDays    int64  `expr:"time_limit_days"`
	ItemPrompt       string `expr:"item_prompt"`
	DepartmentPrompt string `expr:"department_prompt"`
}

// recordTypes are the record types variables may have.
var recordTypes = map[string]reflect.Type{
	"citizen":          reflect.TypeFor[Citizen](),
	"account":          reflect.TypeFor[Account](),
	"bill":             reflect.TypeFor[Bill](),
	"application":      reflect.TypeFor[Application](),
	"social_insurance": reflect.TypeFor[SocialInsurance](),
	"housing_fund":     reflect.TypeFor[HousingFund](),
	"station":          reflect.TypeFor[Station](),
	"service_item":     reflect.TypeFor[ServiceItem](),
}

// registry holds the data sources by name.
var registry = map[string]*Source{}

func init() {
	for _, s := range []*Source{
		{Name: "citizen_by_caller", Params: []Param{{Name: "mobile", Type: "string"}}, Result: "citizen",
			Doc: "the registered citizen whose mobile is the number"},
		{Name: "accounts_of_citizen", Params: []Param{{Name: "citizen_id", Type: "int"}, {Name: "kind", Type: "string", Optional: true}},
			Result: "[]account", Doc: "the citizen's utility accounts, of one kind if given"},
		{Name: "account_by_number", Params: []Param{{Name: "kind", Type: "string"}, {Name: "number", Type: "string"}},
			Result: "account", Doc: "a utility account by kind and account number"},
		{Name: "latest_bill", Params: []Param{{Name: "account_id", Type: "int"}}, Result: "bill",
			Doc: "the latest monthly bill of an account"},
		{Name: "application_by_case", Params: []Param{{Name: "case_number", Type: "string"}}, Result: "application",
			Doc: "an application by its case number"},
		{Name: "applications_of_citizen", Params: []Param{{Name: "citizen_id", Type: "int"}, {Name: "limit", Type: "int", Optional: true}},
			Result: "[]application", Doc: "the citizen's recent applications, newest first"},
		{Name: "social_insurance", Params: []Param{{Name: "citizen_id", Type: "int"}}, Result: "social_insurance", CanRefuse: true,
			Doc: "the citizen's social insurance account; real-name users only"},
		{Name: "housing_fund", Params: []Param{{Name: "citizen_id", Type: "int"}}, Result: "housing_fund", CanRefuse: true,
			Doc: "the citizen's housing fund account; real-name users only"},
		{Name: "stations_of_district", Params: []Param{{Name: "district_code", Type: "string"}}, Result: "[]station",
			Doc: "the service stations of a district"},
		{Name: "service_item", Params: []Param{{Name: "code", Type: "string"}}, Result: "service_item",
			Doc: "a service item by its code"},
	} {
		registry[s.Name] = s
	}
}

// LookupSource returns the data source called name.
func LookupSource(name string) (*Source, bool) {
	s, ok := registry[name]
	return s, ok
}

// SourceNames lists the data sources, sorted.
func SourceNames() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Prompt ids of values that come from the platform's data.
const (
	accountKindPrefix = "bills/kind_"
	statusPrefix      = "progress/status_"
	itemPrefix        = "item/"
	departmentPrefix  = "dept/"
	stationPrefix     = "station/"
)

// CitizenOf converts a citizen of the data layer.
func CitizenOf(c *hotline.Citizen) Citizen {
	return Citizen{ID: c.ID, Level: string(c.Level), RealName: c.RealName(), DistrictCode: c.DistrictCode, HasPIN: c.HasPIN}
}

// AccountOf converts a utility account.
func AccountOf(a *hotline.UtilityAccount) Account {
	return Account{ID: a.ID, Kind: string(a.Kind), Provider: a.Provider, Number: a.AccountNumber,
		KindPrompt: accountKindPrefix + string(a.Kind)}
}

// BillOf converts a bill; now decides whether it is overdue.
func BillOf(b *hotline.Bill, now time.Time) Bill {
	return Bill{AccountID: b.AccountID, Period: b.Period, AmountFen: b.AmountFen, DueDate: b.DueDate,
		Paid: b.Paid(), Overdue: b.Overdue(now)}
}

// ApplicationOf converts an application.
func ApplicationOf(a *hotline.Application) Application {
	return Application{CaseNumber: a.CaseNumber, ItemID: int64(a.ItemID), Status: string(a.Status),
		Submitted: a.SubmittedAt, Updated: a.UpdatedAt,
		ItemPrompt:       itemPrefix + strconv.Itoa(a.ItemID),
		DepartmentPrompt: departmentPrefix + strconv.Itoa(a.DepartmentID),
		StatusPrompt:     StatusPrompt(a.Status)}
}

// StatusPrompt returns the prompt id that reads an application status.
func StatusPrompt(s hotline.ApplicationStatus) string { return statusPrefix + string(s) }

// AccountKindPrompt returns the prompt id that names an account kind.
func AccountKindPrompt(k hotline.AccountKind) string { return accountKindPrefix + string(k) }

// SocialInsuranceOf converts a social insurance account.
func SocialInsuranceOf(s *hotline.SocialInsurance) SocialInsurance {
	out := SocialInsurance{Status: s.Status, BalanceFen: s.BalanceFen, MonthlyContributionFen: s.MonthlyContributionFen,
		MonthsPaid: int64(s.MonthsPaid)}
	if s.LastPaidPeriod != nil {
		out.HasLastPaid, out.LastPaidPeriod = true, *s.LastPaidPeriod
	}
	return out
}

// HousingFundOf converts a housing fund account.
func HousingFundOf(h *hotline.HousingFund) HousingFund {
	out := HousingFund{Status: h.Status, BalanceFen: h.BalanceFen, MonthlyDepositFen: h.MonthlyDepositFen,
		MonthsPaid: int64(h.MonthsPaid)}
	if h.LastDepositPeriod != nil {
		out.HasLastDeposit, out.LastDepositPeriod = true, *h.LastDepositPeriod
	}
	return out
}

// StationOf converts a service station.
func StationOf(s *hotline.Station) Station {
	return Station{ID: int64(s.ID), Phone: s.Phone, Prompt: stationPrefix + strconv.Itoa(s.ID)}
}

// ServiceItemOf converts a service item.
func ServiceItemOf(s *hotline.ServiceItem) ServiceItem {
	return ServiceItem{ID: int64(s.ID), Code: s.Code, FeeFen: s.FeeFen, TimeLimitDays: int64(s.TimeLimitDays),
		ItemPrompt: itemPrefix + strconv.Itoa(s.ID), DepartmentPrompt: departmentPrefix + strconv.Itoa(s.DepartmentID)}
}
