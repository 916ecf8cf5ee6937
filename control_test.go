package hotline

import (
	"errors"
	"testing"
)

func TestCallCommandValidateTransfers(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  CallCommand
		ok   bool
	}{
		{"to a queue", CallCommand{Action: ActionTransfer, Transfer: TransferTarget{Queue: "general"}}, true},
		{"to an agent", CallCommand{Action: ActionTransfer, Transfer: TransferTarget{Agent: 7}}, true},
		{"to an agent for a minute", CallCommand{Action: ActionTransfer, Transfer: TransferTarget{Agent: 7, Reserve: 60}}, true},
		{"to an agent and a queue", CallCommand{Action: ActionTransfer, Transfer: TransferTarget{Agent: 7, Queue: "general"}}, false},
		{"to a negative agent", CallCommand{Action: ActionTransfer, Transfer: TransferTarget{Agent: -1}}, false},
		{"a reservation too short", CallCommand{Action: ActionTransfer, Transfer: TransferTarget{Agent: 7, Reserve: 4}}, false},
		{"a reservation too long", CallCommand{Action: ActionTransfer, Transfer: TransferTarget{Agent: 7, Reserve: MaxReserve + 1}}, false},
		{"a reservation without an agent", CallCommand{Action: ActionTransfer, Transfer: TransferTarget{Queue: "general", Reserve: 30}}, false},
		{"nowhere", CallCommand{Action: ActionTransfer}, false},
		{"a consultation of an agent", CallCommand{Action: ActionConsult, Transfer: TransferTarget{Agent: 7}}, false},
		{"a consultation of a phone", CallCommand{Action: ActionConsult, Transfer: TransferTarget{Endpoint: "PJSIP/1002"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cmd.Validate()
			if got := err == nil; got != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate() = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestMonitorCommandValidate(t *testing.T) {
	start := MonitorCommand{Action: MonitorActionStart, ID: "1", AgentID: 7, AgentEndpoint: "PJSIP/1001", Supervisor: "PJSIP/1100", Mode: "listen"}
	noSupervisor := start
	noSupervisor.Supervisor = ""
	for _, tc := range []struct {
		name string
		cmd  MonitorCommand
		ok   bool
	}{
		{"start", start, true},
		{"start without the supervisor's phone", noSupervisor, false},
		{"mode", MonitorCommand{Action: MonitorActionMode, ID: "1", Mode: "barge"}, true},
		{"mode without a mode", MonitorCommand{Action: MonitorActionMode, ID: "1"}, false},
		{"stop", MonitorCommand{Action: MonitorActionStop, ID: "1"}, true},
		{"stop without a session", MonitorCommand{Action: MonitorActionStop}, false},
		{"unknown", MonitorCommand{Action: "spy", ID: "1"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cmd.Validate()
			if got := err == nil; got != tc.ok {
				t.Fatalf("Validate() = %v, want ok %v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate() = %v, want ErrInvalid", err)
			}
		})
	}
}
