// Package arisim is a simulated Asterisk 20.20.1 node speaking ARI (REST
// and the events websocket) for tests, the demo and benchmarks, plus a
// separate control API that plays the part of the telephones.
//
// Its behaviour follows real Asterisk as recorded in ../shared/ari-transcripts
// (relative to the repository root): compact JSON in Asterisk's key order,
// the same headers, status codes and error bodies, uniqueids
// "<epoch>.<counter>", Local channel names "Local/<exten>@<ctx>-<8hex>;1|;2",
// event order and which application receives which event.
//
// Modelled:
//   - channels and their states (Down, Ring, Ringing, Up); Local channel
//     pairs from originate (the originating application is subscribed to
//     both halves for their life) and from /channels/create + /dial;
//     client-chosen ids; originate and dial timeouts;
//   - a configurable dialplan (Context): Set(CALLERID(num)), Stasis(app)
//     and Hangup(); Stasis() fails when the application has no websocket
//     (STASISSTATUS=FAILED), the context's fallback prompt is played and
//     the caller is hung up;
//   - subscriptions: dialplan Stasis subscribes until StasisEnd (no
//     ChannelDestroyed), originate for the whole life, explicit ones are
//     reference counted; ApplicationReplaced; no replay on reconnect;
//     an application without socket and channels disappears;
//   - playbacks queued FIFO per channel or bridge, durations from WAV
//     headers in Options.SoundDirs or built-in durations, media lists,
//     pause/unpause/restart/forward/reverse, stop, failures on hangup, the
//     recorded quirks of missing files and bad URIs;
//   - DTMF with duration, between and queueing per channel, delivered to
//     the far Local half and passed on through bridges;
//   - bridges (mixing, holding), moves between bridges, BRIDGEPEER with the
//     internal announcer and recorder channels, bridge MOH, play and record,
//     the BridgeDestroyed delivery rule;
//   - channel hold, MOH, mute, silence (no events, as recorded); snoop;
//   - live and stored recordings written as real WAV files (8 kHz mono
//     16-bit silence: simulated channels carry no audio), terminateOn,
//     maxDurationSeconds, silence detection on silent channels, cancel;
//   - variables and the dialplan functions CALLERID, CONNECTEDLINE and
//     CHANNEL; continue; move; user events; REST over the websocket;
//   - SIP/PJSIP phone endpoints that are registered or not and answer after
//     a delay, reject as busy, never answer, or wait for the control API.
//
// Not modelled: audio itself (no RTP, recordings are silence), transfers
// and bridge merges, external media, device state and endpoint events,
// event filters, subscribeAll beyond channel events, mailboxes, the
// redirect and rtp_statistics operations (accepted, no effect), dialplan
// labels and any dialplan beyond Context.
//
// Timing is scaled by Options.Speed. One mutex guards the model. Pending
// actions wait in one queue under one timer set for the soonest, so idle
// channels cost no goroutine and actions run in the order they fall due,
// however late the timer fires. Each websocket has one writer goroutine.
//
// The control API keeps web pages out (see ControlHandler): it hears every
// key a caller presses. ARI refuses pages of other origins (403), where
// Asterisk would serve them: the demo's ARI account is no secret.
package arisim
