package flow

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/foshan-hotline/hotline/internal/repotest"
)

var update = flag.Bool("update", false, "rewrite flows/flow.schema.json from Schema()")

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repotest.Root(t), "flows/flow.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("flows/flow.schema.json: %v", err)
	}
	return s
}

func TestSchemaFileIsCurrent(t *testing.T) {
	path := filepath.Join(repotest.Root(t), "flows/flow.schema.json")
	if *update {
		if err := os.WriteFile(path, Schema(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, Schema()) {
		t.Error("flows/flow.schema.json is out of date: go test ./ivr/flow -run TestSchemaFileIsCurrent -update")
	}
}

func keys(m any) []string {
	var out []string
	for k := range m.(map[string]any) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestSchemaMentionsEveryKindAndField(t *testing.T) {
	s := loadSchema(t)
	defs := s["$defs"].(map[string]any)
	var refs []string
	for _, r := range defs["node"].(map[string]any)["oneOf"].([]any) {
		refs = append(refs, r.(map[string]any)["$ref"].(string))
	}
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			if !slices.Contains(refs, "#/$defs/node_"+string(k)) {
				t.Errorf("node.oneOf does not list %s", k)
			}
			def, ok := defs["node_"+string(k)].(map[string]any)
			if !ok {
				t.Fatalf("no $defs/node_%s", k)
			}
			want := KindFields(k)
			sort.Strings(want)
			if got := keys(def["properties"]); !slices.Equal(got, want) {
				t.Errorf("schema fields %v, parser fields %v", got, want)
			}
		})
	}
	var top []string
	for _, f := range docFields {
		top = append(top, f.name)
	}
	sort.Strings(top)
	if got := keys(s["properties"]); !slices.Equal(got, top) {
		t.Errorf("schema document fields %v, parser fields %v", got, top)
	}
}

// validate is a small JSON Schema checker: $ref, type, enum, const, pattern, required,
// properties, additionalProperties, propertyNames, items, min/max, oneOf, anyOf, allOf.
func validate(root, s map[string]any, v any, at string) []string {
	if r, ok := s["$ref"].(string); ok {
		def := root["$defs"].(map[string]any)[strings.TrimPrefix(r, "#/$defs/")].(map[string]any)
		return validate(root, def, v, at)
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	if ty, ok := s["type"]; ok {
		var types []string
		switch ty := ty.(type) {
		case string:
			types = []string{ty}
		case []any:
			for _, x := range ty {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(ty string) bool { return hasType(v, ty) }) {
			fail("want %v, got %T", types, v)
			return errs
		}
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) }) {
		fail("%v is not one of %v", v, e)
	}
	if c, ok := s["const"]; ok && c != v {
		fail("want %v, got %v", c, v)
	}
	if p, ok := s["pattern"].(string); ok {
		if str, isStr := v.(string); isStr && !regexp.MustCompile(p).MatchString(str) {
			fail("%q does not match %s", str, p)
		}
	}
	if n, ok := s["minimum"].(float64); ok && toFloat(v) < n {
		fail("%v < %v", v, n)
	}
	if n, ok := s["maximum"].(float64); ok && toFloat(v) > n {
		fail("%v > %v", v, n)
	}
	if m, ok := v.(map[string]any); ok {
		for _, r := range asList(s["required"]) {
			if _, has := m[r.(string)]; !has {
				fail("missing %q", r)
			}
		}
		if n, ok := s["minProperties"].(float64); ok && float64(len(m)) < n {
			fail("fewer than %v fields", n)
		}
		props, _ := s["properties"].(map[string]any)
		for k, x := range m {
			if pn, ok := s["propertyNames"].(map[string]any); ok {
				errs = append(errs, validate(root, pn, k, at+"/"+k+"(name)")...)
			}
			switch ps, ok := props[k].(map[string]any); {
			case ok:
				errs = append(errs, validate(root, ps, x, at+"/"+k)...)
			case s["additionalProperties"] == false:
				fail("unknown field %q", k)
			default:
				if ap, ok := s["additionalProperties"].(map[string]any); ok {
					errs = append(errs, validate(root, ap, x, at+"/"+k)...)
				}
			}
		}
	}
	if l, ok := v.([]any); ok {
		if n, ok := s["minItems"].(float64); ok && float64(len(l)) < n {
			fail("fewer than %v items", n)
		}
		if it, ok := s["items"].(map[string]any); ok {
			for i, x := range l {
				errs = append(errs, validate(root, it, x, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	for _, sub := range asList(s["allOf"]) {
		errs = append(errs, validate(root, sub.(map[string]any), v, at)...)
	}
	if alts := asList(s["anyOf"]); alts != nil {
		if countValid(root, alts, v, at) == 0 {
			fail("matches none of anyOf")
		}
	}
	if alts := asList(s["oneOf"]); alts != nil {
		if n := countValid(root, alts, v, at); n != 1 {
			fail("matches %d of oneOf, want exactly 1", n)
		}
	}
	return errs
}

func countValid(root map[string]any, alts []any, v any, at string) int {
	n := 0
	for _, a := range alts {
		if len(validate(root, a.(map[string]any), v, at)) == 0 {
			n++
		}
	}
	return n
}

func asList(v any) []any { l, _ := v.([]any); return l }

func toFloat(v any) float64 {
	switch v := v.(type) {
	case int:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

func hasType(v any, ty string) bool {
	switch ty {
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "integer":
		_, ok := v.(int)
		return ok
	case "number":
		switch v.(type) {
		case int, float64:
			return true
		}
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

func TestShippedFlowsMatchSchema(t *testing.T) {
	schema := loadSchema(t)
	files, err := filepath.Glob(filepath.Join(repotest.Root(t), "flows", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, file := range files {
		if slices.Contains(NonFlowFiles, filepath.Base(file)) {
			continue
		}
		n++
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			for _, e := range validate(schema, schema, doc, "") {
				t.Error(e)
			}
		})
	}
	if n < 7 {
		t.Errorf("found %d flows, want the 7 shipped ones and more", n)
	}
}

func TestSchemaRejects(t *testing.T) {
	schema := loadSchema(t)
	tests := []struct{ name, src, want string }{
		{"unknown field", "flow: a\nstart: x\nnodes:\n  x: {kind: hangup, promts: []}\n", "/nodes/x: matches 0 of oneOf, want exactly 1"},
		{"unknown kind", "flow: a\nstart: x\nnodes:\n  x: {kind: jump}\n", "/nodes/x: matches 0 of oneOf, want exactly 1"},
		{"missing start", "flow: a\nnodes:\n  x: {kind: hangup}\n", `: missing "start"`},
		{"bad key", "flow: a\nstart: m\nnodes:\n  m: {kind: menu, prompts: [a], options: {\"11\": m}}\n", "/nodes/m: matches 0 of oneOf, want exactly 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc any
			if err := yaml.Unmarshal([]byte(tt.src), &doc); err != nil {
				t.Fatal(err)
			}
			errs := validate(schema, schema, doc, "")
			if !slices.Contains(errs, tt.want) {
				t.Errorf("errors %q, want %q among them", errs, tt.want)
			}
		})
	}
}
