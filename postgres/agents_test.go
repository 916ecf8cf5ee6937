package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

func TestAgentLogin(t *testing.T) {
	f := newACDFixture(t)
	ctx := context.Background()
	id := f.agent(t, map[string]int{"general": 3})

	prev, st, err := f.acd.Login(ctx, id, "s1")
	must(t, err)
	if prev != "" || st.State != hotline.AgentPaused || st.Reason != hotline.PauseLogin || st.Session != "s1" || st.Instance != "a" {
		t.Errorf("first login: previous %q, status %+v", prev, st)
	}
	if !st.Since.Equal(f.clock.Now()) {
		t.Errorf("since %v, want %v", st.Since, f.clock.Now())
	}
	_, err = f.acd.SetAvailable(ctx, id)
	must(t, err)

	// Another instance takes the session over; the agent stays available.
	b := postgres.NewACD(f.store, "b")
	prev, st, err = b.Login(ctx, id, "s2")
	must(t, err)
	if prev != "s1" || st.State != hotline.AgentAvailable || st.Session != "s2" || st.Instance != "b" {
		t.Errorf("takeover: previous %q, status %+v", prev, st)
	}
	prev, _, err = b.Login(ctx, id, "s2")
	must(t, err)
	if prev != "" {
		t.Errorf("same session again: previous %q", prev)
	}
	if got, want := f.states(t, id), "paused:login available"; got != want {
		t.Errorf("log %q, want %q", got, want)
	}
	f.checkChain(t, id)

	inactive := f.agent(t, nil)
	f.exec(t, `UPDATE hotline.agents SET active = false WHERE id = $1`, inactive)
	for _, tc := range []struct {
		name    string
		agent   int64
		session string
		want    error
	}{
		{"unknown agent", id + 1000, "s", hotline.ErrNotFound},
		{"inactive agent", inactive, "s", hotline.ErrForbidden},
		{"no session", id, "", hotline.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := f.acd.Login(ctx, tc.agent, tc.session); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if st := f.status(t, inactive); st.State != hotline.AgentOffline {
		t.Errorf("refused login: state %s", st.State)
	}
}

var allStates = []hotline.AgentState{hotline.AgentOffline, hotline.AgentAvailable, hotline.AgentPaused,
	hotline.AgentRinging, hotline.AgentTalking, hotline.AgentWrapUp, hotline.AgentMissed}

func TestAgentRequestsInEachState(t *testing.T) {
	ctx := context.Background()
	// want is the state after the request, "pending" when the agent's state stays and the
	// pause is kept for later, "conflict" for a *hotline.StateError.
	type request struct {
		name string
		do   func(a *postgres.ACD, id int64) error
		want map[hotline.AgentState]string
	}
	requests := []request{
		{"set available", func(a *postgres.ACD, id int64) error { _, err := a.SetAvailable(ctx, id); return err },
			map[hotline.AgentState]string{hotline.AgentOffline: "conflict", hotline.AgentAvailable: "available",
				hotline.AgentPaused: "available", hotline.AgentRinging: "conflict", hotline.AgentTalking: "conflict",
				hotline.AgentWrapUp: "conflict", hotline.AgentMissed: "available"}},
		{"pause", func(a *postgres.ACD, id int64) error { _, err := a.Pause(ctx, id, "meal"); return err },
			map[hotline.AgentState]string{hotline.AgentOffline: "conflict", hotline.AgentAvailable: "paused",
				hotline.AgentPaused: "paused", hotline.AgentRinging: "pending", hotline.AgentTalking: "pending",
				hotline.AgentWrapUp: "pending", hotline.AgentMissed: "paused"}},
		{"logout", func(a *postgres.ACD, id int64) error { return a.Logout(ctx, id, "logout") },
			map[hotline.AgentState]string{hotline.AgentOffline: "conflict", hotline.AgentAvailable: "offline",
				hotline.AgentPaused: "offline", hotline.AgentRinging: "conflict", hotline.AgentTalking: "conflict",
				hotline.AgentWrapUp: "offline", hotline.AgentMissed: "offline"}},
		{"end wrap-up", func(a *postgres.ACD, id int64) error { _, err := a.EndWrapUp(ctx, id, "answered", ""); return err },
			map[hotline.AgentState]string{hotline.AgentOffline: "conflict", hotline.AgentAvailable: "conflict",
				hotline.AgentPaused: "conflict", hotline.AgentRinging: "conflict", hotline.AgentTalking: "conflict",
				hotline.AgentWrapUp: "available", hotline.AgentMissed: "conflict"}},
		{"extend wrap-up", func(a *postgres.ACD, id int64) error { _, err := a.ExtendWrapUp(ctx, id, time.Minute); return err },
			map[hotline.AgentState]string{hotline.AgentOffline: "conflict", hotline.AgentAvailable: "conflict",
				hotline.AgentPaused: "conflict", hotline.AgentRinging: "conflict", hotline.AgentTalking: "conflict",
				hotline.AgentWrapUp: "wrap_up", hotline.AgentMissed: "conflict"}},
	}
	for _, rq := range requests {
		t.Run(rq.name, func(t *testing.T) {
			f := newACDFixture(t)
			for _, from := range allStates {
				t.Run(string(from), func(t *testing.T) {
					id := f.into(t, from)
					err := rq.do(f.acd, id)
					st := f.status(t, id)
					switch want := rq.want[from]; want {
					case "conflict":
						if !isConflict(err) {
							t.Errorf("err = %v, want a StateError", err)
						}
						if st.State != from {
							t.Errorf("state %s after a refused request, want %s", st.State, from)
						}
					case "pending":
						if err != nil || st.State != from || st.PendingPause != "meal" {
							t.Errorf("err = %v, status %+v: want %s with pause meal pending", err, st, from)
						}
					default:
						if err != nil || string(st.State) != want {
							t.Errorf("err = %v, state %s, want %s", err, st.State, want)
						}
					}
					f.checkChain(t, id)
				})
			}
		})
	}
}

func TestAgentPauseReasons(t *testing.T) {
	f := newACDFixture(t)
	ctx := context.Background()
	id := f.into(t, hotline.AgentAvailable)
	for _, reason := range []string{"", "nap", hotline.PauseLogin} {
		if _, err := f.acd.Pause(ctx, id, reason); !errors.Is(err, hotline.ErrInvalid) {
			t.Errorf("pause %q: err = %v, want ErrInvalid", reason, err)
		}
	}
	st, err := f.acd.Pause(ctx, id, "training")
	must(t, err)
	if st.State != hotline.AgentPaused || st.Reason != "training" {
		t.Errorf("status %+v", st)
	}
	// Another reason is another transition.
	f.clock.Advance(time.Minute)
	_, err = f.acd.Pause(ctx, id, "meeting")
	must(t, err)
	if got, want := f.states(t, id), "paused:login available paused:training paused:meeting"; got != want {
		t.Errorf("log %q, want %q", got, want)
	}
	reasons, err := f.acd.PauseReasons(ctx)
	must(t, err)
	var codes []string
	for _, r := range reasons {
		codes = append(codes, r.Code)
	}
	if got, want := strings.Join(codes, " "), "break meal meeting training"; got != want {
		t.Errorf("pause reasons %q, want %q", got, want)
	}
}

func TestAgentPendingPause(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		finish func(f *acdFixture, id int64, offer int64)
		want   string
	}{
		{"after wrap-up", func(f *acdFixture, id, o int64) {
			must(t, f.acd.OfferAnswered(ctx, o))
			must(t, f.acd.ConversationEnded(ctx, o))
			_, err := f.acd.EndWrapUp(ctx, id, "", "")
			must(t, err)
		}, "paused:login available ringing talking wrap_up paused:meal"},
		{"after a ring out", func(f *acdFixture, id, o int64) {
			must(t, f.acd.OfferEnded(ctx, o, hotline.OfferTimeout, "no answer"))
		}, "paused:login available ringing paused:meal"},
		{"after the caller hung up", func(f *acdFixture, id, o int64) {
			must(t, f.acd.OfferEnded(ctx, o, hotline.OfferCancelled, "caller hung up"))
		}, "paused:login available ringing paused:meal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newACDFixture(t)
			id := f.into(t, hotline.AgentRinging)
			st := f.status(t, id)
			_, err := f.acd.Pause(ctx, id, "meal")
			must(t, err)
			tc.finish(f, id, st.OfferID)
			if got := f.states(t, id); got != tc.want {
				t.Errorf("log %q, want %q", got, tc.want)
			}
			if st := f.status(t, id); st.PendingPause != "" || st.CallID != "" || st.OfferID != 0 {
				t.Errorf("status %+v", st)
			}
			f.checkChain(t, id)
		})
	}

	t.Run("cancelled by going available", func(t *testing.T) {
		f := newACDFixture(t)
		id := f.into(t, hotline.AgentTalking)
		o := f.status(t, id).OfferID
		_, err := f.acd.Pause(ctx, id, "meal")
		must(t, err)
		st, err := f.acd.SetAvailable(ctx, id)
		must(t, err)
		if st.State != hotline.AgentTalking || st.PendingPause != "" {
			t.Errorf("status %+v", st)
		}
		must(t, f.acd.ConversationEnded(ctx, o))
		_, err = f.acd.EndWrapUp(ctx, id, "", "")
		must(t, err)
		if st := f.status(t, id); st.State != hotline.AgentAvailable {
			t.Errorf("state %s, want available", st.State)
		}
	})
}

