package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// districts is what prepare puts into the template.
const districts = 5

// leaked is a pool prepare leaves open on purpose: Main must cope with a
// session still connected to the template.
var leaked *sql.DB

func TestMain(m *testing.M) {
	Main(m, func(ctx context.Context, url string) error {
		db, err := sql.Open("postgres", url)
		if err != nil {
			return err
		}
		leaked = db
		_, err = db.ExecContext(ctx, `CREATE TABLE district (code text PRIMARY KEY, name text NOT NULL);
			INSERT INTO district VALUES ('440604', '禅城区'), ('440605', '南海区'), ('440606', '顺德区'),
				('440607', '三水区'), ('440608', '高明区')`)
		return err
	})
}

// count returns the number of rows of a query's result.
func count(t *testing.T, db interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func TestDBHasTemplateContent(t *testing.T) {
	t.Parallel()
	db := DB(t)
	if got, want := count(t, db, "SELECT count(*) FROM district"), districts; got != want {
		t.Errorf("districts = %d, want %d", got, want)
	}
	var name string
	if err := db.Get(&name, "SELECT name FROM district WHERE code = $1", "440606"); err != nil {
		t.Fatal(err)
	}
	if got, want := name, "顺德区"; got != want {
		t.Errorf("district 440606 = %q, want %q", got, want)
	}
}

func TestDBsAreIsolated(t *testing.T) {
	t.Parallel()
	a, b := DB(t), DB(t)
	if _, err := a.Exec("DELETE FROM district"); err != nil {
		t.Fatal(err)
	}
	if got, want := count(t, a, "SELECT count(*) FROM district"), 0; got != want {
		t.Errorf("districts after delete = %d, want %d", got, want)
	}
	if got, want := count(t, b, "SELECT count(*) FROM district"), districts; got != want {
		t.Errorf("districts in the other database = %d, want %d", got, want)
	}
}

func TestURL(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("postgres", URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got, want := count(t, db, "SELECT count(*) FROM district"), districts; got != want {
		t.Errorf("districts = %d, want %d", got, want)
	}
}

func TestEmptyDB(t *testing.T) {
	t.Parallel()
	db := EmptyDB(t)
	if got, want := count(t, db, "SELECT count(*) FROM pg_tables WHERE tablename = 'district'"), 0; got != want {
		t.Errorf("district tables in an empty database = %d, want %d", got, want)
	}
}

func TestConcurrentDBs(t *testing.T) {
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			db := DB(t)
			if _, err := db.Exec("INSERT INTO district VALUES ($1, $2)", fmt.Sprint(i), "测试"); err != nil {
				t.Fatal(err)
			}
			if got, want := count(t, db, "SELECT count(*) FROM district"), districts+1; got != want {
				t.Errorf("districts = %d, want %d", got, want)
			}
		})
	}
}

func TestDatabaseDroppedWhenTestEnds(t *testing.T) {
	var name string
	t.Run("user", func(t *testing.T) {
		db := DB(t)
		if err := db.Get(&name, "SELECT current_database()"); err != nil {
			t.Fatal(err)
		}
		// A session the test forgets must not stop the drop.
		conn, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		_ = conn // deliberately never closed
	})
	if name == "" {
		t.Fatal("no database name")
	}
	if !strings.HasPrefix(name, current.prefix+"_") || !strings.HasSuffix(name, "_user") {
		t.Errorf("database name %q does not carry the prefix %q and the test's name", name, current.prefix)
	}
	if got, want := count(t, current.admin, "SELECT count(*) FROM pg_database WHERE datname = $1", name), 0; got != want {
		t.Errorf("databases named %s after the test = %d, want %d", name, got, want)
	}
}

// TestTemplateIsSealed is not parallel so that it runs before TestRestart,
// which would end prepare's leftover session whether Main did or not.
func TestTemplateIsSealed(t *testing.T) {
	db, err := sql.Open("postgres", current.urlFor(current.template))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err == nil {
		t.Errorf("connecting to the template succeeded; it must refuse connections")
	}
	if err := leaked.Ping(); err == nil {
		t.Errorf("prepare's leftover session to the template is still alive")
	}
}

