package workorder_test

import (
	"testing"

	wo "github.com/foshan-hotline/hotline/agentdesk/workorder"
)

func TestNext(t *testing.T) {
	tests := []struct {
		from   wo.Status
		action wo.Action
		by     wo.Actor
		want   wo.Status // "" when refused
	}{
		{wo.Accepted, wo.Dispatch, wo.Hotline, wo.Dispatched},
		{wo.Dispatched, wo.Sign, wo.Department, wo.Signed},
		{wo.Dispatched, wo.Sign, wo.Hotline, ""}, // only the department signs for an order
		{wo.Signed, wo.Start, wo.Department, wo.InProgress},
		{wo.InProgress, wo.Resolve, wo.Department, wo.Resolved},
		{wo.Accepted, wo.Resolve, wo.Department, ""}, // not before it was signed for
		{wo.Signed, wo.Return, wo.Department, wo.Accepted},
		{wo.InProgress, wo.RequestExtension, wo.Department, wo.InProgress},
		{wo.InProgress, wo.ApproveExtension, wo.Hotline, ""}, // a supervisor approves
		{wo.InProgress, wo.ApproveExtension, wo.Supervisor, wo.InProgress},
		{wo.Resolved, wo.FollowUp, wo.Hotline, wo.FollowedUp},
		{wo.FollowedUp, wo.Reopen, wo.Hotline, wo.Dispatched},
		{wo.FollowedUp, wo.Archive, wo.Supervisor, wo.Archived},
		{wo.Archived, wo.Reopen, wo.Supervisor, ""},
		{wo.Accepted, wo.Merge, wo.Hotline, wo.Archived},
		{wo.Resolved, wo.Merge, wo.Hotline, ""},
		{wo.Accepted, "shred", wo.Supervisor, ""},
	}
	for _, tt := range tests {
		got, err := wo.Next(tt.from, tt.action, tt.by)
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("%s %s by %s = %s, want refused", tt.from, tt.action, tt.by, got)
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("%s %s by %s = %s, %v; want %s", tt.from, tt.action, tt.by, got, err, tt.want)
		}
	}
}
