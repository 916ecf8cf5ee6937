package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
)

// The caller's card: what the agent desk shows of a call an agent is offered or talks on —
// the matched citizen, the call's IVR path, the citizen's accounts, applications, insurance
// (only when this call verified them) and their last 90 days. Every read of a citizen's
// record writes an audit row.

// Relations of an agent to a call (CallRelation).
const (
	RelationOffered = "offered" // the call rings the agent
	RelationTalking = "talking" // the agent talks on it
	RelationWrapUp  = "wrap_up" // the agent is finishing it
)

const callRelationQuery = `
	SELECT EXISTS (SELECT 1 FROM hotline.calls WHERE id = $1) AS known,
	  CASE
	    WHEN EXISTS (SELECT 1 FROM hotline.offers WHERE call_id = $1 AND agent_id = $2 AND state = 'pending') THEN 'offered'
	    WHEN st.call_id = $1 AND st.state IN ('ringing', 'talking') THEN 'talking'
	    WHEN st.state = 'wrap_up' AND (st.call_id = $1 OR (SELECT o.call_id FROM hotline.offers o
	         WHERE o.agent_id = $2 AND o.state = 'accepted'
	         ORDER BY o.decided_at DESC NULLS LAST, o.id DESC LIMIT 1) = $1) THEN 'wrap_up'
	    ELSE ''
	  END AS relation
	FROM (SELECT 1) one
	LEFT JOIN hotline.agent_status st ON st.agent_id = $2`

// CallRelation tells how agentID is on call callID: RelationOffered, RelationTalking,
// RelationWrapUp or "" for none. A call that does not exist is hotline.ErrNotFound.
func CallRelation(ctx context.Context, db *sqlx.DB, callID string, agentID int64) (string, error) {
	var r struct {
		Known    bool   `db:"known"`
		Relation string `db:"relation"`
	}
	if err := db.GetContext(ctx, &r, callRelationQuery, callID, agentID); err != nil {
		return "", fmt.Errorf("call %s: relation of agent %d: %w", callID, agentID, err)
	}
	if !r.Known {
		return "", fmt.Errorf("call %s: %w", callID, hotline.ErrNotFound)
	}
	return r.Relation, nil
}

// CardCitizen is a citizen as the card and the search show them: the ID number masked.
type CardCitizen struct {
	ID           int64      `db:"id" json:"id"`
	Name         string     `db:"name" json:"name"`
	IDNumberMask string     `db:"id_number_mask" json:"id_number_mask"`
	Level        string     `db:"level" json:"level"`
	Status       string     `db:"status" json:"status"`
	DistrictName string     `db:"district_name" json:"district_name"`
	Mobile       string     `db:"mobile" json:"-"`
	MobileMask   string     `db:"-" json:"mobile_mask"`
	VerifiedAt   *time.Time `db:"verified_at" json:"verified_at,omitempty"`
	// MobileShown is the registered mobile, masked, when it is not the number calling.
	MobileShown string `db:"-" json:"mobile,omitempty"`
}

// CardStep is a step of the call's IVR path.
type CardStep struct {
	Flow      string     `db:"flow" json:"flow"`
	Node      string     `db:"node" json:"node"`
	Kind      string     `db:"kind" json:"kind"`
	Exit      string     `db:"exit" json:"exit"`
	Input     string     `db:"input" json:"input,omitempty"`
	Detail    string     `db:"detail" json:"detail,omitempty"`
	EnteredAt time.Time  `db:"entered_at" json:"at"`
	LeftAt    *time.Time `db:"left_at" json:"-"`
	// Summary and ExitLabel are filled by the desk from the flows' names.
	Summary   string `db:"-" json:"summary"`
	ExitLabel string `db:"-" json:"exit_label,omitempty"`
}

// CardJourney is the call's way through the IVR.
type CardJourney struct {
	Steps []CardStep `json:"steps"`
	// Verified is true when the IVR verified the caller this call, false when a verification
	// failed, nil when none was tried.
	Verified     *bool `json:"verified"`
	IVRSeconds   int64 `json:"ivr_seconds"`
	QueueSeconds int64 `json:"queue_seconds"`
}

