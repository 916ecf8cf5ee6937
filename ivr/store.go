package ivr

import (
	"context"
	"time"

	"github.com/foshan-hotline/hotline"
)

// Recorder keeps the call records. StartCall comes before anything else of the call; Step
// and EndCall may be buffered but keep each call's order.
type Recorder interface {
	StartCall(ctx context.Context, c hotline.CallRecord) error
	Step(ctx context.Context, s hotline.CallStep) error
	EndCall(ctx context.Context, e hotline.CallEnd) error
}

// Services are the actions flow nodes take on the hotline's data besides lookups.
type Services interface {
	// VerifyPIN checks the phone-service PIN of the citizen with this ID number. Until the
	// pair is verified every failure looks the same (hotline.ErrPINMismatch, or
	// hotline.ErrPINLocked); hotline.ErrNotRealName only follows the right PIN.
	VerifyPIN(ctx context.Context, callID, idNumber, pin string) (*hotline.Citizen, error)
	// RequestCallback registers a callback to number by the agents of queue.
	RequestCallback(ctx context.Context, callID, number, queue string) error
	// SaveMessage turns a recorded message into a work order.
	SaveMessage(ctx context.Context, m hotline.Message) error
	// SaveSurvey stores a satisfaction level (1 very satisfied … 5 very dissatisfied).
	SaveSurvey(ctx context.Context, callID string, level int, followUp bool) error
	// EnterQueue puts the call in a queue.
	EnterQueue(ctx context.Context, callID, queue string, priority int) (hotline.QueueEntry, error)
	// QueueStatus returns the entry's position (1 is next) and estimated wait.
	QueueStatus(ctx context.Context, e hotline.QueueEntry) (position int, wait time.Duration, err error)
	// LeaveQueue records how the call left the queue.
	LeaveQueue(ctx context.Context, e hotline.QueueEntry, outcome string) error
}
