package flow

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// Type is the type of a flow variable: a scalar (string, int, bool, date) or a data source
// record (citizen, bill …), or a list of records ([]account).
type Type struct {
	// Name is the type as written in YAML.
	Name string
	// Go is the Go type of the variable's values.
	Go reflect.Type
}

// Zero returns the zero value of the type, the value of a variable before it is set.
func (t *Type) Zero() any { return reflect.Zero(t.Go).Interface() }

// scalarTypes are the types of plain variables.
var scalarTypes = map[string]reflect.Type{
	"string": reflect.TypeFor[string](),
	"int":    reflect.TypeFor[int](),
	"bool":   reflect.TypeFor[bool](),
	"date":   reflect.TypeFor[time.Time](),
}

// LookupType returns the type named name: a scalar, a record of the source registry, or
// "[]record".
func LookupType(name string) (*Type, bool) {
	if t, ok := scalarTypes[name]; ok {
		return &Type{Name: name, Go: t}, true
	}
	if elem, ok := strings.CutPrefix(name, "[]"); ok {
		if t, ok := recordTypes[elem]; ok {
			return &Type{Name: name, Go: reflect.SliceOf(t)}, true
		}
		return nil, false
	}
	if t, ok := recordTypes[name]; ok {
		return &Type{Name: name, Go: t}, true
	}
	return nil, false
}

// TypeNames lists every type a variable may be declared with, sorted.
func TypeNames() []string {
	var out []string
	for n := range scalarTypes {
		out = append(out, n)
	}
	for n := range recordTypes {
		out = append(out, n, "[]"+n)
	}
	sort.Strings(out)
	return out
}

// typeName names a Go type in the words of flows.
func typeName(t reflect.Type) string {
	if t == nil {
		return "unknown"
	}
	for n, s := range scalarTypes {
		if s == t {
			return n
		}
	}
	for n, r := range recordTypes {
		if r == t {
			return n
		}
		if reflect.SliceOf(r) == t {
			return "[]" + n
		}
	}
	return t.String()
}

// Var is a call variable.
type Var struct {
	Name string
	Type *Type
	// Builtin variables belong to the call and keep their values across subflows: caller,
	// called, language (set by language nodes), verified and verified_citizen (set when a
	// verify node takes ok). The others belong to one run of one flow and start at their zero
	// value.
	Builtin bool
	Pos     Pos
}

// Builtin variables the engine sets; flows may read them, and only verify and language
// nodes change them.
var builtins = []struct{ name, typ string }{
	{"caller", "string"},            // the caller's number
	{"called", "string"},            // the number dialled
	{"language", "string"},          // zh, yue or en
	{"verified", "bool"},            // the caller passed real-name verification in this call
	{"verified_citizen", "citizen"}, // whom the caller verified as, set with verified
}

// BuiltinVars lists the names of the built-in variables.
func BuiltinVars() []string {
	out := make([]string, len(builtins))
	for i, b := range builtins {
		out[i] = b.name
	}
	return out
}

// NewEnv returns the variables of a fresh run of f: every variable at its zero value, for
// the engine to fill in the built-ins and pass to Expr.Eval.
func (f *Flow) NewEnv() map[string]any {
	env := make(map[string]any, len(f.Vars))
	for _, v := range f.Vars {
		env[v.Name] = v.Type.Zero()
	}
	return env
}

// Expr is a compiled, type-checked expression over a flow's variables.
type Expr struct {
	// Source is the expression as written.
	Source string
	// Type is the Go type of its value.
	Type    reflect.Type
	Pos     Pos
	program *vm.Program
}

// Eval runs the expression on env, the flow's variables (see Flow.NewEnv).
func (e *Expr) Eval(env map[string]any) (any, error) {
	v, err := expr.Run(e.program, env)
	if err != nil {
		return nil, fmt.Errorf("evaluate %q: %w", e.Source, err)
	}
	return v, nil
}

