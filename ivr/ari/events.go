package ari

import (
	"bytes"
	"fmt"
	"time"

	// Events and responses are decoded on the hot path of every call: segmentio's decoder
	// is a drop-in for encoding/json at a quarter of its CPU.
	"github.com/segmentio/encoding/json"
)

// Time is an Asterisk timestamp such as "2026-11-25T17:42:37.438+0000"
// (millisecond precision, numeric zone without a colon).
type Time struct {
	time.Time
}

// TimeLayout is the layout of Asterisk timestamps.
const TimeLayout = "2006-01-02T15:04:05.000-0700"

// UnmarshalJSON parses an Asterisk timestamp; "" and null give the zero Time.
func (t *Time) UnmarshalJSON(b []byte) error {
	if string(b) == "null" || string(b) == `""` {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		s = string(b[1 : len(b)-1]) // the common case: no escapes to undo
	} else if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("ari: timestamp: %w", err)
	}
	v, err := time.Parse(TimeLayout, s)
	if err != nil {
		v, err = time.Parse(time.RFC3339Nano, s)
	}
	if err != nil {
		return fmt.Errorf("ari: timestamp %q: %w", s, err)
	}
	t.Time = v
	return nil
}

// MarshalJSON formats t like Asterisk does.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte(`""`), nil
	}
	return json.Marshal(t.Format(TimeLayout))
}

// Event is any message received on the events websocket. Concrete values are
// pointers to the typed structs of this package (*StasisStart, ...), or
// *UnknownEvent for a type this package does not know.
type Event interface {
	// Base returns the fields every event carries.
	Base() *EventBase
}

// EventBase holds the fields common to every ARI event, plus the name of the
// node whose websocket delivered it.
type EventBase struct {
	Type        string `json:"type"`
	Timestamp   Time   `json:"timestamp"`
	AsteriskID  string `json:"asterisk_id"`
	Application string `json:"application"`
	// Node is the configured name of the node the event came from; it is set
	// by Conn, not by Asterisk.
	Node string `json:"-"`
	// Received is when Conn read the event from the websocket.
	Received time.Time `json:"-"`
}

// Base implements Event.
func (b *EventBase) Base() *EventBase { return b }

// UnknownEvent is an event whose type this package does not model. It is
// delivered, never dropped, so a newer Asterisk cannot make events vanish.
type UnknownEvent struct {
	EventBase
	// Raw is the complete JSON of the event.
	Raw json.RawMessage `json:"-"`
}

// DecodeEvent decodes one websocket message into its typed event. A message
// with an unknown type gives an *UnknownEvent; only invalid JSON or a message
// without "type" is an error.
func DecodeEvent(data []byte) (Event, error) {
	var head struct {
		Type string `json:"type"`
	}
	if typ, ok := leadingType(data); ok {
		head.Type = typ // most events start with their type: skip a parse
	} else if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("ari: decode event: %w", err)
	}
	if head.Type == "" {
		return nil, fmt.Errorf("ari: decode event: no type in %.80q", data)
	}
	ev := newEvent(head.Type)
	if u, ok := ev.(*UnknownEvent); ok {
		u.Raw = bytes.Clone(data)
	}
	if err := json.Unmarshal(data, ev); err != nil {
		return nil, fmt.Errorf("ari: decode %s event: %w", head.Type, err)
	}
	return ev, nil
}

// leadingType reads the type of an event that starts with {"type":"...",
// as Asterisk writes most of them.
func leadingType(data []byte) (string, bool) {
	const prefix = `{"type":"`
	if !bytes.HasPrefix(data, []byte(prefix)) {
		return "", false
	}
	rest := data[len(prefix):]
	end := bytes.IndexByte(rest, '"')
	if end <= 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return "", false
	}
	return string(rest[:end]), true
}

// newEvent returns an empty typed event for typ.
func newEvent(typ string) Event {
	switch typ {
	case "StasisStart":
		return new(StasisStart)
	case "StasisEnd":
		return new(StasisEnd)
	case "ChannelCreated":
		return new(ChannelCreated)
	case "ChannelDestroyed":
		return new(ChannelDestroyed)
	case "ChannelStateChange":
		return new(ChannelStateChange)
	case "ChannelDtmfReceived":
		return new(ChannelDtmfReceived)
	case "ChannelHangupRequest":
		return new(ChannelHangupRequest)
	case "ChannelVarset":
		return new(ChannelVarset)
	case "ChannelDialplan":
		return new(ChannelDialplan)
	case "ChannelCallerId":
		return new(ChannelCallerID)
	case "ChannelConnectedLine":
		return new(ChannelConnectedLine)
	case "ChannelEnteredBridge":
		return new(ChannelEnteredBridge)
	case "ChannelLeftBridge":
		return new(ChannelLeftBridge)
	case "ChannelUserevent":
		return new(ChannelUserevent)
	case "ChannelHold":
		return new(ChannelHold)
	case "ChannelUnhold":
		return new(ChannelUnhold)
	case "ChannelTalkingStarted":
		return new(ChannelTalkingStarted)
	case "ChannelTalkingFinished":
		return new(ChannelTalkingFinished)
	case "ChannelTransfer":
		return new(ChannelTransfer)
	case "Dial":
		return new(Dial)
	case "PlaybackStarted":
		return new(PlaybackStarted)
	case "PlaybackContinuing":
		return new(PlaybackContinuing)
	case "PlaybackFinished":
		return new(PlaybackFinished)
	case "RecordingStarted":
		return new(RecordingStarted)
	case "RecordingFinished":
		return new(RecordingFinished)
	case "RecordingFailed":
		return new(RecordingFailed)
	case "BridgeCreated":
		return new(BridgeCreated)
	case "BridgeDestroyed":
		return new(BridgeDestroyed)
	case "BridgeMerged":
		return new(BridgeMerged)
	case "BridgeVideoSourceChanged":
		return new(BridgeVideoSourceChanged)
	case "BridgeBlindTransfer":
		return new(BridgeBlindTransfer)
	case "BridgeAttendedTransfer":
		return new(BridgeAttendedTransfer)
	case "ApplicationReplaced":
		return new(ApplicationReplaced)
	case "ApplicationRegistered":
		return new(ApplicationRegistered)
	case "ApplicationUnregistered":
		return new(ApplicationUnregistered)
	case "ApplicationMoveFailed":
		return new(ApplicationMoveFailed)
	case "DeviceStateChanged":
		return new(DeviceStateChanged)
	case "EndpointStateChange":
		return new(EndpointStateChange)
	case "ContactStatusChange":
		return new(ContactStatusChange)
	case "PeerStatusChange":
		return new(PeerStatusChange)
	case "TextMessageReceived":
		return new(TextMessageReceived)
	case "RESTResponse":
		return new(RESTResponse)
	case "CallBroadcast":
		return new(CallBroadcast)
	case "CallClaimed":
		return new(CallClaimed)
	}
	return new(UnknownEvent)
}

