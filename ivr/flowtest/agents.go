package flowtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/agentdesk/acd"
	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres"
)

// agentSkillLevel is the level of every skill of a scenario's agent.
const agentSkillLevel = 3

// agentHarness is the contact centre of a harness whose scenarios declare agents: the ACD of
// its engine's instance and the dispatcher offering the instance's queued calls.
type agentHarness struct {
	acd    *postgres.ACD
	cancel context.CancelFunc
	done   chan struct{}

	mu  sync.Mutex
	err error // why the dispatcher stopped early, if it did
}

// callsOnly hands the dispatcher the engine's offers of calls, and no callbacks.
type callsOnly struct{ sink acd.Sink }

func (c callsOnly) Offer(ctx context.Context, o hotline.Offer) bool { return c.sink.Offer(ctx, o) }

// startDispatcher runs the dispatcher of a's instance, handing offers to h's engine, until
// stop.
func (e *env) startDispatcher(a *agentHarness, h *Harness) {
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel, a.done = cancel, make(chan struct{})
	// Calls only: scenarios run side by side on one database, and a callback one of them
	// booked must not ring the agents another put on duty (no scenario expects a callback
	// placed; the callbacks are tested in ivr and agentdesk/acd).
	d := acd.New(a.acd, callsOnly{h.Engine}, e.url, acd.Options{Log: e.opts.Log})
	go func() {
		defer close(a.done)
		if err := d.Run(ctx); err != nil {
			a.mu.Lock()
			a.err = err
			a.mu.Unlock()
		}
	}()
}

// stop stops the dispatcher and waits for it.
func (a *agentHarness) stop() {
	if a.cancel != nil {
		a.cancel()
		<-a.done
		a.cancel = nil
	}
}

func (a *agentHarness) failed() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.err != nil {
		return fmt.Errorf("the ACD dispatcher stopped: %w", a.err)
	}
	return nil
}

// onDuty is a scenario's agent, created for it.
type onDuty struct {
	Agent
	id       int64
	endpoint string // PJSIP/<resource>
}

const (
	agentInsert = `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint, active)
		VALUES ($1, $2, 'agent', $3, $4, true) RETURNING id`
	agentSkillInsert = `INSERT INTO hotline.agent_skills (agent_id, skill_id, level) VALUES ($1, $2, $3)`
)

// agentPassword is the bcrypt hash every scenario agent gets; nobody logs in with it.
var agentPassword = sync.OnceValues(func() (string, error) { return pii.HashPIN("flowtest-agent", 4) })

// withAgents puts the scenario's agents on duty on h, runs call with their ids, then takes
// them off duty.
// Scenarios with agents run one at a time, so that agents answer only their own scenario's
// call.
func (e *env) withAgents(ctx context.Context, s *Scenario, h *Harness, call func(agents []int64) error) (err error) {
	a := e.agentHarnesses[h]
	e.agentMu.Lock()
	defer e.agentMu.Unlock()
	if err := a.failed(); err != nil {
		return err
	}
	agents, err := e.putOnDuty(ctx, s, a, h)
	defer func() {
		// Off duty even when the scenario failed, so that no later call reaches its agents;
		// an agent left on duty fails the scenario.
		if oerr := e.offDuty(context.WithoutCancel(ctx), a.acd, agents); oerr != nil && err == nil {
			err = fmt.Errorf("%s:%d: agents off duty: %w", s.File, s.Line, oerr)
		}
	}()
	if err != nil {
		return err
	}
	actx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, ag := range agents {
		if ag.Phone == "answer" && ag.Talk > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				e.talk(actx, a.acd, h, ag, time.Duration(float64(ag.Talk)/e.speed(s)))
			}()
		}
	}
	ids := make([]int64, len(agents))
	for i, ag := range agents {
		ids[i] = ag.id
	}
	err = call(ids)
	cancel()
	wg.Wait()
	return err
}

