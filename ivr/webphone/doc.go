// Package webphone is the demo's browser phone: a page where a visitor
// picks a caller number (a seeded citizen or any number), dials the hotline
// through the Asterisk simulator, hears the prompts the simulator plays,
// reads captions of what is said, presses keys on a dial pad and hangs up.
//
// The page talks only to its own origin. One websocket per call, GET
// dial?caller=…&token=…, carries the whole call: the server opens the simulator's
// event stream, places the call through the simulator's control API, relays
// the events of that call (and of no other) to the browser, and turns the
// browser's messages into key presses and a hang-up. Opening the event
// stream before placing the call means no event is lost, even when the
// hotline answers and plays before the browser could have subscribed. A
// browser that leaves hangs its call up.
//
// Only this server's page may call: the call's websocket is refused (403)
// to a page of another origin and to any client without the token that the
// page carries, a random one chosen by New. Otherwise any site open in the
// browser could place calls and read the keys pressed (ID numbers, PINs).
// The simulator's own control API refuses web pages in the same way, so
// the relay is the browser's only way to it.
//
// The page plays the prompts from an audio queue in the simulator's order,
// at its own pace, and shows each caption as its prompt starts. The
// simulator reports "stop" both when a prompt ends and when it is cut
// short; the page cuts its audio only in the second case, which it tells
// from the event times scaled by Options.Speed.
//
// The prompts themselves are the WAV files the simulator plays, fetched
// through sounds/{lang}/{name}.wav; captions.json maps prompt ids to their
// texts from the sound manifest, and lists the speech fragments (num/…,
// cur/…, date/…) that the page joins into one caption line.
//
// Routes, relative to where the handler is mounted (the page uses relative
// URLs, so mount it under a prefix ending in "/", for example with
// http.StripPrefix("/phone", h) on "/phone/"):
//
//	GET /                            the page
//	GET /captions.json               prompt texts and fragment ids
//	GET /static/{file}               the script and style sheet
//	GET /dial?caller=…&token=…       websocket of one call
//	GET /sounds/{lang}/{name...}     a prompt's WAV, from the simulator
package webphone
