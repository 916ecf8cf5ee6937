package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/foshan-hotline/hotline"
)

// CallController carries out call-control commands on the calls of this instance: the IVR
// engine.
type CallController interface {
	Control(ctx context.Context, callID string, cmd hotline.CallCommand) error
}

// Defaults of a CommandBus.
const (
	// DefaultCommandTimeout bounds how long a command given here waits for the owning
	// instance to carry it out.
	DefaultCommandTimeout = 5 * time.Second
	// commandExpiry is the age past which a command is refused rather than carried out: the
	// agent who gave it has been told it failed.
	commandExpiry = 30 * time.Second
)

// CommandBus carries call-control commands to the instance that owns the call. A command for
// a call of this instance goes straight to the local controller; one for another instance is
// written to hotline.call_commands and announced with NOTIFY on that instance's channel,
// which carries it out and announces the result. A listener that reconnects catches up on
// what it missed from the table.
type CommandBus struct {
	db       *sqlx.DB
	url      string
	instance string
	local    CallController
	log      *slog.Logger
	timeout  time.Duration

	mu      sync.Mutex
	waiting map[int64]chan struct{}
	monitor MonitorController // under mu
}

// MonitorController runs supervisors' monitoring sessions on the calls of this instance: the
// IVR engine's monitors.
type MonitorController interface {
	MonitorCommand(ctx context.Context, callID string, cmd hotline.MonitorCommand) error
}

// SetMonitor sets what carries out the monitoring commands for this instance's calls; without
// it they are refused with hotline.ErrConflict.
func (b *CommandBus) SetMonitor(m MonitorController) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.monitor = m
}

// localMonitor carries out a monitoring command for a call of this instance.
func (b *CommandBus) localMonitor(ctx context.Context, callID string, cmd hotline.MonitorCommand) error {
	b.mu.Lock()
	m := b.monitor
	b.mu.Unlock()
	if m == nil {
		return fmt.Errorf("call %s: listening in is not available on instance %s: %w", callID, b.instance, hotline.ErrConflict)
	}
	return m.MonitorCommand(ctx, callID, cmd)
}

// envelope is a row of hotline.call_commands: a call-control command, or a monitoring one.
type envelope struct {
	hotline.CallCommand
	Monitor *hotline.MonitorCommand `json:"monitor,omitempty"`
}

// Monitor carries out a monitoring command on the call wherever it is owned, as Control does
// a call-control command, with the owner's errors: hotline.ErrNotFound for a call or session
// it does not have, ErrConflict (with the reason) for one that cannot be monitored now,
// ErrInvalid for a malformed command.
func (b *CommandBus) Monitor(ctx context.Context, callID string, cmd hotline.MonitorCommand) error {
	if err := cmd.Validate(); err != nil {
		return err
	}
	owner, err := b.owner(ctx, callID)
	if err != nil {
		return err
	}
	if owner == "" || owner == b.instance {
		return b.localMonitor(ctx, callID, cmd)
	}
	body, err := json.Marshal(envelope{Monitor: &cmd})
	if err != nil {
		return fmt.Errorf("encode monitoring command: %w", err)
	}
	return b.send(ctx, callID, owner, body)
}

// NewCommandBus returns the bus of instance on the database at url (for its listener);
// local carries out the commands for this instance's calls. Run must be running for commands
// to and from other instances to flow.
func NewCommandBus(db *sqlx.DB, url, instance string, local CallController, log *slog.Logger) *CommandBus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &CommandBus{db: db, url: url, instance: instance, local: local, log: log,
		timeout: DefaultCommandTimeout, waiting: map[int64]chan struct{}{}}
}

// Instance returns the instance the bus carries commands for.
func (b *CommandBus) Instance() string { return b.instance }

// SetTimeout changes how long a command waits for another instance.
func (b *CommandBus) SetTimeout(d time.Duration) { b.timeout = d }

const callOwnerQuery = `
	SELECT COALESCE(instance_id, '') AS instance_id, ended_at IS NOT NULL AS ended
	FROM hotline.calls
	WHERE id = $1`

const commandInsert = `
	INSERT INTO hotline.call_commands (call_id, instance_id, command)
	VALUES ($1, $2, $3)
	RETURNING id`

