package flow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/internal/repotest"
)

func shipped(t *testing.T) *Library {
	t.Helper()
	opt, _ := shippedOptions(t)
	lib, err := LoadDir(os.DirFS(repotest.Root(t)), "flows", opt)
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

func TestModelOfBills(t *testing.T) {
	f := shipped(t).Flow("bills")
	if got, want := f.Start.ID(), "find_citizen"; got != want {
		t.Errorf("start = %s, want %s", got, want)
	}
	find := f.Node("find_citizen").(*Lookup)
	if got, want := find.Timeout, DefaultLookupTimeout; got != want {
		t.Errorf("lookup timeout = %v, want the default %v", got, want)
	}
	if got, want := find.FillerAfter, DefaultFillerAfter; got != want {
		t.Errorf("filler after = %v, want %v", got, want)
	}
	if got, want := find.OnError.To.ID(), "busy"; got != want {
		t.Errorf("error exit from the flow's defaults = %s, want %s", got, want)
	}
	if got, want := find.Filler[0].ID, PromptPleaseWait; got != want {
		t.Errorf("filler = %s, want %s", got, want)
	}
	if find.NotAllowed.To != nil {
		t.Error("citizen_by_caller never refuses, yet not_allowed is wired")
	}
	menu := f.Node("pick_kind").(*Menu)
	if got, want := menu.Agent.To.ID(), "to_agent"; got != want {
		t.Errorf("agent exit = %s, want %s", got, want)
	}
	if menu.RepeatKey != "*" || menu.AgentKey != "0" || menu.Timeout != DefaultMenuTimeout {
		t.Errorf("menu keys %q %q timeout %v", menu.RepeatKey, menu.AgentKey, menu.Timeout)
	}
	o := menu.Option("2")
	if o == nil || o.Label != "电费" || o.Exit.To.ID() != "my_accounts" || !o.Exit.Input {
		t.Fatalf("option 2 = %+v", o)
	}
	env := f.NewEnv()
	env["caller"] = "13800000000"
	for _, a := range o.Set {
		v, err := a.Value.Value(env, a.Var.Type)
		if err != nil {
			t.Fatal(err)
		}
		env[a.Var.Name] = v
	}
	if got, want := env["kind"], "electricity"; got != want {
		t.Errorf("kind = %v, want %v", got, want)
	}
	args, err := find.EvalArgs(env)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(args), "map[mobile:13800000000]"; got != want {
		t.Errorf("args = %s, want %s", got, want)
	}
	// The bill is read as an amount of money and a year-month.
	say := f.Node("say_bill").(*Play)
	var kinds []string
	for _, it := range say.Prompts {
		kinds = append(kinds, string(it.Kind))
	}
	if got, want := strings.Join(kinds, " "), "id prompt id digits id month id amount id date"; got != want {
		t.Errorf("say_bill items = %s, want %s", got, want)
	}
	if got, want := say.Prompts[3].Last, 4; got != want {
		t.Errorf("digits last = %d, want %d", got, want)
	}
}

func TestExpressionsRunOnRecords(t *testing.T) {
	f := shipped(t).Flow("bills")
	env := f.NewEnv()
	env["accounts"] = []Account{{ID: 7, Kind: "water"}, {ID: 9, Kind: "water"}}
	env["account"] = Account{ID: 7}
	env["bill"] = Bill{AccountID: 7, AmountFen: 12345, Overdue: true}
	br := f.Node("paid_or_not").(*Branch)
	var taken string
	for _, c := range br.Cases {
		ok, err := c.When.Bool(env)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			taken = c.Exit.To.ID()
			break
		}
	}
	if got, want := taken, "overdue"; got != want {
		t.Errorf("unpaid overdue bill takes %s, want %s", got, want)
	}
	next := f.Node("next_account").(*Set)
	for _, a := range next.Vars {
		v, err := a.Value.Value(env, a.Var.Type)
		if err != nil {
			t.Fatal(err)
		}
		env[a.Var.Name] = v
	}
	if got, want := env["account"].(Account).ID, int64(9); got != want {
		t.Errorf("next account id = %d, want %d", got, want)
	}
	if got, want := env["index"], 1; got != want {
		t.Errorf("index = %v (%T), want %v", got, got, want)
	}
}

