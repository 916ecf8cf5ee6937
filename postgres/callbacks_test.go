package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
)

func TestCallbackAttempts(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.store.SetCallbackSpacing(time.Minute)
	f.exec(t, `INSERT INTO hotline.skills (id, name) VALUES ('general', '综合')`)
	f.exec(t, `INSERT INTO hotline.queues (id, name, skill_id) VALUES ('general', '综合咨询', 'general')`)
	newCallback := func() int64 {
		return f.id64(t, `INSERT INTO hotline.callbacks (number, queue_id, requested_at) VALUES ('13800138000', 'general', $1) RETURNING id`, f.clock.Now())
	}
	type state struct {
		Status   string    `db:"status"`
		Attempts int       `db:"attempts"`
		Last     string    `db:"last_outcome"`
		Next     time.Time `db:"next_attempt_at"`
		Done     bool      `db:"done"`
	}
	read := func(id int64) state {
		var st state
		if err := f.db.GetContext(ctx, &st, `SELECT status, attempts, last_outcome, next_attempt_at, done_at IS NOT NULL AS done
			FROM hotline.callbacks WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		return st
	}
	try := func(id int64, outcome string) {
		t.Helper()
		if err := f.store.CallbackAttempted(ctx, hotline.CallbackTask{ID: id}, 0, 0, "", outcome, "test"); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("unanswered tries are spaced, then it fails", func(t *testing.T) {
		id := newCallback()
		try(id, "") // the agent did not take it: no try used
		if st := read(id); st.Status != "pending" || st.Attempts != 0 {
			t.Fatalf("after a release: %+v", st)
		}
		try(id, hotline.AttemptNoAnswer)
		st := read(id)
		if st.Status != "pending" || st.Attempts != 1 || !st.Next.Equal(f.clock.Now().Add(time.Minute)) {
			t.Errorf("after one no-answer: %+v, want pending, 1 try, next in 1 min", st)
		}
		try(id, hotline.AttemptBusy)
		if st := read(id); st.Status != "pending" || !st.Next.Equal(f.clock.Now().Add(2*time.Minute)) {
			t.Errorf("after the second try: %+v, want the next in 2 min", st)
		}
		try(id, hotline.AttemptNoAnswer)
		if st := read(id); st.Status != "failed" || st.Attempts != 3 || !st.Done {
			t.Errorf("after three tries: %+v, want failed and done", st)
		}
		var n int
		if err := f.db.GetContext(ctx, &n, `SELECT count(*) FROM hotline.callback_attempts WHERE callback_id = $1`, id); err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Errorf("%d attempts recorded, want 3", n)
		}
	})
	t.Run("answered is done", func(t *testing.T) {
		id := newCallback()
		try(id, hotline.AttemptNoAnswer)
		try(id, hotline.AttemptAnswered)
		if st := read(id); st.Status != "done" || st.Attempts != 2 || st.Last != "answered" || !st.Done {
			t.Errorf("after an answer: %+v", st)
		}
	})
	t.Run("unknown callback", func(t *testing.T) {
		err := f.store.CallbackAttempted(ctx, hotline.CallbackTask{ID: 999999}, 0, 0, "", hotline.AttemptBusy, "")
		if err == nil {
			t.Error("an unknown callback was recorded")
		}
	})
}
