package ivr_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/internal/repotest"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/ivr/flow"
	"github.com/foshan-hotline/hotline/ivr/prompts"
)

// shipped returns an engine configuration over the shipped flows and prompts.
func shipped(t testing.TB) ivr.Config {
	t.Helper()
	root := repotest.Root(t)
	m, err := prompts.Load(filepath.Join(root, "sounds"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "flows", "calendars.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cals, err := flow.ParseCalendars(data)
	if err != nil {
		t.Fatal(err)
	}
	lib, err := flow.LoadDir(os.DirFS(root), "flows", flow.Options{Manifest: m})
	if err != nil {
		t.Fatal(err)
	}
	return ivr.Config{
		Flows: lib, Manifest: m, SoundsDir: filepath.Join(root, "sounds"), Calendars: cals,
		// A Wednesday morning in business hours.
		Now: func() time.Time { return time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("CST", 8*3600)) },
	}
}

// fakeSources answers lookups with LookupFunc.
type fakeSources struct {
	LookupFunc func(ctx context.Context, source string, args map[string]any) (any, error)
}

func (f *fakeSources) Lookup(ctx context.Context, source string, args map[string]any) (any, error) {
	return f.LookupFunc(ctx, source, args)
}

// fakeServices records what the flows asked for.
type fakeServices struct {
	mu            sync.Mutex
	VerifyPINFunc func(idNumber, pin string) (*hotline.Citizen, error)
	Surveys       []int
	Callbacks     []string
	Messages      []hotline.Message
	Queued        []string
	Left          []string
}

func (f *fakeServices) VerifyPIN(ctx context.Context, callID, idNumber, pin string) (*hotline.Citizen, error) {
	return f.VerifyPINFunc(idNumber, pin)
}

func (f *fakeServices) RequestCallback(ctx context.Context, callID, number, queue string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Callbacks = append(f.Callbacks, number)
	return nil
}

func (f *fakeServices) SaveMessage(ctx context.Context, m hotline.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Messages = append(f.Messages, m)
	return nil
}

func (f *fakeServices) SaveSurvey(ctx context.Context, callID string, level int, followUp bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Surveys = append(f.Surveys, level)
	return nil
}

func (f *fakeServices) EnterQueue(ctx context.Context, callID, queue string, priority int) (hotline.QueueEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Queued = append(f.Queued, queue)
	return hotline.QueueEntry{ID: int64(len(f.Queued)), Queue: queue}, nil
}

func (f *fakeServices) QueueStatus(ctx context.Context, e hotline.QueueEntry) (int, time.Duration, error) {
	return 3, 4 * time.Minute, nil
}

func (f *fakeServices) LeaveQueue(ctx context.Context, e hotline.QueueEntry, outcome string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Left = append(f.Left, outcome)
	return nil
}

// memRecorder keeps call records in memory.
type memRecorder struct {
	mu    sync.Mutex
	calls map[string]*hotline.CallRecord
	steps map[string][]hotline.CallStep
	ends  map[string]hotline.CallEnd
}

func newMemRecorder() *memRecorder {
	return &memRecorder{calls: map[string]*hotline.CallRecord{}, steps: map[string][]hotline.CallStep{}, ends: map[string]hotline.CallEnd{}}
}

func (r *memRecorder) StartCall(ctx context.Context, c hotline.CallRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[c.ID] = &c
	return nil
}

func (r *memRecorder) Step(ctx context.Context, s hotline.CallStep) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	steps := r.steps[s.CallID]
	if n := len(steps); n > 0 && steps[n-1].Seq == s.Seq {
		steps[n-1] = s
	} else {
		r.steps[s.CallID] = append(steps, s)
	}
	return nil
}

func (r *memRecorder) EndCall(ctx context.Context, e hotline.CallEnd) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ends[e.CallID] = e
	return nil
}

// only returns the single call's record, steps and end.
func (r *memRecorder) only(t *testing.T) (hotline.CallRecord, []hotline.CallStep, hotline.CallEnd) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) != 1 {
		t.Fatalf("%d calls recorded, want 1", len(r.calls))
	}
	for id, c := range r.calls {
		end, ok := r.ends[id]
		if !ok {
			t.Fatalf("call %s has no end record", id)
		}
		return *c, append([]hotline.CallStep(nil), r.steps[id]...), end
	}
	panic("unreachable")
}