func TestAgentEndWrapUp(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("话", 2001)
	for _, tc := range []struct {
		name, queue, disposition, notes string
		want                            error
	}{
		{"general without disposition", "general", "", "", nil},
		{"general with disposition and notes", "general", "answered", "市民咨询退休待遇", nil},
		{"general, unknown disposition", "general", "work_order", "", hotline.ErrInvalid},
		{"insurance requires one", "insurance", "", "", hotline.ErrInvalid},
		{"insurance with one", "insurance", "work_order", "", nil},
		{"notes too long", "general", "", long, hotline.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newACDFixture(t)
			id := f.agent(t, map[string]int{tc.queue: 3})
			f.ready(t, f.acd, id)
			f.enter(t, tc.queue, 0)
			o := f.assign(t, 1)[0].ID
			must(t, f.acd.OfferAnswered(ctx, o))
			f.clock.Advance(3 * time.Minute)
			must(t, f.acd.ConversationEnded(ctx, o))
			st := f.status(t, id)
			if st.State != hotline.AgentWrapUp || !st.WrapUpUntil.Equal(f.clock.Now().Add(30*time.Second)) || st.OfferID != o {
				t.Fatalf("after the conversation: %+v", st)
			}
			f.clock.Advance(10 * time.Second)
			st, err := f.acd.EndWrapUp(ctx, id, tc.disposition, tc.notes)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				if st := f.status(t, id); st.State != hotline.AgentWrapUp {
					t.Errorf("state %s after a refused wrap-up, want wrap_up", st.State)
				}
				return
			}
			if st.State != hotline.AgentAvailable || !st.IdleSince.Equal(f.clock.Now()) || st.CallID != "" {
				t.Errorf("status %+v", st)
			}
			var row struct {
				Disposition string    `db:"disposition"`
				Notes       string    `db:"notes"`
				TalkEnded   time.Time `db:"talk_ended_at"`
				WrappedUp   time.Time `db:"wrapped_up_at"`
			}
			must(t, f.db.Get(&row, `SELECT disposition, notes, talk_ended_at, wrapped_up_at FROM hotline.offers WHERE id = $1`, o))
			if row.Disposition != tc.disposition || row.Notes != tc.notes || !row.WrappedUp.Equal(f.clock.Now()) ||
				!row.TalkEnded.Equal(f.clock.Now().Add(-10*time.Second)) {
				t.Errorf("offer %+v", row)
			}
		})
	}
}

