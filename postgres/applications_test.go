package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
)

func TestApplicationByCaseNumber(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, err := f.store.ApplicationByCaseNumber(ctx, "2026010500001")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.ItemName, "户籍迁入"; got != want {
		t.Errorf("ItemName = %q, want %q", got, want)
	}
	if got, want := a.ItemID, f.hukou; got != want {
		t.Errorf("ItemID = %d, want %d", got, want)
	}
	if got, want := a.DepartmentName, "佛山市公安局"; got != want {
		t.Errorf("DepartmentName = %q, want %q", got, want)
	}
	if got, want := a.CitizenID, f.real; got != want {
		t.Errorf("CitizenID = %d, want %d", got, want)
	}
	if got, want := a.Status, hotline.StatusCompleted; got != want {
		t.Errorf("Status = %q, want %q", got, want)
	}
	if got, want := a.SubmittedAt.UTC().Format(time.RFC3339), "2026-01-05T01:30:00Z"; got != want {
		t.Errorf("SubmittedAt = %s, want %s", got, want)
	}
	wantHistory := []hotline.ApplicationStatus{hotline.StatusAccepted, hotline.StatusReviewing, hotline.StatusCorrection, hotline.StatusCompleted}
	if len(a.History) != len(wantHistory) {
		t.Fatalf("history has %d events, want %d: %+v", len(a.History), len(wantHistory), a.History)
	}
	for i, e := range a.History {
		if e.Seq != i+1 || e.Status != wantHistory[i] {
			t.Errorf("event %d = seq %d %s, want seq %d %s", i, e.Seq, e.Status, i+1, wantHistory[i])
		}
	}
	if got, want := a.History[2].Note, "请补充迁移证原件"; got != want {
		t.Errorf("correction note = %q, want %q", got, want)
	}

	t.Run("without history", func(t *testing.T) {
		a, err := f.store.ApplicationByCaseNumber(ctx, f.noHistoryCase)
		if err != nil {
			t.Fatal(err)
		}
		if a.History == nil || len(a.History) != 0 {
			t.Errorf("History = %v, want empty", a.History)
		}
		if got, want := a.Status, hotline.StatusAccepted; got != want {
			t.Errorf("Status = %q, want %q", got, want)
		}
	})
	t.Run("not found", func(t *testing.T) {
		if a, err := f.store.ApplicationByCaseNumber(ctx, "2026010500009"); !errors.Is(err, hotline.ErrNotFound) || a != nil {
			t.Errorf("ApplicationByCaseNumber = %v, %v; want ErrNotFound", a, err)
		}
	})
}

func TestApplicationsOfCitizen(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		citizen int64
		limit   int
		want    []string // case numbers
		events  []int    // history lengths
	}{
		{f.real, 10, []string{"2026020300002", "2026010500001", f.noHistoryCase}, []int{2, 4, 0}},
		{f.real, 2, []string{"2026020300002", "2026010500001"}, []int{2, 4}},
		{f.ordinary, 10, nil, nil},
		{f.real + 1000, 10, nil, nil},
	}
	for _, tt := range tests {
		apps, err := f.store.ApplicationsOfCitizen(ctx, tt.citizen, tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if apps == nil {
			t.Errorf("ApplicationsOfCitizen(%d, %d) = nil, want a list", tt.citizen, tt.limit)
		}
		if len(apps) != len(tt.want) {
			t.Fatalf("ApplicationsOfCitizen(%d, %d) has %d, want %d", tt.citizen, tt.limit, len(apps), len(tt.want))
		}
		for i, a := range apps {
			if a.CaseNumber != tt.want[i] || len(a.History) != tt.events[i] {
				t.Errorf("application %d = %s with %d events, want %s with %d", i, a.CaseNumber, len(a.History), tt.want[i], tt.events[i])
			}
			for j, e := range a.History {
				if e.Seq != j+1 {
					t.Errorf("%s event %d has seq %d", a.CaseNumber, j, e.Seq)
				}
			}
			if a.ItemName == "" || a.DepartmentName == "" {
				t.Errorf("%s: ItemName %q, DepartmentName %q, want both", a.CaseNumber, a.ItemName, a.DepartmentName)
			}
		}
	}
	if _, err := f.store.ApplicationsOfCitizen(ctx, f.real, 0); err == nil {
		t.Error("ApplicationsOfCitizen with limit 0: no error")
	}
}