// CardBill is an account's latest bill.
type CardBill struct {
	Period    time.Time  `db:"period" json:"period"`
	AmountFen int64      `db:"amount_fen" json:"amount_fen"`
	DueDate   time.Time  `db:"due_date" json:"due_date"`
	PaidAt    *time.Time `db:"paid_at" json:"paid_at"`
	Overdue   bool       `db:"overdue" json:"overdue"`
}

// CardAccount is a utility account; the number shows its last four digits.
type CardAccount struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	Provider   string    `json:"provider"`
	Number     string    `json:"account_number"`
	LatestBill *CardBill `json:"latest_bill"`
}

// CardApplication is an application in progress.
type CardApplication struct {
	CaseNumber     string    `db:"case_number" json:"case_number"`
	ItemName       string    `db:"item_name" json:"item_name"`
	DepartmentName string    `db:"department_name" json:"department_name"`
	Status         string    `db:"status" json:"status"`
	UpdatedAt      time.Time `db:"updated_at" json:"updated_at"`
}

// CardSocialInsurance and CardHousingFund are the insurance summary.
type CardSocialInsurance struct {
	Status                 string     `db:"status" json:"status"`
	BalanceFen             int64      `db:"balance_fen" json:"balance_fen"`
	MonthlyContributionFen int64      `db:"monthly_contribution_fen" json:"monthly_contribution_fen"`
	MonthsPaid             int        `db:"months_paid" json:"months_paid"`
	LastPaidPeriod         *time.Time `db:"last_paid_period" json:"last_paid_period"`
}

type CardHousingFund struct {
	Status            string     `db:"status" json:"status"`
	Employer          string     `db:"employer" json:"employer"`
	BalanceFen        int64      `db:"balance_fen" json:"balance_fen"`
	MonthlyDepositFen int64      `db:"monthly_deposit_fen" json:"monthly_deposit_fen"`
	MonthsPaid        int        `db:"months_paid" json:"months_paid"`
	LastDepositPeriod *time.Time `db:"last_deposit_period" json:"last_deposit_period"`
}

type CardInsurance struct {
	SocialInsurance *CardSocialInsurance `json:"social_insurance"`
	HousingFund     *CardHousingFund     `json:"housing_fund"`
}

// CardCall is a call of the last 90 days.
type CardCall struct {
	ID        string    `db:"id" json:"id"`
	StartedAt time.Time `db:"started_at" json:"started_at"`
	Outcome   string    `db:"outcome" json:"outcome"`
	QueueName string    `db:"queue_name" json:"queue_name"`
}