const commandNotify = `SELECT pg_notify('hotline_cmd_' || $1::text, $2::text)`

const commandWithdraw = `
	UPDATE hotline.call_commands SET done_at = now(), error_kind = 'failed', error = $2
	WHERE id = $1 AND done_at IS NULL`

const commandResultQuery = `
	SELECT done_at IS NOT NULL AS done, error_kind, error
	FROM hotline.call_commands
	WHERE id = $1`

// Control carries out cmd on the call wherever it is owned and returns how it went, with the
// same errors as the owner's controller (hotline.ErrConflict, ErrForbidden, ErrInvalid,
// ErrNotFound wrapped with their reason).
func (b *CommandBus) Control(ctx context.Context, callID string, cmd hotline.CallCommand) error {
	if err := cmd.Validate(); err != nil {
		return err
	}
	owner, err := b.owner(ctx, callID)
	if err != nil {
		return err
	}
	if owner == "" || owner == b.instance {
		return b.local.Control(ctx, callID, cmd)
	}
	body, err := json.Marshal(cmd)
	if err != nil {
		return fmt.Errorf("encode command: %w", err)
	}
	return b.send(ctx, callID, owner, body)
}

// owner returns the instance that owns the call ("" for none); a call that has ended is
// hotline.ErrConflict, an unknown one hotline.ErrNotFound.
func (b *CommandBus) owner(ctx context.Context, callID string) (string, error) {
	var owner struct {
		Instance string `db:"instance_id"`
		Ended    bool   `db:"ended"`
	}
	switch err := b.db.GetContext(ctx, &owner, callOwnerQuery, callID); {
	case errors.Is(err, sql.ErrNoRows):
		return "", fmt.Errorf("call %s: %w", callID, hotline.ErrNotFound)
	case err != nil:
		return "", fmt.Errorf("call %s: owner: %w", callID, err)
	case owner.Ended:
		return "", fmt.Errorf("call %s has ended: %w", callID, hotline.ErrConflict)
	}
	return owner.Instance, nil
}

// send writes a command for a call of instance, announces it and waits for its result.
func (b *CommandBus) send(ctx context.Context, callID, instance string, body []byte) error {
	var id int64
	if err := b.db.GetContext(ctx, &id, commandInsert, callID, instance, body); err != nil {
		return fmt.Errorf("send command for call %s: %w", callID, err)
	}
	done := make(chan struct{}, 1)
	b.mu.Lock()
	b.waiting[id] = done
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.waiting, id)
		b.mu.Unlock()
	}()
	if _, err := b.db.ExecContext(ctx, commandNotify, instance, fmt.Sprint(id)); err != nil {
		return fmt.Errorf("announce command for call %s: %w", callID, err)
	}
	timer := time.NewTimer(b.timeout)
	defer timer.Stop()
	for expired := false; ; {
		select {
		case <-done:
		case <-timer.C:
			expired = true
		case <-ctx.Done():
			return ctx.Err()
		}
		var res struct {
			Done bool   `db:"done"`
			Kind string `db:"error_kind"`
			Msg  string `db:"error"`
		}
		if err := b.db.GetContext(ctx, &res, commandResultQuery, id); err != nil {
			return fmt.Errorf("result of command %d: %w", id, err)
		}
		if res.Done {
			return commandError(res.Kind, res.Msg)
		}
		if !expired {
			continue // woken early: not done yet
		}
		// Withdraw the command so that it is not carried out after the agent was told it
		// failed; if it was done meanwhile, its result stands.
		msg := fmt.Sprintf("call %s: instance %s did not carry out the command within %v", callID, instance, b.timeout)
		res2, err := b.db.ExecContext(ctx, commandWithdraw, id, msg)
		if err != nil {
			return fmt.Errorf("withdraw command %d: %w", id, err)
		}
		if n, _ := res2.RowsAffected(); n == 0 {
			if err := b.db.GetContext(ctx, &res, commandResultQuery, id); err != nil {
				return fmt.Errorf("result of command %d: %w", id, err)
			}
			return commandError(res.Kind, res.Msg)
		}
		return errors.New(msg)
	}
}

