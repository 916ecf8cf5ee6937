package agentdesk

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/foshan-hotline/hotline/postgres"
)

// The API's description is openapi.yaml (the document, its shared schemas and the core
// paths) and one file per part of the API in openapi/ holding that part's paths and schemas;
// they are merged into one OpenAPI document, served at GET /api/openapi.yaml. A test keeps
// the merged paths and routeTable in step.
//
//go:embed openapi.yaml openapi/*.yaml
var openAPIFiles embed.FS

// openAPISpec is the merged document.
var openAPISpec = func() []byte {
	doc, err := mergeOpenAPI(openAPIFiles)
	if err != nil {
		panic(err) // the files are embedded: a test fails first
	}
	return doc
}()

// OpenAPISpec returns the API's OpenAPI document.
func OpenAPISpec() []byte { return openAPISpec }

// mergeOpenAPI returns openapi.yaml with the paths and components of openapi/*.yaml added;
// a path or component described twice is an error.
func mergeOpenAPI(files fs.FS) ([]byte, error) {
	var doc yaml.Node
	raw, err := fs.ReadFile(files, "openapi.yaml")
	if err != nil {
		return nil, err
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	root := doc.Content[0]
	parts, err := fs.Glob(files, "openapi/*.yaml")
	if err != nil {
		return nil, err
	}
	slices.Sort(parts)
	for _, name := range parts {
		raw, err := fs.ReadFile(files, name)
		if err != nil {
			return nil, err
		}
		var part yaml.Node
		if err := yaml.Unmarshal(raw, &part); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(part.Content) == 0 {
			continue
		}
		p := part.Content[0]
		if err := mergeMap(mapping(root, "paths"), mapping(p, "paths"), name); err != nil {
			return nil, err
		}
		// Every kind of component: schemas, parameters, responses …
		if comps := mapping(p, "components"); comps != nil {
			for i := 0; i+1 < len(comps.Content); i += 2 {
				kind := comps.Content[i].Value
				if err := mergeMap(mapping(mapping(root, "components"), kind), comps.Content[i+1], name); err != nil {
					return nil, err
				}
			}
		}
	}
	return yaml.Marshal(&doc)
}

// mapping returns the mapping under key in m, added empty when m lacks it (nil for a nil m).
func mapping(m *yaml.Node, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
	return v
}

// mergeMap adds the entries of from to into; from's file is named in errors.
func mergeMap(into, from *yaml.Node, file string) error {
	if from == nil {
		return nil
	}
	have := map[string]bool{}
	for i := 0; i+1 < len(into.Content); i += 2 {
		have[into.Content[i].Value] = true
	}
	for i := 0; i+1 < len(from.Content); i += 2 {
		k := from.Content[i].Value
		if have[k] {
			return fmt.Errorf("%s: %s is described twice", file, k)
		}
		into.Content = append(into.Content, from.Content[i], from.Content[i+1])
	}
	return nil
}

// openAPI is GET /api/openapi.yaml.
func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request, _ *postgres.Session) error {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Write(openAPISpec)
	return nil
}
