package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

// TestCallLogLosesNothingInADatabaseOutage records calls from 30 callers while the database
// is unreachable for 30 s (connections cut, new ones refused): no caller waits on the log,
// records beyond the memory buffer go to the spool file, and when the database is back every
// call, step, recording and end is written.
func TestCallLogLosesNothingInADatabaseOutage(t *testing.T) {
	const callers, stepsPerCall = 30, 8
	raw := pgtest.URL(t)
	proxy, through := pgtest.NewProxy(t, raw)
	check, err := sqlx.Open("postgres", raw)
	must(t, err)
	defer check.Close()
	db, err := sqlx.Open("postgres", through)
	must(t, err)
	defer db.Close()
	ctx := context.Background()
	l := postgres.NewCallLog(db, quiet(), postgres.CallLogOptions{Buffer: 500, SpoolDir: t.TempDir(),
		MaxBackoff: 200 * time.Millisecond, WriteTimeout: 2 * time.Second})
	defer l.Close(ctx)

	stop := make(chan struct{})
	var (
		mu    sync.Mutex
		calls []string
		wg    sync.WaitGroup
		errs  = make(chan error, callers)
	)
	for i := range callers {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					errs <- nil
					return
				default:
				}
				id := newUUID()
				err := l.StartCall(ctx, hotline.CallRecord{ID: id, Node: "ast1", ChannelID: fmt.Sprintf("c-%d-%d", i, n),
					CallerNumber: "13800138000", StartedAt: t0})
				for seq := 1; seq <= stepsPerCall && err == nil; seq++ {
					if err = l.Step(ctx, entry(id, seq, "n")); err == nil {
						time.Sleep(25 * time.Millisecond)
						err = l.Step(ctx, exit(id, seq, "n", "next", ""))
					}
				}
				if err == nil {
					// A conversation recorded: its row at the start, its length at the end.
					r := hotline.Recording{CallID: id, Kind: hotline.RecordingConversation, Node: "ast1",
						Name: "conv-" + id, Format: "wav", StartedAt: t0.Add(10 * time.Second)}
					if err = l.Recording(ctx, r); err == nil {
						r.Duration = 30 * time.Second
						err = l.Recording(ctx, r)
					}
				}
				if err == nil {
					err = l.EndCall(ctx, hotline.CallEnd{CallID: id, EndedAt: t0.Add(time.Minute), Outcome: hotline.OutcomeSelfServed,
						Survey: 1 + n%5, SurveyAt: t0.Add(50 * time.Second)})
				}
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				calls = append(calls, id)
				mu.Unlock()
			}
		})
	}
	time.Sleep(2 * time.Second)
	proxy.Down()
	time.Sleep(30 * time.Second)
	if st := l.Stats(); st.Spilled == 0 || st.Retries == 0 {
		t.Errorf("during the outage: stats = %+v, want records spilled and batches retried", st)
	}
	proxy.Up()
	time.Sleep(2 * time.Second)
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	flush, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	must(t, l.Flush(flush))

	var n struct {
		Calls   int `db:"calls"`
		Ended   int `db:"ended"`
		Steps   int `db:"steps"`
		Open    int `db:"open"`
		Surveys int `db:"surveys"`
		Records int `db:"records"`
	}
	must(t, check.Get(&n, `SELECT (SELECT count(*) FROM hotline.calls) AS calls,
		(SELECT count(*) FROM hotline.calls WHERE ended_at IS NOT NULL) AS ended,
		(SELECT count(*) FROM hotline.call_steps) AS steps,
		(SELECT count(*) FROM hotline.call_steps WHERE left_at IS NULL) AS open,
		(SELECT count(*) FROM hotline.survey_answers) AS surveys,
		(SELECT count(*) FROM hotline.recordings WHERE duration_ms = 30000) AS records`))
	want := len(calls)
	if n.Calls != want || n.Ended != want || n.Steps != want*stepsPerCall || n.Open != 0 || n.Surveys != want || n.Records != want {
		t.Errorf("written %+v, want %d calls ended with %d steps, a survey answer and a recording of its length each, none open",
			n, want, stepsPerCall)
	}
	st := l.Stats()
	if st.Failed != 0 || st.Pending != 0 {
		t.Errorf("stats = %+v, want none failed or pending", st)
	}
	t.Logf("%d calls, %d records; %d spilled to disk, %d retries", want, st.Written, st.Spilled, st.Retries)
}

// TestCallLogNeverWaits queues many records while the database is unreachable: with a small
// buffer every record still returns at once (to the spool file), and StartCall does not try
// the database.
func TestCallLogNeverWaits(t *testing.T) {
	raw := pgtest.URL(t)
	proxy, through := pgtest.NewProxy(t, raw)
	proxy.Down()
	db, err := sqlx.Open("postgres", through)
	must(t, err)
	defer db.Close()
	l := postgres.NewCallLog(db, quiet(), postgres.CallLogOptions{Buffer: 10, MaxBatch: 5, SpoolDir: t.TempDir()})
	done := make(chan error, 1)
	go func() {
		ctx := context.Background()
		for i := range 100 {
			id := newUUID()
			if err := l.StartCall(ctx, hotline.CallRecord{ID: id, Node: "ast1", ChannelID: fmt.Sprint("c-", i),
				CallerNumber: "13800138000", StartedAt: t0}); err != nil {
				done <- err
				return
			}
			for seq := 1; seq <= 10; seq++ {
				if err := l.Step(ctx, entry(id, seq, "n")); err != nil {
					done <- err
					return
				}
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("queueing call records waited for the database")
	}
	if st := l.Stats(); st.Pending != 1100 || st.Spilled < 1000 {
		t.Errorf("stats = %+v, want 1100 pending, most spilled", st)
	}
	proxy.Up()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must(t, l.Close(ctx))
	if st := l.Stats(); st.Written != 1100 || st.Failed != 0 {
		t.Errorf("after the database came back: stats = %+v, want 1100 written", st)
	}
}