func TestCompileExpr(t *testing.T) {
	vars := map[string]*Var{}
	for name, typ := range map[string]string{"bill": "bill", "apps": "[]application", "n": "int", "s": "string", "when": "date"} {
		ty, _ := LookupType(typ)
		vars[name] = &Var{Name: name, Type: ty}
	}
	tests := []struct {
		src  string
		want want
		err  string
	}{
		{"bill.amount_fen > 0 && !bill.paid", wantBool, ""},
		{"len(apps) > 1 and apps[1].status == 'completed'", wantBool, ""},
		{"bill.amount_fen", wantInt, ""},
		{"bill.period", wantDate, ""},
		{"n + 1", wantInt, ""},
		{"s + '1'", wantString, ""},
		{"s", wantInt, `expression "s" is string, want int`},
		{"n", wantBool, `expression "n": expected bool, but got int`},
		{"bill.amount_yuan", wantInt, `expression "bill.amount_yuan": type flow.Bill has no field amount_yuan (1:6)`},
		{"apps.status", wantString, `expression "apps.status": array elements can only be selected using an integer (got string) (1:6)`},
		{"n +", wantInt, `expression "n +": unexpected token EOF (1:3)`},
		{"missing == 1", wantBool, `expression "missing == 1": unknown name missing (1:1)`},
		{"when > 3", wantBool, `expression "when > 3": invalid operation: > (mismatched types time.Time and int) (1:6)`},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, _, err := compileExpr(tt.src, vars, tt.want)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.err {
				t.Errorf("error %q, want %q", got, tt.err)
			}
		})
	}
}

func TestLookupExit(t *testing.T) {
	tests := []struct {
		result any
		err    error
		want   string
	}{
		{Bill{}, nil, ExitFound},
		{[]Account{{ID: 1}}, nil, ExitFound},
		{[]Account{}, nil, ExitNotFound},
		{nil, fmt.Errorf("bill: %w", hotline.ErrNotFound), ExitNotFound},
		{nil, fmt.Errorf("fund: %w", hotline.ErrNotRealName), ExitNotAllowed},
		{nil, fmt.Errorf("query: %w", context.DeadlineExceeded), ExitTimeout},
		{nil, errors.New("connection refused"), ExitError},
	}
	for _, tt := range tests {
		t.Run(tt.want+fmt.Sprint(tt.err), func(t *testing.T) {
			if got := LookupExit(tt.result, tt.err); got != tt.want {
				t.Errorf("LookupExit = %s, want %s", got, tt.want)
			}
		})
	}
	l := shipped(t).Flow("insurance").Node("get_si").(*Lookup)
	for _, name := range []string{ExitFound, ExitNotFound, ExitNotAllowed, ExitError, ExitTimeout} {
		if e := l.Exit(name); e == nil || e.Name != name || e.To == nil {
			t.Errorf("Exit(%s) = %+v", name, e)
		}
	}
}

