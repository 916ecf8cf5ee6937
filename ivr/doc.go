// Package ivr is the call-flow engine: for every call that enters the hotline's Stasis
// application it runs one goroutine that executes the call's flow (package flow) over ARI
// (package ari), speaks values with package speech, reads data through flow.Sources, and
// writes the call record and its IVR path through a Recorder as the call goes.
//
// A call is pinned to the flows that were current when it arrived. Its events come in
// order through its ari.Inbox; keys pressed during a prompt that allows barge-in stop the
// prompt and are kept, up to typeAhead keys, for the next menu or collect. Every wait is
// bounded: a prompt that never reports its end is stopped by a watchdog, a lookup by its
// timeout (with a filler prompt when it is slow), and a call that runs more than MaxNodes
// nodes is ended with an apology. Whatever happens — the caller hangs up, a backend fails,
// the node's websocket drops — the call ends through one path that completes its record.
package ivr
