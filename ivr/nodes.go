package ivr

import (
	"context"
	"fmt"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/ivr/ari"
	"github.com/foshan-hotline/hotline/ivr/flow"
)

// exec runs one node and returns the exit it takes (nil ends the call) and the caller's
// input to record (masked when sensitive).
func (c *call) exec(n flow.Node) (*flow.Exit, string, error) {
	switch n := n.(type) {
	case *flow.Play:
		return n.Next, "", c.sayNode(n.Prompts, n.BargeIn)
	case *flow.Menu:
		return c.menu(n)
	case *flow.Collect:
		return c.collectNode(n)
	case *flow.Lookup:
		x, err := c.lookup(n)
		return x, "", err
	case *flow.Verify:
		x, result, err := c.verify(n)
		c.detail = verifyDetails[result]
		return x, result, err
	case *flow.Branch:
		return c.branch(n)
	case *flow.Set:
		return n.Next, "", c.assign(n.Vars)
	case *flow.Hours:
		return c.hours(n)
	case *flow.Queue:
		return c.queue(n)
	case *flow.Callback:
		return c.callback(n)
	case *flow.Record:
		return c.recordMessage(n)
	case *flow.Survey:
		return c.survey(n)
	case *flow.Transfer:
		return c.transfer(n)
	case *flow.Subflow:
		return c.subflow(n)
	case *flow.Goto:
		return n.Target, "", nil
	case *flow.Language:
		return c.language(n)
	case *flow.Hangup:
		if n.Outcome != "" {
			c.outcome = n.Outcome
		}
		return nil, "", c.say(n.Prompts, false)
	case *flow.Return:
		x, err := c.ret()
		return x, "", err
	}
	return nil, "", fmt.Errorf("node %s: kind %s is not supported", n.ID(), n.Kind())
}

// branch takes the exit of the first case that holds.
func (c *call) branch(n *flow.Branch) (*flow.Exit, string, error) {
	env := c.env()
	for _, cs := range n.Cases {
		ok, err := cs.When.Bool(env)
		if err != nil {
			return nil, "", fmt.Errorf("branch %s: %w", n.ID(), err)
		}
		if ok {
			return cs.Exit, "", nil
		}
	}
	return n.Else, "", nil
}

// hours takes the open or closed exit by the node's calendar.
func (c *call) hours(n *flow.Hours) (*flow.Exit, string, error) {
	cal := c.e.cfg.Calendars[n.Calendar]
	if cal == nil {
		return nil, "", fmt.Errorf("hours %s: no calendar %q", n.ID(), n.Calendar)
	}
	if cal.Open(c.e.cfg.Now().In(c.e.cfg.Location)) {
		return n.Open, "", nil
	}
	return n.Closed, "", nil
}

// subflow enters another flow, to come back by the node's exit.
func (c *call) subflow(n *flow.Subflow) (*flow.Exit, string, error) {
	sub := c.flows.lib.Flow(n.Flow)
	if sub == nil {
		return nil, "", fmt.Errorf("subflow %s: no flow %q", n.ID(), n.Flow)
	}
	c.push(sub, n.Next)
	return &flow.Exit{Name: "enter", To: sub.Start}, "", nil
}

// language sets the language the call speaks from here on.
func (c *call) language(n *flow.Language) (*flow.Exit, string, error) {
	lang := n.Lang
	if n.From != nil {
		s, err := n.From.String(c.env())
		if err != nil {
			return nil, "", fmt.Errorf("language %s: %w", n.ID(), err)
		}
		lang = s
	}
	// Only a complete language is spoken: a partial one would mix languages within a
	// sentence, its missing prompts and values falling back to Mandarin.
	if l, ok := c.e.cfg.Manifest.Language(lang); !ok || !l.Required {
		c.log.Warn("language unknown or incomplete, keeping the current one", "language", lang)
		lang = c.lang
	}
	c.lang = lang
	return n.Next, "", nil
}

