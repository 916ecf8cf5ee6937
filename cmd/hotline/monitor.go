package main

import (
	"context"
	"log/slog"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/agentdesk"
	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/postgres"
)

// deskCalls is the call controller of the desk: the command bus, which carries call control
// and monitoring to whichever instance owns a call, and the engine's monitoring, which
// serves the calls of this instance (those of another instance go by the bus).
type deskCalls struct {
	*postgres.CommandBus
	m *ivr.Monitors
}

var _ agentdesk.Monitor = deskCalls{}

// newDeskCalls returns the desk's call controller; the end of each monitoring session is
// written to its row with its audit row.
func newDeskCalls(db *sqlx.DB, bus *postgres.CommandBus, engine *ivr.Engine, log *slog.Logger) deskCalls {
	m := ivr.NewMonitors(engine, func(e ivr.MonitorEnd) {
		id, err := strconv.ParseInt(e.ID, 10, 64)
		if err != nil {
			return
		}
		modes := make([]postgres.MonitoringSpan, len(e.Modes))
		for i, s := range e.Modes {
			modes[i] = postgres.MonitoringSpan{Mode: s.Mode, At: s.At}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := postgres.EndMonitoring(ctx, db, id, e.Answered, e.Ended, modes, e.Reason); err != nil {
			log.Error("record the end of a monitoring session", "monitor_id", id, "err", err)
		}
	})
	// Sessions on this instance's calls asked for on another instance arrive by the bus; the
	// answer is recorded for the other instances to show.
	m.OnAnswer(func(sid string, at time.Time) {
		id, err := strconv.ParseInt(sid, 10, 64)
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := postgres.MonitoringAnswered(ctx, db, id, at); err != nil {
			log.Error("record a monitoring session answered", "monitor_id", id, "err", err)
		}
	})
	bus.SetMonitor(m)
	return deskCalls{CommandBus: bus, m: m}
}

func (d deskCalls) StartMonitor(ctx context.Context, s agentdesk.MonitorStart) error {
	return d.m.Start(ctx, ivr.MonitorRequest{ID: s.ID, CallID: s.CallID, AgentID: s.AgentID,
		AgentEndpoint: s.AgentEndpoint, Supervisor: s.Supervisor, Mode: s.Mode})
}

func (d deskCalls) SetMonitorMode(ctx context.Context, id, mode string) error {
	return d.m.SetMode(ctx, id, mode)
}

func (d deskCalls) StopMonitor(ctx context.Context, id string) error { return d.m.Stop(ctx, id) }

func (d deskCalls) LiveMonitors() []agentdesk.LiveMonitor {
	var out []agentdesk.LiveMonitor
	for _, s := range d.m.Sessions() {
		out = append(out, agentdesk.LiveMonitor{ID: s.ID, CallID: s.CallID, AgentID: s.AgentID, Mode: s.Mode, State: s.State, Since: s.Since})
	}
	return out
}
