package agentdesk

// workOrderRoutes are work orders (工单), for the hotline and for departments.
func (s *Server) workOrderRoutes() []route { return nil }