// assign evaluates assignments in order on the current variables.
func (c *call) assign(vars []flow.Assign) error {
	env := c.env()
	for _, a := range vars {
		v, err := a.Value.Value(env, a.Var.Type)
		if err != nil {
			return fmt.Errorf("set %s: %w", a.Var.Name, err)
		}
		c.top().vars[a.Var.Name] = v
	}
	return nil
}

// readKey waits up to timeout for one key (a buffered one first); "" when none came.
func (c *call) readKey(timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	for {
		if k := c.takeKey(); k != "" {
			return k, nil
		}
		r, err := c.wait(deadline, nil)
		if err != nil {
			return "", err
		}
		if r.timeout {
			return "", nil
		}
	}
}

// menu plays its prompts and takes the exit of the key pressed: * repeats, 0 reaches an
// agent, no key or a wrong one re-prompts up to the retries, then on_fail.
func (c *call) menu(n *flow.Menu) (*flow.Exit, string, error) {
	noInput, noMatch := 0, 0
	for {
		if err := c.sayNode(n.Prompts, n.BargeIn); err != nil {
			return nil, "", err
		}
		key, err := c.readKey(n.Timeout)
		if err != nil {
			return nil, "", err
		}
		switch {
		case key == "":
			noInput++
			if noInput > n.NoInput.Retries {
				return n.OnFail, "", nil
			}
			if err := c.say(n.NoInput.Prompts, true); err != nil {
				return nil, "", err
			}
			continue
		case key == n.RepeatKey:
			continue
		case key == n.AgentKey && n.Agent != nil:
			c.detail = "按" + key + "转人工"
			return n.Agent, key, nil
		}
		if o := n.Option(key); o != nil {
			c.detail = menuDetail(o)
			if err := c.assign(o.Set); err != nil {
				return nil, key, err
			}
			return o.Exit, key, nil
		}
		noMatch++
		c.keys = c.keys[:0] // what follows a wrong key is not meant for the re-prompt
		if noMatch > n.NoMatch.Retries {
			return n.OnFail, key, nil
		}
		if err := c.say(n.NoMatch.Prompts, true); err != nil {
			return nil, key, err
		}
	}
}

// collectSpec is what reading a digit string needs, shared by collect and verify nodes.
type collectSpec struct {
	min, max                        int
	terminator                      string
	firstDigit, interDigit, overall time.Duration
}

// readDigits reads keys until max, the terminator or a timeout; ok is false when nothing
// usable came (no key, or fewer than min).
func (c *call) readDigits(s collectSpec) (string, bool, error) {
	var got []byte
	start := time.Now()
	for {
		limit := s.interDigit
		if len(got) == 0 {
			limit = s.firstDigit
		}
		deadline := time.Now().Add(limit)
		if s.overall > 0 && start.Add(s.overall).Before(deadline) {
			deadline = start.Add(s.overall)
		}
		k, err := c.readKeyUntil(deadline)
		if err != nil {
			return "", false, err
		}
		switch {
		case k == "":
			return string(got), len(got) >= s.min && len(got) > 0, nil
		case k == s.terminator:
			return string(got), len(got) >= s.min && len(got) > 0, nil
		}
		got = append(got, k...)
		if len(got) >= s.max {
			c.spareTerminator(s)
			return string(got), true, nil
		}
	}
}

// spareTerminator drops the terminator a caller presses after an input that ended at its
// maximum length, as prompts ask ("以井号键结束"): typed ahead already, or pressed within the
// inter-digit timeout, it must not count as the next input (an empty try of a re-prompt).
func (c *call) spareTerminator(s collectSpec) {
	if s.terminator == "" {
		return
	}
	if len(c.keys) > 0 && string(c.keys[0]) == s.terminator {
		c.keys = c.keys[1:]
		return
	}
	c.spareTerm, c.spareUntil = s.terminator, time.Now().Add(s.interDigit)
}

// readKeyUntil is readKey with an absolute deadline.
func (c *call) readKeyUntil(deadline time.Time) (string, error) {
	return c.readKey(time.Until(deadline))
}