// Bool evaluates a condition.
func (e *Expr) Bool(env map[string]any) (bool, error) {
	v, err := e.Eval(env)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("evaluate %q: got %T, want bool", e.Source, v)
	}
	return b, nil
}

// String evaluates an expression of type string.
func (e *Expr) String(env map[string]any) (string, error) {
	v, err := e.Eval(env)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("evaluate %q: got %T, want string", e.Source, v)
	}
	return s, nil
}

// Int evaluates an expression of an integer type as an int64.
func (e *Expr) Int(env map[string]any) (int64, error) {
	v, err := e.Eval(env)
	if err != nil {
		return 0, err
	}
	if n, ok := toInt64(v); ok {
		return n, nil
	}
	return 0, fmt.Errorf("evaluate %q: got %T, want an integer", e.Source, v)
}

// Time evaluates an expression of type date.
func (e *Expr) Time(env map[string]any) (time.Time, error) {
	v, err := e.Eval(env)
	if err != nil {
		return time.Time{}, err
	}
	t, ok := v.(time.Time)
	if !ok {
		return time.Time{}, fmt.Errorf("evaluate %q: got %T, want a date", e.Source, v)
	}
	return t, nil
}

// Value evaluates the expression converted to the variable type t (integers become int),
// for assignments.
func (e *Expr) Value(env map[string]any, t *Type) (any, error) {
	v, err := e.Eval(env)
	if err != nil {
		return nil, err
	}
	if t.Go.Kind() == reflect.Int {
		if n, ok := toInt64(v); ok {
			return int(n), nil
		}
	}
	if v == nil || !reflect.TypeOf(v).AssignableTo(t.Go) {
		return nil, fmt.Errorf("evaluate %q: got %T, want %s", e.Source, v, t.Name)
	}
	return v, nil
}

func toInt64(v any) (int64, bool) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int64(rv.Uint()), true
	}
	return 0, false
}

// want is what an expression must produce.
type want int

const (
	wantAny want = iota
	wantBool
	wantString
	wantInt
	wantDate
)

func (w want) String() string {
	return [...]string{"any", "bool", "string", "int", "date"}[w]
}

// compileExpr compiles src against vars and checks its type.
func compileExpr(src string, vars map[string]*Var, w want) (*vm.Program, reflect.Type, error) {
	env := make(map[string]any, len(vars))
	for name, v := range vars {
		env[name] = v.Type.Zero()
	}
	opts := []expr.Option{expr.Env(env)}
	if w == wantBool {
		opts = append(opts, expr.AsBool(), expr.WarnOnAny())
	}
	prog, err := expr.Compile(src, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("expression %q: %s", src, oneLine(err.Error()))
	}
	t := prog.Node().Type()
	if !typeFits(t, w) {
		return nil, nil, fmt.Errorf("expression %q is %s, want %s", src, typeName(t), w)
	}
	return prog, t, nil
}

// typeFits reports whether a value of type t satisfies w.
func typeFits(t reflect.Type, w want) bool {
	if t == nil {
		return w == wantAny
	}
	switch w {
	case wantBool:
		return t.Kind() == reflect.Bool
	case wantString:
		return t.Kind() == reflect.String
	case wantInt:
		switch t.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			return true
		}
		return false
	case wantDate:
		return t == reflect.TypeFor[time.Time]()
	}
	return true
}

// assignable reports whether a value of type t may be stored in a variable of type v.
func assignable(t reflect.Type, v *Type) bool {
	if t == nil {
		return false
	}
	if v.Go.Kind() == reflect.Int {
		return typeFits(t, wantInt)
	}
	return t.AssignableTo(v.Go)
}

// wantOf is what an expression assigned to a variable of type t must produce, as far as
// the compiler can tell.
func wantOf(t *Type) want {
	switch t.Name {
	case "string":
		return wantString
	case "int":
		return wantInt
	case "bool":
		return wantBool
	case "date":
		return wantDate
	}
	return wantAny
}

// oneLine keeps the first line of an expr error (the rest is a caret drawing).
func oneLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
