package hotline

import "fmt"

// Call-control actions an agent takes on the call they are talking on.
const (
	ActionHold     = "hold"     // the caller leaves the conversation and hears music; the agent silence
	ActionResume   = "resume"   // the caller comes back
	ActionMute     = "mute"     // the caller no longer hears the agent
	ActionUnmute   = "unmute"   // the caller hears the agent again
	ActionHangup   = "hangup"   // the agent leaves; the caller goes on in the flow (the survey)
	ActionDTMF     = "dtmf"     // digits played to the caller's side (an external IVR after a transfer)
	ActionTransfer = "transfer" // blind transfer: to a queue, a named agent, an external number or a flow

	// Attended transfer: the caller waits on hold while the agent calls a third party, then
	// the agent completes the transfer (and leaves), cancels it (back to the caller) or
	// joins all three in a conference.
	ActionConsult         = "consult"
	ActionCompleteConsult = "complete"
	ActionCancelConsult   = "cancel_consult"
	ActionConference      = "conference"
)

// TransferTarget is where ActionTransfer or ActionConsult takes a caller: exactly one of
// Queue, Agent, Number, Flow and Endpoint is set.
type TransferTarget struct {
	// Queue puts the caller back in a queue, keeping their priority.
	Queue string `json:"queue,omitempty"`
	// Agent puts the caller back in the queue of the call, keeping their priority and original
	// entry time, reserved for this agent: only they are offered the call until the
	// reservation lapses (Reserve, or twice the queue's ring timeout; at once when the agent
	// misses or rejects the offer), then anyone in the queue is. Blind transfers only.
	Agent int64 `json:"agent,omitempty"`
	// Reserve is how long, in seconds, the call waits for Agent alone (5 to MaxReserve); 0
	// takes the default.
	Reserve int `json:"reserve_seconds,omitempty"`
	// Number dials an external number through the dialplan context hotline-out.
	Number string `json:"number,omitempty"`
	// Flow takes the caller back into the IVR at a flow (insurance for a verification,
	// survey …); the flow continues afterwards as after the conversation.
	Flow string `json:"flow,omitempty"`
	// Endpoint is a phone to consult (another agent's PJSIP/1002); consultations only.
	Endpoint string `json:"endpoint,omitempty"`
}

// MaxReserve is the longest a transferred call may wait for its named agent alone.
const MaxReserve = 600

// CallCommand is a call-control request for a call in conversation with an agent.
type CallCommand struct {
	Action string `json:"action"`
	// AgentID is who asks: only the agent on the call may control it.
	AgentID  int64          `json:"agent_id"`
	Digits   string         `json:"digits,omitempty"`
	Transfer TransferTarget `json:"transfer"`
}

// CallState is what the agent desk shows of a call in conversation.
type CallState struct {
	CallID string `json:"call_id"`
	// AgentID is the agent talking with the caller.
	AgentID int64 `json:"agent_id"`
	Held    bool  `json:"held"`
	Muted   bool  `json:"muted"`
	// Consult is "" without a consultation, "ringing" while the third party rings, "talking"
	// once they answered, "conference" when all three talk.
	Consult string `json:"consult,omitempty"`
}

// Validate checks a command's shape (not whether it fits the call's state); the error wraps
// ErrInvalid.
func (cmd CallCommand) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s: %s: %w", cmd.Action, fmt.Sprintf(format, args...), ErrInvalid)
	}
	switch cmd.Action {
	case ActionHold, ActionResume, ActionMute, ActionUnmute, ActionHangup,
		ActionCompleteConsult, ActionCancelConsult, ActionConference:
	case ActionConsult:
		t := cmd.Transfer
		if (t.Number == "") == (t.Endpoint == "") || t.Queue != "" || t.Flow != "" || t.Agent != 0 || t.Reserve != 0 {
			return bad("exactly one of number and endpoint")
		}
		if t.Number != "" && !allDigits(t.Number, 3, 20) {
			return bad("number of 3 to 20 digits")
		}
	case ActionDTMF:
		if cmd.Digits == "" || len(cmd.Digits) > 32 {
			return bad("1 to 32 digits")
		}
		for _, d := range cmd.Digits {
			if !(d >= '0' && d <= '9' || d >= 'A' && d <= 'D' || d == '*' || d == '#') {
				return bad("digit %q", d)
			}
		}
	case ActionTransfer:
		t := cmd.Transfer
		n := 0
		for _, s := range []string{t.Queue, t.Number, t.Flow} {
			if s != "" {
				n++
			}
		}
		if t.Agent != 0 {
			n++
		}
		if n != 1 || t.Endpoint != "" {
			return bad("exactly one of queue, agent, number and flow")
		}
		if t.Agent < 0 {
			return bad("agent %d", t.Agent)
		}
		if t.Reserve != 0 && (t.Agent == 0 || t.Reserve < 5 || t.Reserve > MaxReserve) {
			return bad("reserve_seconds of 5 to %d, with an agent", MaxReserve)
		}
		if t.Number != "" && !allDigits(t.Number, 3, 20) {
			return bad("number of 3 to 20 digits")
		}
	default:
		return bad("unknown action")
	}
	return nil
}

// allDigits reports whether s is min to max decimal digits.
func allDigits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for _, d := range s {
		if d < '0' || d > '9' {
			return false
		}
	}
	return true
}

// Monitoring actions a MonitorCommand carries.
const (
	MonitorActionStart = "start"
	MonitorActionMode  = "mode"
	MonitorActionStop  = "stop"
)

// MonitorCommand is a supervisor's monitoring of a call (listen, whisper, barge), carried to
// the instance that owns the call: start session ID (with the agent, their phone, the
// supervisor's phone and the mode), switch its Mode, or stop it.
type MonitorCommand struct {
	Action        string `json:"action"`
	ID            string `json:"id"`
	AgentID       int64  `json:"agent_id,omitempty"`
	AgentEndpoint string `json:"agent_endpoint,omitempty"`
	Supervisor    string `json:"supervisor,omitempty"`
	Mode          string `json:"mode,omitempty"`
}

// Validate checks a monitoring command's shape; the error wraps ErrInvalid.
func (cmd MonitorCommand) Validate() error {
	bad := func(what string) error { return fmt.Errorf("monitor %s: %s: %w", cmd.Action, what, ErrInvalid) }
	if cmd.ID == "" {
		return bad("a session id is required")
	}
	switch cmd.Action {
	case MonitorActionStart:
		if cmd.AgentID == 0 || cmd.AgentEndpoint == "" || cmd.Supervisor == "" || cmd.Mode == "" {
			return bad("agent, agent endpoint, supervisor endpoint and mode are required")
		}
	case MonitorActionMode:
		if cmd.Mode == "" {
			return bad("a mode is required")
		}
	case MonitorActionStop:
	default:
		return bad("unknown action")
	}
	return nil
}
