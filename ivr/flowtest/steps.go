package flowtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/foshan-hotline/hotline/ivr/speech"
)

// party is a scenario's caller: the calling number and, for a seeded citizen, who it is.
type party struct {
	number string
	who    *citizen
	err    error
}

// caller picks the scenario's caller and arranges its data. Callers are resolved one after
// the other in scenario order, so every run gives the same scenario the same citizen.
func (e *env) caller(ctx context.Context, s *Scenario) party {
	at := fmt.Sprintf("%s:%d", s.File, s.Line)
	switch {
	case s.Role == "unregistered":
		n, err := e.roster.unregistered(ctx)
		if err != nil {
			return party{err: fmt.Errorf("%s: caller: %w", at, err)}
		}
		return party{number: n}
	case s.Role != "":
		role, _ := roleByName(s.Role)
		now := s.Now
		if now.IsZero() {
			now = e.today
		}
		c, err := e.roster.pick(ctx, role, now)
		if err != nil {
			return party{err: fmt.Errorf("%s: caller: %w", at, err)}
		}
		if err := e.roster.arrange(ctx, c, s.Given); err != nil {
			return party{err: fmt.Errorf("%s: %w", at, err)}
		}
		return party{number: c.Mobile, who: c}
	}
	return party{number: s.Number}
}

// run places the scenario's call on h and checks it step by step, then its end.
func (e *env) run(ctx context.Context, s *Scenario, p party, h *Harness) Result {
	start := time.Now()
	res := Result{Scenario: s, Number: p.number, Err: p.err}
	if p.err == nil {
		limit := e.opts.StepTimeout * time.Duration(len(s.Steps)+3)
		cctx, cancel := context.WithTimeout(ctx, limit)
		var c *Caller
		call := func(agents []int64) error {
			var err error
			c, err = e.call(cctx, s, h, p, agents, &res)
			return err
		}
		var err error
		if len(s.Agents) > 0 {
			err = e.withAgents(cctx, s, h, call)
		} else {
			err = call(nil)
		}
		cancel()
		if c != nil {
			res.Heard = c.Heard
		}
		res.Err = err
		if err != nil && res.CallID != "" {
			res.Path, _ = e.path(ctx, res.CallID)
		}
	}
	res.Elapsed = time.Since(start)
	return res
}

// call does the work of run; agents are the ids of the scenario's agents. The returned
// caller, if any, holds what was heard.
func (e *env) call(ctx context.Context, s *Scenario, h *Harness, p party, agents []int64, res *Result) (*Caller, error) {
	at := fmt.Sprintf("%s:%d", s.File, s.Line)
	who := p.who
	c, err := h.Call(ctx, res.Number)
	if err != nil {
		return nil, fmt.Errorf("%s: place the call: %w", at, err)
	}
	hungUp := false
	for i, st := range s.Steps {
		sctx, cancel := context.WithTimeout(ctx, e.opts.StepTimeout)
		err := e.step(sctx, s, st, c, who, res.Number)
		cancel()
		if err != nil {
			c.Hangup()
			if rec, rerr := e.record(ctx, h, c); rerr == nil {
				res.CallID = rec.ID
			}
			return c, fmt.Errorf("%s:%d: step %d (%s): %w", s.File, st.Line, i+1, st, err)
		}
		hungUp = st.Action == "hangup"
	}
	if !hungUp && s.End == nil {
		c.Hangup() // nothing more to check
	}
	wctx, cancel := context.WithTimeout(ctx, e.opts.StepTimeout)
	err = c.WaitEnd(wctx)
	cancel()
	if err != nil {
		c.Hangup()
		if rec, rerr := e.record(ctx, h, c); rerr == nil {
			res.CallID = rec.ID
		}
		return c, fmt.Errorf("%s: after the last step the hotline did not end the call: %w", at, err)
	}
	rec, err := e.record(ctx, h, c)
	if err != nil {
		return c, fmt.Errorf("%s: %w", at, err)
	}
	res.CallID = rec.ID
	if s.End == nil {
		return c, nil
	}
	if err := e.checkEnd(ctx, s, rec, hungUp, res.Number, agents); err != nil {
		return c, fmt.Errorf("%s:%d: end: %w", s.File, s.End.Line, err)
	}
	return c, nil
}

