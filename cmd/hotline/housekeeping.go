package main

import (
	"context"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// housekeeping runs the hourly jobs until ctx ends: recordings of conversations past
// acd.recording_retention are deleted, IVR steps past privacy.call_step_retention too, and
// the audit log's head goes to the log, from which it can anchor a later verification, and
// the reports' roll-ups take in the days closed or changed by late rows since the last run.
func (h *system) housekeeping(ctx context.Context, a *app) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := h.engine.PurgeRecordings(ctx, h.store, hotline.RecordingConversation, a.cfg.ACD.RecordingRetention)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Error("purge expired recordings", "err", err)
		case n > 0:
			a.log.Info("expired recordings deleted", "count", n)
		}
		steps, err := postgres.PurgeExpired(ctx, h.db, postgres.Retention{CallSteps: a.cfg.Privacy.CallStepRetention}, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Error("purge expired call steps", "err", err)
		case steps > 0:
			a.log.Info("expired call steps deleted", "count", steps)
		}
		rolled, err := postgres.RollUpReports(ctx, h.db)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Error("report roll-ups", "err", err)
		case rolled.Days > 0:
			a.log.Info("report roll-ups", "days", rolled.Days, "upto", rolled.Upto.Format(time.DateOnly))
		}
		logAuditHead(ctx, a.log, h.db)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
