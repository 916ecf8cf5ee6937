package agentdesk

import (
	"context"

	"github.com/foshan-hotline/hotline"
)

// Route is a registered route and its least role ("" for public), for the tests that compare
// the routes with openapi.yaml.
type Route struct {
	Pattern string
	Role    hotline.Role
	// Department tells that department users may call it too.
	Department bool
}

// Routes lists s's routes.
func Routes(s *Server) []Route {
	var out []Route
	for _, rt := range s.routeTable() {
		out = append(out, Route{rt.pattern, rt.role, rt.allows(hotline.RoleDepartment) && rt.role != ""})
	}
	return out
}

// TouchSessions runs the hub's periodic touch of the open websockets' sessions now.
func TouchSessions(ctx context.Context, s *Server) error { return s.hub.touchSessions(ctx) }

// PurgeSessions runs the hub's periodic purge of expired sessions now.
func PurgeSessions(ctx context.Context, s *Server) error { return s.hub.purgeSessions(ctx) }

// RefreshQueues runs the hub's periodic refresh of the queue counts now.
func RefreshQueues(ctx context.Context, s *Server) error { return s.hub.refreshQueues(ctx) }
