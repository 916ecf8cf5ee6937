package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/foshan-hotline/hotline/postgres"
	"github.com/foshan-hotline/hotline/postgres/pgtest"
)

func TestPublishFlows(t *testing.T) {
	db := pgtest.DB(t)
	ctx := context.Background()
	first, err := postgres.PublishFlows(ctx, db, []postgres.FlowSource{{"main", "a"}, {"bills", "b"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	again, err := postgres.PublishFlows(ctx, db, []postgres.FlowSource{{"main", "a"}, {"bills", "b2"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := again["main"], first["main"]; got != want {
		t.Errorf("unchanged flow got version id %d, want %d", got, want)
	}
	if again["bills"] == first["bills"] {
		t.Error("changed flow kept its version id")
	}
	var versions []struct {
		Flow    string `db:"flow"`
		Version int    `db:"version"`
		Active  bool   `db:"active"`
	}
	if err := db.SelectContext(ctx, &versions, `SELECT flow, version, active FROM hotline.flow_versions ORDER BY flow, version`); err != nil {
		t.Fatal(err)
	}
	want := []string{"bills 1 false", "bills 2 true", "main 1 true"}
	if len(versions) != len(want) {
		t.Fatalf("versions = %+v", versions)
	}
	for i, v := range versions {
		if got := fmt.Sprintf("%s %d %t", v.Flow, v.Version, v.Active); got != want[i] {
			t.Errorf("version %d = %s, want %s", i, got, want[i])
		}
	}
}
