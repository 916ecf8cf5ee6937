package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/foshan-hotline/hotline"
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

// flowStore is a database with two published flows and a supervisor.
type flowStore struct {
	db  *sqlx.DB
	url string
	sup int64
}

func newFlowStore(t *testing.T) *flowStore {
	t.Helper()
	url := pgtest.URL(t)
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if _, err := postgres.PublishFlows(ctx, db, []postgres.FlowSource{{"main", "flow: main\nstart: a\n"}, {"bills", "flow: bills\nstart: b\n"}}, 0); err != nil {
		t.Fatal(err)
	}
	var sup int64
	if err := db.GetContext(ctx, &sup, `INSERT INTO hotline.agents (username, display_name, role, password_hash)
		VALUES ('lead', '李班长', 'supervisor', 'x') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	return &flowStore{db: db, url: url, sup: sup}
}

func (s *flowStore) versions(t *testing.T, name string) string {
	t.Helper()
	vs, err := postgres.FlowVersions(context.Background(), s.db, name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		mark := ""
		if v.Active {
			mark = "*"
		}
		if v.RestoredFrom != 0 {
			mark += fmt.Sprintf("<%d", v.RestoredFrom)
		}
		out = append(out, fmt.Sprintf("%d%s", v.Version, mark))
	}
	return strings.Join(out, " ")
}

func (s *flowStore) audits(t *testing.T) []string {
	t.Helper()
	var rows []struct {
		Action string `db:"action"`
		Object string `db:"object_id"`
		Actor  *int64 `db:"actor_id"`
		Detail string `db:"detail"`
	}
	if err := s.db.SelectContext(context.Background(), &rows, `SELECT action, object_id, actor_id, detail::text AS detail
		FROM hotline.audit_log WHERE object_type = 'flow' ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		var d struct {
			Version, FromVersion, RestoredFrom int
			Diff                               string
		}
		var raw map[string]any
		json.Unmarshal([]byte(r.Detail), &raw)
		d.Version, d.FromVersion = int(raw["version"].(float64)), int(raw["from_version"].(float64))
		d.Diff, _ = raw["diff"].(string)
		actor := "system"
		if r.Actor != nil {
			actor = "sup"
		}
		out = append(out, fmt.Sprintf("%s %s %s %d→%d %q", r.Action, r.Object, actor, d.FromVersion, d.Version, d.Diff))
	}
	return out
}