// collectNode reads and validates a digit string into a variable.
func (c *call) collectNode(n *flow.Collect) (*flow.Exit, string, error) {
	spec := collectSpec{min: n.Min, max: n.Max, terminator: n.Terminator, firstDigit: n.FirstDigitTimeout,
		interDigit: n.InterDigitTimeout, overall: n.OverallTimeout}
	var shown string
	var retry flow.Prompts // what the caller hears before the next try: why it is asked again
	for try := 0; try <= n.Retries; try++ {
		prompts := n.Prompts
		if try > 0 {
			prompts = append(append(flow.Prompts{}, retry...), n.Prompts...)
		}
		if err := c.sayNode(prompts, n.BargeIn); err != nil {
			return nil, shown, err
		}
		keys, ok, err := c.readDigits(spec)
		shown = maskInput(keys, n.Sensitive, n.Personal)
		if err != nil {
			return nil, shown, err
		}
		retry = n.InvalidPrompts
		if keys == "" {
			retry = n.NoInputPrompts
		}
		if !ok {
			continue
		}
		v, err := n.Validate.Check(keys, c.e.cfg.Location)
		if err != nil {
			continue
		}
		if n.Into != nil {
			c.top().vars[n.Into.Name] = v
		}
		return n.Next, shown, nil
	}
	return n.OnFail, shown, nil
}

// maskInput is what the call record keeps of a collected input: a sensitive one by its
// length, a personal one by its last four digits.
func maskInput(keys string, sensitive, personal bool) string {
	switch {
	case sensitive:
		return mask(keys, true)
	case personal && len(keys) > 4:
		return "***" + keys[len(keys)-4:]
	}
	return keys
}

// mask hides a sensitive input: its length shows, its digits do not.
func mask(keys string, sensitive bool) string {
	if !sensitive || keys == "" {
		return keys
	}
	return fmt.Sprintf("***(%d)", len(keys))
}

// lookup asks a data source with a timeout; a filler prompt covers a slow answer.
func (c *call) lookup(n *flow.Lookup) (*flow.Exit, error) {
	args, err := n.EvalArgs(c.env())
	if err != nil {
		return c.onError(n.OnError, fmt.Errorf("lookup %s: %w", n.ID(), err))
	}
	c.lookedUp = true
	timeout := c.e.lookupTimeout(n.Timeout) // cut short when overloaded
	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	defer cancel()
	done := make(chan jobResult, 1)
	go func() {
		start := time.Now()
		v, err := c.e.cfg.Sources.Lookup(ctx, n.Source.Name, args)
		c.e.lookups.WithLabelValues(n.Source.Name, flow.LookupExit(v, err)).Observe(time.Since(start).Seconds())
		done <- jobResult{value: v, err: err}
	}()
	res, err := c.awaitJob(done, n.Filler, n.FillerAfter, timeout)
	if err != nil {
		return nil, err
	}
	name := flow.LookupExit(res.value, res.err)
	c.detail = c.lookupDetail(n.Source.Name, name, res.value)
	if name == flow.ExitError {
		c.log.Error("lookup failed", "source", n.Source.Name, "err", res.err)
	}
	if name == flow.ExitFound && n.Into != nil {
		c.top().vars[n.Into.Name] = res.value
		if ct, ok := res.value.(flow.Citizen); ok {
			c.citizenID = ct.ID
		}
	}
	return n.Exit(name), nil
}

// onError takes a node's error exit for a failure the flow handles (an argument that does not
// evaluate, say): the failure is logged and the call goes on along the exit. Without a wired
// exit the failure ends the call with an apology.
func (c *call) onError(x *flow.Exit, err error) (*flow.Exit, error) {
	if x == nil || x.To == nil {
		return nil, err
	}
	c.log.Error("node failed; taking its error exit", "err", err)
	return x, nil
}