func TestName(t *testing.T) {
	h := &harness{prefix: "pgtest_0a1b2c3d"}
	tests := []struct {
		test string
		want string
	}{
		{test: "TestCitizenByMobile", want: "pgtest_0a1b2c3d_1_testcitizenbymobile"},
		{test: "TestX/not found (禅城)", want: "pgtest_0a1b2c3d_2_testx_not_found"},
		{test: strings.Repeat("Long", 30), want: "pgtest_0a1b2c3d_3_" + strings.Repeat("long", 12)[:45]},
	}
	for _, tt := range tests {
		t.Run(tt.test, func(t *testing.T) {
			if got, want := h.name(tt.test), tt.want; got != want {
				t.Errorf("name(%q) = %q, want %q", tt.test, got, want)
			}
		})
	}
}

// runChild runs this test binary with -test.run=run and the environment
// overrides env, and returns its combined output and error.
func runChild(t *testing.T, run string, env ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run="+run, "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestExternalServer(t *testing.T) {
	before := databases(t)
	out, err := runChild(t, "^(TestDBHasTemplateContent|TestConcurrentDBs|TestDatabaseDroppedWhenTestEnds)$",
		URLEnv+"="+current.urlFor("postgres"),
		// No binaries: the child can only pass by using the URL.
		"HOTLINE_PG_BINDIR="+t.TempDir())
	if err != nil {
		t.Fatalf("tests against the external server: %v\n%s", err, out)
	}
	if got, want := databases(t), before; got != want {
		t.Errorf("databases after the child's tests = %v, want %v (the child must drop its own)", got, want)
	}
}

func TestMissingBinariesFailMain(t *testing.T) {
	out, err := runChild(t, "^TestDBHasTemplateContent$", URLEnv+"=", "HOTLINE_PG_BINDIR="+t.TempDir())
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("test binary without PostgreSQL binaries: error %v, want exit status 1; output:\n%s", err, out)
	}
	if got, want := exit.ExitCode(), 1; got != want {
		t.Errorf("exit status = %d, want %d", got, want)
	}
	for _, want := range []string{"apt-get install postgresql", "HOTLINE_PG_BINDIR", URLEnv} {
		if !strings.Contains(out, want) {
			t.Errorf("output does not mention %q:\n%s", want, out)
		}
	}
}

// databases lists the server's databases but the current binary's.
func databases(t *testing.T) string {
	t.Helper()
	var names []string
	q := "SELECT datname FROM pg_database WHERE datname NOT LIKE $1 ORDER BY datname"
	if err := current.admin.Select(&names, q, current.prefix+"%"); err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, ",")
}

func BenchmarkDB(b *testing.B) {
	for b.Loop() {
		sub := DB(b)
		b.StopTimer()
		sub.Close()
		b.StartTimer()
	}
}

// BenchmarkCreate measures copying the template alone, without opening a
// pool; the drop is not timed.
func BenchmarkCreate(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		name := current.name(b.Name())
		if err := current.create(ctx, name, current.template); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := current.drop(ctx, name); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// TestRestart restarts the server under a test's database: its data
// survives, its pool reconnects, and new databases can be made afterwards.
// Not parallel: every other test's sessions would be cut too.
func TestRestart(t *testing.T) {
	db := DB(t)
	if _, err := db.Exec(`INSERT INTO district VALUES ('440699', '测试区')`); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !Restart(t, 500*time.Millisecond) {
		t.FailNow()
	}
	if err := conn.PingContext(context.Background()); err == nil {
		t.Errorf("a session from before the restart still answers")
	}
	if got, want := count(t, db, "SELECT count(*) FROM district"), districts+1; got != want {
		t.Errorf("districts after the restart = %d, want %d", got, want)
	}
	if got, want := count(t, DB(t), "SELECT count(*) FROM district"), districts; got != want {
		t.Errorf("districts in a database made after the restart = %d, want %d", got, want)
	}
}

// TestRestartExternalServerFails: pgtest does not restart a server it does
// not own.
func TestRestartExternalServerFails(t *testing.T) {
	out, err := runChild(t, "^TestRestart$", URLEnv+"="+current.urlFor("postgres"))
	if err == nil {
		t.Fatalf("TestRestart against an external server passed; want it to fail\n%s", out)
	}
	if want := "does not own"; !strings.Contains(out, want) {
		t.Errorf("output does not say %q:\n%s", want, out)
	}
}
