// Package hotline holds the domain of the Foshan citizen hotline: the platform data the IVR and
// the agent desk read (citizens, utility accounts and bills, applications, social insurance and
// housing fund accounts, the service catalogue, service stations) and the errors shared by every
// implementation. Implementations live in packages named for their technology (postgres) or
// their role (ivr, agentdesk).
package hotline

import (
	"errors"
	"time"
)

// Errors shared by all data sources. Callers test them with errors.Is.
var (
	// ErrNotFound means the requested record does not exist.
	ErrNotFound = errors.New("not found")
	// ErrNotRealName means the citizen is an ordinary registered user and the data asked for
	// (social insurance, housing fund) is only for real-name verified users.
	ErrNotRealName = errors.New("citizen is not a real-name verified user")
	// ErrNoPIN means the citizen has not set a phone-service PIN.
	ErrNoPIN = errors.New("no phone-service PIN set")
	// ErrPINMismatch means the PIN given was wrong.
	ErrPINMismatch = errors.New("wrong phone-service PIN")
	// ErrPINLocked means too many wrong PINs locked the account for now.
	ErrPINLocked = errors.New("phone-service PIN locked after too many failures")
)

// Level is a citizen's registration level on the platform.
type Level string

// Registration levels.
const (
	LevelOrdinary Level = "ordinary"  // 普通注册用户
	LevelRealName Level = "real_name" // 实名注册用户
)

// District is one of Foshan's five districts.
type District struct {
	Code string `db:"code"`
	Name string `db:"name"`
}

// Districts lists Foshan's districts with their administrative codes.
var Districts = []District{
	{Code: "440604", Name: "禅城区"},
	{Code: "440605", Name: "南海区"},
	{Code: "440606", Name: "顺德区"},
	{Code: "440607", Name: "三水区"},
	{Code: "440608", Name: "高明区"},
}

// Citizen is a registered user of the platform. The ID number is only available masked here;
// revealing it in full is a separate, audited operation.
type Citizen struct {
	ID           int64      `db:"id"`
	Name         string     `db:"name"`
	Mobile       string     `db:"mobile"`
	IDNumberMask string     `db:"id_number_mask"`
	Level        Level      `db:"level"`
	DistrictCode string     `db:"district_code"`
	Status       string     `db:"status"`
	HasPIN       bool       `db:"has_pin"`
	RegisteredAt time.Time  `db:"registered_at"`
	VerifiedAt   *time.Time `db:"verified_at"`
}

// RealName reports whether the citizen is a real-name verified user.
func (c *Citizen) RealName() bool { return c.Level == LevelRealName }

// AccountKind is the kind of a utility account.
type AccountKind string

// Utility account kinds.
const (
	Water       AccountKind = "water"
	Electricity AccountKind = "electricity"
	Gas         AccountKind = "gas"
	Telecom     AccountKind = "telecom"
)

// AccountKinds lists the utility account kinds in menu order.
var AccountKinds = []AccountKind{Water, Electricity, Gas, Telecom}

// UtilityAccount is a citizen's water, electricity, gas or telecom account.
type UtilityAccount struct {
	ID            int64       `db:"id"`
	CitizenID     int64       `db:"citizen_id"`
	Kind          AccountKind `db:"kind"`
	Provider      string      `db:"provider"`
	AccountNumber string      `db:"account_number"`
	Address       string      `db:"address"`
	OpenedOn      time.Time   `db:"opened_on"`
}

// Bill is one month's bill of a utility account. Amounts are in fen (0.01 yuan).
type Bill struct {
	AccountID int64      `db:"account_id"`
	Period    time.Time  `db:"period"`
	AmountFen int64      `db:"amount_fen"`
	DueDate   time.Time  `db:"due_date"`
	PaidAt    *time.Time `db:"paid_at"`
}

// Paid reports whether the bill has been paid.
func (b *Bill) Paid() bool { return b.PaidAt != nil }

// Overdue reports whether the bill is unpaid after its due date at time now. The due date is
// a day of the platform's calendar, in Beijing time, whatever the zone now is given in: the
// IVR and the desk must agree from midnight in Foshan, not from midnight UTC.
func (b *Bill) Overdue(now time.Time) bool {
	y, m, d := b.DueDate.Date()
	return !b.Paid() && !now.Before(time.Date(y, m, d+1, 0, 0, 0, 0, beijing))
}

