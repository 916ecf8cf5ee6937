package flowtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

// ErrInjected is the error a source or service named in a scenario's backend.fail returns.
var ErrInjected = errors.New("flowtest: injected backend failure")

// ServiceNames are the services a scenario's backend may make misbehave.
var ServiceNames = []string{"verify_pin", "request_callback", "save_message", "save_survey", "enter_queue", "queue_status", "leave_queue"}

// check reports names that are neither data sources nor services.
func (b Backend) check() error {
	var errs []error
	for _, list := range [][]string{b.Fail, b.Slow, b.Refuse, b.Empty} {
		for _, name := range list {
			if _, ok := flow.LookupSource(name); !ok && !slices.Contains(ServiceNames, name) {
				errs = append(errs, fmt.Errorf("backend: %q is neither a data source (%v) nor a service (%v)", name, flow.SourceNames(), ServiceNames))
			}
		}
	}
	return errors.Join(errs...)
}

// fault returns the misbehaviour chosen for name, or nil to behave.
func (b Backend) fault(ctx context.Context, name string) error {
	switch {
	case slices.Contains(b.Fail, name):
		return fmt.Errorf("%s: %w", name, ErrInjected)
	case slices.Contains(b.Slow, name):
		<-ctx.Done()
		return fmt.Errorf("%s: %w", name, ctx.Err())
	case slices.Contains(b.Refuse, name):
		return fmt.Errorf("%s: %w", name, hotline.ErrNotRealName)
	case slices.Contains(b.Empty, name):
		return fmt.Errorf("%s: %w", name, hotline.ErrNotFound)
	}
	return nil
}

// faultySources are data sources with a scenario's backend faults.
type faultySources struct {
	next flow.Sources
	b    Backend
}

var _ flow.Sources = (*faultySources)(nil)

func (f *faultySources) Lookup(ctx context.Context, source string, args map[string]any) (any, error) {
	if err := f.b.fault(ctx, source); err != nil {
		return nil, err
	}
	return f.next.Lookup(ctx, source, args)
}

// faultyServices are the engine's services with a scenario's backend faults.
type faultyServices struct {
	next ivr.Services
	b    Backend
}

var _ ivr.Services = (*faultyServices)(nil)

func (f *faultyServices) VerifyPIN(ctx context.Context, callID, idNumber, pin string) (*hotline.Citizen, error) {
	if err := f.b.fault(ctx, "verify_pin"); err != nil {
		return nil, err
	}
	return f.next.VerifyPIN(ctx, callID, idNumber, pin)
}

func (f *faultyServices) RequestCallback(ctx context.Context, callID, number, queue string) error {
	if err := f.b.fault(ctx, "request_callback"); err != nil {
		return err
	}
	return f.next.RequestCallback(ctx, callID, number, queue)
}

func (f *faultyServices) SaveMessage(ctx context.Context, m hotline.Message) error {
	if err := f.b.fault(ctx, "save_message"); err != nil {
		return err
	}
	return f.next.SaveMessage(ctx, m)
}

func (f *faultyServices) SaveSurvey(ctx context.Context, callID string, level int, followUp bool) error {
	if err := f.b.fault(ctx, "save_survey"); err != nil {
		return err
	}
	return f.next.SaveSurvey(ctx, callID, level, followUp)
}

func (f *faultyServices) EnterQueue(ctx context.Context, callID, queue string, priority int) (hotline.QueueEntry, error) {
	if err := f.b.fault(ctx, "enter_queue"); err != nil {
		return hotline.QueueEntry{}, err
	}
	return f.next.EnterQueue(ctx, callID, queue, priority)
}

func (f *faultyServices) QueueStatus(ctx context.Context, e hotline.QueueEntry) (int, time.Duration, error) {
	if err := f.b.fault(ctx, "queue_status"); err != nil {
		return 0, 0, err
	}
	return f.next.QueueStatus(ctx, e)
}

func (f *faultyServices) LeaveQueue(ctx context.Context, e hotline.QueueEntry, outcome string) error {
	if err := f.b.fault(ctx, "leave_queue"); err != nil {
		return err
	}
	return f.next.LeaveQueue(ctx, e, outcome)
}
