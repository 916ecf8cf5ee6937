// Package sipua is a scripted SIP telephone: it places a call the way a citizen's phone does
// (UDP or TCP, digest authentication, an outbound proxy), sends silence or a WAV file as its
// voice, presses keys as RFC 4733 (RFC 2833) telephone events, listens to and records what the
// far end says, and reports a timeline: the SIP responses, the answer time, the codec, the RTP
// packets and loudness of every second, the digits sent and how the call ended.
//
// A call follows a Script ("wait:prompt 2s; keys 1; wait 3s; keys 2; listen 8s; hangup"),
// which says both what to do and what must be heard: a call succeeds only when every step ran
// and audio was heard wherever the script expects it. 'hotline phone' and 'hotline bench sip'
// are built on it; sipua/siptest is a small SIP server to call in tests, and sipua/load places
// many scripted calls at once.
//
// SIP and RTP come from github.com/emiago/sipgo and github.com/emiago/diago. The package sends
// its own RTP packets rather than diago's DTMF writer: diago stamps an event with the audio
// stream's timestamp and never advances it, so a caller that sends no audio gives every digit
// the same timestamp and Asterisk keeps only the first. Here one sender owns the stream: it
// sends a 20 ms frame of audio (silence by default) on every tick, replaces frames by event
// packets while a digit is pressed, then moves the audio timestamp past the event.
package sipua
