package ari

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// LiveRecording is Asterisk's description of a recording in progress (or
// just finished, in RecordingFinished). Its id is its Name.
type LiveRecording struct {
	Name            string `json:"name"`
	Format          string `json:"format"`
	State           string `json:"state"` // queued, recording, paused, done, failed, canceled
	TargetURI       string `json:"target_uri"`
	Duration        int    `json:"duration,omitempty"`         // seconds
	TalkingDuration int    `json:"talking_duration,omitempty"` // seconds
	SilenceDuration int    `json:"silence_duration,omitempty"` // seconds
	Cause           string `json:"cause,omitempty"`
}

// StoredRecording is a finished recording file on the node.
type StoredRecording struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

// IfExists says what Record does when a stored recording has the same name.
type IfExists string

// IfExists values. A live recording of the same name is a 409 whatever this is.
const (
	IfExistsFail      IfExists = "fail"
	IfExistsOverwrite IfExists = "overwrite"
	IfExistsAppend    IfExists = "append"
)

// RecordOptions is the input of ChannelHandle.Record and BridgeHandle.Record.
// Own Name in the call's Inbox before recording: RecordingStarted may arrive
// before the 201 response.
type RecordOptions struct {
	Name           string // required; the recording's id
	Format         string // e.g. "wav"; required
	RecorderFormat string // bridges only
	MaxDuration    time.Duration
	MaxSilence     time.Duration
	IfExists       IfExists
	Beep           bool
	TerminateOn    string // "none", "any", "*", "#"
}

func (o RecordOptions) query(bridge bool) (url.Values, error) {
	if o.Name == "" || o.Format == "" {
		return nil, fmt.Errorf("ari: record: name and format are required")
	}
	q := url.Values{}
	q.Set("name", o.Name)
	q.Set("format", o.Format)
	if bridge {
		setIf(q, "recorder_format", o.RecorderFormat)
	}
	setInt(q, "maxDurationSeconds", seconds(o.MaxDuration))
	setInt(q, "maxSilenceSeconds", seconds(o.MaxSilence))
	setIf(q, "ifExists", string(o.IfExists))
	if o.Beep {
		q.Set("beep", "true")
	}
	setIf(q, "terminateOn", o.TerminateOn)
	return q, nil
}