func TestAgentLogoutInWrapUp(t *testing.T) {
	ctx := context.Background()
	f := newACDFixture(t)
	id := f.agent(t, map[string]int{"insurance": 3})
	f.ready(t, f.acd, id)
	f.enter(t, "insurance", 0)
	o := f.assign(t, 1)[0].ID
	must(t, f.acd.OfferAnswered(ctx, o))
	must(t, f.acd.ConversationEnded(ctx, o))
	if err := f.acd.Logout(ctx, id, "logout"); !isConflict(err) {
		t.Errorf("logout before the required disposition: err = %v, want a StateError", err)
	}
	_, err := f.acd.EndWrapUp(ctx, id, "answered", "")
	must(t, err)
	must(t, f.acd.Logout(ctx, id, "logout"))
	if st := f.status(t, id); st.State != hotline.AgentOffline || st.Session != "" || st.Instance != "" {
		t.Errorf("status %+v", st)
	}
	rows := f.log(t, id)
	if last := rows[len(rows)-1]; last.Cause != "logout" {
		t.Errorf("last transition %+v", last)
	}
}

func TestAgentWrapUpExpires(t *testing.T) {
	f := newACDFixture(t)
	ctx := context.Background()
	id := f.into(t, hotline.AgentWrapUp)
	until := f.status(t, id).WrapUpUntil

	for _, d := range []time.Duration{0, -time.Second, time.Hour} {
		if _, err := f.acd.ExtendWrapUp(ctx, id, d); !errors.Is(err, hotline.ErrInvalid) {
			t.Errorf("extend by %v: err = %v, want ErrInvalid", d, err)
		}
	}
	st, err := f.acd.ExtendWrapUp(ctx, id, time.Minute)
	must(t, err)
	if !st.WrapUpUntil.Equal(until.Add(time.Minute)) {
		t.Errorf("extended to %v, want %v", st.WrapUpUntil, until.Add(time.Minute))
	}

	f.clock.Advance(30 * time.Second) // the first 30 s are up, not the extension
	n, err := f.acd.ExpireWrapUps(ctx)
	must(t, err)
	if n != 0 {
		t.Errorf("expired %d before the extension ran out", n)
	}
	f.clock.Advance(time.Minute)
	n, err = f.acd.ExpireWrapUps(ctx)
	must(t, err)
	if n != 1 {
		t.Errorf("expired %d, want 1", n)
	}
	st = f.status(t, id)
	if st.State != hotline.AgentAvailable || !st.WrapUpUntil.IsZero() || !st.IdleSince.Equal(f.clock.Now()) {
		t.Errorf("status %+v", st)
	}
	if rows := f.log(t, id); rows[len(rows)-1].Cause != "wrap_up_expired" {
		t.Errorf("last transition %+v", rows[len(rows)-1])
	}
	f.checkChain(t, id)
}

