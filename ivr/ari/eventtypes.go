package ari

import "encoding/json"

// StasisStart is sent when a channel enters the application: a new call
// (from the dialplan's Stasis()), an answered originated channel, a snoop
// channel or a channel moved in. Args are the application arguments.
type StasisStart struct {
	EventBase
	Args           []string `json:"args"`
	Channel        Channel  `json:"channel"`
	ReplaceChannel *Channel `json:"replace_channel,omitempty"`
}

// StasisEnd is sent when a channel leaves the application. For a channel
// that entered through the dialplan it is the last event: no
// ChannelDestroyed follows.
type StasisEnd struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelCreated is sent when a channel is created (subscribeAll only).
type ChannelCreated struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelDestroyed is sent when a channel the app subscribed to (by
// originate) is destroyed. Cause is the Q.850 cause.
type ChannelDestroyed struct {
	EventBase
	Cause     int     `json:"cause"`
	CauseTxt  string  `json:"cause_txt"`
	TechCause int     `json:"tech_cause,omitempty"`
	Channel   Channel `json:"channel"`
}

// ChannelStateChange is sent when a channel's state changes (Ring, Up, ...).
type ChannelStateChange struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelDtmfReceived is sent when a DTMF digit has been received (at the end
// of the digit).
type ChannelDtmfReceived struct {
	EventBase
	Digit      string  `json:"digit"`
	DurationMs int     `json:"duration_ms"`
	Channel    Channel `json:"channel"`
}

// ChannelHangupRequest is sent when a hangup is requested. Without Soft,
// Cause is a Q.850 cause; with Soft it is not (32 after an ARI hangup).
type ChannelHangupRequest struct {
	EventBase
	Cause     int     `json:"cause"`
	Soft      bool    `json:"soft,omitempty"`
	TechCause int     `json:"tech_cause,omitempty"`
	Channel   Channel `json:"channel"`
}

// ChannelVarset is sent when a channel (or, without Channel, a global)
// variable changes, e.g. STASISSTATUS or BRIDGEPEER.
type ChannelVarset struct {
	EventBase
	Variable string   `json:"variable"`
	Value    string   `json:"value"`
	Channel  *Channel `json:"channel,omitempty"`
}

// ChannelDialplan is sent when a channel runs a dialplan application.
type ChannelDialplan struct {
	EventBase
	DialplanApp     string  `json:"dialplan_app"`
	DialplanAppData string  `json:"dialplan_app_data"`
	Channel         Channel `json:"channel"`
}

// ChannelCallerID is the ChannelCallerId event: the caller id changed.
type ChannelCallerID struct {
	EventBase
	CallerPresentation    int     `json:"caller_presentation"`
	CallerPresentationTxt string  `json:"caller_presentation_txt"`
	Channel               Channel `json:"channel"`
}

// ChannelConnectedLine is sent when a channel's connected line changes.
type ChannelConnectedLine struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelEnteredBridge is sent when a channel enters a bridge; Bridge
// already lists it.
type ChannelEnteredBridge struct {
	EventBase
	Bridge  Bridge   `json:"bridge"`
	Channel *Channel `json:"channel,omitempty"`
}

// ChannelLeftBridge is sent when a channel leaves a bridge.
type ChannelLeftBridge struct {
	EventBase
	Bridge  Bridge  `json:"bridge"`
	Channel Channel `json:"channel"`
}

// ChannelUserevent is a user event raised by the dialplan or POST /events/user.
type ChannelUserevent struct {
	EventBase
	EventName string          `json:"eventname"`
	Userevent json.RawMessage `json:"userevent"`
	Channel   *Channel        `json:"channel,omitempty"`
	Bridge    *Bridge         `json:"bridge,omitempty"`
	Endpoint  *Endpoint       `json:"endpoint,omitempty"`
}

// ChannelHold is sent when a channel driver reports hold from the far end
// (never for Local channels, nor for ARI hold requests).
type ChannelHold struct {
	EventBase
	MusicClass string  `json:"musicclass,omitempty"`
	Channel    Channel `json:"channel"`
}

// ChannelUnhold is the end of a ChannelHold.
type ChannelUnhold struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelTalkingStarted is sent by the TALK_DETECT function when talking starts.
type ChannelTalkingStarted struct {
	EventBase
	Channel Channel `json:"channel"`
}

// ChannelTalkingFinished is sent by TALK_DETECT when talking stops; Duration in ms.
type ChannelTalkingFinished struct {
	EventBase
	Duration int     `json:"duration"`
	Channel  Channel `json:"channel"`
}

// ChannelTransfer is a SIP REFER notification; its nested objects are kept raw.
type ChannelTransfer struct {
	EventBase
	State      string          `json:"state,omitempty"`
	ReferTo    json.RawMessage `json:"refer_to"`
	ReferredBy json.RawMessage `json:"referred_by"`
}

// Dial reports dialing progress of Peer. DialStatus is "" at the start, then
// RINGING, PROGRESS, ANSWER, NOANSWER, BUSY, ...
type Dial struct {
	EventBase
	DialStatus string   `json:"dialstatus"`
	Forward    string   `json:"forward,omitempty"`
	DialString string   `json:"dialstring,omitempty"`
	Peer       Channel  `json:"peer"`
	Caller     *Channel `json:"caller,omitempty"`
	Forwarded  *Channel `json:"forwarded,omitempty"`
}

// PlaybackStarted is sent when a playback (or the next item of a media list,
// or an unpaused playback) starts.
type PlaybackStarted struct {
	EventBase
	Playback Playback `json:"playback"`
}

// PlaybackContinuing is sent when a media list moves on to its next item.
type PlaybackContinuing struct {
	EventBase
	Playback Playback `json:"playback"`
}

// PlaybackFinished is sent when a playback ends; Playback.State is "done"
// (also when stopped) or "failed" (missing file, channel hung up).
type PlaybackFinished struct {
	EventBase
	Playback Playback `json:"playback"`
}

// RecordingStarted is sent when a recording starts.
type RecordingStarted struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// RecordingFinished is sent when a recording ends (stop, limit, terminateOn,
// silence or cancel).
type RecordingFinished struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// RecordingFailed is sent when a recording fails.
type RecordingFailed struct {
	EventBase
	Recording LiveRecording `json:"recording"`
}

// BridgeCreated is sent when a bridge is created (not sent to ARI apps for
// their own bridges by Asterisk 20).
type BridgeCreated struct {
	EventBase
	Bridge Bridge `json:"bridge"`
}

// BridgeDestroyed is sent when a bridge is destroyed, only to some apps (see
// the package documentation): do not wait for it.
type BridgeDestroyed struct {
	EventBase
	Bridge Bridge `json:"bridge"`
}

// BridgeMerged is sent when two bridges merge.
type BridgeMerged struct {
	EventBase
	Bridge     Bridge `json:"bridge"`
	BridgeFrom Bridge `json:"bridge_from"`
}

// BridgeVideoSourceChanged is sent when a bridge's video source changes.
type BridgeVideoSourceChanged struct {
	EventBase
	Bridge           Bridge `json:"bridge"`
	OldVideoSourceID string `json:"old_video_source_id,omitempty"`
}

// BridgeBlindTransfer is sent when a blind transfer happens in a bridge.
type BridgeBlindTransfer struct {
	EventBase
	Channel        Channel  `json:"channel"`
	ReplaceChannel *Channel `json:"replace_channel,omitempty"`
	Transferee     *Channel `json:"transferee,omitempty"`
	Exten          string   `json:"exten"`
	Context        string   `json:"context"`
	Result         string   `json:"result"`
	IsExternal     bool     `json:"is_external"`
	Bridge         *Bridge  `json:"bridge,omitempty"`
}

// BridgeAttendedTransfer is sent when an attended transfer happens.
type BridgeAttendedTransfer struct {
	EventBase
	TransfererFirstLeg         Channel  `json:"transferer_first_leg"`
	TransfererSecondLeg        Channel  `json:"transferer_second_leg"`
	ReplaceChannel             *Channel `json:"replace_channel,omitempty"`
	Transferee                 *Channel `json:"transferee,omitempty"`
	TransferTarget             *Channel `json:"transfer_target,omitempty"`
	Result                     string   `json:"result"`
	IsExternal                 bool     `json:"is_external"`
	TransfererFirstLegBridge   *Bridge  `json:"transferer_first_leg_bridge,omitempty"`
	TransfererSecondLegBridge  *Bridge  `json:"transferer_second_leg_bridge,omitempty"`
	DestinationType            string   `json:"destination_type"`
	DestinationBridge          string   `json:"destination_bridge,omitempty"`
	DestinationApplication     string   `json:"destination_application,omitempty"`
	DestinationLinkFirstLeg    *Channel `json:"destination_link_first_leg,omitempty"`
	DestinationLinkSecondLeg   *Channel `json:"destination_link_second_leg,omitempty"`
	DestinationThreewayChannel *Channel `json:"destination_threeway_channel,omitempty"`
	DestinationThreewayBridge  *Bridge  `json:"destination_threeway_bridge,omitempty"`
}

// ApplicationReplaced is sent to a websocket whose application was taken
// over by another websocket; that socket then receives nothing more.
type ApplicationReplaced struct {
	EventBase
}

// ApplicationRegistered is sent when an application registers.
type ApplicationRegistered struct {
	EventBase
}

// ApplicationUnregistered is sent when an application unregisters.
type ApplicationUnregistered struct {
	EventBase
}

// ApplicationMoveFailed is sent when ChannelHandle.Move named an application
// that is not registered; the channel stays in the current application.
type ApplicationMoveFailed struct {
	EventBase
	Channel     Channel  `json:"channel"`
	Destination string   `json:"destination"`
	Args        []string `json:"args"`
}

// DeviceState is the state of a device, e.g. {"Local/1@x", "INUSE"}.
type DeviceState struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

// DeviceStateChanged is sent when a subscribed device changes state.
type DeviceStateChanged struct {
	EventBase
	DeviceState DeviceState `json:"device_state"`
}

// EndpointStateChange is sent when a subscribed endpoint changes state (an
// agent phone registers or unregisters).
type EndpointStateChange struct {
	EventBase
	Endpoint Endpoint `json:"endpoint"`
}

// ContactInfo describes a SIP contact.
type ContactInfo struct {
	URI           string `json:"uri"`
	ContactStatus string `json:"contact_status"`
	AOR           string `json:"aor"`
	RoundtripUsec string `json:"roundtrip_usec,omitempty"`
}

// ContactStatusChange is sent when a subscribed endpoint's contact changes.
type ContactStatusChange struct {
	EventBase
	Endpoint    Endpoint    `json:"endpoint"`
	ContactInfo ContactInfo `json:"contact_info"`
}

// Peer describes a SIP peer's status.
type Peer struct {
	PeerStatus string `json:"peer_status"`
	Cause      string `json:"cause,omitempty"`
	Address    string `json:"address,omitempty"`
	Port       string `json:"port,omitempty"`
	Time       string `json:"time,omitempty"`
}

// PeerStatusChange is sent when a subscribed endpoint's peer status changes.
type PeerStatusChange struct {
	EventBase
	Endpoint Endpoint `json:"endpoint"`
	Peer     Peer     `json:"peer"`
}

// TextMessage is an out-of-call text message.
type TextMessage struct {
	From      string            `json:"from"`
	To        string            `json:"to"`
	Body      string            `json:"body"`
	Variables map[string]string `json:"variables,omitempty"`
}

// TextMessageReceived is sent when an endpoint receives a text message.
type TextMessageReceived struct {
	EventBase
	Message  TextMessage `json:"message"`
	Endpoint *Endpoint   `json:"endpoint,omitempty"`
}

// RESTResponse answers a RESTRequest sent over the websocket.
type RESTResponse struct {
	EventBase
	TransactionID string `json:"transaction_id"`
	RequestID     string `json:"request_id"`
	StatusCode    int    `json:"status_code"`
	ReasonPhrase  string `json:"reason_phrase"`
	URI           string `json:"uri"`
	ContentType   string `json:"content_type,omitempty"`
	MessageBody   string `json:"message_body,omitempty"`
}

// CallBroadcast is sent when a call is broadcast to several applications.
type CallBroadcast struct {
	EventBase
	Channel Channel `json:"channel"`
	Caller  string  `json:"caller,omitempty"`
	Called  string  `json:"called,omitempty"`
}

// CallClaimed is sent when a broadcast call was claimed by an application.
type CallClaimed struct {
	EventBase
	Channel   Channel `json:"channel"`
	WinnerApp string  `json:"winner_app"`
}