// beijing is China Standard Time, which keeps no daylight saving time.
var beijing = time.FixedZone("CST", 8*3600)

// SocialInsurance is a real-name citizen's social insurance (社保) account.
type SocialInsurance struct {
	CitizenID              int64      `db:"citizen_id"`
	AccountNumber          string     `db:"account_number"`
	Status                 string     `db:"status"`
	BalanceFen             int64      `db:"balance_fen"`
	MonthlyContributionFen int64      `db:"monthly_contribution_fen"`
	MonthsPaid             int        `db:"months_paid"`
	LastPaidPeriod         *time.Time `db:"last_paid_period"`
	UpdatedAt              time.Time  `db:"updated_at"`
}

// HousingFund is a real-name citizen's housing provident fund (公积金) account.
type HousingFund struct {
	CitizenID         int64      `db:"citizen_id"`
	AccountNumber     string     `db:"account_number"`
	Status            string     `db:"status"`
	Employer          string     `db:"employer"`
	BalanceFen        int64      `db:"balance_fen"`
	MonthlyDepositFen int64      `db:"monthly_deposit_fen"`
	MonthsPaid        int        `db:"months_paid"`
	LastDepositPeriod *time.Time `db:"last_deposit_period"`
	UpdatedAt         time.Time  `db:"updated_at"`
}

// Department is a government department that handles service items.
type Department struct {
	ID    int    `db:"id"`
	Name  string `db:"name"`
	Phone string `db:"phone"`
}

// ServiceItem is a service guide entry (办事指南).
type ServiceItem struct {
	ID             int      `db:"id"`
	Code           string   `db:"code"`
	Name           string   `db:"name"`
	DepartmentID   int      `db:"department_id"`
	DepartmentName string   `db:"department_name"`
	Category       string   `db:"category"`
	Materials      []string `db:"-"`
	FeeFen         int64    `db:"fee_fen"`
	TimeLimitDays  int      `db:"time_limit_days"`
	Keywords       []string `db:"-"`
	Description    string   `db:"description"`
}

// ApplicationStatus is the state of an application (办件).
type ApplicationStatus string

// Application states: 已受理 → 审核中 → (补正材料) → 已办结 / 不予受理.
const (
	StatusAccepted   ApplicationStatus = "accepted"
	StatusReviewing  ApplicationStatus = "reviewing"
	StatusCorrection ApplicationStatus = "correction"
	StatusCompleted  ApplicationStatus = "completed"
	StatusRejected   ApplicationStatus = "rejected"
)

// Label returns the status as citizens and agents read it.
func (s ApplicationStatus) Label() string {
	switch s {
	case StatusAccepted:
		return "已受理"
	case StatusReviewing:
		return "审核中"
	case StatusCorrection:
		return "补正材料"
	case StatusCompleted:
		return "已办结"
	case StatusRejected:
		return "不予受理"
	}
	return string(s)
}

// Application is a citizen's application for a service item, with its status history.
type Application struct {
	ID             int64              `db:"id"`
	CaseNumber     string             `db:"case_number"`
	ItemID         int                `db:"item_id"`
	ItemName       string             `db:"item_name"`
	CitizenID      int64              `db:"citizen_id"`
	DepartmentID   int                `db:"department_id"`
	DepartmentName string             `db:"department_name"`
	Status         ApplicationStatus  `db:"status"`
	SubmittedAt    time.Time          `db:"submitted_at"`
	UpdatedAt      time.Time          `db:"updated_at"`
	History        []ApplicationEvent `db:"-"`
}

// ApplicationEvent is one step of an application's status history.
type ApplicationEvent struct {
	Seq    int               `db:"seq"`
	Status ApplicationStatus `db:"status"`
	At     time.Time         `db:"at"`
	Note   string            `db:"note"`
}

// Station is a community service station where citizens register, verify or cancel in person.
type Station struct {
	ID           int    `db:"id"`
	DistrictCode string `db:"district_code"`
	Name         string `db:"name"`
	Address      string `db:"address"`
	Hours        string `db:"hours"`
	Phone        string `db:"phone"`
}