func TestAgentForceState(t *testing.T) {
	ctx := context.Background()
	f := newACDFixture(t)
	plain := f.agent(t, nil)

	t.Run("not a supervisor", func(t *testing.T) {
		id := f.into(t, hotline.AgentAvailable)
		for _, actor := range []int64{plain, id + 1000} {
			if _, err := f.acd.ForceState(ctx, actor, id, hotline.AgentOffline, ""); !errors.Is(err, hotline.ErrForbidden) {
				t.Errorf("actor %d: err = %v, want ErrForbidden", actor, err)
			}
		}
		if _, err := f.acd.ForceState(ctx, f.boss, id, hotline.AgentTalking, ""); !errors.Is(err, hotline.ErrInvalid) {
			t.Errorf("force talking: err = %v, want ErrInvalid", err)
		}
	})

	for _, tc := range []struct {
		from   hotline.AgentState
		to     hotline.AgentState
		reason string
		want   string // the state after, "pending", or "conflict"
	}{
		{hotline.AgentTalking, hotline.AgentOffline, "", "offline"},
		{hotline.AgentRinging, hotline.AgentOffline, "", "offline"},
		{hotline.AgentWrapUp, hotline.AgentOffline, "", "offline"},
		{hotline.AgentOffline, hotline.AgentOffline, "", "conflict"},
		{hotline.AgentPaused, hotline.AgentAvailable, "", "available"},
		{hotline.AgentWrapUp, hotline.AgentAvailable, "", "available"},
		{hotline.AgentTalking, hotline.AgentAvailable, "", "conflict"},
		{hotline.AgentAvailable, hotline.AgentPaused, "meeting", "paused"},
		{hotline.AgentTalking, hotline.AgentPaused, "meeting", "pending"},
	} {
		t.Run(fmt.Sprintf("%s to %s", tc.from, tc.to), func(t *testing.T) {
			id := f.into(t, tc.from)
			audits := f.int(t, `SELECT count(*) FROM hotline.audit_log WHERE action = $1`, postgres.AuditForceState)
			st, err := f.acd.ForceState(ctx, f.boss, id, tc.to, tc.reason)
			switch tc.want {
			case "conflict":
				if !isConflict(err) {
					t.Errorf("err = %v, want a StateError", err)
				}
				return
			case "pending":
				if err != nil || st.State != tc.from || st.PendingPause != tc.reason {
					t.Errorf("err = %v, status %+v", err, st)
				}
			default:
				if err != nil || string(st.State) != tc.want {
					t.Errorf("err = %v, status %+v, want %s", err, st, tc.want)
				}
			}
			var a struct {
				Actor  int64  `db:"actor_id"`
				Object string `db:"object_id"`
				Detail string `db:"detail"`
			}
			must(t, f.db.Get(&a, `SELECT actor_id, object_id, detail::text AS detail FROM hotline.audit_log
				WHERE action = $1 ORDER BY id DESC LIMIT 1`, postgres.AuditForceState))
			if n := f.int(t, `SELECT count(*) FROM hotline.audit_log WHERE action = $1`, postgres.AuditForceState); n != audits+1 ||
				a.Actor != f.boss || a.Object != fmt.Sprint(id) || !strings.Contains(a.Detail, `"to": "`+string(tc.to)+`"`) {
				t.Errorf("audit %+v (%d rows, had %d)", a, n, audits)
			}
			f.checkChain(t, id)
		})
	}

	t.Run("the call of an agent forced out runs its course", func(t *testing.T) {
		id := f.into(t, hotline.AgentRinging)
		o := f.status(t, id).OfferID
		_, err := f.acd.ForceState(ctx, f.boss, id, hotline.AgentOffline, "")
		must(t, err)
		// The phone was answered all the same: the call is answered, the agent stays out.
		must(t, f.acd.OfferAnswered(ctx, o))
		must(t, f.acd.ConversationEnded(ctx, o))
		if st := f.status(t, id); st.State != hotline.AgentOffline {
			t.Errorf("state %s, want offline", st.State)
		}
		if got := f.int(t, `SELECT count(*) FROM hotline.queue_entries WHERE offer_id = $1 AND outcome = 'answered'`, o); got != 1 {
			t.Errorf("entry not answered")
		}
		f.checkChain(t, id)
	})
}