// record posts a record request for a channel or bridge target path.
func (c *Client) record(ctx context.Context, target string, o RecordOptions, bridge bool) (*LiveRecording, error) {
	q, err := o.query(bridge)
	if err != nil {
		return nil, err
	}
	var r LiveRecording
	if err := c.do(ctx, request{method: http.MethodPost, path: target + "/record", query: q}, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// LiveRecording returns a handle on the live recording name. It does no I/O.
func (c *Client) LiveRecording(name string) *LiveRecordingHandle {
	return &LiveRecordingHandle{c: c, name: name}
}

// LiveRecordingHandle controls one recording in progress. Pause, mute and
// their reverses produce no events.
type LiveRecordingHandle struct {
	c    *Client
	name string
}

// Name returns the recording name.
func (h *LiveRecordingHandle) Name() string { return h.name }

func (h *LiveRecordingHandle) op(ctx context.Context, method, sub, what string) error {
	if err := h.c.do(ctx, request{method: method, path: "/recordings/live/" + escape(h.name) + sub}, nil); err != nil {
		return fmt.Errorf("%s recording %s: %w", what, h.name, err)
	}
	return nil
}

// Get returns the recording's current description.
func (h *LiveRecordingHandle) Get(ctx context.Context) (*LiveRecording, error) {
	var r LiveRecording
	if err := h.c.do(ctx, request{method: http.MethodGet, path: "/recordings/live/" + escape(h.name)}, &r); err != nil {
		return nil, fmt.Errorf("get recording %s: %w", h.name, err)
	}
	return &r, nil
}

// Stop stops the recording and keeps the file.
func (h *LiveRecordingHandle) Stop(ctx context.Context) error {
	return h.op(ctx, http.MethodPost, "/stop", "stop")
}

// Cancel stops the recording and deletes the file. Asterisk still reports
// RecordingFinished with state "done".
func (h *LiveRecordingHandle) Cancel(ctx context.Context) error {
	return h.op(ctx, http.MethodDelete, "", "cancel")
}

// Pause pauses the recording.
func (h *LiveRecordingHandle) Pause(ctx context.Context) error {
	return h.op(ctx, http.MethodPost, "/pause", "pause")
}

// Unpause resumes a paused recording.
func (h *LiveRecordingHandle) Unpause(ctx context.Context) error {
	return h.op(ctx, http.MethodDelete, "/pause", "unpause")
}

// Mute records silence instead of the audio until Unmute.
func (h *LiveRecordingHandle) Mute(ctx context.Context) error {
	return h.op(ctx, http.MethodPost, "/mute", "mute")
}

// Unmute records the audio again.
func (h *LiveRecordingHandle) Unmute(ctx context.Context) error {
	return h.op(ctx, http.MethodDelete, "/mute", "unmute")
}

// ListStoredRecordings returns the stored recordings, sorted by name. A node
// without a recording directory answers 500 "Allocation failed".
func (c *Client) ListStoredRecordings(ctx context.Context) ([]StoredRecording, error) {
	var out []StoredRecording
	if err := c.do(ctx, request{method: http.MethodGet, path: "/recordings/stored"}, &out); err != nil {
		return nil, fmt.Errorf("list stored recordings: %w", err)
	}
	return out, nil
}

// StoredRecording returns a handle on the stored recording name. It does no I/O.
func (c *Client) StoredRecording(name string) *StoredRecordingHandle {
	return &StoredRecordingHandle{c: c, name: name}
}

// StoredRecordingHandle operates on one stored recording file.
type StoredRecordingHandle struct {
	c    *Client
	name string
}

// Name returns the recording name.
func (h *StoredRecordingHandle) Name() string { return h.name }

func (h *StoredRecordingHandle) path(sub string) string {
	return "/recordings/stored/" + escape(h.name) + sub
}

// Get returns the stored recording's description.
func (h *StoredRecordingHandle) Get(ctx context.Context) (*StoredRecording, error) {
	var r StoredRecording
	if err := h.c.do(ctx, request{method: http.MethodGet, path: h.path("")}, &r); err != nil {
		return nil, fmt.Errorf("get stored recording %s: %w", h.name, err)
	}
	return &r, nil
}

// Delete deletes the stored recording.
func (h *StoredRecordingHandle) Delete(ctx context.Context) error {
	if err := h.c.do(ctx, request{method: http.MethodDelete, path: h.path("")}, nil); err != nil {
		return fmt.Errorf("delete stored recording %s: %w", h.name, err)
	}
	return nil
}

// Copy copies the stored recording to dest. An existing dest gives ErrConflict.
func (h *StoredRecordingHandle) Copy(ctx context.Context, dest string) (*StoredRecording, error) {
	q := url.Values{}
	q.Set("destinationRecordingName", dest)
	var r StoredRecording
	if err := h.c.do(ctx, request{method: http.MethodPost, path: h.path("/copy"), query: q}, &r); err != nil {
		return nil, fmt.Errorf("copy stored recording %s to %s: %w", h.name, dest, err)
	}
	return &r, nil
}

// Download writes the recording file (e.g. audio/wav) to w and returns the
// number of bytes written and the file's content type.
func (h *StoredRecordingHandle) Download(ctx context.Context, w io.Writer) (int64, string, error) {
	resp, err := h.c.send(ctx, request{method: http.MethodGet, path: h.path("/file")})
	if err != nil {
		return 0, "", fmt.Errorf("download stored recording %s: %w", h.name, err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, "", fmt.Errorf("download stored recording %s: %w", h.name, err)
	}
	return n, resp.Header.Get("Content-Type"), nil
}