func TestPublishFlowDraft(t *testing.T) {
	s := newFlowStore(t)
	ctx := context.Background()
	if _, err := postgres.SaveFlowDraft(ctx, s.db, "bills", "flow: bills\nstart: c\n", s.sup); err != nil {
		t.Fatal(err)
	}
	d, err := postgres.FlowDraftOf(ctx, s.db, "bills")
	if err != nil {
		t.Fatal(err)
	}
	if d.BaseVersion != 1 || d.SavedBy != "李班长" {
		t.Errorf("draft = %+v, want base version 1 saved by 李班长", d)
	}

	// A verifier that refuses leaves everything as it was: the version, the draft, the log.
	refused := errors.New("tests failed")
	var seen map[string]string
	_, err = postgres.PublishFlowDraft(ctx, s.db, "bills", s.sup, func(_ context.Context, set map[string]string) error {
		seen = set
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("publish with a refusing verifier: %v", err)
	}
	if got, want := seen["bills"], "flow: bills\nstart: c\n"; got != want {
		t.Errorf("verifier saw bills %q, want the draft %q", got, want)
	}
	if got, want := seen["main"], "flow: main\nstart: a\n"; got != want {
		t.Errorf("verifier saw main %q, want the published %q", got, want)
	}
	if got, want := s.versions(t, "bills"), "1*"; got != want {
		t.Errorf("after a refused publish: versions %s, want %s", got, want)
	}
	if _, err := postgres.FlowDraftOf(ctx, s.db, "bills"); err != nil {
		t.Errorf("after a refused publish the draft is gone: %v", err)
	}

	v, err := postgres.PublishFlowDraft(ctx, s.db, "bills", s.sup, func(context.Context, map[string]string) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if v.Version != 2 {
		t.Errorf("published version %d, want 2", v.Version)
	}
	if got, want := s.versions(t, "bills"), "2* 1"; got != want {
		t.Errorf("versions %s, want %s", got, want)
	}
	if _, err := postgres.FlowDraftOf(ctx, s.db, "bills"); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("draft after publish: %v, want not found", err)
	}
	if _, err := postgres.PublishFlowDraft(ctx, s.db, "bills", s.sup, nil); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("publish without a draft: %v, want not found", err)
	}
	// A draft that is the published text is refused.
	postgres.SaveFlowDraft(ctx, s.db, "bills", "flow: bills\nstart: c\n", s.sup)
	if _, err := postgres.PublishFlowDraft(ctx, s.db, "bills", s.sup, nil); !errors.Is(err, hotline.ErrConflict) {
		t.Errorf("publish of the published text: %v, want conflict", err)
	}

	// Roll back to 1: version 3 with 1's text.
	if _, err := postgres.RollbackFlow(ctx, s.db, "bills", 2, s.sup, nil); !errors.Is(err, hotline.ErrConflict) {
		t.Errorf("roll back to the active version: %v, want conflict", err)
	}
	if _, err := postgres.RollbackFlow(ctx, s.db, "bills", 9, s.sup, nil); !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("roll back to no version: %v, want not found", err)
	}
	if _, err := postgres.RollbackFlow(ctx, s.db, "bills", 1, s.sup, func(context.Context, map[string]string) error { return refused }); !errors.Is(err, refused) {
		t.Errorf("refused roll back: %v", err)
	}
	rb, err := postgres.RollbackFlow(ctx, s.db, "bills", 1, s.sup, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rb.Version != 3 || rb.Source != "flow: bills\nstart: b\n" {
		t.Errorf("rollback = %+v", rb)
	}
	if got, want := s.versions(t, "bills"), "3*<1 2 1"; got != want {
		t.Errorf("versions %s, want %s", got, want)
	}
	// A draft saved before the rollback is stale: publishing it would undo version 3 unseen.
	if _, err := postgres.PublishFlowDraft(ctx, s.db, "bills", s.sup, nil); !errors.Is(err, hotline.ErrConflict) ||
		!strings.Contains(err.Error(), "started from version 2, but version 3") {
		t.Errorf("publish of a stale draft: %v, want conflict", err)
	}
	src, err := postgres.FlowVersionSource(ctx, s.db, "bills", 2)
	if err != nil || src.Source != "flow: bills\nstart: c\n" || src.PublishedBy != "李班长" {
		t.Errorf("version 2 = %+v, %v", src, err)
	}

	postgres.DeleteFlowDraft(ctx, s.db, "bills")
	postgres.DeleteFlowDraft(ctx, s.db, "bills")
	want := []string{
		`flow_import bills system 0→1 "--- bills v0\n+++ bills v1\n@@ -0,0 +1,2 @@\n+flow: bills\n+start: b\n"`,
		`flow_import main system 0→1 "--- main v0\n+++ main v1\n@@ -0,0 +1,2 @@\n+flow: main\n+start: a\n"`,
		`flow_publish bills sup 1→2 "--- bills v1\n+++ bills v2\n@@ -1,2 +1,2 @@\n flow: bills\n-start: b\n+start: c\n"`,
		`flow_rollback bills sup 2→3 "--- bills v2\n+++ bills v3\n@@ -1,2 +1,2 @@\n flow: bills\n-start: c\n+start: b\n"`,
	}
	got := s.audits(t)
	slices.Sort(got[:2])
	if !slices.Equal(got, want) {
		t.Errorf("audit rows:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	list, err := postgres.FlowSummaries(ctx, s.db)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, f := range list {
		rows = append(rows, fmt.Sprintf("%s v%d %q draft=%t", f.Flow, f.Version, f.PublishedBy, f.Draft))
	}
	if got, want := strings.Join(rows, "; "), `bills v3 "李班长" draft=false; main v1 "" draft=false`; got != want {
		t.Errorf("summaries %s, want %s", got, want)
	}
}

// TestPublishFlowDraftSerialised publishes two drafts of one flow at once: each sees the
// other's result, and the versions are numbered without a gap or a duplicate.
func TestPublishFlowDraftSerialised(t *testing.T) {
	s := newFlowStore(t)
	ctx := context.Background()
	postgres.SaveFlowDraft(ctx, s.db, "main", "flow: main\nstart: x\n", s.sup)
	inVerify := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		_, err := postgres.PublishFlowDraft(ctx, s.db, "main", s.sup, func(context.Context, map[string]string) error {
			close(inVerify)
			<-release
			return nil
		})
		done <- err
	}()
	<-inVerify
	// While the first publish verifies, a second waits for it, then finds no draft.
	second := make(chan error)
	go func() {
		_, err := postgres.PublishFlowDraft(ctx, s.db, "main", s.sup, nil)
		second <- err
	}()
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := <-second; !errors.Is(err, hotline.ErrNotFound) {
		t.Errorf("second publish: %v, want not found (the draft was published)", err)
	}
	if got, want := s.versions(t, "main"), "2* 1"; got != want {
		t.Errorf("versions %s, want %s", got, want)
	}
}

func TestListenFlows(t *testing.T) {
	s := newFlowStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 10)
	go postgres.ListenFlows(ctx, s.url, func(name string) { got <- name }, nil)
	next := func() string {
		select {
		case n := <-got:
			return n
		case <-time.After(30 * time.Second): // a guard against hanging, not a timing check
			t.Fatal("no notification")
			return ""
		}
	}
	if n := next(); n != "" {
		t.Fatalf("first call %q, want the initial load", n)
	}
	postgres.SaveFlowDraft(ctx, s.db, "survey", "flow: survey\n", s.sup)
	if n := next(); n != "survey" {
		t.Errorf("after saving a draft: %q, want survey", n)
	}
	if _, err := postgres.PublishFlowDraft(ctx, s.db, "survey", s.sup, nil); err != nil {
		t.Fatal(err)
	}
	if n := next(); n != "survey" {
		t.Errorf("after publishing: %q, want survey", n)
	}
}

func TestDiffLines(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"", "", ""},
		{"a\nb\nc\n", "a\nb\nc\n", ""},
		{"a\nb\nc\n", "a\nx\nc\n", "--- A\n+++ B\n@@ -1,3 +1,3 @@\n a\n-b\n+x\n c\n"},
		{"a\n", "", "--- A\n+++ B\n@@ -1,1 +0,0 @@\n-a\n"},
		{"1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n", "--- A\n+++ B\n@@ -7,3 +7,4 @@\n 7\n 8\n 9\n+10\n"},
		{"x\n1\n2\n3\n4\n5\n6\n7\n8\ny\n", "1\n2\n3\n4\n5\n6\n7\n8\n", "--- A\n+++ B\n@@ -1,4 +1,3 @@\n-x\n 1\n 2\n 3\n@@ -7,4 +6,3 @@\n 6\n 7\n 8\n-y\n"},
	} {
		if got := postgres.UnifiedDiff(tc.a, tc.b, "A", "B"); got != tc.want {
			t.Errorf("UnifiedDiff(%q, %q) =\n%s\nwant\n%s", tc.a, tc.b, got, tc.want)
		}
	}
}
