// Package ari is the controller's client for the Asterisk REST Interface
// (ARI) of Asterisk 20: the REST calls, the events websocket, and the
// routing of each event to the call that owns it. It is written for a real
// Asterisk; the simulator in ari/arisim imitates one for tests.
//
// # REST
//
// A Client talks to one node. Handles name one object and do no I/O until a
// method is called:
//
//	ch := c.Channel(id)
//	err := ch.Answer(ctx)
//	br := c.Bridge(bridgeID)
//	err = br.AddChannel(ctx, id)
//
// Every method takes a context. Failures are *Error values carrying the HTTP
// status, Asterisk's message, the method and the path. Match them with
// errors.Is: ErrNotFound (any 404), ErrChannelGone (the channel hung up or
// left Stasis meanwhile: 404 "Channel not found"/"Provided channel was not
// found", 400 "Channel not found" from addChannel, 409 "Channel not in Stasis
// application"), ErrConflict (409), ErrInvalid (400, 422), ErrUnauthorized
// (401). One error may match several: a 404 "Channel not found" is both
// ErrNotFound and ErrChannelGone, while a 404 "Provided variable was not
// found" or "Playback not found" is ErrNotFound only. A flow treats
// ErrChannelGone as the end of the call, not as a fault. Originate to an
// endpoint that cannot be allocated is a 500 with Message "Allocation
// failed" (its body is {"error":...}, not {"message":...}).
//
// Credentials go in an Authorization header only; never in a URL, a log
// line or an error string (Client.String and Node.String redact them).
//
// # Ownership and ids
//
// One websocket per (node, application) carries the events of every call.
// A Conn reads it on one goroutine and hands each event to its Router, which
// puts it in the Inbox of the call owning one of the ids it mentions. A call
// owns ids with Inbox.Own:
//
//   - its channel, when the engine's handler takes the StasisStart of a new
//     call (the handler runs on the reader goroutine, so the next events of
//     that channel already find the inbox);
//   - every object it creates, with an id it chose itself (NewID) and owned
//     BEFORE sending the request: playbacks (PlayOptions.ID), recordings
//     (their name), snoop channels (SnoopOptions.ID), bridges
//     (BridgeOptions.ID) and originated channels (ChannelID and
//     OtherChannelID). Asterisk often sends the first events before the HTTP
//     response (PlaybackStarted before the 201 of play, ChannelStateChange
//     before the 204 of answer, RecordingStarted, BridgeDestroyed,
//     PlaybackFinished before the 204 of a stop): an id learnt from the
//     response would be too late.
//
// An event mentioning ids of several calls goes to each of them once;
// playback and recording events whose id nobody owns go to the owner of
// their target ("channel:ID", "bridge:ID"). Events nobody owns go to the
// handler (ConnOptions.Handler): above all the StasisStart of a new call,
// but also ApplicationReplaced, unknown event types and stragglers after a
// call closed its inbox. Nothing is dropped.
//
// Each inbox is an unbounded FIFO: the reader never waits for a call, so a
// slow call only delays itself. Close the inbox when the call ends; it
// releases every id.
//
// # Traps of Asterisk 20 this package documents rather than hides
//
//   - A channel that entered through the dialplan never gets
//     ChannelDestroyed in the application: StasisEnd is the end of the call.
//     So are snoop channels. Originated channels do get ChannelDestroyed.
//   - Several media in one play are sent as ONE comma-separated media
//     parameter (or a JSON body); Asterisk plays only the last of repeated
//     media= parameters. The same holds for other list parameters, so this
//     package always joins them (eventSource, channel, only).
//   - There is no PlaybackFailed: a missing file gives PlaybackStarted then
//     PlaybackFinished with state "failed", and some bad URIs give
//     PlaybackStarted and never finish. Flows need a playback watchdog.
//   - Hold, unhold and music on hold produce no events at all.
//   - BridgeDestroyed reaches the app only in some cases (a member hung up
//     inside it earlier, or the app subscribed to the bridge): never wait
//     for it after Destroy.
//   - Events sent while the websocket is down are lost; reconnecting
//     replays nothing. After every (re)connect a Conn reconciles with
//     GET /applications/{app} and GET /channels and reports, through
//     ConnOptions.OnReconcile, channels in the application that no call
//     owns (the engine resumes, transfers or ends them: none may stay in
//     Stasis forever) and owned channels that are gone (close their
//     inboxes: a restarted Asterisk may hand out the same ids again).
//   - A second websocket for the same application takes it over: the first
//     gets ApplicationReplaced and then nothing, even after the second
//     closes. A Conn that receives ApplicationReplaced stops (Run returns
//     ErrApplicationReplaced, Health.Replaced is set, the metric
//     hotline_ari_node_application_replaced is 1) instead of reconnecting
//     and stealing the application back. Ownership rule: every controller
//     instance uses its own application name on each node. With leases
//     (Cluster.SetGate) the Cluster runs it again, and it waits at the gate
//     until the application's lease is the controller's once more.
//
// # Connection lifecycle
//
// Conn.Run reconnects with a backoff from 0.5 s doubling to 5 s. Asterisk
// never pings, so the client pings every 4 s and drops a socket whose pong
// is missing for 5 s: a silent network drop is noticed within 10 s. A
// Cluster runs the Conns of several nodes; each call is bound to its node
// (Event.Base().Node, Inbox.Node). Cluster.Health and Cluster.Ready feed
// /readyz; Cluster.Collector is a prometheus.Collector for /metrics. The
// package has no global state.
package ari
