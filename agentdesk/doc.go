// Package agentdesk is the agent desk's server side: the agent API under /api/ that the desk's
// pages and supervisors' tools build on.
//
// It logs desk users in (bcrypt passwords, server-side sessions in hotline.sessions behind an
// HttpOnly, SameSite=Strict cookie, idle and absolute timeouts, throttled failures), checks
// every request's session, role and CSRF token, drives the agent's state in the ACD through
// AgentStates, and keeps one websocket per desk session current: a full snapshot of the agent
// (state, pending offer, current call, wrap-up, queue counts) on connect and after every
// change the ACD announces on PostgreSQL's hotline_agent channel. openapi.yaml describes
// every route.
//
// The ACD itself (queues, routing, offers) is package postgres's ACD; work orders and the
// pages of the desk are sub-packages.
package agentdesk
