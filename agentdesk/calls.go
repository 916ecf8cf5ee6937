package agentdesk

// callRoutes are the calls an agent is offered or talks on: call control, the caller's card,
// transfer targets and the citizen search.
func (s *Server) callRoutes() []route { return nil }
