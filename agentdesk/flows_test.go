package agentdesk_test

func init() {
	validBodies["POST /api/flows/{name}/draft"] = `{"source":"flow: survey\n"}`
	validBodies["POST /api/flows/{name}/check"] = `{"source":"flow: survey\n"}`
	validBodies["POST /api/flows/{name}/test"] = `{"source":"flow: survey\n"}`
	validBodies["POST /api/flows/{name}/rollback"] = `{"version":1}`
}