func TestAgentStatusOfAgentNeverLoggedIn(t *testing.T) {
	f := newACDFixture(t)
	ctx := context.Background()
	id := f.agent(t, nil)
	st, err := f.acd.Status(ctx, id)
	if err != nil || st.State != hotline.AgentOffline || st.LoggedIn() {
		t.Errorf("status %+v, err %v", st, err)
	}
	if _, err := f.acd.Status(ctx, id+1000); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("unknown agent: err = %v, want ErrNotFound", err)
	}
	if _, err := f.acd.SetAvailable(ctx, id+1000); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("unknown agent available: err = %v, want ErrNotFound", err)
	}
}

func TestAgentStateTimes(t *testing.T) {
	f := newACDFixture(t)
	ctx := context.Background()
	id := f.agent(t, map[string]int{"general": 3})
	// The day before: logged in at 23:00, available at 23:30, still available at midnight.
	f.clock.t = time.Date(2026, 3, 9, 23, 0, 0, 0, cst)
	_, _, err := f.acd.Login(ctx, id, "s")
	must(t, err)
	f.clock.Advance(30 * time.Minute)
	_, err = f.acd.SetAvailable(ctx, id)
	must(t, err)
	// 10 March: available until 01:00, a break of 15 min, available, a meal of 45 min at
	// 12:00, available until 18:00, logged out.
	f.clock.t = time.Date(2026, 3, 10, 1, 0, 0, 0, cst)
	_, err = f.acd.Pause(ctx, id, "break")
	must(t, err)
	f.clock.Advance(15 * time.Minute)
	_, err = f.acd.SetAvailable(ctx, id)
	must(t, err)
	f.clock.t = time.Date(2026, 3, 10, 12, 0, 0, 0, cst)
	_, err = f.acd.Pause(ctx, id, "meal")
	must(t, err)
	f.clock.Advance(45 * time.Minute)
	_, err = f.acd.SetAvailable(ctx, id)
	must(t, err)
	f.clock.t = time.Date(2026, 3, 10, 18, 0, 0, 0, cst)
	must(t, f.acd.Logout(ctx, id, "logout"))
	f.clock.t = time.Date(2026, 3, 11, 10, 0, 0, 0, cst)

	for _, tc := range []struct {
		name   string
		day    time.Time
		states map[hotline.AgentState]time.Duration
		paused map[string]time.Duration
	}{
		{"the day before", time.Date(2026, 3, 9, 15, 0, 0, 0, cst),
			map[hotline.AgentState]time.Duration{hotline.AgentOffline: 23 * time.Hour, hotline.AgentPaused: 30 * time.Minute,
				hotline.AgentAvailable: 30 * time.Minute},
			map[string]time.Duration{hotline.PauseLogin: 30 * time.Minute}},
		{"the day", time.Date(2026, 3, 10, 0, 0, 0, 0, cst),
			map[hotline.AgentState]time.Duration{hotline.AgentAvailable: 17 * time.Hour, hotline.AgentPaused: time.Hour,
				hotline.AgentOffline: 6 * time.Hour},
			map[string]time.Duration{"break": 15 * time.Minute, "meal": 45 * time.Minute}},
		{"the day, asked in UTC", time.Date(2026, 3, 9, 16, 30, 0, 0, time.UTC),
			map[hotline.AgentState]time.Duration{hotline.AgentAvailable: 17 * time.Hour, hotline.AgentPaused: time.Hour,
				hotline.AgentOffline: 6 * time.Hour},
			map[string]time.Duration{"break": 15 * time.Minute, "meal": 45 * time.Minute}},
		{"today so far", time.Date(2026, 3, 11, 0, 0, 0, 0, cst),
			map[hotline.AgentState]time.Duration{hotline.AgentOffline: 10 * time.Hour},
			map[string]time.Duration{}},
		{"tomorrow", time.Date(2026, 3, 12, 0, 0, 0, 0, cst),
			map[hotline.AgentState]time.Duration{}, map[string]time.Duration{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, err := f.acd.StateTimes(ctx, id, tc.day)
			must(t, err)
			if got, want := fmt.Sprint(st.States), fmt.Sprint(tc.states); got != want {
				t.Errorf("states %s, want %s", got, want)
			}
			if got, want := fmt.Sprint(st.Paused), fmt.Sprint(tc.paused); got != want {
				t.Errorf("paused %s, want %s", got, want)
			}
		})
	}
	if _, err := f.acd.StateTimes(ctx, id+1000, f.clock.Now()); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("unknown agent: err = %v", err)
	}
}

