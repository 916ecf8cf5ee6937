package main

import (
	"context"
	"fmt"
	"net"

	"github.com/foshan-hotline/hotline/ivr"
)

// runDraining runs the hotline until ctx ends, then drains the engine (shutdown.drain_timeout)
// before stopping the rest: the websockets, the ACD and the desk stay up while calls finish.
// The engine serves at most ivr.max_calls calls at once.
func (a *app) runDraining(ctx context.Context, h *system, ln net.Listener) error {
	if a.cfg.Shutdown.DrainTimeout < 0 {
		return fmt.Errorf("shutdown.drain_timeout: must not be negative, got %v", a.cfg.Shutdown.DrainTimeout)
	}
	ic := a.cfg.IVR
	if ic.MaxCalls < 0 || ic.SoftCalls < 0 || (ic.MaxCalls > 0 && ic.SoftCalls > ic.MaxCalls) {
		return fmt.Errorf("ivr.max_calls, ivr.soft_calls: must be at least 0 with soft_calls at most max_calls, got %d and %d", ic.MaxCalls, ic.SoftCalls)
	}
	h.engine.SetLimits(ivr.Limits{MaxCalls: ic.MaxCalls, SoftCalls: ic.SoftCalls})
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	go func() {
		select {
		case <-ctx.Done():
			h.engine.Drain(runCtx, a.cfg.Shutdown.DrainTimeout)
			stop()
		case <-runCtx.Done():
		}
	}()
	return h.run(runCtx, a, ln)
}