// CardWorkOrder is a work order of the last 90 days.
type CardWorkOrder struct {
	ID        int64     `db:"id" json:"id"`
	Number    string    `db:"number" json:"number"`
	Status    string    `db:"status" json:"status"`
	Category  string    `db:"category" json:"category"`
	Title     string    `db:"title" json:"title"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// Card is the caller's card.
type Card struct {
	CallerNumber string `json:"caller_number"`
	Call         struct {
		ID        string    `json:"id"`
		Language  string    `json:"language"`
		StartedAt time.Time `json:"started_at"`
	} `json:"call"`
	Citizen               *CardCitizen      `json:"citizen"`
	Journey               CardJourney       `json:"journey"`
	Accounts              []CardAccount     `json:"accounts"`
	Applications          []CardApplication `json:"applications"`
	Insurance             *CardInsurance    `json:"insurance,omitempty"`
	InsuranceHiddenReason string            `json:"insurance_hidden_reason,omitempty"`
	History               struct {
		Calls      []CardCall      `json:"calls"`
		WorkOrders []CardWorkOrder `json:"work_orders"`
	} `json:"history"`
}

const cardCallQuery = `
	SELECT c.id::text AS id, c.caller_number, c.language, c.started_at, COALESCE(c.citizen_id, 0) AS citizen_id,
	       (SELECT min(e.entered_at) FROM hotline.queue_entries e WHERE e.call_id = c.id) AS queued_at,
	       (SELECT max(COALESCE(o.decided_at, o.offered_at)) FROM hotline.offers o
	        WHERE o.call_id = c.id AND o.state IN ('pending', 'accepted')) AS offered_at
	FROM hotline.calls c
	WHERE c.id = $1`

const cardCitizenColumns = `
	SELECT c.id, c.name, c.id_number_mask, c.level, c.status, c.mobile, c.verified_at, d.name AS district_name
	FROM platform.citizens c
	JOIN platform.districts d ON d.code = c.district_code`

// cardStepsQuery reads the call's steps; an agent's transfer (flow desk) names its target
// in words — the colleague or the queue — rather than by id.
const cardStepsQuery = `
	SELECT s.flow, s.node, s.kind, COALESCE(s.exit, '') AS exit,
	       CASE WHEN a.id IS NOT NULL OR q.id IS NOT NULL THEN '' ELSE COALESCE(s.input, '') END AS input,
	       COALESCE(s.detail, '转至坐席 ' || a.display_name, '转至队列 ' || q.name, '') AS detail,
	       s.entered_at, s.left_at
	FROM hotline.call_steps s
	LEFT JOIN hotline.agents a ON s.flow = 'desk' AND s.input LIKE 'agent:%' AND a.id::text = substr(s.input, 7)
	LEFT JOIN hotline.queues q ON s.flow = 'desk' AND q.id = s.input
	WHERE s.call_id = $1
	ORDER BY s.seq`

const cardAccountsQuery = `
	SELECT a.id, a.kind, a.provider, a.account_number,
	       b.period, b.amount_fen, b.due_date, b.paid_at,
	       (b.paid_at IS NULL AND b.due_date < ($2::timestamptz AT TIME ZONE 'Asia/Shanghai')::date) AS overdue
	FROM platform.utility_accounts a
	LEFT JOIN LATERAL (SELECT * FROM platform.bills WHERE account_id = a.id ORDER BY period DESC LIMIT 1) b ON true
	WHERE a.citizen_id = $1
	ORDER BY a.kind, a.id`

const cardApplicationsQuery = `
	SELECT a.case_number, i.name AS item_name, d.name AS department_name, a.status, a.updated_at
	FROM platform.applications a
	JOIN platform.service_items i ON i.id = a.item_id
	JOIN platform.departments d ON d.id = a.department_id
	WHERE a.citizen_id = $1 AND a.status IN ('accepted', 'reviewing', 'correction')
	ORDER BY a.updated_at DESC
	LIMIT 20`

const cardSocialQuery = `
	SELECT status, balance_fen, monthly_contribution_fen, months_paid, last_paid_period
	FROM platform.social_insurance_accounts WHERE citizen_id = $1`

const cardFundQuery = `
	SELECT status, employer, balance_fen, monthly_deposit_fen, months_paid, last_deposit_period
	FROM platform.housing_fund_accounts WHERE citizen_id = $1`

const cardHistoryCallsQuery = `
	SELECT c.id::text AS id, c.started_at, COALESCE(c.outcome, '') AS outcome, COALESCE(q.name, '') AS queue_name
	FROM hotline.calls c
	LEFT JOIN hotline.queues q ON q.id = c.queue_id
	WHERE (c.citizen_id = $1 OR c.caller_number = $2) AND c.started_at > $3 AND c.id <> $4
	ORDER BY c.started_at DESC
	LIMIT 50`

const cardHistoryOrdersQuery = `
	SELECT id, number, status, category, title, created_at
	FROM hotline.work_orders
	WHERE citizen_id = $1 AND created_at > $2
	ORDER BY created_at DESC
	LIMIT 50`

// cardAuditInsert writes a view of a citizen's record.
const cardAuditInsert = `
	INSERT INTO hotline.audit_log (at, actor_id, action, object_type, object_id, detail, ip)
	VALUES ($1, $2, $3, 'citizen', $4, $5, NULLIF($6, '')::inet)`

// Audit actions of the card and the search.
const (
	AuditViewCitizen   = "view_citizen"
	AuditAttachCitizen = "attach_citizen"
)

// AuditCitizen writes that actorID viewed (or acted on) citizenID, why, and from where.
func AuditCitizen(ctx context.Context, db sqlx.ExecerContext, now time.Time, actorID int64, action string, citizenID int64, detail map[string]any, ip string) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, cardAuditInsert, now, actorID, action, strconv.FormatInt(citizenID, 10), b, normalIP(ip)); err != nil {
		return fmt.Errorf("audit %s of citizen %d: %w", action, citizenID, err)
	}
	return nil
}

// cardNationalNumber strips a country code from a caller number: +86, 0086, 86.
func cardNationalNumber(n string) string {
	for _, p := range []string{"+86", "0086", "86"} {
		if rest, ok := strings.CutPrefix(n, p); ok && len(rest) == 11 {
			return rest
		}
	}
	return n
}

// MaskMobile keeps the first three and last four digits of a mobile: 138****8000.
func MaskMobile(m string) string {
	if len(m) < 8 {
		return strings.Repeat("*", len(m))
	}
	return m[:3] + strings.Repeat("*", len(m)-7) + m[len(m)-4:]
}

func maskAccount(n string) string {
	if len(n) <= 4 {
		return n
	}
	return strings.Repeat("*", len(n)-4) + n[len(n)-4:]
}

// LoadCard reads the card of call callID for actorID and writes the audit row of the citizen
// shown (reason "offered_call"). ip is the client's address for the audit row.
func LoadCard(ctx context.Context, db *sqlx.DB, now time.Time, callID string, actorID int64, ip string) (*Card, error) {
	var c struct {
		ID           string     `db:"id"`
		CallerNumber string     `db:"caller_number"`
		Language     string     `db:"language"`
		StartedAt    time.Time  `db:"started_at"`
		CitizenID    int64      `db:"citizen_id"`
		QueuedAt     *time.Time `db:"queued_at"`
		OfferedAt    *time.Time `db:"offered_at"`
	}
	switch err := db.GetContext(ctx, &c, cardCallQuery, callID); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, fmt.Errorf("call %s: %w", callID, hotline.ErrNotFound)
	case err != nil:
		return nil, fmt.Errorf("card of call %s: %w", callID, err)
	}
	card := &Card{CallerNumber: c.CallerNumber, Accounts: []CardAccount{}, Applications: []CardApplication{}}
	card.Call.ID, card.Call.Language, card.Call.StartedAt = c.ID, c.Language, c.StartedAt
	card.History.Calls, card.History.WorkOrders = []CardCall{}, []CardWorkOrder{}

	// The journey.
	card.Journey.Steps = []CardStep{}
	if err := db.SelectContext(ctx, &card.Journey.Steps, cardStepsQuery, callID); err != nil {
		return nil, fmt.Errorf("card of call %s: steps: %w", callID, err)
	}
	for _, s := range card.Journey.Steps {
		if s.Kind != "verify" {
			continue
		}
		switch s.Input {
		case "verified":
			v := true
			card.Journey.Verified = &v
		case "failed", "locked", "not_real_name":
			if card.Journey.Verified == nil || !*card.Journey.Verified {
				v := false
				card.Journey.Verified = &v
			}
		}
	}
	if c.QueuedAt != nil {
		card.Journey.IVRSeconds = max(0, int64(c.QueuedAt.Sub(c.StartedAt)/time.Second))
		end := now
		if c.OfferedAt != nil {
			end = *c.OfferedAt
		}
		card.Journey.QueueSeconds = max(0, int64(end.Sub(*c.QueuedAt)/time.Second))
	} else {
		card.Journey.IVRSeconds = max(0, int64(now.Sub(c.StartedAt)/time.Second))
	}

	// The citizen: attached to the call, else the one registered with the calling number.
	var who []CardCitizen
	var err error
	if c.CitizenID != 0 {
		err = db.SelectContext(ctx, &who, cardCitizenColumns+` WHERE c.id = $1`, c.CitizenID)
	} else {
		err = db.SelectContext(ctx, &who, cardCitizenColumns+` WHERE c.mobile = $1`, cardNationalNumber(c.CallerNumber))
	}
	if err != nil {
		return nil, fmt.Errorf("card of call %s: citizen: %w", callID, err)
	}
	since := now.Add(-90 * 24 * time.Hour)
	if len(who) == 0 {
		card.InsuranceHiddenReason = "未匹配到平台用户"
		if err := db.SelectContext(ctx, &card.History.Calls, cardHistoryCallsQuery, 0, c.CallerNumber, since, callID); err != nil {
			return nil, fmt.Errorf("card of call %s: calls: %w", callID, err)
		}
		return card, nil
	}
	ct := who[0]
	ct.MobileMask = MaskMobile(ct.Mobile)
	if ct.Mobile != cardNationalNumber(c.CallerNumber) {
		ct.MobileShown = ct.MobileMask
	}
	card.Citizen = &ct

	if card.Accounts, err = cardAccounts(ctx, db, ct.ID, now); err != nil {
		return nil, fmt.Errorf("card of call %s: %w", callID, err)
	}
	if err := db.SelectContext(ctx, &card.Applications, cardApplicationsQuery, ct.ID); err != nil {
		return nil, fmt.Errorf("card of call %s: applications: %w", callID, err)
	}
	switch {
	case ct.Level != string(hotline.LevelRealName):
		card.InsuranceHiddenReason = "非实名注册用户，不显示社保、公积金信息"
	case card.Journey.Verified == nil || !*card.Journey.Verified:
		card.InsuranceHiddenReason = "本次来电未通过自助语音身份验证，不显示社保、公积金信息"
	default:
		ins := &CardInsurance{}
		var si []CardSocialInsurance
		var hf []CardHousingFund
		if err := db.SelectContext(ctx, &si, cardSocialQuery, ct.ID); err != nil {
			return nil, fmt.Errorf("card of call %s: social insurance: %w", callID, err)
		}
		if err := db.SelectContext(ctx, &hf, cardFundQuery, ct.ID); err != nil {
			return nil, fmt.Errorf("card of call %s: housing fund: %w", callID, err)
		}
		if len(si) > 0 {
			ins.SocialInsurance = &si[0]
		}
		if len(hf) > 0 {
			ins.HousingFund = &hf[0]
		}
		card.Insurance = ins
	}
	if err := db.SelectContext(ctx, &card.History.Calls, cardHistoryCallsQuery, ct.ID, c.CallerNumber, since, callID); err != nil {
		return nil, fmt.Errorf("card of call %s: calls: %w", callID, err)
	}
	if err := db.SelectContext(ctx, &card.History.WorkOrders, cardHistoryOrdersQuery, ct.ID, since); err != nil {
		return nil, fmt.Errorf("card of call %s: work orders: %w", callID, err)
	}
	if err := AuditCitizen(ctx, db, now, actorID, AuditViewCitizen, ct.ID,
		map[string]any{"reason": "offered_call", "call_id": callID}, ip); err != nil {
		return nil, err
	}
	return card, nil
}

// Ways of searching for a citizen.
const (
	SearchByMobile   = "mobile"
	SearchByAccount  = "account"
	SearchByCase     = "case"
	SearchByIDNumber = "id_number"
)

// SearchCitizens finds citizens by a mobile, a utility account number, an application's case
// number, or the keyed hash of an ID number (idHash, for SearchByIDNumber). It writes an audit
// row for every citizen found (reason "search", the agent's stated reason, the call).
func SearchCitizens(ctx context.Context, db *sqlx.DB, now time.Time, by, q string, idHash []byte, actorID int64, reason, callID, ip string) ([]CardCitizen, error) {
	var where string
	var arg any = q
	switch by {
	case SearchByMobile:
		where = `WHERE c.mobile = $1`
		arg = cardNationalNumber(q)
	case SearchByAccount:
		where = `WHERE c.id IN (SELECT citizen_id FROM platform.utility_accounts WHERE account_number = $1)`
	case SearchByCase:
		where = `WHERE c.id IN (SELECT citizen_id FROM platform.applications WHERE case_number = $1)`
	case SearchByIDNumber:
		where = `WHERE c.id_number_hmac = $1`
		arg = idHash
	default:
		return nil, fmt.Errorf("search by %q: %w", by, hotline.ErrInvalid)
	}
	found := []CardCitizen{}
	if err := db.SelectContext(ctx, &found, cardCitizenColumns+" "+where+` ORDER BY c.id LIMIT 20`, arg); err != nil {
		return nil, fmt.Errorf("search citizens by %s: %w", by, err)
	}
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	for i := range found {
		found[i].MobileMask = MaskMobile(found[i].Mobile)
		detail := map[string]any{"reason": "search", "by": by}
		if reason != "" {
			detail["stated_reason"] = reason
		}
		if callID != "" {
			detail["call_id"] = callID
		}
		if err := AuditCitizen(ctx, tx, now, actorID, AuditViewCitizen, found[i].ID, detail, ip); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("search citizens: audit: %w", err)
	}
	return found, nil
}

// AttachCitizen records citizenID as the citizen of call callID (the agent found them by a
// search) and audits it. hotline.ErrNotFound for an unknown citizen.
func AttachCitizen(ctx context.Context, db *sqlx.DB, now time.Time, callID string, citizenID, actorID int64, ip string) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE hotline.calls SET citizen_id = $2
		WHERE id = $1 AND EXISTS (SELECT 1 FROM platform.citizens WHERE id = $2)`, callID, citizenID)
	if err != nil {
		return fmt.Errorf("attach citizen %d to call %s: %w", citizenID, callID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("citizen %d: %w", citizenID, hotline.ErrNotFound)
	}
	if err := AuditCitizen(ctx, tx, now, actorID, AuditAttachCitizen, citizenID,
		map[string]any{"reason": "attach", "call_id": callID}, ip); err != nil {
		return err
	}
	return tx.Commit()
}