// awaitJob waits for a background job while the call keeps listening to its channel; after
// fillerAfter it plays filler once. A job that outlives timeout counts as timed out.
func (c *call) awaitJob(done <-chan jobResult, filler flow.Prompts, fillerAfter, timeout time.Duration) (jobResult, error) {
	start := time.Now()
	var fill *playback
	fillerDue := len(filler) > 0 && fillerAfter > 0
	for {
		deadline := start.Add(timeout + c.e.cfg.PlaybackGrace)
		if fillerDue {
			deadline = start.Add(fillerAfter)
		} else if fill != nil {
			deadline = fill.deadline
		}
		r, err := c.wait(deadline, done)
		if err != nil {
			return jobResult{}, err
		}
		switch {
		case r.job != nil:
			if fill != nil {
				c.cutPlay(fill)
			}
			return *r.job, nil
		case r.timeout && fillerDue:
			fillerDue = false
			ids, err := expand(filler, c.env(), c.lang, c.e.cfg.Location)
			if err != nil {
				c.log.Error("filler prompt", "err", err)
				continue
			}
			if segs, _ := c.e.voice.pinnedSegments(ids, c.lang, c.promptPins()); len(segs) > 0 {
				c.keepKeys = false
				fill, err = c.startPlay(segs[0].media, segs[0].lang, segs[0].expected)
				c.keepKeys = true
				if err != nil {
					return jobResult{}, err
				}
			}
		case r.timeout && fill != nil:
			c.stopPlay(fill)
			fill.deadline = time.Now().Add(c.e.cfg.PlaybackGrace)
		case r.timeout:
			return jobResult{err: context.DeadlineExceeded}, nil
		case fill != nil && isFinished(r.ev, fill):
			c.inbox.Release(ari.PlaybackRef(fill.id))
			fill = nil
		}
	}
}

// service runs a Services call with the store timeout.
func (c *call) service(f func(ctx context.Context) error) error {
	return c.store(f)
}

// survey asks for a satisfaction level on keys 1 to 5 and stores it.
func (c *call) survey(n *flow.Survey) (*flow.Exit, string, error) {
	for try := 0; try <= n.Retries; try++ {
		prompts := n.Prompts
		if try > 0 {
			prompts = append(append(flow.Prompts{}, n.NoMatchPrompts...), n.Prompts...)
		}
		if err := c.say(prompts, true); err != nil {
			return nil, "", err
		}
		key, err := c.readKey(n.Timeout)
		if err != nil {
			return nil, "", err
		}
		if len(key) != 1 || key[0] < '1' || key[0] > '5' {
			c.keys = c.keys[:0]
			continue
		}
		level := int(key[0] - '0')
		followUp := n.FollowUpAt > 0 && level >= n.FollowUpAt
		if followUp {
			c.followUp = true
		}
		if n.Into != nil {
			c.top().vars[n.Into.Name] = int64(level)
		}
		c.surveyLevel, c.surveyAt = level, time.Now()
		if err := c.service(func(ctx context.Context) error { return c.e.cfg.Services.SaveSurvey(ctx, c.id, level, followUp) }); err != nil {
			// The call's end record carries the answer too, and is written once the database is back.
			c.log.Error("save survey", "err", err)
		}
		return n.Next, key, nil
	}
	return n.OnFail, "", nil
}

// callback registers a callback on the caller's number or the one the flow gives.
func (c *call) callback(n *flow.Callback) (*flow.Exit, string, error) {
	number := c.caller
	if n.Number != nil {
		s, err := n.Number.String(c.env())
		if err != nil {
			x, err := c.onError(n.OnError, fmt.Errorf("callback %s: %w", n.ID(), err))
			return x, "", err
		}
		number = s
	}
	if err := c.service(func(ctx context.Context) error { return c.e.cfg.Services.RequestCallback(ctx, c.id, number, n.Queue) }); err != nil {
		c.log.Error("request callback", "err", err)
		return n.OnError, "", nil
	}
	c.outcome = hotline.OutcomeCallback
	return n.Next, "", nil
}

// menuDetail is a menu step's detail: the key and what it chose.
func menuDetail(o *flow.Option) string {
	if o.Label == "" {
		return "按" + o.Key
	}
	return "按" + o.Key + " " + o.Label
}

// accountKinds name account kinds in Chinese.
var accountKinds = map[string]string{
	string(hotline.Water): "水费", string(hotline.Electricity): "电费",
	string(hotline.Gas): "燃气费", string(hotline.Telecom): "通信费",
}

