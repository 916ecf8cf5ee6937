package agentdesk

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/foshan-hotline/hotline"
	"github.com/foshan-hotline/hotline/postgres"
)

// Errors of the API's own, beside hotline's.
var (
	errMethod    = errors.New("method not allowed")
	errMediaType = errors.New("unsupported media type")
)

// problem is an error with the reason the client is told.
type problem struct {
	err    error // a sentinel that picks the status
	reason string
}

func (p *problem) Error() string { return p.reason + ": " + p.err.Error() }
func (p *problem) Unwrap() error { return p.err }

func badRequest(format string, args ...any) error {
	return &problem{err: hotline.ErrInvalid, reason: fmt.Sprintf(format, args...)}
}

func forbidden(format string, args ...any) error {
	return &problem{err: hotline.ErrForbidden, reason: fmt.Sprintf(format, args...)}
}

func unauthorized(reason string) error {
	return &problem{err: hotline.ErrUnauthorized, reason: reason}
}

func conflict(format string, args ...any) error {
	return &problem{err: hotline.ErrConflict, reason: fmt.Sprintf(format, args...)}
}

// errorBody is every error response: a stable code and a reason for people.
type errorBody struct {
	Error  string `json:"error"`
	Reason string `json:"reason,omitempty"`
}

// statusOf maps an error to its HTTP status and code.
func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, hotline.ErrInvalid), errors.Is(err, postgres.ErrBadInput):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, hotline.ErrUnauthorized):
		return http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, hotline.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, hotline.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, errMethod):
		return http.StatusMethodNotAllowed, "method_not_allowed"
	case errors.Is(err, hotline.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, errMediaType):
		return http.StatusUnsupportedMediaType, "unsupported_media_type"
	case errors.Is(err, postgres.ErrLoginThrottled):
		return http.StatusTooManyRequests, "too_many_requests"
	}
	return http.StatusInternalServerError, "internal"
}

// fail writes err as a JSON error. The reason of a 4xx is the problem's reason or, for
// errors of the ACD, its message; a 5xx is logged and its cause not told.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := statusOf(err)
	body := errorBody{Error: code}
	var p *problem
	var te *postgres.ThrottledError
	switch {
	case status >= 500:
		s.log.Error("agent API", "method", r.Method, "path", r.URL.Path, "err", err)
		body.Reason = "internal error; it has been logged"
	case errors.As(err, &te):
		w.Header().Set("Retry-After", strconv.Itoa(int(te.RetryAfter/time.Second)))
		body.Reason = "too many failed logins; try again later"
	case errors.As(err, &p):
		body.Reason = p.reason
	default:
		body.Reason = err.Error()
	}
	writeJSON(w, status, body)
}

// writeJSON writes v as the response with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) // a failed write means the client left
}

// maxBody is the largest request body accepted.
const maxBody = 16 << 10

// decode reads the request's JSON body into dst, which must be all of it: unknown fields,
// trailing data, a body over maxBody and a body that is not application/json are refused.
// An empty body leaves dst as it is when optional.
func decode(w http.ResponseWriter, r *http.Request, dst any, optional bool) error {
	switch {
	case r.ContentLength == 0 && optional:
		return nil
	case r.ContentLength == 0:
		return badRequest("a JSON body is required")
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return &problem{err: errMediaType, reason: "the body must be application/json"}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF) && optional:
			return nil
		case errors.Is(err, io.EOF):
			return badRequest("a JSON body is required")
		case errors.As(err, &tooLarge):
			return badRequest("the body is larger than %d bytes", maxBody)
		}
		return badRequest("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("malformed JSON: data after the object")
	}
	return nil
}
