package hotline

import (
	"errors"
	"time"
)

// Errors of the contact centre, mapped to HTTP statuses at the agent API's edge.
var (
	// ErrConflict means the request does not fit the current state (an agent on a call
	// asked to go available, a hold of a call not bridged …); it maps to 409.
	ErrConflict = errors.New("not possible in the current state")
	// ErrForbidden means the user may not do this (role or object-level check); 403.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthorized means no valid session; 401.
	ErrUnauthorized = errors.New("not logged in")
	// ErrInvalid means the request is malformed or a value is out of range; 400.
	ErrInvalid = errors.New("invalid request")
)

// Role is what a desk user may do.
type Role string

// Desk roles: a supervisor is also an agent, an admin also a supervisor.
const (
	RoleAgent      Role = "agent"      // 坐席
	RoleSupervisor Role = "supervisor" // 班长
	RoleAdmin      Role = "admin"      // 管理员
	// RoleDepartment is a user of a department (部门用户) handling the work orders sent to
	// it; it stands outside agent < supervisor < admin and reaches only what is opened to it.
	RoleDepartment Role = "department"
)

// AtLeast reports whether r includes the rights of min.
func (r Role) AtLeast(min Role) bool { return roleRank[r] >= roleRank[min] && roleRank[min] > 0 }

var roleRank = map[Role]int{RoleAgent: 1, RoleSupervisor: 2, RoleAdmin: 3}

// AgentState is where an agent is in their working day.
type AgentState string

// Agent states; every transition is a row of hotline.agent_state_log.
const (
	AgentOffline   AgentState = "offline"   // 未登录
	AgentAvailable AgentState = "available" // 空闲
	AgentRinging   AgentState = "ringing"   // 振铃: an offer in progress
	AgentTalking   AgentState = "talking"   // 通话
	AgentWrapUp    AgentState = "wrap_up"   // 话后处理
	AgentPaused    AgentState = "paused"    // 小休/用餐/会议/培训, with a reason code
	AgentMissed    AgentState = "missed"    // 未接: an offer rang out or was rejected
)

// Agent is a desk user who may answer calls.
type Agent struct {
	ID          int64  `db:"id"`
	Username    string `db:"username"`
	DisplayName string `db:"display_name"`
	Role        Role   `db:"role"`
	// Endpoint is the phone the controller rings: PJSIP/1001, SIP/1001 or Local/…; empty
	// for a user who takes no calls.
	Endpoint string `db:"endpoint"`
	Active   bool   `db:"active"`
	// DepartmentID is the department of a department user (platform.departments); 0 for
	// the hotline's own users.
	DepartmentID int64 `db:"department_id"`
}

// AgentSkill is a skill of an agent with its level, 1 (basic) to 5 (expert).
type AgentSkill struct {
	Skill string `db:"skill_id"`
	Level int    `db:"level"`
}

// AgentStatus is an agent's state now.
type AgentStatus struct {
	AgentID int64      `db:"agent_id"`
	State   AgentState `db:"state"`
	// Reason is the pause reason code when paused ("login" right after logging in), and how
	// the offer ended (timeout, rejected, failed) when missed.
	Reason string    `db:"reason"`
	Since  time.Time `db:"since"`
	// CallID is the call the agent is ringing for, talking on or wrapping up; "" otherwise.
	CallID string `db:"call_id"`
	// OfferID is the offer of that call; 0 otherwise.
	OfferID int64 `db:"offer_id"`
	// WrapUpUntil is when wrap-up ends by itself; zero outside wrap-up.
	WrapUpUntil time.Time `db:"wrap_up_until"`
	// PendingPause is the pause reason asked for during a call, taken after wrap-up.
	PendingPause string `db:"pending_pause"`
	// IdleSince is when the agent last became available after work; longest idle routing
	// picks the oldest. Zero when never available.
	IdleSince time.Time `db:"idle_since"`
	// Session is the desk session the agent is logged in with and Instance the controller
	// instance hosting it; both "" when logged out.
	Session  string `db:"session_id"`
	Instance string `db:"instance_id"`
}

