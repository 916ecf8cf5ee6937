package hotline

import "time"

// CallRecord is the row a call gets when it arrives.
type CallRecord struct {
	ID            string // UUID chosen by the controller
	Node          string // Asterisk node name
	ChannelID     string
	CallerNumber  string
	Language      string
	FlowVersionID int64 // 0 when the flow was not published
	StartedAt     time.Time
	// Instance is the controller instance that owns the call ("" for a single instance).
	Instance string
}

// CallStep is one node of a call's IVR path: written when the node is entered (Exit empty)
// and again when it is left. Input is already masked when the node is sensitive.
type CallStep struct {
	CallID    string
	Seq       int
	Flow      string
	Node      string
	Kind      string
	EnteredAt time.Time
	LeftAt    time.Time // zero while the node runs
	Exit      string
	Input     string
	// Detail is a short summary, in Chinese, of what the caller looked up and heard at the node
	// ("电费 2026年11月 应缴 356元2角 逾期", "验证通过"); identifiers in it are masked.
	Detail string
}

// Call outcomes, as recorded when a call ends.
const (
	OutcomeSelfServed  = "self_served"
	OutcomeAgent       = "agent"
	OutcomeAbandoned   = "abandoned"
	OutcomeMessage     = "message"
	OutcomeCallback    = "callback"
	OutcomeTransferred = "transferred"
	OutcomeOverflow    = "overflow"
	OutcomeError       = "error"
	OutcomeHangup      = "hangup"
	// OutcomeNodeLost is a call cut off by its Asterisk node: the node restarted, or its
	// channel was gone when the controller reconnected after losing the events websocket.
	OutcomeNodeLost = "node_lost"
)

// CallEnd completes a call's record.
type CallEnd struct {
	CallID     string
	EndedAt    time.Time
	AnsweredAt time.Time // zero if never answered
	Outcome    string
	Language   string
	CitizenID  int64  // 0 when the caller was not identified
	QueueID    string // "" when the call never queued
	AgentID    int64  // the last agent the caller talked to; 0 for none
	FollowUp   bool
	// Survey is the satisfaction level the caller gave (1 very satisfied … 5 very
	// dissatisfied), 0 for none, and SurveyAt when. The answer is saved at once as well; the
	// end record, which is written whatever the database does meanwhile, makes sure of it.
	Survey   int
	SurveyAt time.Time
}

// Message is a caller's recorded message; it becomes a work order.
type Message struct {
	CallID        string
	CallerNumber  string
	CitizenID     int64
	Category      string
	RecordingName string
	Duration      time.Duration
}

// QueueEntry identifies a call's wait in a queue.
type QueueEntry struct {
	ID    int64
	Queue string
}

// Queue outcomes, as recorded when a call leaves a queue.
const (
	QueueAnswered  = "answered"
	QueueAbandoned = "abandoned"
	QueueOverflow  = "overflow"
	QueueMessage   = "message"
	QueueCallback  = "callback"
)

// Recording kinds.
const (
	RecordingMessage      = "message"      // a caller's voice message
	RecordingConversation = "conversation" // a caller's conversation with an agent
)

// Recording is an audio file kept on the Asterisk node that recorded it.
type Recording struct {
	ID        int64         `db:"id"`
	CallID    string        `db:"call_id"`
	AgentID   int64         `db:"agent_id"` // 0 for a message
	Kind      string        `db:"kind"`
	Node      string        `db:"node"`
	Name      string        `db:"name"`
	Format    string        `db:"format"`
	StartedAt time.Time     `db:"started_at"`
	Duration  time.Duration `db:"-"`
}

// CallbackTask is a callback offered to an agent: the citizen's number and which try this is.
type CallbackTask struct {
	ID      int64  `db:"id"`
	Number  string `db:"number"`
	Attempt int    `db:"attempt"`
}

// Outcomes of one try of a callback.
const (
	AttemptAnswered = "answered"
	AttemptNoAnswer = "no_answer"
	AttemptBusy     = "busy"
	AttemptFailed   = "failed"
)
