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

// StartAwaiter is a Recorder that writes call starts in the background and tells when one is
// written. The engine waits for it before a service writes a row referring to the call, so
// the caller never waits for the call log, and a service never finds its call missing.
type StartAwaiter interface {
	AwaitStart(ctx context.Context, callID string) error
}

// awaitingServices waits for a call's start record before each service that refers to it.
type awaitingServices struct {
	Services
	rec StartAwaiter
}

func (s awaitingServices) VerifyPIN(ctx context.Context, callID, idNumber, pin string) (*hotline.Citizen, error) {
	if err := s.rec.AwaitStart(ctx, callID); err != nil {
		return nil, err
	}
	return s.Services.VerifyPIN(ctx, callID, idNumber, pin)
}

func (s awaitingServices) RequestCallback(ctx context.Context, callID, number, queue string) error {
	if err := s.rec.AwaitStart(ctx, callID); err != nil {
		return err
	}
	return s.Services.RequestCallback(ctx, callID, number, queue)
}

func (s awaitingServices) SaveMessage(ctx context.Context, m hotline.Message) error {
	if err := s.rec.AwaitStart(ctx, m.CallID); err != nil {
		return err
	}
	return s.Services.SaveMessage(ctx, m)
}

func (s awaitingServices) SaveSurvey(ctx context.Context, callID string, level int, followUp bool) error {
	if err := s.rec.AwaitStart(ctx, callID); err != nil {
		return err
	}
	return s.Services.SaveSurvey(ctx, callID, level, followUp)
}

func (s awaitingServices) EnterQueue(ctx context.Context, callID, queue string, priority int) (hotline.QueueEntry, error) {
	if err := s.rec.AwaitStart(ctx, callID); err != nil {
		return hotline.QueueEntry{}, err
	}
	return s.Services.EnterQueue(ctx, callID, queue, priority)
}
