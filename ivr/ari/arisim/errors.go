package arisim

import (
	"net/http"
	"strconv"

	"github.com/segmentio/encoding/json"
)

// apiError is an ARI error response: a status and a body.
type apiError struct {
	status int
	body   any
}

func (e *apiError) Error() string {
	if m, ok := e.body.(messageJSON); ok {
		return m.Message
	}
	return http.StatusText(e.status)
}

func errMsg(status int, msg string) *apiError {
	return &apiError{status: status, body: messageJSON{Message: msg}}
}

// Errors Asterisk 20.20.1 returns, by trigger (see the transcripts' README).
var (
	errAuth               = errMsg(401, "Authentication required")
	errNoResource         = errMsg(404, "Resource not found")
	errChannelNotFound    = errMsg(404, "Channel not found")
	errProvidedChannel    = errMsg(404, "Provided channel was not found")
	errPlaybackNotFound   = errMsg(404, "Playback not found")
	errBridgeNotFound     = errMsg(404, "Bridge not found")
	errRecordingNotFound  = errMsg(404, "Recording not found")
	errAppNotFound        = errMsg(404, "Application not found")
	errEndpointNotFound   = errMsg(404, "Endpoint not found")
	errSoundNotFound      = errMsg(404, "Sound not found")
	errVarNotFound        = errMsg(404, "Provided variable was not found")
	errLabelNotFound      = errMsg(404, "Requested label can not be found")
	errNotInStasis        = errMsg(409, "Channel not in Stasis application")
	errChannelExists      = errMsg(409, "Channel with given unique ID already exists")
	errNotDown            = errMsg(409, "Channel is not in the 'Down' state")
	errNoMusic            = errMsg(409, "Bridge isn't playing music")
	errStoredExists       = errMsg(409, "A recording with the same name already exists on the system")
	errEndpointRequired   = errMsg(400, "Endpoint must be specified")
	errInvalidEndpoint    = errMsg(400, "Invalid endpoint specified")
	errAppOrExten         = errMsg(400, "Application or extension must be specified")
	errAddChannelNotFound = errMsg(400, "Channel not found")
	errMissingChannel     = errMsg(400, "Missing parameter channel")
	errMissingApplication = errMsg(400, "Missing parameter application")
	errMissingOperation   = errMsg(400, "Missing operation")
	errDTMFRequired       = errMsg(400, "DTMF is required")
	errVarRequired        = errMsg(400, "Variable name is required")
	errOffsetNegative     = errMsg(400, "offsetms cannot be negative")
	errBadReason          = errMsg(400, "Invalid reason for hangup reason provided")
	errBadReasonCode      = errMsg(400, "Invalid reason for hangup reason code provided")
	errBadBody            = errMsg(400, "Error parsing request body")
	errBadSourceScheme    = errMsg(400, "Invalid event source URI scheme")
	errNoEventSource      = errMsg(422, "Event source does not exist")
	errNotInBridge        = errMsg(422, "Channel not in this bridge")
	errChannelNotInStasis = errMsg(422, "Channel not in Stasis application")
	errUnknownFormat      = errMsg(422, "specified format is unknown on this system")
	errAllocation         = &apiError{status: 500, body: errorJSON{Error: "Allocation failed"}}
	errQueueMedia         = errMsg(500, "Failed to queue media for playback")
	errBridgeCreate       = errMsg(500, "Unable to create bridge. Possible duplicate bridge id '(null)'")
	errBadFunction        = errMsg(500, "Unable to read provided function")
	errParsingRequest     = errMsg(500, "Error parsing request")
	errInternal           = errMsg(500, "Internal Server Error")
	errMissingApp         = errMsg(400, "Missing parameter app")
	errMissingVariables   = errMsg(400, "Missing parameter variables")
	errMissingDest        = errMsg(400, "Missing parameter destinationRecordingName")
)

func errInvalidOperation(op string) *apiError { return errMsg(400, "Invalid operation "+op) }

func errBridgeExists(id string) *apiError {
	return errMsg(409, "Bridge with id '"+id+"' already exists")
}

func errRecordingExists(name string) *apiError {
	return errMsg(409, "Recording '"+name+"' already exists and can not be overwritten")
}

// setCommonHeaders sets the headers every Asterisk HTTP response carries.
func setCommonHeaders(h http.Header) {
	h.Set("Server", "Asterisk/20.20.1")
	h.Set("Cache-Control", "no-cache, no-store")
}

// writeJSON writes a JSON response with Asterisk's headers.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = 500, []byte(`{"message":"Internal Server Error"}`)
	}
	writeRaw(w, status, "application/json", body)
}

func writeRaw(w http.ResponseWriter, status int, ctype string, body []byte) {
	h := w.Header()
	setCommonHeaders(h)
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// writeNoContent writes a 204 without Content-Type.
func writeNoContent(w http.ResponseWriter) {
	h := w.Header()
	setCommonHeaders(h)
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusNoContent)
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.status == 401 {
		w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
	}
	writeJSON(w, e.status, e.body)
}

// writeHTML writes Asterisk's built-in HTML error page.
func writeHTML(w http.ResponseWriter, status int, title, text string) {
	body := "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\r\n<html><head>\r\n<title>" +
		strconv.Itoa(status) + " " + title + "</title>\r\n</head><body>\r\n<h1>" + title +
		"</h1>\r\n<p>" + text + "</p>\r\n<hr />\r\n<address>Asterisk/20.20.1</address>\r\n</body></html>\r\n"
	writeRaw(w, status, "text/html", []byte(body))
}