// step performs one step.
func (e *env) step(ctx context.Context, s *Scenario, st Step, c *Caller, who *citizen, number string) error {
	switch st.Action {
	case "expect":
		return c.Expect(ctx, st.Prompts...)
	case "expect_seq":
		return c.ExpectSeq(ctx, st.Prompts...)
	case "not_heard":
		for _, id := range st.Prompts {
			if slices.Contains(c.Heard, id) {
				return fmt.Errorf("%s was heard", id)
			}
		}
		return nil
	case "say":
		ids, err := e.spoken(ctx, st.Value, s.Language, who)
		if err != nil {
			return err
		}
		return c.ExpectSeq(ctx, ids...)
	case "press":
		if c.over() {
			return errors.New("the hotline has hung up")
		}
		keys, err := e.roster.keys(ctx, st.Keys, number, who)
		if err != nil {
			return err
		}
		// The simulator times DTMF like prompts, speed times faster; gap is wall-clock time.
		return c.Press(ctx, keys, time.Duration(float64(st.Gap)*e.speed(s)))
	case "wait":
		t := time.NewTimer(st.Wait)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	case "hangup":
		if c.over() {
			return errors.New("the hotline had already hung up")
		}
		return c.Hangup()
	}
	return fmt.Errorf("unknown step %q", st.Action)
}

// spoken returns the fragments a value is read with.
func (e *env) spoken(ctx context.Context, v Spoken, lang string, who *citizen) ([]string, error) {
	x, err := e.roster.value(ctx, v, who)
	if err != nil {
		return nil, err
	}
	l := speech.Lang(lang)
	var frags []speech.Fragment
	switch val := x.(type) {
	case int64:
		switch {
		case v.Kind == "amount":
			frags = speech.Money(val, l)
		case v.Unit != "":
			frags = speech.Quantity(val, speech.Fragment("unit/"+v.Unit), l)
		case v.Kind == "digits":
			frags = speech.Digits(fmt.Sprint(val), l)
		default:
			frags = speech.Cardinal(val, l)
		}
	case string:
		if v.Last > 0 && len(val) > v.Last {
			val = val[len(val)-v.Last:]
		}
		frags = speech.Digits(val, l)
	case time.Time:
		if v.Kind == "month" {
			frags = speech.YearMonth(val, l)
		} else {
			frags = speech.Date(val, l)
		}
	default:
		return nil, fmt.Errorf("say %s: a %T cannot be spoken as %s", v.Ref, x, v.Kind)
	}
	ids := make([]string, len(frags))
	for i, f := range frags {
		ids[i] = string(f)
	}
	return ids, nil
}

// callRecord is a call's row in hotline.calls.
type callRecord struct {
	ID       string `db:"id"`
	Outcome  string `db:"outcome"`
	Queue    string `db:"queue_id"`
	FollowUp bool   `db:"follow_up"`
	Ended    bool   `db:"ended"`
	AgentID  int64  `db:"agent_id"`
}

const callRecordQuery = `SELECT id::text AS id, COALESCE(outcome, '') AS outcome, COALESCE(queue_id, '') AS queue_id,
	follow_up, ended_at IS NOT NULL AS ended, COALESCE(agent_id, 0) AS agent_id
	FROM hotline.calls WHERE node = $1 AND channel_id = $2`

