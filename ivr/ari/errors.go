package ari

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors matched with errors.Is against the errors this package
// returns. An *Error may match several of them: a 404 "Channel not found" on a
// channel operation matches both ErrNotFound and ErrChannelGone.
var (
	// ErrNotFound matches any 404 response from Asterisk.
	ErrNotFound = errors.New("ari: not found")
	// ErrChannelGone matches responses saying the channel an operation was
	// aimed at has hung up or left the Stasis application meanwhile: 404
	// "Channel not found" / "Provided channel was not found", 400 "Channel not
	// found" (bridge addChannel) and 409 "Channel not in Stasis application".
	// A flow treats it as the end of the call, not as a failure.
	ErrChannelGone = errors.New("ari: channel gone")
	// ErrConflict matches any 409 response (duplicate id, wrong channel state,
	// bridge not playing music, recording name in use, ...).
	ErrConflict = errors.New("ari: conflict")
	// ErrInvalid matches 400 and 422 responses: the request was malformed or
	// named something Asterisk does not accept.
	ErrInvalid = errors.New("ari: invalid request")
	// ErrUnauthorized matches 401 responses (bad ARI user or password).
	ErrUnauthorized = errors.New("ari: unauthorized")
	// ErrApplicationReplaced is returned by Conn.Run when another websocket
	// took over the Stasis application (ApplicationReplaced).
	ErrApplicationReplaced = errors.New("ari: application replaced by another connection")
	// ErrFenced is returned by every request of a client fenced off its application
	// (Client.Fence): another controller took the application over.
	ErrFenced = errors.New("ari: application taken over by another controller")
)

// Error is a non-2xx response from the ARI REST interface. It never holds
// credentials: Path is the URL path only, without the query string.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Message is Asterisk's explanation: the "message" field of the body, or
	// the "error" field (500 "Allocation failed" on originate), or the HTTP
	// status text when the body is not JSON.
	Message string
	// Method is the HTTP method of the failed request.
	Method string
	// Path is the URL path of the failed request, e.g. /ari/channels/1.2/answer.
	Path string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("ari: %s %s: %d %s", e.Method, e.Path, e.Status, e.Message)
}

// Is reports whether e matches one of the package's sentinel errors.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrChannelGone:
		return e.channelGone()
	case ErrConflict:
		return e.Status == http.StatusConflict
	case ErrInvalid:
		return e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	}
	return false
}

// channelGone recognises the answers Asterisk 20 gives when the channel named
// by a request no longer exists or is no longer controlled by the app.
func (e *Error) channelGone() bool {
	switch e.Status {
	case http.StatusNotFound, http.StatusBadRequest:
		return e.Message == "Channel not found" || e.Message == "Provided channel was not found"
	case http.StatusConflict:
		return e.Message == "Channel not in Stasis application"
	}
	return false
}
