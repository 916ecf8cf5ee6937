package arisim

import (
	"strconv"
	"time"

	"github.com/segmentio/encoding/json"
)

// tsLayout is Asterisk's timestamp format: milliseconds, "+0000".
const tsLayout = "2006-01-02T15:04:05.000-0700"

func formatTS(t time.Time) string { return t.UTC().Format(tsLayout) }

// The structs below mirror Asterisk's JSON objects; field order is the
// wire order (encoding/json keeps struct order).

type callerJSON struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

type dialplanJSON struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int    `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

type channelJSON struct {
	ID           string       `json:"id"`
	Name         string       `json:"name"`
	State        string       `json:"state"`
	ProtocolID   string       `json:"protocol_id"`
	Caller       callerJSON   `json:"caller"`
	Connected    callerJSON   `json:"connected"`
	AccountCode  string       `json:"accountcode"`
	Dialplan     dialplanJSON `json:"dialplan"`
	CreationTime string       `json:"creationtime"`
	Language     string       `json:"language"`
}

type bridgeJSON struct {
	ID           string   `json:"id"`
	Technology   string   `json:"technology"`
	BridgeType   string   `json:"bridge_type"`
	BridgeClass  string   `json:"bridge_class"`
	Creator      string   `json:"creator"`
	Name         string   `json:"name"`
	Channels     []string `json:"channels"`
	CreationTime string   `json:"creationtime"`
	VideoMode    string   `json:"video_mode"`
}

type playbackJSON struct {
	ID           string `json:"id"`
	MediaURI     string `json:"media_uri"`
	NextMediaURI string `json:"next_media_uri,omitempty"`
	TargetURI    string `json:"target_uri"`
	Language     string `json:"language"`
	State        string `json:"state"`
}

type liveRecordingJSON struct {
	Name            string `json:"name"`
	Format          string `json:"format"`
	State           string `json:"state"`
	TargetURI       string `json:"target_uri"`
	Duration        *int   `json:"duration,omitempty"`
	TalkingDuration *int   `json:"talking_duration,omitempty"`
	SilenceDuration *int   `json:"silence_duration,omitempty"`
}

type storedRecordingJSON struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

type applicationJSON struct {
	Name             string   `json:"name"`
	ChannelIDs       []string `json:"channel_ids"`
	BridgeIDs        []string `json:"bridge_ids"`
	EndpointIDs      []string `json:"endpoint_ids"`
	DeviceNames      []string `json:"device_names"`
	EventsAllowed    []any    `json:"events_allowed"`
	EventsDisallowed []any    `json:"events_disallowed"`
}

type endpointJSON struct {
	Technology string   `json:"technology"`
	Resource   string   `json:"resource"`
	State      string   `json:"state"`
	ChannelIDs []string `json:"channel_ids"`
}

type pingJSON struct {
	Ping       string `json:"ping"`
	Timestamp  string `json:"timestamp"`
	AsteriskID string `json:"asterisk_id"`
}

type valueJSON struct {
	Value string `json:"value"`
}

type messageJSON struct {
	Message string `json:"message"`
}

type errorJSON struct {
	Error string `json:"error"`
}

// kv is one key of a JSON object being built in a fixed order.
type kv struct {
	k string
	v any
}

// ev is an event under construction: keys before "type" (pre), the
// payload after "timestamp" (body), and where application goes.
type ev struct {
	typ  string
	pre  []kv
	body []kv
	// appSecond puts application right after type (DeviceStateChanged).
	appSecond bool
	// appAfterPayload puts application before timestamp (RESTResponse,
	// ApplicationReplaced use their own layouts).
	layout int
	ts     time.Time
}

const (
	layoutNormal = iota
	layoutREST   // type, payload…, application, timestamp, asterisk_id
	layoutReplaced
)

// encode renders the event for one application.
func (e *ev) encode(appName, astID string) []byte {
	b := make([]byte, 0, 512)
	b = append(b, '{')
	first := true
	add := func(k string, v any) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = strconv.AppendQuote(b, k)
		b = append(b, ':')
		raw, err := json.Marshal(v)
		if err != nil {
			raw = []byte("null")
		}
		b = append(b, raw...)
	}
	ts := formatTS(e.ts)
	switch e.layout {
	case layoutREST:
		add("type", e.typ)
		for _, p := range e.body {
			add(p.k, p.v)
		}
		add("application", appName)
		add("timestamp", ts)
		add("asterisk_id", astID)
	case layoutReplaced:
		add("type", e.typ)
		add("timestamp", ts)
		add("application", appName)
		add("asterisk_id", astID)
	default:
		for _, p := range e.pre {
			add(p.k, p.v)
		}
		add("type", e.typ)
		if e.appSecond {
			add("application", appName)
		}
		add("timestamp", ts)
		for _, p := range e.body {
			add(p.k, p.v)
		}
		add("asterisk_id", astID)
		if !e.appSecond {
			add("application", appName)
		}
	}
	b = append(b, '}')
	return b
}

// Q.850 cause texts used by ChannelDestroyed.
func causeText(c int) string {
	switch c {
	case 0:
		return "Unknown"
	case 1:
		return "Unallocated (unassigned) number"
	case 16:
		return "Normal Clearing"
	case 17:
		return "User busy"
	case 18:
		return "No user responding"
	case 19:
		return "User alerting, no answer"
	case 21:
		return "Call Rejected"
	case 27:
		return "Destination out of order"
	case 28:
		return "Invalid number format (addressed incomplete)"
	case 34:
		return "Circuit/channel congestion"
	case 41:
		return "Temporary failure"
	default:
		return "Unknown"
	}
}

// hangupReasons maps ARI hangup reasons to Q.850 causes.
var hangupReasons = map[string]int{
	"normal":             16,
	"busy":               17,
	"congestion":         34,
	"no_answer":          19,
	"timeout":            18,
	"rejected":           21,
	"unallocated":        1,
	"normal_unspecified": 31,
	"number_incomplete":  28,
	"codec_mismatch":     58,
	"interworking":       127,
	"failure":            41,
	"answered_elsewhere": 26,
}
