package agentdesk

import (
	_ "embed"
	"net/http"

	"github.com/foshan-hotline/hotline/postgres"
)

// openAPISpec describes every route of the API; a test keeps it and routeTable in step.
//
//go:embed openapi.yaml
var openAPISpec []byte

// openAPI is GET /api/openapi.yaml.
func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request, _ *postgres.Session) error {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Write(openAPISpec)
	return nil
}
