package agentdesk

// supervisorRoutes are the supervisors' wallboard and agent management.
func (s *Server) supervisorRoutes() []route { return nil }