func TestValidators(t *testing.T) {
	first17 := "44060419900307123"
	id := first17 + string(hotline.IDCheckChar(first17))
	keyed := strings.ReplaceAll(id, "X", "*")
	var withX string
	for i := 0; i < 1000 && withX == ""; i++ {
		f := fmt.Sprintf("44060419900307%03d", i)
		if hotline.IDCheckChar(f) == 'X' {
			withX = f + "X"
		}
	}
	loc := time.FixedZone("CST", 8*3600)
	tests := []struct {
		v    Validator
		keys string
		want any
	}{
		{ValidateIDNumber, keyed, id},
		{ValidateIDNumber, strings.ReplaceAll(withX, "X", "*"), withX},
		{ValidateIDNumber, first17 + "5", nil},
		{ValidateIDNumber, "4406041990*307123" + "1", nil},
		{ValidateMobile, "13912345678", "13912345678"},
		{ValidateMobile, "12912345678", nil},
		{ValidateMobile, "1391234567", nil},
		{ValidateDigits, "0042", "0042"},
		{ValidateDigits, "12*4", nil},
		{ValidateAmount, "12*5", 1250},
		{ValidateAmount, "1005*30", 100530},
		{ValidateAmount, "7", 700},
		{ValidateAmount, "*5", nil},
		{ValidateAmount, "1*234", nil},
		{ValidateDate, "20260315", time.Date(2026, 3, 15, 0, 0, 0, 0, loc)},
		{ValidateDate, "20260230", nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.v)+" "+tt.keys, func(t *testing.T) {
			got, err := tt.v.Check(tt.keys, loc)
			if tt.want == nil {
				if !errors.Is(err, ErrInvalidInput) {
					t.Errorf("Check = %v, %v; want ErrInvalidInput", got, err)
				}
				if err != nil && strings.Contains(err.Error(), tt.keys) {
					t.Errorf("error %q shows the keys", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if gt, ok := got.(time.Time); ok {
				if !gt.Equal(tt.want.(time.Time)) {
					t.Errorf("Check = %v, want %v", gt, tt.want)
				}
				return
			}
			if got != tt.want {
				t.Errorf("Check = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCalendar(t *testing.T) {
	data, err := os.ReadFile(repotest.Root(t) + "/flows/calendars.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cals, err := ParseCalendars(data)
	if err != nil {
		t.Fatal(err)
	}
	c := cals["hotline"]
	cst := time.FixedZone("CST", 8*3600)
	at := func(s string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", s, cst)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		when string
		open bool
	}{
		{"2026-03-16 08:29", false}, // Monday before opening
		{"2026-03-16 08:30", true},
		{"2026-03-16 17:59", true},
		{"2026-03-16 18:00", false},
		{"2026-03-14 10:00", true},  // Saturday
		{"2026-03-14 17:30", false}, // Saturday after closing
		{"2026-10-01 10:00", false}, // 国庆节
		{"2026-02-18 10:00", false}, // 春节
		{"2026-02-14 17:30", true},  // Saturday worked (调休) with workday hours
		{"2026-10-10 08:45", true},  // 调休
	}
	for _, tt := range tests {
		t.Run(tt.when, func(t *testing.T) {
			if got := c.Open(at(tt.when)); got != tt.open {
				t.Errorf("Open = %v, want %v", got, tt.open)
			}
		})
	}
	// The time zone of the instant does not matter.
	if !c.Open(at("2026-03-16 09:00").UTC()) {
		t.Error("09:00 CST given in UTC is not open")
	}
	bad := []CalendarSpec{
		{Weekly: map[string][]string{"monday": {"08:00-12:00"}}},
		{Weekly: map[string][]string{"mon": {"12:00-08:00"}}},
		{Holidays: []string{"2026-13-01"}},
		{Holidays: []string{"2026-05-01"}, Workdays: []string{"2026-05-01"}},
	}
	for i, spec := range bad {
		if _, err := NewCalendar(spec); err == nil {
			t.Errorf("bad spec %d accepted", i)
		}
	}
}

func TestGraphsShowEveryNodeAndExit(t *testing.T) {
	lib := shipped(t)
	for _, name := range lib.Names() {
		t.Run(name, func(t *testing.T) {
			f := lib.Flow(name)
			dot, svg := string(Graph(f)), string(SVG(f))
			for _, n := range f.Nodes {
				if !strings.Contains(dot, fmt.Sprintf("%q [label=", n.ID())) {
					t.Errorf("DOT lacks node %s", n.ID())
				}
				if !strings.Contains(svg, fmt.Sprintf(`data-id="%s"`, n.ID())) {
					t.Errorf("SVG lacks node %s", n.ID())
				}
				for _, e := range n.Exits() {
					if e.To == nil {
						continue
					}
					edge := fmt.Sprintf(`data-from="%s" data-to="%s"`, n.ID(), e.To.ID())
					if !strings.Contains(svg, edge) {
						t.Errorf("SVG lacks exit %s.%s → %s", n.ID(), e.Name, e.To.ID())
					}
					if !strings.Contains(dot, fmt.Sprintf("%q -> %q", n.ID(), e.To.ID())) {
						t.Errorf("DOT lacks exit %s.%s → %s", n.ID(), e.Name, e.To.ID())
					}
				}
			}
			if !strings.HasPrefix(svg, "<svg ") || !strings.HasSuffix(svg, "</svg>\n") {
				t.Error("SVG is not one svg element")
			}
		})
	}
}

func BenchmarkLoadShippedFlows(b *testing.B) {
	opt, _ := shippedOptions(b)
	fsys := os.DirFS(repotest.Root(b))
	for b.Loop() {
		if _, err := LoadDir(fsys, "flows", opt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBranchCondition(b *testing.B) {
	opt, _ := shippedOptions(b)
	lib, err := LoadDir(os.DirFS(repotest.Root(b)), "flows", opt)
	if err != nil {
		b.Fatal(err)
	}
	f := lib.Flow("bills")
	env := f.NewEnv()
	env["bill"] = Bill{AmountFen: 100, Overdue: true}
	when := f.Node("paid_or_not").(*Branch).Cases[1].When
	for b.Loop() {
		if ok, err := when.Bool(env); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