// putOnDuty creates the scenario's agents with their skills and phones, logs them in and
// makes them available in the order written (so the first is the one idle longest).
func (e *env) putOnDuty(ctx context.Context, s *Scenario, a *agentHarness, h *Harness) ([]onDuty, error) {
	hash, err := agentPassword()
	if err != nil {
		return nil, err
	}
	var out []onDuty
	for _, ag := range s.Agents {
		at := fmt.Sprintf("%s:%d: agent", s.File, ag.Line)
		e.agentSeq++
		resource := strconv.Itoa(8000 + e.agentSeq)
		d := onDuty{Agent: ag, endpoint: "PJSIP/" + resource}
		username := fmt.Sprintf("flowtest%d", e.agentSeq)
		if err := e.db.GetContext(ctx, &d.id, agentInsert, username, "测试坐席"+strconv.Itoa(e.agentSeq), hash, d.endpoint); err != nil {
			return out, fmt.Errorf("%s: %w", at, err)
		}
		out = append(out, d)
		for _, sk := range ag.Skills {
			if _, err := e.db.ExecContext(ctx, agentSkillInsert, d.id, sk, agentSkillLevel); err != nil {
				return out, fmt.Errorf("%s: skill %s: %w", at, sk, err)
			}
		}
		// Like the queue's ring timeout, answer_after is telephone time: the simulator runs it
		// speed times faster.
		b := arisim.PhoneBehaviour{Mode: ag.Phone, AnswerAfter: ag.AnswerAfter}
		h.Sim.SetEndpoint(arisim.EndpointConfig{Technology: "PJSIP", Resource: resource, Registered: true, Behaviour: b})
	}
	for _, d := range out {
		if _, _, err := a.acd.Login(ctx, d.id, "flowtest-"+strconv.FormatInt(d.id, 10)); err != nil {
			return out, fmt.Errorf("log agent %d in: %w", d.id, err)
		}
		if _, err := a.acd.SetAvailable(ctx, d.id); err != nil {
			return out, fmt.Errorf("make agent %d available: %w", d.id, err)
		}
	}
	return out, nil
}

// talk hangs the agent's phone up, wall-clock time talk after the agent is connected with the
// caller.
func (e *env) talk(ctx context.Context, a *postgres.ACD, h *Harness, d onDuty, talk time.Duration) {
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	var since time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		}
		if since.IsZero() {
			st, err := a.Status(ctx, d.id)
			if err == nil && st.State == hotline.AgentTalking {
				since = time.Now()
			}
			continue
		}
		if time.Since(since) < talk {
			continue
		}
		for _, ci := range h.Sim.Calls() {
			if ci.Kind == "agent" && ci.Endpoint == d.endpoint && ci.State == "up" {
				if c, err := h.Sim.Call(ci.ID); err == nil {
					c.Hangup()
				}
			}
		}
		return
	}
}

// offDuty logs the agents out once their call is over, ending a wrap-up first.
func (e *env) offDuty(ctx context.Context, a *postgres.ACD, agents []onDuty) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.StepTimeout)
	defer cancel()
	var errs []error
	for _, d := range agents {
		for {
			st, err := a.Status(ctx, d.id)
			if err != nil {
				errs = append(errs, fmt.Errorf("agent %d: %w", d.id, err))
				break
			}
			if st.State == hotline.AgentRinging || st.State == hotline.AgentTalking {
				// The engine ends the offer or the conversation as the call ends.
				select {
				case <-ctx.Done():
					errs = append(errs, fmt.Errorf("agent %d still %s after the call", d.id, st.State))
				case <-time.After(20 * time.Millisecond):
					continue
				}
				break
			}
			if st.State == hotline.AgentWrapUp {
				if _, err := a.EndWrapUp(ctx, d.id, "", ""); err != nil {
					errs = append(errs, fmt.Errorf("agent %d: %w", d.id, err))
					break
				}
			}
			if st.State != hotline.AgentOffline {
				if err := a.Logout(ctx, d.id, "logout"); err != nil {
					errs = append(errs, fmt.Errorf("agent %d: %w", d.id, err))
				}
			}
			break
		}
	}
	return errors.Join(errs...)
}
