package agentdesk

// knowledgeRoutes are the knowledge base and the agent's lists (recent calls, callbacks).
func (s *Server) knowledgeRoutes() []route { return nil }