// refs are the ids an event is about, used by the Router to find its owners.
type refs struct {
	channels  [3]string
	bridge    string
	playback  string
	recording string
	target    string // playback/recording target_uri, e.g. "channel:ID"
}

func (r *refs) addChannel(ch *Channel) {
	if ch == nil || ch.ID == "" {
		return
	}
	for i := range r.channels {
		if r.channels[i] == "" {
			r.channels[i] = ch.ID
			return
		}
	}
}

func (r *refs) setBridge(b *Bridge) {
	if b != nil {
		r.bridge = b.ID
	}
}

// eventRefs returns the ids ev refers to, the channel first.
func eventRefs(ev Event) refs {
	var r refs
	switch e := ev.(type) {
	case *StasisStart:
		r.addChannel(&e.Channel)
		r.addChannel(e.ReplaceChannel)
	case *StasisEnd:
		r.addChannel(&e.Channel)
	case *ChannelCreated:
		r.addChannel(&e.Channel)
	case *ChannelDestroyed:
		r.addChannel(&e.Channel)
	case *ChannelStateChange:
		r.addChannel(&e.Channel)
	case *ChannelDtmfReceived:
		r.addChannel(&e.Channel)
	case *ChannelHangupRequest:
		r.addChannel(&e.Channel)
	case *ChannelVarset:
		r.addChannel(e.Channel)
	case *ChannelDialplan:
		r.addChannel(&e.Channel)
	case *ChannelCallerID:
		r.addChannel(&e.Channel)
	case *ChannelConnectedLine:
		r.addChannel(&e.Channel)
	case *ChannelEnteredBridge:
		r.addChannel(e.Channel)
		r.setBridge(&e.Bridge)
	case *ChannelLeftBridge:
		r.addChannel(&e.Channel)
		r.setBridge(&e.Bridge)
	case *ChannelUserevent:
		r.addChannel(e.Channel)
		r.setBridge(e.Bridge)
	case *ChannelHold:
		r.addChannel(&e.Channel)
	case *ChannelUnhold:
		r.addChannel(&e.Channel)
	case *ChannelTalkingStarted:
		r.addChannel(&e.Channel)
	case *ChannelTalkingFinished:
		r.addChannel(&e.Channel)
	case *Dial:
		r.addChannel(&e.Peer)
		r.addChannel(e.Caller)
		r.addChannel(e.Forwarded)
	case *PlaybackStarted:
		r.playback, r.target = e.Playback.ID, e.Playback.TargetURI
	case *PlaybackContinuing:
		r.playback, r.target = e.Playback.ID, e.Playback.TargetURI
	case *PlaybackFinished:
		r.playback, r.target = e.Playback.ID, e.Playback.TargetURI
	case *RecordingStarted:
		r.recording, r.target = e.Recording.Name, e.Recording.TargetURI
	case *RecordingFinished:
		r.recording, r.target = e.Recording.Name, e.Recording.TargetURI
	case *RecordingFailed:
		r.recording, r.target = e.Recording.Name, e.Recording.TargetURI
	case *BridgeCreated:
		r.setBridge(&e.Bridge)
	case *BridgeDestroyed:
		r.setBridge(&e.Bridge)
	case *BridgeMerged:
		r.setBridge(&e.Bridge)
	case *BridgeVideoSourceChanged:
		r.setBridge(&e.Bridge)
	case *BridgeBlindTransfer:
		r.addChannel(&e.Channel)
		r.addChannel(e.Transferee)
		r.setBridge(e.Bridge)
	case *BridgeAttendedTransfer:
		r.addChannel(&e.TransfererFirstLeg)
		r.addChannel(&e.TransfererSecondLeg)
		r.addChannel(e.Transferee)
	case *ApplicationMoveFailed:
		r.addChannel(&e.Channel)
	case *CallBroadcast:
		r.addChannel(&e.Channel)
	case *CallClaimed:
		r.addChannel(&e.Channel)
	}
	return r
}