// TransferQueue, TransferAgent and TransferNumber are where an agent may send a caller.
type TransferQueue struct {
	ID      string `db:"id" json:"id"`
	Name    string `db:"name" json:"name"`
	Waiting int    `db:"waiting" json:"waiting"`
	// AgentsAvailable counts the available agents with the queue's skill.
	AgentsAvailable int `db:"agents_available" json:"agents_available"`
}

type TransferAgent struct {
	ID          int64  `db:"id" json:"id"`
	DisplayName string `db:"display_name" json:"display_name"`
	State       string `db:"state" json:"state"`
	Endpoint    string `db:"endpoint" json:"endpoint"`
}

type TransferNumber struct {
	Name   string `db:"name" json:"name"`
	Number string `db:"phone" json:"number"`
}

const transferQueuesQuery = `
	SELECT q.id, q.name,
	       (SELECT count(*) FROM hotline.queue_entries e WHERE e.queue_id = q.id AND e.left_at IS NULL) AS waiting,
	       (SELECT count(*) FROM hotline.agent_status st
	        JOIN hotline.agent_skills s ON s.agent_id = st.agent_id AND s.skill_id = q.skill_id
	        WHERE st.state = 'available') AS agents_available
	FROM hotline.queues q
	ORDER BY q.id`

const transferAgentsQuery = `
	SELECT a.id, a.display_name, COALESCE(st.state, 'offline') AS state, a.endpoint
	FROM hotline.agents a
	LEFT JOIN hotline.agent_status st ON st.agent_id = a.id
	WHERE a.active AND a.endpoint IS NOT NULL AND a.endpoint <> '' AND a.id <> $1
	ORDER BY (COALESCE(st.state, 'offline') = 'available') DESC, (COALESCE(st.state, 'offline') = 'offline'), a.display_name, a.id`

