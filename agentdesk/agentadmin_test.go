package agentdesk_test

func init() {
	validBodies["POST /api/admin/agents"] = `{"username":"agent09","display_name":"新坐席","role":"agent","endpoint":"PJSIP/1009","password":"agent09-password"}`
	validBodies["POST /api/admin/agents/{id}/state"] = `{"state":"paused","pause_reason":"break","reason":"现场辅导"}`
	validBodies["POST /api/admin/agents/{id}/skills"] = `{"skills":[]}`
	validBodies["POST /api/admin/agents/{id}/password"] = `{"password":"a-new-password"}`
}
