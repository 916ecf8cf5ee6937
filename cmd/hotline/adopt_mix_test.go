//go:build chaos

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"
	"golang.org/x/crypto/bcrypt"

	"github.com/foshan-hotline/hotline/ivr/ari/arisim"
)

// TestChaosKillInstanceEveryState kills one of two controllers (kill -9) with two calls in
// every state a call can be in: a menu, a collect, a bill's menu after its lookups, a queue,
// talking to an agent, on hold, an agent's phone ringing, blind-transferred to an outside
// number, in a consultation ringing and talking, in a conference, with the third party of a
// completed consultation, and waiting for a named agent. Every call goes on; see
// runAdoptionMix. About a minute: the quick check of TestChaosKillInstanceMix.
func TestChaosKillInstanceEveryState(t *testing.T) {
	runAdoptionMix(t, mixLoad{Menu: 2, Collect: 2, Lookup: 2, Queue: 2, PerAgentState: 2})
}

// TestChaosKillInstanceMix is TestChaosKillInstanceEveryState under load: 288 calls on two
// controllers — 45 in each of the IVR's states (menu, collect, a bill's menu after its lookups,
// queue) and 12 in each state with an agent, 120 agents — one controller killed with kill -9.
func TestChaosKillInstanceMix(t *testing.T) {
	runAdoptionMix(t, mixLoad{Menu: 45, Collect: 45, Lookup: 45, Queue: 45, PerAgentState: 12, Timeout: 10 * time.Minute})
}

// mixLoad is how many calls runAdoptionMix puts in each state: the IVR's (menu, collect,
// lookup, queue) and, PerAgentState in each, those with an agent (talking, on hold, ringing,
// blind-transferred to a number, consultation ringing, consultation talking, conference,
// completed consultation, waiting for a named agent).
type mixLoad struct {
	Menu, Collect, Lookup, Queue int
	PerAgentState                int
	// Timeout bounds the whole test (4 minutes by default).
	Timeout time.Duration
}

// The states of calls with an agent: those that an agent reaches first (conversation roles),
// then the ringing ones.
const (
	mixTalk        = "talk"
	mixHold        = "hold"
	mixBlind       = "blind"        // blind transfer to an outside number
	mixConsultRing = "consult_ring" // the consulted number rings
	mixConsultTalk = "consult_talk" // the agent talks with the consulted number
	mixConference  = "conference"
	mixCompleted   = "completed" // the caller talks with the consulted number, the agent gone
	mixToAgent     = "to_agent"  // blind transfer to a named agent, waiting reserved for them
	mixRing        = "ring"      // an agent's phone rings for the call
)

var mixConversationRoles = []string{mixTalk, mixHold, mixBlind, mixConsultRing, mixConsultTalk, mixConference, mixCompleted, mixToAgent}

const mixPassword = "mix-agent-password"

// mixAgent is an agent of the test: logged in on instance b, with a phone on the simulator.
type mixAgent struct {
	id       int64
	user     string
	endpoint string
	desk     *deskClient

	role   string
	callID string
	caller *adoptCaller
	// phone is the agent's phone in the call (the last one that rang).
	phone *adoptCaller
	// number is the outside number of a transfer or consultation, outside its phone;
	// colleague, when set, the phone consulted instead of the number.
	number    string
	colleague string
	outside   *adoptCaller
	// target is the colleague a to_agent call waits for.
	target *mixAgent
	// talkFrom is when the test saw the conversation start (its recording started before),
	// hungAt when the agent hung up.
	talkFrom, hungAt time.Time
	// cancel: a consultation the agent cancels after the kill (others complete it).
	cancel bool
}

// mixRun is the state of runAdoptionMix.
type mixRun struct {
	t       *testing.T
	r       *adoptRig
	ctx     context.Context
	mu      sync.Mutex
	callers []*adoptCaller
	byNum   map[string]*adoptCaller
	roleOf  map[*adoptCaller]string
	phones  []*adoptCaller // agents' and outside phones
	seen    map[string]bool
	next    int // caller numbers
	killed  time.Time
	// delays after the kill, by what was measured.
	delays map[string][]time.Duration
}

func (m *mixRun) delay(what string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.delays[what] = append(m.delays[what], d)
}