func TestAgentQueueCounts(t *testing.T) {
	f := newACDFixture(t)
	ctx := context.Background()
	id := f.agent(t, map[string]int{"general": 3, "insurance": 2})
	f.enter(t, "general", 0)
	f.clock.Advance(40 * time.Second)
	f.enter(t, "general", 5)
	f.enter(t, "insurance", 0)
	f.enter(t, "housing", 0) // not the agent's
	// A call of an instance that stopped answering is not waiting.
	c := postgres.NewACD(f.store, "c")
	must(t, c.Start(ctx))
	f.exec(t, `UPDATE hotline.instances SET heartbeat_at = $1 WHERE id = 'c'`, f.clock.Now().Add(-time.Hour))
	_, err := f.ivr.EnterQueue(ctx, f.call(t, "c"), "general", 0)
	must(t, err)
	// One offered: still waiting.
	other := f.agent(t, map[string]int{"insurance": 3})
	f.ready(t, f.acd, other)
	f.assign(t, 10)
	f.clock.Advance(20 * time.Second)
	must(t, f.acd.Heartbeat(ctx))

	counts, err := f.acd.QueueCounts(ctx, id)
	must(t, err)
	want := []hotline.QueueCount{
		{Queue: "general", Name: "综合咨询", Waiting: 2, OldestWait: time.Minute},
		{Queue: "insurance", Name: "社会保障咨询", Waiting: 1, Offered: 1, OldestWait: 20 * time.Second},
	}
	if got, want := fmt.Sprintf("%+v", counts), fmt.Sprintf("%+v", want); got != want {
		t.Errorf("counts\n%s, want\n%s", got, want)
	}
}
