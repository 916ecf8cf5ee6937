// Package agentdesk will be the agent and supervisor web desk: the ACD that matches waiting
// calls to available agents, the screen-pop of who is calling and what they did in the IVR,
// work orders, callbacks, live queue and agent views, and flow editing for supervisors.
//
// It is not built yet. Until it is, a call that reaches a queue (package ivr) holds there
// with music on hold and position announcements, then overflows to a message or a callback;
// no agent answers it.
package agentdesk
