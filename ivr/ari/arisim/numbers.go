package arisim

import (
	"sort"
	"strings"
)

// Outside phones. A context with Dial set stands for a real Asterisk context such as
//
//	[hotline-out]
//	exten => _X.,1,Dial(PJSIP/${EXTEN}@carrier,60)
//	 same => n,Hangup()
//
// Originating Local/<number>@hotline-out makes a Local pair whose ;2 half dials the number
// through the carrier; the number's phone (SetNumber) rings, answers, is busy or rejects. As
// in Asterisk, the ;1 half the application holds is answered (and enters Stasis) when the
// outside phone answers; a busy or rejected phone ends Dial, Hangup() keeps Dial's cause
// (17 user busy, 21 call rejected) and the Local pair passes it to ;1. The outside phone
// presents the caller ID the originate gave. Numbers not configured answer at once.

// SetNumber sets how the outside phone of a number behaves when the hotline dials it.
func (s *Sim) SetNumber(number string, b PhoneBehaviour) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.numbers == nil {
		s.numbers = map[string]PhoneBehaviour{}
	}
	s.numbers[number] = b
}

// Numbers returns the configured outside phones by number.
func (s *Sim) Numbers() map[string]PhoneBehaviour {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]PhoneBehaviour, len(s.numbers))
	for n, b := range s.numbers {
		out[n] = b
	}
	return out
}

// dialOut runs Dial(PJSIP/<exten>@carrier,<timeout>) on ch, the ;2 half of a Local pair.
func (s *Sim) dialOut(ch *channel, c Context, exten string) {
	ch.dp.Priority, ch.dp.AppName, ch.dp.AppData = 1, "Dial", "PJSIP/"+exten+"@carrier,60"
	s.emitChan(ch, &ev{typ: "ChannelDialplan", body: []kv{{"dialplan_app", "Dial"},
		{"dialplan_app_data", ch.dp.AppData}, {"channel", ch.json()}}})
	b := s.numbers[exten]
	ep := &endpoint{cfg: EndpointConfig{Technology: "PJSIP", Resource: exten, Registered: true, Behaviour: b}}
	ph := s.newChannel(s.newUniqueID(), "PJSIP/carrier-"+s.nextLocalHex(), "Down")
	ph.dp = dialplanJSON{Context: "default", Exten: "s", Priority: 1, AppName: "AppDial2", AppData: "(Outgoing Line)"}
	ph.ep = ep
	ph.caller = ch.caller
	ph.dialedBy, ch.dialee = ch, ph
	// The outside phone is a call of the control API: its user hears what the ;1 half the
	// application bridges hears.
	heard := ch
	if ch.peer != nil {
		heard = ch.peer
	}
	call := s.newCall("outbound", ph, heard)
	call.info.Exten = exten
	call.info.Caller = ch.caller.Number
	call.info.Endpoint = "PJSIP/" + exten + "@carrier"
	call.emit(HeardEvent{Type: "incoming"})
	s.dial(ph, exten+"@carrier", 0)
}

// dialOutEnded continues the dialplan of the ;2 half whose outside phone hung up: after a
// conversation or a failed Dial, Hangup() with the cause Dial left.
func (s *Sim) dialOutEnded(ph *channel, cause int) {
	d := ph.dialedBy
	if d == nil || d.hungup {
		return
	}
	if d.state == "Up" || cause == 0 {
		cause = 16
	}
	d.dp.Priority, d.dp.AppName, d.dp.AppData = 2, "Hangup", ""
	s.emitChan(d, &ev{typ: "ChannelDialplan", body: []kv{{"dialplan_app", "Hangup"},
		{"dialplan_app_data", ""}, {"channel", d.json()}}})
	s.hangup(d, hangupReq{emit: true, cause: cause, soft: true}, cause)
}

// numberList is the control API's view of the outside phones.
func (s *Sim) numberList() []numberJSON {
	nums := s.Numbers()
	out := make([]numberJSON, 0, len(nums))
	for n, b := range nums {
		out = append(out, numberJSON{Number: n, Mode: b.Mode, RingAfterMS: b.RingAfter.Milliseconds(),
			AnswerAfterMS: b.AnswerAfter.Milliseconds()})
	}
	sort.Slice(out, func(i, j int) bool { return strings.Compare(out[i].Number, out[j].Number) < 0 })
	return out
}

type numberJSON struct {
	Number        string `json:"number"`
	Mode          string `json:"mode"`
	RingAfterMS   int64  `json:"ring_after_ms"`
	AnswerAfterMS int64  `json:"answer_after_ms"`
}