// Run listens for commands to carry out and for the results of commands given here, until
// ctx ends.
func (b *CommandBus) Run(ctx context.Context) error {
	l := pq.NewListener(b.url, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			b.log.Warn("command listener", "event", ev, "err", err)
		}
	})
	defer l.Close()
	for _, ch := range []string{"hotline_cmd_" + b.instance, "hotline_cmd_done"} {
		if err := l.Listen(ch); err != nil {
			return fmt.Errorf("listen %s: %w", ch, err)
		}
	}
	b.catchUp(ctx)
	ping := time.NewTicker(time.Minute)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-l.Notify:
			switch {
			case n == nil: // reconnected: what was announced meanwhile is in the table
				b.catchUp(ctx)
			case n.Channel == "hotline_cmd_done":
				var id int64
				fmt.Sscan(n.Extra, &id)
				b.wake(id)
			default:
				b.carryOut(ctx)
			}
		case <-ping.C:
			go l.Ping() // notices a dead connection that no notification would reveal
		}
	}
}

// catchUp carries out pending commands and wakes every waiter to look at its result.
func (b *CommandBus) catchUp(ctx context.Context) {
	b.carryOut(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ch := range b.waiting {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (b *CommandBus) wake(id int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ch := b.waiting[id]; ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

const commandsPendingQuery = `
	SELECT id, call_id, command, created_at
	FROM hotline.call_commands
	WHERE instance_id = $1 AND done_at IS NULL
	ORDER BY id`

const commandDone = `
	WITH done AS (
		UPDATE hotline.call_commands SET done_at = now(), error_kind = $2, error = $3
		WHERE id = $1 AND done_at IS NULL
		RETURNING id)
	SELECT pg_notify('hotline_cmd_done', id::text) FROM done`

// carryOut runs the commands waiting for this instance, oldest first.
func (b *CommandBus) carryOut(ctx context.Context) {
	var pending []struct {
		ID      int64     `db:"id"`
		CallID  string    `db:"call_id"`
		Command []byte    `db:"command"`
		Created time.Time `db:"created_at"`
	}
	if err := b.db.SelectContext(ctx, &pending, commandsPendingQuery, b.instance); err != nil {
		if ctx.Err() == nil {
			b.log.Error("pending commands", "err", err)
		}
		return
	}
	for _, p := range pending {
		var err error
		var cmd envelope
		switch {
		case time.Since(p.Created) > commandExpiry:
			err = fmt.Errorf("command expired before it could be carried out: %w", hotline.ErrConflict)
		case json.Unmarshal(p.Command, &cmd) != nil:
			err = fmt.Errorf("command %d is not readable: %w", p.ID, hotline.ErrInvalid)
		case cmd.Monitor != nil:
			cctx, cancel := context.WithTimeout(ctx, b.timeout)
			err = b.localMonitor(cctx, p.CallID, *cmd.Monitor)
			cancel()
		default:
			cctx, cancel := context.WithTimeout(ctx, b.timeout)
			err = b.local.Control(cctx, p.CallID, cmd.CallCommand)
			cancel()
		}
		kind, msg := commandKind(err)
		if _, err := b.db.ExecContext(ctx, commandDone, p.ID, kind, msg); err != nil {
			b.log.Error("record command result", "command_id", p.ID, "err", err)
		}
	}
}

// commandKinds maps the errors a command may end with to their names in call_commands.
var commandKinds = []struct {
	kind string
	err  error
}{
	{"conflict", hotline.ErrConflict},
	{"forbidden", hotline.ErrForbidden},
	{"invalid", hotline.ErrInvalid},
	{"not_found", hotline.ErrNotFound},
}

func commandKind(err error) (kind, msg string) {
	if err == nil {
		return "", ""
	}
	for _, k := range commandKinds {
		if errors.Is(err, k.err) {
			return k.kind, err.Error()
		}
	}
	return "failed", err.Error()
}

// commandError turns a recorded result back into the error the owner returned.
func commandError(kind, msg string) error {
	if kind == "" {
		return nil
	}
	for _, k := range commandKinds {
		if k.kind == kind {
			return &remoteError{msg: msg, err: k.err}
		}
	}
	return errors.New(msg)
}

// remoteError is an error of another instance: its text, matching its sentinel.
type remoteError struct {
	msg string
	err error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.err }