// applicationStatuses name application statuses in Chinese.
var applicationStatuses = map[string]string{
	string(hotline.StatusAccepted): "已受理", string(hotline.StatusReviewing): "审核中",
	string(hotline.StatusCorrection): "待补正", string(hotline.StatusCompleted): "已办结",
	string(hotline.StatusRejected): "不予受理",
}

// lookupDetail is a lookup step's detail: what the caller looked up and what the answer said,
// in a few words for the agent's screen. Account numbers and case numbers are masked.
func (c *call) lookupDetail(source, exit string, v any) string {
	switch exit {
	case flow.ExitError:
		return "查询失败"
	case flow.ExitFound:
	default:
		switch source {
		case "citizen_by_caller":
			return "来电号码未注册"
		case "account_by_number", "accounts_of_citizen":
			return "未找到账户"
		case "application_by_case", "applications_of_citizen":
			return "未找到办件"
		case "latest_bill":
			return "暂无账单"
		}
		return "未找到"
	}
	switch v := v.(type) {
	case flow.Citizen:
		if v.RealName {
			return "来电号码已注册（实名）"
		}
		return "来电号码已注册"
	case flow.Account:
		return accountKinds[v.Kind] + "账户 " + maskTail(v.Number, 4)
	case []flow.Account:
		return fmt.Sprintf("找到%d个账户", len(v))
	case flow.Bill:
		kind := c.accountKind(v.AccountID)
		if kind == "" {
			kind = "账单"
		}
		period := v.Period.In(c.e.cfg.Location)
		s := fmt.Sprintf("%s %d年%d月 应缴 %s", kind, period.Year(), int(period.Month()), yuan(v.AmountFen))
		switch {
		case v.Paid:
			s += " 已缴清"
		case v.Overdue:
			s += " 逾期"
		default:
			due := v.DueDate.In(c.e.cfg.Location)
			s += fmt.Sprintf(" %d月%d日前缴费", int(due.Month()), due.Day())
		}
		return s
	case flow.Application:
		st := applicationStatuses[v.Status]
		if st == "" {
			st = v.Status
		}
		return "办件 " + maskTail(v.CaseNumber, 4) + " " + st
	case []flow.Application:
		return fmt.Sprintf("找到%d件办件", len(v))
	case flow.SocialInsurance:
		return "社保余额 " + yuan(v.BalanceFen)
	case flow.HousingFund:
		return "公积金余额 " + yuan(v.BalanceFen)
	case []flow.Station:
		return fmt.Sprintf("找到%d个服务网点", len(v))
	}
	return "已查到"
}

// accountKind names the kind of an account the call looked up earlier, "" if unknown.
func (c *call) accountKind(id int64) string {
	for i := len(c.stack) - 1; i >= 0; i-- {
		for _, v := range c.stack[i].vars {
			switch v := v.(type) {
			case flow.Account:
				if v.ID == id {
					return accountKinds[v.Kind]
				}
			case []flow.Account:
				for _, a := range v {
					if a.ID == id {
						return accountKinds[a.Kind]
					}
				}
			}
		}
	}
	return ""
}

// yuan writes an amount in fen the way it is read: 356元2角, 12元5分, 0元.
func yuan(fen int64) string {
	neg := ""
	if fen < 0 {
		neg, fen = "-", -fen
	}
	s := fmt.Sprintf("%s%d元", neg, fen/100)
	if j := fen % 100 / 10; j > 0 {
		s += fmt.Sprintf("%d角", j)
	}
	if f := fen % 10; f > 0 {
		s += fmt.Sprintf("%d分", f)
	}
	return s
}

// maskTail keeps the last n characters of an identifier and stars the rest.
func maskTail(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	out := make([]rune, len(r))
	for i := range r {
		out[i] = '*'
		if i >= len(r)-n {
			out[i] = r[i]
		}
	}
	return string(out)
}

// verifyDetails name a verification's result.
var verifyDetails = map[string]string{
	"verified": "验证通过", "failed": "验证未通过", "locked": "密码已锁定", "not_real_name": "非实名用户，未验证",
}