// TransferTargets reads the queues, the other agents with a phone (available ones first) and
// the departments' hotlines.
func TransferTargets(ctx context.Context, db *sqlx.DB, self int64) ([]TransferQueue, []TransferAgent, []TransferNumber, error) {
	qs, as, ns := []TransferQueue{}, []TransferAgent{}, []TransferNumber{}
	if err := db.SelectContext(ctx, &qs, transferQueuesQuery); err != nil {
		return nil, nil, nil, fmt.Errorf("transfer queues: %w", err)
	}
	if err := db.SelectContext(ctx, &as, transferAgentsQuery, self); err != nil {
		return nil, nil, nil, fmt.Errorf("transfer agents: %w", err)
	}
	if err := db.SelectContext(ctx, &ns, `SELECT name, phone FROM platform.departments WHERE phone <> '' ORDER BY id`); err != nil {
		return nil, nil, nil, fmt.Errorf("departments' numbers: %w", err)
	}
	return qs, as, ns, nil
}

// callStater is a local controller that tells the state of its calls (the IVR engine).
type callStater interface {
	CallState(callID string) (hotline.CallState, error)
}

const remoteCallStateQuery = `
	SELECT COALESCE((SELECT agent_id FROM hotline.offers WHERE call_id = $1 AND state = 'accepted'
	                 ORDER BY decided_at DESC NULLS LAST, id DESC LIMIT 1), 0)`

