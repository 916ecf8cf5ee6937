package postgres

// The reports computed from the event rows alone, for comparison with the roll-ups.
var (
	QueueReportDirect  = queueReportDirect
	AgentReportDirect  = agentReportDirect
	IVRFunnelDirect    = ivrFunnelDirect
	SatisfactionDirect = satisfactionDirect
)