// record waits until the call's record is complete and returns it.
func (e *env) record(ctx context.Context, h *Harness, c *Caller) (callRecord, error) {
	ctx, cancel := context.WithTimeout(ctx, e.opts.StepTimeout)
	defer cancel()
	for {
		if err := e.calls.Flush(ctx); err != nil {
			return callRecord{}, fmt.Errorf("call record: %w", err)
		}
		var r callRecord
		err := e.db.GetContext(ctx, &r, callRecordQuery, e.nodes[h], c.Sim().ChannelID())
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return callRecord{}, fmt.Errorf("call record: %w", err)
		}
		if err == nil && r.Ended {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return callRecord{}, fmt.Errorf("the call's record was not completed: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

const pathQuery = `SELECT flow || '/' || node || ':' || COALESCE(NULLIF(exit, ''), '-')
	FROM hotline.call_steps WHERE call_id = $1 ORDER BY seq`

// path returns a call's recorded IVR path, flow/node:exit a step.
func (e *env) path(ctx context.Context, callID string) ([]string, error) {
	var out []string
	err := e.db.SelectContext(ctx, &out, pathQuery, callID)
	return out, err
}

const (
	surveyQuery    = `SELECT score FROM hotline.survey_answers WHERE call_id = $1`
	callbackQuery  = `SELECT number FROM hotline.callbacks WHERE call_id = $1 ORDER BY id`
	workOrderQuery = `SELECT count(*) FROM hotline.work_orders WHERE call_id = $1`
	offersQuery    = `SELECT agent_id FROM hotline.offers WHERE call_id = $1 ORDER BY id`
)

// agentNumber returns the scenario's number (1, 2 …) of the agent with id, or 0.
func agentNumber(agents []int64, id int64) int {
	return slices.Index(agents, id) + 1
}

// checkEnd compares the call's record with the scenario's expected end; agents are the ids
// of the scenario's agents, in order.
func (e *env) checkEnd(ctx context.Context, s *Scenario, r callRecord, hungUp bool, number string, agents []int64) error {
	var errs []error
	want := s.End
	if want.Outcome != "" && r.Outcome != want.Outcome {
		errs = append(errs, fmt.Errorf("outcome %s, want %s", r.Outcome, want.Outcome))
	}
	if want.Queue != "" && r.Queue != want.Queue {
		errs = append(errs, fmt.Errorf("queue %q, want %q", r.Queue, want.Queue))
	}
	if want.HungUpBy != "" {
		by := "hotline"
		if hungUp {
			by = "caller"
		}
		if by != want.HungUpBy {
			errs = append(errs, fmt.Errorf("hung up by %s, want %s", by, want.HungUpBy))
		}
	}
	if want.FollowUp != nil && r.FollowUp != *want.FollowUp {
		errs = append(errs, fmt.Errorf("follow-up %t, want %t", r.FollowUp, *want.FollowUp))
	}
	if want.Survey != 0 {
		var score int
		switch err := e.db.GetContext(ctx, &score, surveyQuery, r.ID); {
		case errors.Is(err, sql.ErrNoRows):
			errs = append(errs, fmt.Errorf("no survey answer, want %d", want.Survey))
		case err != nil:
			return err
		case score != want.Survey:
			errs = append(errs, fmt.Errorf("survey answer %d, want %d", score, want.Survey))
		}
	}
	if want.Callback != "" {
		wantNumber := want.Callback
		if wantNumber == "caller" {
			wantNumber = number
		}
		var numbers []string
		if err := e.db.SelectContext(ctx, &numbers, callbackQuery, r.ID); err != nil {
			return err
		}
		if len(numbers) != 1 || numbers[0] != wantNumber {
			errs = append(errs, fmt.Errorf("callbacks registered %v, want one to %s", numbers, wantNumber))
		}
	}
	if want.WorkOrder {
		var n int
		if err := e.db.GetContext(ctx, &n, workOrderQuery, r.ID); err != nil {
			return err
		}
		if n != 1 {
			errs = append(errs, fmt.Errorf("%d work orders made from the call, want 1", n))
		}
	}
	if want.Agent != 0 {
		if got := agentNumber(agents, r.AgentID); got != want.Agent {
			errs = append(errs, fmt.Errorf("talked to agent %d (id %d), want agent %d", got, r.AgentID, want.Agent))
		}
	}
	if want.Offered != nil {
		var ids []int64
		if err := e.db.SelectContext(ctx, &ids, offersQuery, r.ID); err != nil {
			return err
		}
		got := make([]int, len(ids))
		for i, id := range ids {
			got[i] = agentNumber(agents, id)
		}
		if !slices.Equal(got, want.Offered) {
			errs = append(errs, fmt.Errorf("offered to agents %v, want %v", got, want.Offered))
		}
	}
	return errors.Join(errs...)
}