// waitFor polls cond until it holds; the error names what did not happen.
func (m *mixRun) waitFor(what string, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if m.ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("no %s within %v", what, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// mixEach runs f on every item at once and fails the test with the errors.
func mixEach[T any](m *mixRun, what string, items []T, f func(T) error) {
	m.t.Helper()
	if err := mixAll(m, what, items, f); err != nil {
		m.r.fail("%v", err)
	}
}

// mixAll runs f on every item at once and returns the errors.
func mixAll[T any](m *mixRun, what string, items []T, f func(T) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(items))
	for _, it := range items {
		wg.Go(func() {
			if err := f(it); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	var all []string
	for err := range errs {
		all = append(all, err.Error())
	}
	if len(all) > 0 {
		sort.Strings(all)
		if len(all) > 20 {
			all = append(all[:20], fmt.Sprintf("… and %d more", len(all)-20))
		}
		return fmt.Errorf("%s:\n%s", what, strings.Join(all, "\n"))
	}
	return nil
}

// callerOf finds the caller of the agent's call.
func (m *mixRun) callerOf(a *mixAgent) error {
	var number string
	if err := m.r.db.Get(&number, `SELECT caller_number FROM hotline.calls WHERE id::text = $1`, a.callID); err != nil {
		return fmt.Errorf("call %s: %w", a.callID, err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a.caller = m.byNum[number]
	if a.caller == nil || a.caller.role != "queue" {
		return fmt.Errorf("%s is on call %s of %s, not a waiting caller of the test", a.user, a.callID, number)
	}
	return nil
}

// place makes a citizen call to instance x.
func (m *mixRun) place(x, role, number string) *adoptCaller {
	m.t.Helper()
	if number == "" {
		m.mu.Lock()
		m.next++
		number = fmt.Sprintf("1990%07d", m.next)
		m.mu.Unlock()
	}
	call, err := m.r.sim.PlaceCall(m.ctx, arisim.CallOptions{Caller: number, Exten: "12345", Context: "in-" + x})
	if err != nil {
		m.t.Fatal(err)
	}
	c := &adoptCaller{call: call, instance: x, role: role, done: make(chan struct{})}
	go c.listen()
	m.mu.Lock()
	m.callers = append(m.callers, c)
	m.byNum[number] = c
	m.mu.Unlock()
	return c
}

// step presses keys (none: just waits) and waits for prompt after them.
func step(ctx context.Context, c *adoptCaller, keys, prompt string) error {
	n := c.count()
	if keys != "" {
		if err := c.call.Press(ctx, keys, 0); err != nil {
			return fmt.Errorf("%s caller: press %s: %w", c.role, keys, err)
		}
	} else {
		n = 0
	}
	return c.wait(ctx, prompt, func(h []string, _ bool) bool { return heardAfter(h, n, prompt) })
}

// toQueue takes a caller from the welcome to the general queue's music.
func (m *mixRun) toQueue(c *adoptCaller) error {
	if err := step(m.ctx, c, "", "common/language_choice"); err != nil {
		return err
	}
	if err := step(m.ctx, c, "1", "main/menu"); err != nil {
		return err
	}
	if err := c.call.Press(m.ctx, "0", 0); err != nil {
		return err
	}
	return c.wait(m.ctx, "music on hold", func(_ []string, moh bool) bool { return moh })
}

// toSocialSecurity takes a caller from the welcome through the consultation menus to the
// social security queue's music.
func (m *mixRun) toSocialSecurity(c *adoptCaller) error {
	for _, st := range []struct{ keys, then string }{
		{"", "common/language_choice"}, {"1", "main/menu"}, {"4", "consult/topics"}, {"1", "consult/social"},
	} {
		if err := step(m.ctx, c, st.keys, st.then); err != nil {
			return err
		}
	}
	if err := c.call.Press(m.ctx, "1", 0); err != nil {
		return err
	}
	return c.wait(m.ctx, "music on hold", func(_ []string, moh bool) bool { return moh })
}

// waiting counts the queue entries not left.
func (m *mixRun) waiting() int {
	var n int
	if err := m.r.db.Get(&n, `SELECT count(*) FROM hotline.queue_entries WHERE left_at IS NULL`); err != nil {
		m.t.Fatal(err)
	}
	return n
}

// newAgents creates n agents with the general skill and phones PJSIP/2xxx of the given
// behaviour, and logs them in on instance b (paused).
func (m *mixRun) newAgents(first, n int, mode string) []*mixAgent {
	t := m.t
	hash, err := bcrypt.GenerateFromPassword([]byte(mixPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var out []*mixAgent
	for i := first; i < first+n; i++ {
		a := &mixAgent{user: fmt.Sprintf("mix%03d", i), endpoint: fmt.Sprintf("PJSIP/%d", 2000+i)}
		if err := m.r.db.Get(&a.id, `INSERT INTO hotline.agents (username, display_name, role, password_hash, endpoint)
			VALUES ($1, $2, 'agent', $3, $4) RETURNING id`, a.user, fmt.Sprintf("坐席%03d", i), string(hash), a.endpoint); err != nil {
			t.Fatal(err)
		}
		if _, err := m.r.db.Exec(`INSERT INTO hotline.agent_skills (agent_id, skill_id) VALUES ($1, 'general')`, a.id); err != nil {
			t.Fatal(err)
		}
		m.r.sim.SetEndpoint(arisim.EndpointConfig{Technology: "PJSIP", Resource: fmt.Sprint(2000 + i), Registered: true,
			Behaviour: arisim.PhoneBehaviour{Mode: mode}})
		jar, _ := cookiejar.New(nil)
		a.desk = &deskClient{t: t, base: m.r.http["b"], http: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
		var login struct {
			CSRF string `json:"csrf_token"`
		}
		if code := a.desk.do("POST", "/api/login", map[string]string{"username": a.user, "password": mixPassword}, &login); code != 200 {
			t.Fatalf("login of %s: %d", a.user, code)
		}
		a.desk.csrf = login.CSRF
		m.r.agentState(a.desk, "paused")
		out = append(out, a)
	}
	return out
}

// status is the agent's state and call in the ACD, as the desk sees it.
func (a *mixAgent) status() (state, call string) {
	var st struct {
		Status struct {
			State  string `json:"state"`
			CallID string `json:"call_id"`
		} `json:"status"`
	}
	a.desk.do("GET", "/api/agent/status", nil, &st)
	return st.Status.State, st.Status.CallID
}

// command gives a call-control command on the agent's call through b's agent API.
func (a *mixAgent) command(body map[string]any) (int, string) {
	var out struct {
		Reason string `json:"reason"`
		Error  string `json:"error"`
	}
	code := a.desk.do("POST", "/api/calls/"+a.callID+"/control", body, &out)
	return code, out.Reason + out.Error
}

// commandOK gives a command until it is carried out (200), for up to timeout: before the
// adopting instance resumes the call a command is refused or withdrawn.
func (m *mixRun) commandOK(a *mixAgent, timeout time.Duration, body map[string]any) error {
	deadline := time.Now().Add(timeout)
	for {
		code, reason := a.command(body)
		if code == 200 {
			return nil
		}
		if time.Now().After(deadline) || m.ctx.Err() != nil {
			return fmt.Errorf("%s (%s call of %s): %v: %d %s", a.user, a.role, a.caller.instance, body["action"], code, reason)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// phoneOf finds the simulator's call of kind that match accepts and that the test has not
// seen yet, and listens to it.
func (m *mixRun) phoneOf(role string, timeout time.Duration, match func(arisim.CallInfo) bool) (*adoptCaller, error) {
	var found *adoptCaller
	err := m.waitFor(role+" phone", timeout, func() bool {
		for _, ci := range m.r.sim.Calls() {
			m.mu.Lock()
			seen := m.seen[ci.ID]
			m.mu.Unlock()
			if seen || !match(ci) {
				continue
			}
			call, err := m.r.sim.Call(ci.ID)
			if err != nil {
				continue
			}
			m.mu.Lock()
			if m.seen[ci.ID] {
				m.mu.Unlock()
				continue
			}
			m.seen[ci.ID] = true
			found = &adoptCaller{call: call, instance: "", role: role, done: make(chan struct{})}
			m.phones = append(m.phones, found)
			m.mu.Unlock()
			go found.listen()
			return true
		}
		return false
	})
	return found, err
}

func (m *mixRun) agentPhone(a *mixAgent, timeout time.Duration) (*adoptCaller, error) {
	return m.phoneOf("agent "+a.user, timeout, func(ci arisim.CallInfo) bool { return ci.Kind == "agent" && ci.Endpoint == a.endpoint })
}

// outsidePhone finds the phone of the number or colleague the agent called.
func (m *mixRun) outsidePhone(a *mixAgent, timeout time.Duration) (*adoptCaller, error) {
	if a.colleague != "" {
		return m.phoneOf("colleague "+a.colleague, timeout, func(ci arisim.CallInfo) bool { return ci.Kind == "agent" && ci.Endpoint == a.colleague })
	}
	return m.phoneOf("outside "+a.number, timeout, func(ci arisim.CallInfo) bool { return ci.Kind == "outbound" && ci.Exten == a.number })
}

// consultTarget is the third party of the agent's consultation: a colleague's phone or a
// number.
func (a *mixAgent) consultTarget() map[string]any {
	if a.colleague != "" {
		return map[string]any{"endpoint": a.colleague}
	}
	return map[string]any{"number": a.number}
}

// ended waits until a phone's line ended.
func (m *mixRun) ended(c *adoptCaller, timeout time.Duration) error {
	select {
	case <-c.done:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("the line of %s is still up after %v", c.role, timeout)
	case <-m.ctx.Done():
		return fmt.Errorf("the line of %s is still up", c.role)
	}
}

func mohOn(c *adoptCaller) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mohOn
}

func isUp(c *adoptCaller) bool {
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// heardSince returns the prompts the phone heard after the first n.
func heardSince(c *adoptCaller, n int) []string {
	h := c.heardNow()
	if n > len(h) {
		return nil
	}
	return h[n:]
}

// runAdoptionMix runs two controllers a and b; puts calls in every state on both (the IVR's
// states as many as load says, PerAgentState in each state with an agent, the agents logged
// in on b); kills a with kill -9; and checks that every call goes on on b:
//
//   - menu, collect, lookup: the apology and the node again (a lookup's bill is read again with
//     the same amount); b's callers hear no apology;
//   - queue (social security, whose skill no agent of the test has): the same entry row and
//     entry time, now b's, no apology, the music on;
//   - talking, on hold: both lines stay up, nothing is played to either; b takes the agent's
//     hold and resume; when the agent hangs up the caller goes to the survey; the recording
//     covers the whole conversation;
//   - ringing: that ring ends (a's calls) or goes on (b's); the offer is made again and answered;
//   - blind transfer to a number: caller and outside phone stay bridged; the far end hanging up
//     ends the call, the caller hanging up ends the far end;
//   - consultation ringing and talking: completed or cancelled through b's agent API;
//   - conference: the agent leaves, caller and third party talk on, then the survey;
//   - completed consultation: caller and third party talk on, then the survey;
//   - waiting for a named agent: the same reserved entry, b's; the agent goes available and
//     answers.
//
// Then nobody's line ended before it was hung up; one call row per call, all b's, with the
// outcome its state gives and IVR steps 1 to n; no saved call state left; b's /metrics count
// the calls resumed.
func runAdoptionMix(t *testing.T, load mixLoad) {
	r := startAdoptRigOpts(t, adoptRigOptions{Seed: true, Citizens: max(50, 3*load.Lookup), Speed: mixSpeed, LogLevel: "info"})
	timeout := load.Timeout
	if timeout == 0 {
		timeout = 4 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	m := &mixRun{t: t, r: r, ctx: ctx, byNum: map[string]*adoptCaller{}, roleOf: map[*adoptCaller]string{},
		seen: map[string]bool{}, delays: map[string][]time.Duration{}}
	for _, q := range []string{
		// Rings long enough to last past the kill and the adoption; wrap-ups that do not end
		// during the test (an agent free again would take a waiting call).
		`UPDATE hotline.queues SET ring_timeout_seconds = 120, wrap_up_seconds = 3600`,
	} {
		if _, err := r.db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	n := load.PerAgentState
	talkers := m.newAgents(1, n*len(mixConversationRoles), arisim.PhoneAnswer)
	targets := m.newAgents(len(talkers)+1, n, arisim.PhoneManual)
	ringers := m.newAgents(len(talkers)+n+1, n, arisim.PhoneManual)
	started := time.Now()

	// 1. The callers of the conversations, on a and b, reach the queue while every agent is
	// paused.
	var queued []*adoptCaller
	for i := range talkers {
		queued = append(queued, m.place([]string{"a", "b"}[i%2], "queue", ""))
	}
	mixEach(m, "callers to the queue", queued, m.toQueue)
	if err := m.waitFor("every caller waiting", time.Minute, func() bool { return m.waiting() == len(queued) }); err != nil {
		r.fail("%v (%d waiting)", err, m.waiting())
	}
	// 2. The talkers go available; their phones answer the calls offered. Then the agents act:
	// hold, transfer, consult, conference, complete.
	for _, a := range talkers {
		r.agentState(a.desk, "available")
	}
	mixEach(m, "conversations", talkers, func(a *mixAgent) error {
		if err := m.waitFor(a.user+" talking", time.Minute, func() bool {
			st, call := a.status()
			a.callID = call
			return st == "talking" && call != ""
		}); err != nil {
			return err
		}
		a.talkFrom = time.Now()
		if err := m.callerOf(a); err != nil {
			return err
		}
		var err error
		a.phone, err = m.agentPhone(a, 10*time.Second)
		return err
	})
	// Each state gets its share of a's calls and of b's; half of each state's calls end one
	// way after the kill (a consultation completed, the far end of a transfer hanging up), half
	// the other.
	byInstance := map[string][]*mixAgent{}
	for _, a := range talkers {
		byInstance[a.caller.instance] = append(byInstance[a.caller.instance], a)
	}
	var mixed []*mixAgent
	for i := range max(len(byInstance["a"]), len(byInstance["b"])) {
		for _, x := range []string{"a", "b"} {
			if i < len(byInstance[x]) {
				mixed = append(mixed, byInstance[x][i])
			}
		}
	}
	count := map[string]int{}
	for k, a := range mixed {
		ri := (k / 2) % len(mixConversationRoles)
		a.role = mixConversationRoles[ri]
		a.caller.role = a.role
		// a's and b's calls come in pairs: the two of a pair end differently, and so do
		// a pair and the next.
		a.cancel = (count[a.role]+count[a.role]/2+ri)%2 == 1
		// Every other pair of consultations calls a colleague's phone, not a number.
		colleague := (count[a.role]/2+ri/2)%2 == 1
		count[a.role]++
		switch a.role {
		case mixConsultRing, mixConsultTalk, mixConference, mixCompleted:
			if colleague {
				a.colleague = fmt.Sprintf("PJSIP/%d", 3001+k)
			}
		}
	}
	tIdx := 0
	for i, a := range talkers {
		a.number = fmt.Sprintf("0757%07d", 8000000+i)
		mode := arisim.PhoneAnswer
		switch a.role {
		case mixToAgent:
			a.target = targets[tIdx]
			tIdx++
		case mixConsultRing:
			mode = arisim.PhoneManual
		}
		r.sim.SetNumber(a.number, arisim.PhoneBehaviour{Mode: mode})
		if a.colleague != "" {
			r.sim.SetEndpoint(arisim.EndpointConfig{Technology: "PJSIP", Resource: strings.TrimPrefix(a.colleague, "PJSIP/"), Registered: true,
				Behaviour: arisim.PhoneBehaviour{Mode: mode}})
		}
	}

	// The callers whose agents' phones will ring reach the queue, while the IVR's callers
	// reach a menu, a collect, a bill's menu after its lookups.
	var ringing []*adoptCaller
	for i := range ringers {
		ringing = append(ringing, m.place([]string{"a", "b"}[i%2], "queue", ""))
	}
	ringDone := make(chan error, 1)
	go func() { ringDone <- mixAll(m, "callers to the queue", ringing, m.toQueue) }()
	// Meanwhile the IVR's callers reach a menu, a collect, a bill's menu after its lookups.
	citizens := m.lookupCitizens(load.Lookup)
	var ivr []*adoptCaller
	for i := range load.Menu + load.Collect + load.Lookup {
		x := []string{"a", "b"}[i%2]
		switch {
		case i < load.Menu:
			ivr = append(ivr, m.place(x, "menu", ""))
		case i < load.Menu+load.Collect:
			ivr = append(ivr, m.place(x, "collect", ""))
		default:
			c := citizens[i-load.Menu-load.Collect]
			ivr = append(ivr, m.place(x, "lookup:"+c.Kind, c.Mobile))
		}
	}
	bills := map[*adoptCaller][]string{}
	var billsMu sync.Mutex
	ivrDone := make(chan error, 1)
	go func() {
		ivrDone <- mixAll(m, "the IVR's callers", ivr, func(c *adoptCaller) error {
			if err := step(ctx, c, "", "common/language_choice"); err != nil {
				return err
			}
			if err := step(ctx, c, "1", "main/menu"); err != nil {
				return err
			}
			switch {
			case c.role == "collect":
				if err := step(ctx, c, "2", "progress/menu"); err != nil {
					return err
				}
				return step(ctx, c, "1", "progress/enter_case")
			case strings.HasPrefix(c.role, "lookup:"):
				digit := map[string]string{"water": "1", "electricity": "2", "gas": "3", "telecom": "4"}[strings.TrimPrefix(c.role, "lookup:")]
				c.role = "lookup"
				if err := step(ctx, c, "1", "bills/pick_kind"); err != nil {
					return err
				}
				n := c.count()
				if err := step(ctx, c, digit, "bills/after_bill"); err != nil {
					return err
				}
				billsMu.Lock()
				bills[c] = billOf(heardSince(c, n))
				billsMu.Unlock()
				if len(bills[c]) == 0 {
					return fmt.Errorf("a lookup caller heard no bill: %v", c.heardNow())
				}
			}
			return nil
		})
	}()
	mixEach(m, "the agents' commands before the kill", talkers, m.before)
	if err := <-ringDone; err != nil {
		r.fail("%v", err)
	}
	if err := m.waitFor("every caller waiting", time.Minute, func() bool { return m.waiting() == 2*n }); err != nil {
		r.fail("%v (%d waiting)", err, m.waiting())
	}

	// 3. The rings: as many agents go available as callers of the second lot wait, one on a
	// and one on b in turn; their phones ring for them and are not answered. Meanwhile the
	// last lot of callers reach the social security queue, where they wait on: no agent of the
	// test has its skill. (In the general queue, while b resumes a's calls, a ring a's loss
	// ended can be offered again after a newer caller's: see the README.)
	var waiters []*adoptCaller
	for i := range load.Queue {
		waiters = append(waiters, m.place([]string{"a", "b"}[i%2], "queue", ""))
	}
	queueDone := make(chan error, 1)
	go func() { queueDone <- mixAll(m, "callers to the queue", waiters, m.toSocialSecurity) }()
	for _, a := range ringers {
		r.agentState(a.desk, "available")
	}
	mixEach(m, "rings", ringers, func(a *mixAgent) error {
		if err := m.waitFor(a.user+" ringing", time.Minute, func() bool {
			st, call := a.status()
			a.callID = call
			return st == "ringing" && call != ""
		}); err != nil {
			return err
		}
		if err := m.callerOf(a); err != nil {
			return err
		}
		a.role, a.caller.role = mixRing, mixRing
		var err error
		a.phone, err = m.agentPhone(a, 10*time.Second)
		return err
	})
	ringAt := time.Now()
	if err := <-queueDone; err != nil {
		r.fail("%v", err)
	}
	if err := m.waitFor("every caller waiting", time.Minute, func() bool { return m.waiting() == 2*n+load.Queue }); err != nil {
		r.fail("%v (%d waiting)", err, m.waiting())
	}
	if err := <-ivrDone; err != nil {
		r.fail("%v", err)
	}

	// 4. The consultations that ring at the kill: the last to start, as their ring is short.
	var consultRing []*mixAgent
	for _, a := range talkers {
		if a.role == mixConsultRing {
			consultRing = append(consultRing, a)
		}
	}
	mixEach(m, "consultations ringing", consultRing, func(a *mixAgent) error {
		if code, reason := a.command(map[string]any{"action": "consult", "transfer": a.consultTarget()}); code != 200 {
			return fmt.Errorf("%s: consult: %d %s", a.user, code, reason)
		}
		var err error
		a.outside, err = m.outsidePhone(a, 10*time.Second)
		return err
	})
	setup := time.Since(started)

	// The kill.
	states := map[string]int{}
	aCalls := 0
	for _, c := range m.callers {
		states[c.role]++
		if c.instance == "a" {
			aCalls++
		}
	}
	var open []mixEntry
	if err := r.db.Select(&open, `SELECT e.id, e.entered_at, c.caller_number FROM hotline.queue_entries e
		JOIN hotline.calls c ON c.id = e.call_id WHERE e.left_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	entries := map[string]mixEntry{}
	for _, e := range open {
		entries[e.Caller] = e
	}
	marks := map[*adoptCaller]int{}
	for _, c := range append(slices.Clone(m.callers), m.phones...) {
		marks[c] = c.count()
	}
	for _, a := range ringers {
		if a.caller.instance == "a" {
			expectEnd(a.phone) // the ring for the lost controller ends
		}
	}
	time.Sleep(300 * time.Millisecond) // the states are written within milliseconds of each move
	m.killed = time.Now()
	if err := r.procs["a"].Process.Kill(); err != nil {
		t.Fatal(err)
	}
	r.procs["a"].Wait()
	t.Logf("kill -9 of a with %d calls (%d of them a's), %v after they were placed; rings started %v before; states %v",
		len(m.callers), aCalls, setup.Round(100*time.Millisecond), m.killed.Sub(ringAt).Round(100*time.Millisecond), states)

	// The calls' rows become b's.
	var adopted time.Duration
	if err := m.waitFor("every call row b's", time.Minute, func() bool {
		var left int
		if err := r.db.Get(&left, `SELECT count(*) FROM hotline.calls WHERE instance_id IS DISTINCT FROM 'b' AND ended_at IS NULL`); err != nil {
			t.Fatal(err)
		}
		adopted = time.Since(m.killed)
		return left == 0
	}); err != nil {
		r.fail("%v", err)
	}
	t.Logf("every call row b's %v after the kill", adopted.Round(100*time.Millisecond))

	// After the kill, every state at once.
	var work []func() error
	for _, c := range ivr {
		work = append(work, func() error { return m.afterIVR(c, marks[c], bills[c]) })
	}
	for _, c := range m.callers {
		if c.role == "queue" {
			work = append(work, func() error { return m.afterQueue(c, marks[c], entries[c.call.Info().Caller]) })
		}
	}
	for _, a := range talkers {
		work = append(work, func() error { return m.after(a, marks) })
	}
	work = append(work, func() error { return m.afterRings(ringers, marks) })
	mixEach(m, "after the kill", work, func(f func() error) error { return f() })
	t.Logf("every call went on; the last ended %v after the kill", time.Since(m.killed).Round(100*time.Millisecond))

	// Everyone hangs up; nobody's line ended before.
	for _, c := range m.callers {
		if isUp(c) {
			hangUp(c)
		}
	}
	for _, c := range append(slices.Clone(m.callers), m.phones...) {
		if err := m.ended(c, 30*time.Second); err != nil {
			hangUp(c)
		}
	}
	var dropped []string
	for _, c := range append(slices.Clone(m.callers), m.phones...) {
		c.mu.Lock()
		if c.dropped {
			info := c.call.Info()
			dropped = append(dropped, fmt.Sprintf("%s (%s) %s %s %s heard %v", c.role, c.instance, info.Kind, info.Endpoint, info.Caller, c.heard))
			if info.Kind == "agent" {
				var id string
				r.db.Get(&id, `SELECT id::text FROM hotline.calls WHERE caller_number = $1`, info.Caller)
				dropped = append(dropped, m.logOf("b", id))
			}
		}
		c.mu.Unlock()
	}
	if len(dropped) > 0 {
		r.fail("%d lines dropped:\n%s", len(dropped), strings.Join(dropped, "\n"))
	}
	m.checkRows(talkers, aCalls)
	m.logDelays()
}

// mixSpeed is the simulator's speed in runAdoptionMix: its timers run that much faster,
// an originate's ring timeout among them, so that a consultation's 30 s ring lasts 15 s,
// past the kill and the adoption.
const mixSpeed = 2

// billOf is what a caller heard of a bill: the prompts from the account to the menu after it.
func billOf(heard []string) []string {
	i := slices.Index(heard, "bills/your_account")
	if i < 0 {
		i = slices.Index(heard, "bills/no_bill")
	}
	j := slices.Index(heard, "bills/after_bill")
	if i < 0 || j < i {
		return nil
	}
	return slices.Clone(heard[i:j])
}

// mixEntry is a waiting caller's queue entry.
type mixEntry struct {
	ID        int64     `db:"id"`
	EnteredAt time.Time `db:"entered_at"`
	Caller    string    `db:"caller_number"`
}

type mixCitizen struct {
	Mobile string `db:"mobile"`
	Kind   string `db:"kind"`
}

// lookupCitizens picks n seeded citizens with a utility account whose bills the IVR reads.
func (m *mixRun) lookupCitizens(n int) []mixCitizen {
	var cs []mixCitizen
	if err := m.r.db.Select(&cs, `SELECT DISTINCT ON (c.id) c.mobile, a.kind
		FROM platform.citizens c JOIN platform.utility_accounts a ON a.citizen_id = c.id
		WHERE c.status = 'active' AND a.kind IN ('water', 'electricity', 'gas', 'telecom')
		ORDER BY c.id, a.kind LIMIT $1`, n); err != nil {
		m.t.Fatal(err)
	}
	if len(cs) < n {
		m.t.Fatalf("%d seeded citizens with an account, want %d", len(cs), n)
	}
	return cs
}

// before puts an agent's call in its state before the kill.
func (m *mixRun) before(a *mixAgent) error {
	c := a.caller
	consult := func() error {
		if code, reason := a.command(map[string]any{"action": "consult", "transfer": a.consultTarget()}); code != 200 {
			return fmt.Errorf("%s: consult: %d %s", a.user, code, reason)
		}
		var err error
		if a.outside, err = m.outsidePhone(a, 10*time.Second); err != nil {
			return err
		}
		// The third party answered and joined the agent's bridge.
		return a.outside.wait(m.ctx, "the consultation's bridge", func([]string, bool) bool { return a.outside.bridged > 0 })
	}
	switch a.role {
	case mixTalk, mixConsultRing: // the consultation rings just before the kill
		return nil
	case mixHold:
		if code, reason := a.command(map[string]any{"action": "hold"}); code != 200 {
			return fmt.Errorf("%s: hold: %d %s", a.user, code, reason)
		}
		return c.wait(m.ctx, "music on hold", func([]string, bool) bool { return c.mohOn })
	case mixBlind:
		expectEnd(a.phone)
		n := c.bridged
		if code, reason := a.command(map[string]any{"action": "transfer", "transfer": map[string]any{"number": a.number}}); code != 200 {
			return fmt.Errorf("%s: transfer to a number: %d %s", a.user, code, reason)
		}
		var err error
		if a.outside, err = m.outsidePhone(a, 10*time.Second); err != nil {
			return err
		}
		if err := a.outside.wait(m.ctx, "the transfer's bridge", func([]string, bool) bool { return a.outside.bridged > 0 }); err != nil {
			return err
		}
		if err := c.wait(m.ctx, "the transfer's bridge", func([]string, bool) bool { return c.bridged > n }); err != nil {
			return err
		}
		return m.ended(a.phone, 10*time.Second)
	case mixConsultTalk:
		return consult()
	case mixConference:
		if err := consult(); err != nil {
			return err
		}
		if err := m.commandOK(a, 10*time.Second, map[string]any{"action": "conference"}); err != nil {
			return err
		}
		return c.wait(m.ctx, "the conference", func([]string, bool) bool { return !c.mohOn })
	case mixCompleted:
		if err := consult(); err != nil {
			return err
		}
		expectEnd(a.phone)
		if err := m.commandOK(a, 10*time.Second, map[string]any{"action": "complete"}); err != nil {
			return err
		}
		if err := c.wait(m.ctx, "the third party", func([]string, bool) bool { return !c.mohOn }); err != nil {
			return err
		}
		return m.ended(a.phone, 10*time.Second)
	case mixToAgent:
		expectEnd(a.phone)
		if code, reason := a.command(map[string]any{"action": "transfer", "transfer": map[string]any{"agent": a.target.id, "reserve_seconds": 600}}); code != 200 {
			return fmt.Errorf("%s: transfer to %s: %d %s", a.user, a.target.user, code, reason)
		}
		a.target.callID, a.target.caller, a.target.role = a.callID, c, mixToAgent
		if err := m.waitFor("the reserved entry", 10*time.Second, func() bool {
			var k int
			m.r.db.Get(&k, `SELECT count(*) FROM hotline.queue_entries WHERE call_id::text = $1 AND target_agent_id = $2 AND left_at IS NULL`, a.callID, a.target.id)
			return k == 1
		}); err != nil {
			return err
		}
		if err := c.wait(m.ctx, "music for the named agent", func(h []string, _ bool) bool {
			return slices.Contains(h, "common/transfer_agent") && c.mohOn
		}); err != nil {
			return err
		}
		return m.ended(a.phone, 10*time.Second)
	}
	return fmt.Errorf("no state %q", a.role)
}

// afterIVR: a's callers hear the apology and their node again, b's nothing of it; a menu takes
// a key, a bill is read again with the same amount.
func (m *mixRun) afterIVR(c *adoptCaller, mark int, bill []string) error {
	again := map[string]string{"menu": "main/menu", "collect": "progress/enter_case", "lookup": "bills/after_bill"}[c.role]
	if c.instance == "a" {
		if err := c.wait(m.ctx, "apology", func(h []string, _ bool) bool { return heardAfter(h, mark, "common/line_glitch") }); err != nil {
			return err
		}
		m.delay("apology to a caller in a "+c.role, time.Since(m.killed))
		err := c.wait(m.ctx, "apology and "+again, func(h []string, _ bool) bool {
			i := slices.Index(h[min(mark, len(h)):], "common/line_glitch")
			return i >= 0 && heardAfter(h, mark+i, again)
		})
		if err != nil {
			return err
		}
		m.delay(c.role+" node again", time.Since(m.killed))
	} else if slices.Contains(heardSince(c, mark), "common/line_glitch") {
		return fmt.Errorf("a %s caller of b heard the apology: %v", c.role, heardSince(c, mark))
	}
	switch c.role {
	case "menu":
		if err := step(m.ctx, c, "1", "bills/pick_kind"); err != nil {
			return err
		}
	case "lookup":
		n := c.count()
		if err := step(m.ctx, c, "1", "bills/after_bill"); err != nil {
			return err
		}
		if got := billOf(heardSince(c, n)); !slices.Equal(got, bill) {
			return fmt.Errorf("a lookup caller of %s heard the bill again as %v, before the kill %v", c.instance, got, bill)
		}
	}
	hangUp(c)
	return nil
}

// afterQueue: the same entry, b's, and no apology.
func (m *mixRun) afterQueue(c *adoptCaller, mark int, before mixEntry) error {
	if before.ID == 0 {
		return fmt.Errorf("a waiting caller of %s had no queue entry before the kill", c.instance)
	}
	if err := m.waitFor("the entry b's", time.Minute, func() bool {
		var k int
		m.r.db.Get(&k, `SELECT count(*) FROM hotline.queue_entries WHERE id = $1 AND entered_at = $2 AND instance_id = 'b' AND left_at IS NULL`,
			before.ID, before.EnteredAt)
		return k == 1
	}); err != nil {
		var all []string
		m.r.db.Select(&all, `SELECT format('%s %s %s %s', id, entered_at, instance_id, left_at) FROM hotline.queue_entries e
			WHERE call_id = (SELECT call_id FROM hotline.queue_entries WHERE id = $1)`, before.ID)
		return fmt.Errorf("a waiting caller of %s: %w; entries %v", c.instance, err, all)
	}
	if c.instance == "a" {
		m.delay("queue entry b's", time.Since(m.killed))
	}
	time.Sleep(time.Second)
	if h := heardSince(c, mark); slices.Contains(h, "common/line_glitch") {
		return fmt.Errorf("a waiting caller of %s heard the apology: %v", c.instance, h)
	}
	if !c.moh {
		return fmt.Errorf("a waiting caller of %s without music", c.instance)
	}
	hangUp(c)
	return nil
}

// quiet checks that nothing was played to the phones since the kill.
func quiet(marks map[*adoptCaller]int, phones ...*adoptCaller) error {
	for _, p := range phones {
		if p == nil {
			continue
		}
		if h := heardSince(p, marks[p]); len(h) > 0 {
			return fmt.Errorf("%s (%s) heard %v after the kill", p.role, p.instance, h)
		}
		if !isUp(p) {
			return fmt.Errorf("the line of %s (%s) ended", p.role, p.instance)
		}
	}
	return nil
}

// toSurvey hangs up phone and waits for the caller to reach the survey.
func (m *mixRun) toSurvey(a *mixAgent, phone *adoptCaller) error {
	c := a.caller
	n := c.count()
	a.hungAt = time.Now()
	hangUp(phone)
	ctx, cancel := context.WithTimeout(m.ctx, 30*time.Second)
	defer cancel()
	if err := c.wait(ctx, "the survey", func(h []string, _ bool) bool { return heardAfter(h, n, "survey/ask") }); err != nil {
		return fmt.Errorf("%s call of %s: %w", a.role, c.instance, err)
	}
	return nil
}

// after checks and ends an agent's call after the kill.
func (m *mixRun) after(a *mixAgent, marks map[*adoptCaller]int) error {
	c := a.caller
	wrap := func(err error) error {
		if err == nil {
			return nil
		}
		return fmt.Errorf("%s call of %s (%s): %w\nb's log of the call:\n%s", a.role, c.instance, a.user, err, m.logOf("b", a.callID))
	}
	first := func(what string) { m.delay(what, time.Since(m.killed)) }
	control := 30 * time.Second
	switch a.role {
	case mixTalk:
		if err := quiet(marks, c, a.phone); err != nil {
			return wrap(err)
		}
		if err := m.commandOK(a, control, map[string]any{"action": "hold"}); err != nil {
			return wrap(err)
		}
		if c.instance == "a" {
			first("hold through b (talking)")
		}
		if err := c.wait(m.ctx, "music on hold", func([]string, bool) bool { return c.mohOn }); err != nil {
			return wrap(err)
		}
		if err := m.commandOK(a, 10*time.Second, map[string]any{"action": "resume"}); err != nil {
			return wrap(err)
		}
		if err := c.wait(m.ctx, "back with the agent", func([]string, bool) bool { return !c.mohOn }); err != nil {
			return wrap(err)
		}
		if err := quiet(marks, c, a.phone); err != nil {
			return wrap(err)
		}
		return wrap(m.toSurvey(a, a.phone))
	case mixHold:
		if err := quiet(marks, c, a.phone); err != nil {
			return wrap(err)
		}
		if !mohOn(c) {
			return wrap(errors.New("the held caller's music stopped"))
		}
		if err := m.commandOK(a, control, map[string]any{"action": "resume"}); err != nil {
			return wrap(err)
		}
		if c.instance == "a" {
			first("resume through b (on hold)")
		}
		if err := c.wait(m.ctx, "back with the agent", func([]string, bool) bool { return !c.mohOn }); err != nil {
			return wrap(err)
		}
		return wrap(m.toSurvey(a, a.phone))
	case mixBlind:
		time.Sleep(time.Second)
		if err := quiet(marks, c, a.outside); err != nil {
			return wrap(err)
		}
		if a.cancel {
			// The caller hangs up: the far end is hung up.
			expectEnd(a.outside)
			hangUp(c)
			return wrap(m.ended(a.outside, 30*time.Second))
		}
		// The far end hangs up: the call ends.
		expectEnd(c)
		hangUp(a.outside)
		return wrap(m.ended(c, 30*time.Second))
	case mixConsultRing:
		if a.cancel {
			expectEnd(a.outside)
			if err := m.commandOK(a, control, map[string]any{"action": "cancel_consult"}); err != nil {
				return wrap(err)
			}
			if c.instance == "a" {
				first("cancel through b (consultation ringing)")
			}
			if err := m.ended(a.outside, 10*time.Second); err != nil {
				return wrap(err)
			}
			if err := c.wait(m.ctx, "back with the agent", func([]string, bool) bool { return !c.mohOn }); err != nil {
				return wrap(err)
			}
			return wrap(m.toSurvey(a, a.phone))
		}
		if err := a.outside.call.Answer(); err != nil {
			return wrap(fmt.Errorf("the consulted number rang out before it was answered: %w", err))
		}
		expectEnd(a.phone)
		if err := m.commandOK(a, control, map[string]any{"action": "complete"}); err != nil {
			return wrap(err)
		}
		if c.instance == "a" {
			first("complete through b (consultation ringing)")
		}
		if err := m.ended(a.phone, 10*time.Second); err != nil {
			return wrap(err)
		}
		if err := c.wait(m.ctx, "with the third party", func([]string, bool) bool { return !c.mohOn }); err != nil {
			return wrap(err)
		}
		return wrap(m.toSurvey(a, a.outside))
	case mixConsultTalk:
		if err := quiet(marks, c, a.phone, a.outside); err != nil {
			return wrap(err)
		}
		if a.cancel {
			expectEnd(a.outside)
			if err := m.commandOK(a, control, map[string]any{"action": "cancel_consult"}); err != nil {
				return wrap(err)
			}
			if c.instance == "a" {
				first("cancel through b (consultation talking)")
			}
			if err := m.ended(a.outside, 10*time.Second); err != nil {
				return wrap(err)
			}
			if err := c.wait(m.ctx, "back with the agent", func([]string, bool) bool { return !c.mohOn }); err != nil {
				return wrap(err)
			}
			return wrap(m.toSurvey(a, a.phone))
		}
		expectEnd(a.phone)
		if err := m.commandOK(a, control, map[string]any{"action": "complete"}); err != nil {
			return wrap(err)
		}
		if c.instance == "a" {
			first("complete through b (consultation talking)")
		}
		if err := m.ended(a.phone, 10*time.Second); err != nil {
			return wrap(err)
		}
		if err := c.wait(m.ctx, "with the third party", func([]string, bool) bool { return !c.mohOn }); err != nil {
			return wrap(err)
		}
		return wrap(m.toSurvey(a, a.outside))
	case mixConference:
		if err := quiet(marks, c, a.phone, a.outside); err != nil {
			return wrap(err)
		}
		// The agent leaves; the caller and the third party talk on, then the third party leaves.
		hangUp(a.phone)
		time.Sleep(2 * time.Second)
		if err := quiet(marks, c, a.outside); err != nil {
			return wrap(fmt.Errorf("after the agent left the conference: %w", err))
		}
		return wrap(m.toSurvey(a, a.outside))
	case mixCompleted:
		time.Sleep(time.Second)
		if err := quiet(marks, c, a.outside); err != nil {
			return wrap(err)
		}
		return wrap(m.toSurvey(a, a.outside))
	case mixToAgent:
		t := a.target
		if h := heardSince(c, marks[c]); slices.Contains(h, "common/line_glitch") {
			return wrap(fmt.Errorf("the caller waiting for %s heard the apology: %v", t.user, h))
		}
		if err := m.waitFor("the reserved entry b's", time.Minute, func() bool {
			var k int
			m.r.db.Get(&k, `SELECT count(*) FROM hotline.queue_entries WHERE call_id::text = $1 AND target_agent_id = $2
				AND left_at IS NULL AND instance_id = 'b'`, a.callID, t.id)
			return k == 1
		}); err != nil {
			return wrap(err)
		}
		// The named agent goes available while the calls whose rings a's loss ended are
		// offered again: the reserved call is still theirs first.
		m.r.agentState(t.desk, "available")
		var err error
		if t.phone, err = m.agentPhone(t, 30*time.Second); err != nil {
			return wrap(err)
		}
		if err := t.phone.call.Answer(); err != nil {
			return wrap(err)
		}
		var st, call string
		if err := m.waitFor(t.user+" talking", 30*time.Second, func() bool {
			st, call = t.status()
			return st == "talking" && call == a.callID
		}); err != nil {
			var dump []string
			m.r.db.Select(&dump, `SELECT format('entry %s call %s target %s until %s offer %s left %s outcome %s inst %s entered %s', id, call_id, target_agent_id, target_until, offer_id, left_at, outcome, instance_id, entered_at)
				FROM hotline.queue_entries WHERE call_id::text IN ($1, $2) ORDER BY id`, a.callID, call)
			var offers []string
			m.r.db.Select(&offers, `SELECT format('offer %s call %s agent %s state %s at %s decided %s', id, call_id, agent_id, state, offered_at, decided_at) FROM hotline.offers WHERE agent_id = $1 OR call_id::text IN ($2, $3) ORDER BY id`, t.id, a.callID, call)
			return wrap(fmt.Errorf("%w: %s on call %s, want %s; phone %v\n%s\n%s", err, st, call, a.callID, t.phone.call.Info(), strings.Join(dump, "\n"), strings.Join(offers, "\n")))
		}
		return wrap(m.toSurvey(t, t.phone))
	}
	return nil
}

// afterRings: the rings of a's calls end and their offers are made again; b's ring on. Every
// ring is answered, and the agent hangs up into the survey.
func (m *mixRun) afterRings(ringers []*mixAgent, marks map[*adoptCaller]int) error {
	var errs []error
	endpoints := map[string]*mixAgent{}
	for _, a := range ringers {
		endpoints[a.endpoint] = a
		if a.caller.instance != "a" {
			continue
		}
		if err := m.ended(a.phone, time.Minute); err != nil {
			errs = append(errs, fmt.Errorf("the ring for a's call: %w", err))
		} else {
			m.delay("ring for a lost controller ended", time.Since(m.killed))
		}
	}
	// Answer the rings that come until every ringing caller talks.
	byCall := map[string]*adoptCaller{}
	for _, a := range ringers {
		byCall[a.callID] = a.caller
		if a.caller.instance == "b" {
			if !isUp(a.phone) {
				errs = append(errs, fmt.Errorf("the ring of %s for b's call ended", a.user))
			} else if err := a.phone.call.Answer(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// Answer every ring of a ringing agent's phone until each of them talks with a caller
	// whose ring the kill caught.
	talking := map[*mixAgent]bool{}
	deadline := time.Now().Add(45 * time.Second)
	rings := 0
	for len(talking) < len(ringers) && time.Now().Before(deadline) && m.ctx.Err() == nil {
		if p, err := m.phoneOf("agent (ringing again)", 200*time.Millisecond, func(ci arisim.CallInfo) bool {
			return ci.Kind == "agent" && endpoints[ci.Endpoint] != nil
		}); err == nil {
			rings++
			m.delay("offer made again", time.Since(m.killed))
			endpoints[p.call.Info().Endpoint].phone = p
			p.call.Answer()
		}
		for _, a := range ringers {
			if talking[a] {
				continue
			}
			if st, call := a.status(); st == "talking" {
				if byCall[call] == nil {
					errs = append(errs, fmt.Errorf("%s, whose phone rang at the kill, talks on call %s, not one that rang", a.user, call))
					talking[a] = true
					continue
				}
				a.callID, a.caller = call, byCall[call]
				talking[a] = true
			}
		}
	}
	if len(talking) < len(ringers) {
		var dump []string
		for _, a := range ringers {
			st, call := a.status()
			dump = append(dump, fmt.Sprintf("%s (ring for %s's call %s): %s on %s", a.user, a.caller.instance, a.callID, st, call))
		}
		var ids []string
		for id := range byCall {
			ids = append(ids, id)
		}
		var offers []string
		m.r.db.Select(&offers, `SELECT format('offer %s call %s agent %s state %s cause %s at %s decided %s', id, call_id, agent_id, state, cause, offered_at, decided_at)
			FROM hotline.offers WHERE call_id::text = ANY($1) ORDER BY id`, pq.Array(ids))
		var entries []string
		m.r.db.Select(&entries, `SELECT format('entry %s call %s entered %s waiting_since %s offer %s left %s inst %s', id, call_id, entered_at, waiting_since, offer_id, left_at, instance_id)
			FROM hotline.queue_entries WHERE call_id::text = ANY($1) ORDER BY id`, pq.Array(ids))
		errs = append(errs, fmt.Errorf("after %d rings, not every agent whose phone rang at the kill talks:\n%s\n%s\n%s\n%s",
			rings, strings.Join(dump, "\n"), strings.Join(offers, "\n"), strings.Join(entries, "\n"), m.logOf("b", ids...)))
	}
	for _, a := range ringers {
		if !talking[a] || byCall[a.callID] == nil {
			continue
		}
		if err := m.toSurvey(a, a.phone); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// logOf returns the lines of instance x's log that name one of the calls.
func (m *mixRun) logOf(x string, calls ...string) string {
	var out []string
	for _, l := range strings.Split(m.r.logs[x].String(), "\n") {
		for _, id := range calls {
			if strings.Contains(l, id) {
				out = append(out, l)
				break
			}
		}
	}
	return strings.Join(out, "\n")
}

// checkRows checks the calls' records after everyone hung up.
func (m *mixRun) checkRows(talkers []*mixAgent, aCalls int) {
	r, t := m.r, m.t
	want := map[string][]string{
		"menu": {"hangup", "self_served"}, "collect": {"hangup", "self_served"}, "lookup": {"hangup", "self_served"},
		"queue": {"abandoned"}, mixTalk: {"agent"}, mixHold: {"agent"}, mixRing: {"agent"}, mixToAgent: {"agent"},
		mixBlind: {"transferred"}, mixConference: {"transferred"}, mixCompleted: {"transferred"},
		mixConsultRing: {"agent", "transferred"}, mixConsultTalk: {"agent", "transferred"},
	}
	type row struct {
		ID       string `db:"id"`
		Caller   string `db:"caller_number"`
		Instance string `db:"instance_id"`
		Outcome  string `db:"outcome"`
		Steps    int    `db:"steps"`
		MaxSeq   int    `db:"max_seq"`
		Recorded int64  `db:"recorded_ms"`
	}
	var rows []row
	if err := m.waitFor("every call row ended", time.Minute, func() bool {
		rows = nil
		if err := r.db.Select(&rows, `SELECT c.id::text AS id, c.caller_number, COALESCE(c.instance_id, '') AS instance_id,
			COALESCE(c.outcome, '') AS outcome,
			(SELECT count(*) FROM hotline.call_steps s WHERE s.call_id = c.id) AS steps,
			(SELECT COALESCE(max(seq), 0) FROM hotline.call_steps s WHERE s.call_id = c.id) AS max_seq,
			(SELECT COALESCE(sum(duration_ms), 0) FROM hotline.recordings r WHERE r.call_id = c.id) AS recorded_ms
			FROM hotline.calls c`); err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			if row.Outcome == "" || row.Steps != row.MaxSeq {
				return false
			}
		}
		return true
	}); err != nil {
		t.Errorf("%v", err)
	}
	if len(rows) != len(m.callers) {
		t.Errorf("%d call rows for %d calls", len(rows), len(m.callers))
	}
	byID := map[string]row{}
	seen := map[string]int{}
	for _, row := range rows {
		byID[row.ID] = row
		seen[row.Caller]++
		c := m.byNum[row.Caller]
		if c == nil {
			t.Errorf("a call row of no caller of the test: %+v", row)
			continue
		}
		if row.Instance != "b" || !slices.Contains(want[c.role], row.Outcome) || row.Steps != row.MaxSeq || row.Steps == 0 {
			third := ""
			for _, a := range talkers {
				if a.callID == row.ID {
					third = " (" + cmp.Or(a.colleague, a.number) + ")"
				}
			}
			t.Errorf("%s call of %s%s: row %+v: want b's, outcome in %v, steps 1 to n\nb's log of the call:\n%s",
				c.role, c.instance, third, row, want[c.role], m.logOf("b", row.ID))
		}
	}
	for number, k := range seen {
		if k > 1 {
			t.Errorf("%d call rows of caller %s", k, number)
		}
	}
	// A conversation resumed is recorded whole: from before the kill to the agent's hang-up.
	for _, a := range talkers {
		if a.role != mixTalk {
			continue
		}
		row := byID[a.callID]
		if talked := a.hungAt.Sub(a.talkFrom); time.Duration(row.Recorded)*time.Millisecond < talked-200*time.Millisecond {
			t.Errorf("%s call of %s: recorded %d ms of a conversation of at least %v", a.role, a.caller.instance, row.Recorded, talked)
		}
	}
	var states int
	if err := r.db.Get(&states, `SELECT count(*) FROM hotline.call_states`); err != nil {
		t.Fatal(err)
	}
	if states != 0 {
		t.Errorf("%d call states left after every call ended", states)
	}
	resp, err := http.Get(r.http["b"] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{"hotline_ivr_applications_adopted_total 1", fmt.Sprintf("hotline_ivr_calls_resumed_total %d", aCalls)} {
		if !strings.Contains(string(body), want+"\n") {
			var got []string
			for _, l := range strings.Split(string(body), "\n") {
				if strings.HasPrefix(l, "hotline_ivr_calls_resumed_total") || strings.HasPrefix(l, "hotline_ivr_applications_adopted_total") {
					got = append(got, l)
				}
			}
			t.Errorf("b's /metrics without %q: %v", want, got)
		}
	}
}

func (m *mixRun) logDelays() {
	var keys []string
	for k := range m.delays {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ds := m.delays[k]
		slices.Sort(ds)
		m.t.Logf("after the kill: %s: %d calls, %v–%v", k, len(ds), ds[0].Round(100*time.Millisecond), ds[len(ds)-1].Round(100*time.Millisecond))
	}
}
