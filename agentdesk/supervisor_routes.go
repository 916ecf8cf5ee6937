package agentdesk

import "github.com/foshan-hotline/hotline"

// supervisorRoutes are the supervisors' wallboard and agent management.
func (s *Server) supervisorRoutes() []route {
	return []route{
		{"GET /api/wallboard", hotline.RoleSupervisor, s.wallboard},
		{"GET /api/wallboard/events", hotline.RoleSupervisor, s.wallboardEvents},

		{"GET /api/admin/agents", hotline.RoleSupervisor, s.adminAgents},
		{"POST /api/admin/agents", hotline.RoleAdmin, s.createAgent},
		{"POST /api/admin/agents/{id}/state", hotline.RoleSupervisor, s.forceState},
		{"POST /api/admin/agents/{id}/skills", hotline.RoleSupervisor, s.setSkills},
		{"POST /api/admin/agents/{id}/deactivate", hotline.RoleAdmin, s.deactivateAgent},
		{"POST /api/admin/agents/{id}/password", hotline.RoleAdmin, s.resetPassword},
	}
}
