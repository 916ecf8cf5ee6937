package ivr_test

import (
	"context"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline/ivr"
	"github.com/foshan-hotline/hotline/pii"
	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
	"github.com/foshan-hotline/hotline/postgres/seed"
)

// TestDatesSpokenInFoshanTime reads an application's last update from a database whose
// TimeZone is UTC: 2026-03-15 21:23 UTC is 2026-03-16 05:23 in Foshan, and the caller
// hears 三月十六日.
func TestDatesSpokenInFoshanTime(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var name string
	must(t, db.GetContext(ctx, &name, `SELECT current_database()`))
	if _, err := db.ExecContext(ctx, `ALTER DATABASE "`+name+`" SET TimeZone = 'UTC'`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tz string
	must(t, db.GetContext(ctx, &tz, `SHOW TimeZone`))
	if tz != "UTC" {
		t.Fatalf("session TimeZone = %q, want UTC", tz)
	}

	keys, err := pii.GenerateKeys()
	must(t, err)
	prot, err := pii.NewProtector(keys)
	must(t, err)
	if _, err := seed.Run(ctx, db, seed.Options{Citizens: 40, Seed: 1, Protector: prot, PINCost: 4}); err != nil {
		t.Fatal(err)
	}
	var caseNumber string
	must(t, db.GetContext(ctx, &caseNumber, `
		UPDATE platform.applications
		SET submitted_at = '2026-03-01 09:00:00+08', updated_at = '2026-03-15 21:23:00+00'
		WHERE id = (SELECT min(id) FROM platform.applications)
		RETURNING case_number`))

	cfg := shipped(t)
	rec, svc := newMemRecorder(), &fakeServices{}
	store := postgres.New(db, prot, nil)
	cfg.Sources, cfg.Services, cfg.Recorder = &ivr.PlatformSources{Data: store}, svc, rec
	r := startRigWith(t, cfg, rec, svc)
	c, ctx := r.call(t, "13800138000")
	toMainMenu(t, c, ctx)
	must(t, c.Press(ctx, "2", 0))
	must(t, c.Expect(ctx, "progress/menu"))
	must(t, c.Press(ctx, "1", 0))
	must(t, c.Expect(ctx, "progress/enter_case"))
	must(t, c.Press(ctx, caseNumber+"#", 0))
	// 二零二六年三月十六日
	must(t, c.Expect(ctx, "progress/updated"))
	must(t, c.ExpectSeq(ctx, "num/2", "num/0", "num/2", "num/6", "date/year", "num/3", "date/month", "num/shi", "num/6", "date/day"))
	must(t, c.Hangup())
}
