package flow

import (
	"encoding/json"
	"slices"
)

// obj is a JSON object under construction.
type obj = map[string]any

func ref(name string) obj { return obj{"$ref": "#/$defs/" + name} }

// fieldSchema is the JSON Schema of one field type.
func fieldSchema(f fieldSpec) obj {
	var s obj
	switch f.typ {
	case tString:
		s = obj{"type": "string"}
	case tID, tExit:
		s = ref("id")
	case tKey:
		s = ref("key")
	case tBool:
		s = obj{"type": "boolean"}
	case tInt:
		s = obj{"type": "integer"}
	case tDuration:
		s = ref("duration")
	case tPrompts:
		s = ref("prompts")
	case tExpr:
		s = ref("expr")
	case tEnum:
		s = obj{"type": "string"}
		if f.enum != nil {
			s["enum"] = f.enum
		}
	case tOptions:
		s = ref("options")
	case tCases:
		s = ref("cases")
	case tAssigns:
		s = ref("assigns")
	case tArgs:
		s = ref("args")
	case tReprompt:
		s = ref("reprompt")
	}
	if f.doc != "" {
		s = obj{"allOf": []any{s}, "description": f.doc}
	}
	if f.typ == tExit {
		s = obj{"allOf": []any{ref("id")}, "description": "exit: the node taken next"}
		if f.doc != "" {
			s["description"] = "exit: " + f.doc
		}
	}
	return s
}

// Schema returns the JSON Schema (draft 2020-12) of flow documents, for editor completion;
// flows/flow.schema.json is its output. It is generated from the parser's own field table.
func Schema() []byte {
	defs := obj{
		"id":       obj{"type": "string", "pattern": idPattern.String()},
		"key":      obj{"type": "string", "enum": []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"}},
		"duration": obj{"description": "5s, 800ms, 2m or a number of seconds", "anyOf": []any{obj{"type": "string", "pattern": `^[0-9.]+(ns|us|ms|s|m|h)([0-9.]+(ns|us|ms|s|m|h))*$`}, obj{"type": "number"}}},
		"expr":     obj{"description": "an expr-lang expression over the flow's variables", "type": []string{"string", "number", "boolean"}},
		"prompt_item": obj{"oneOf": []any{
			obj{"type": "string", "pattern": promptPattern.String(), "description": "a prompt id"},
			obj{"type": "object", "minProperties": 1, "additionalProperties": false, "properties": obj{
				string(ItemAmount): ref("expr"), string(ItemNumber): ref("expr"), string(ItemDigits): ref("expr"),
				string(ItemDate): ref("expr"), string(ItemMonth): ref("expr"), string(ItemTime): ref("expr"),
				string(ItemDynamic): ref("expr"),
				"last":              obj{"type": "integer", "minimum": 1, "maximum": 18},
				"unit":              obj{"enum": []string{"ge", "wei", "minutes"}},
			}},
		}},
		"prompts": obj{"type": "array", "items": ref("prompt_item")},
		"assigns": obj{"type": "object", "propertyNames": ref("id"), "additionalProperties": ref("expr")},
		"args":    obj{"type": "object", "propertyNames": ref("id"), "additionalProperties": ref("expr")},
		"options": obj{"type": "object", "propertyNames": ref("key"), "additionalProperties": obj{"oneOf": []any{
			ref("id"),
			obj{"type": "object", "required": []string{"next"}, "additionalProperties": false, "properties": obj{
				"next": ref("id"), "label": obj{"type": "string"}, "set": ref("assigns")}},
		}}},
		"cases": obj{"type": "array", "minItems": 1, "items": obj{"type": "object", "required": []string{"when", "next"},
			"additionalProperties": false, "properties": obj{"when": ref("expr"), "next": ref("id")}}},
		"reprompt": obj{"type": "object", "additionalProperties": false, "properties": obj{
			"prompts": ref("prompts"), "retries": obj{"type": "integer", "minimum": 0, "maximum": MaxRetries}}},
	}
	var kinds []any
	for _, k := range Kinds() {
		props := obj{"kind": obj{"const": string(k)}, "description": obj{"type": "string"}}
		required := []string{"kind"}
		for _, f := range kindSpecs[k] {
			props[f.name] = fieldSchema(f)
			if f.must || (f.typ == tExit && !slices.Contains(defaultable, f.name)) {
				required = append(required, f.name)
			}
		}
		defs["node_"+string(k)] = obj{"type": "object", "required": required, "additionalProperties": false, "properties": props}
		kinds = append(kinds, ref("node_"+string(k)))
	}
	defs["node"] = obj{"oneOf": kinds}
	types := TypeNames()
	schema := obj{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"title":                "Foshan hotline call flow",
		"description":          "A call flow of the hotline's IVR (flows/*.yaml), checked by hotline flows check.",
		"type":                 "object",
		"required":             []string{"flow", "start", "nodes"},
		"additionalProperties": false,
		"properties": obj{
			"flow":        ref("id"),
			"description": obj{"type": "string"},
			"languages":   obj{"type": "array", "minItems": 1, "items": obj{"enum": languages}},
			"start":       ref("id"),
			"variables":   obj{"type": "object", "propertyNames": ref("id"), "additionalProperties": obj{"enum": types}},
			"defaults":    obj{"type": "object", "propertyNames": obj{"enum": defaultable}, "additionalProperties": ref("id")},
			"nodes":       obj{"type": "object", "minProperties": 1, "propertyNames": ref("id"), "additionalProperties": ref("node")},
		},
		"$defs": defs,
	}
	out, err := json.MarshalIndent(schema, "", "  ")
	if err != nil {
		panic(err) // only maps, slices and strings: cannot fail
	}
	return append(out, '\n')
}
