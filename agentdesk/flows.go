package agentdesk

// flowRoutes are the call flows supervisors edit, test and publish.
func (s *Server) flowRoutes() []route { return nil }