// CallState returns the state of a call in conversation. For a call of this instance it is
// the local controller's (held, muted, consultation); for a call owned by another instance
// only the call and its agent are known here (the last accepted offer's agent): the other
// fields are zero.
func (b *CommandBus) CallState(ctx context.Context, callID string) (hotline.CallState, error) {
	var owner struct {
		Instance string `db:"instance_id"`
		Ended    bool   `db:"ended"`
	}
	switch err := b.db.GetContext(ctx, &owner, callOwnerQuery, callID); {
	case errors.Is(err, sql.ErrNoRows):
		return hotline.CallState{}, fmt.Errorf("call %s: %w", callID, hotline.ErrNotFound)
	case err != nil:
		return hotline.CallState{}, fmt.Errorf("call %s: owner: %w", callID, err)
	}
	if owner.Instance == "" || owner.Instance == b.instance {
		if st, ok := b.local.(callStater); ok {
			return st.CallState(callID)
		}
	}
	out := hotline.CallState{CallID: callID}
	if err := b.db.GetContext(ctx, &out.AgentID, remoteCallStateQuery, callID); err != nil {
		return hotline.CallState{}, fmt.Errorf("call %s: agent: %w", callID, err)
	}
	return out, nil
}

// cardAccounts reads a citizen's utility accounts with their latest bill, account numbers
// masked; overdue is counted from midnight in Foshan after the due date.
func cardAccounts(ctx context.Context, db *sqlx.DB, citizenID int64, now time.Time) ([]CardAccount, error) {
	var rows []struct {
		ID        int64      `db:"id"`
		Kind      string     `db:"kind"`
		Provider  string     `db:"provider"`
		Number    string     `db:"account_number"`
		Period    *time.Time `db:"period"`
		AmountFen *int64     `db:"amount_fen"`
		DueDate   *time.Time `db:"due_date"`
		PaidAt    *time.Time `db:"paid_at"`
		Overdue   *bool      `db:"overdue"`
	}
	if err := db.SelectContext(ctx, &rows, cardAccountsQuery, citizenID, now); err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	accounts := []CardAccount{}
	for _, a := range rows {
		ca := CardAccount{ID: a.ID, Kind: a.Kind, Provider: a.Provider, Number: maskAccount(a.Number)}
		if a.Period != nil {
			ca.LatestBill = &CardBill{Period: *a.Period, AmountFen: *a.AmountFen, DueDate: *a.DueDate, PaidAt: a.PaidAt, Overdue: *a.Overdue}
		}
		accounts = append(accounts, ca)
	}
	return accounts, nil
}