// LoggedIn reports whether the agent is logged in.
func (s AgentStatus) LoggedIn() bool { return s.State != AgentOffline && s.State != "" }

// PauseLogin is the reason of the pause an agent starts in after logging in: like Amazon
// Connect's agents, who log in Offline and choose Available, an agent receives no call before
// saying they are ready.
const PauseLogin = "login"

// StateError is a request that does not fit an agent's state (going available while talking,
// logging out while the phone rings …). It matches ErrConflict; Reason says what to do.
type StateError struct {
	State  AgentState
	Reason string
}

func (e *StateError) Error() string { return string(e.State) + ": " + e.Reason }

// Unwrap makes a StateError match ErrConflict.
func (e *StateError) Unwrap() error { return ErrConflict }

// PauseReason is a reason code an agent may pause with (小休, 用餐, 会议, 培训 …).
type PauseReason struct {
	Code string `db:"code"`
	Name string `db:"name"`
}

// Disposition is an outcome code an agent records after a call of a queue (话后小结).
type Disposition struct {
	Code string `db:"code"`
	Name string `db:"name"`
}

// QueueCount is how many calls wait in a queue and for how long the oldest has waited.
// Calls of a controller instance that stopped answering are not counted.
type QueueCount struct {
	Queue string `db:"queue_id"`
	Name  string `db:"name"`
	// Waiting counts the calls in the queue, Offered those of them whose agent's phone rings.
	Waiting int `db:"waiting"`
	Offered int `db:"offered"`
	// OldestWait is how long the call waiting longest has waited; 0 when none waits.
	OldestWait time.Duration `db:"-"`
}

// StateTimes is how long an agent spent in each state during one day.
type StateTimes struct {
	// Day is the day's midnight in the hotline's time zone (China Standard Time).
	Day time.Time
	// States sums the time per state; Paused splits the paused time by reason code.
	States map[AgentState]time.Duration
	Paused map[string]time.Duration
}

// QueueLost is the outcome of a queue entry whose controller instance died while the call
// waited: nobody could answer it any more, and the caller did not abandon it.
const QueueLost = "lost"

// Queue routing strategies: which of the available agents with the skill gets a call.
const (
	// StrategyLongestIdle picks the agent idle longest (the default).
	StrategyLongestIdle = "longest_idle"
	// StrategyFewestCalls picks the agent who answered the fewest calls today.
	StrategyFewestCalls = "fewest_calls"
	// StrategySkillLevel picks the highest skill level, then the longest idle.
	StrategySkillLevel = "skill_level"
)

// Offer outcomes.
const (
	OfferPending   = "pending"
	OfferAccepted  = "accepted"  // the agent answered and was bridged with the caller
	OfferRejected  = "rejected"  // the agent's phone was busy or declined
	OfferTimeout   = "timeout"   // rang out
	OfferFailed    = "failed"    // the phone could not be called (unregistered, error)
	OfferCancelled = "cancelled" // the caller hung up or left the queue while it rang
)

// Offer is a waiting call given to one agent: the controller that owns the call rings the
// agent's endpoint and bridges the two on answer.
type Offer struct {
	ID       int64  `db:"id"`
	CallID   string `db:"call_id"`
	EntryID  int64  `db:"entry_id"`
	AgentID  int64  `db:"agent_id"`
	QueueID  string `db:"queue_id"`
	Endpoint string `db:"endpoint"`
	// Instance is the controller that owns the call and rings the agent.
	Instance string `db:"instance_id"`
	// State is hotline.OfferPending until the offer ends with one of the other outcomes.
	State       string        `db:"state"`
	RingTimeout time.Duration `db:"-"`
	// Whisper is a prompt played to the agent before bridging; "" for none.
	Whisper   string    `db:"-"`
	OfferedAt time.Time `db:"offered_at"`
}
