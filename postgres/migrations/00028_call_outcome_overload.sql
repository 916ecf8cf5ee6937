-- A call refused at the door — the controller had ivr.max_calls calls, or was draining
-- before stopping — heard the busy apology and is recorded as such.
-- +goose Up
ALTER TABLE hotline.calls DROP CONSTRAINT calls_outcome_check;
ALTER TABLE hotline.calls ADD CONSTRAINT calls_outcome_check
    CHECK (outcome IN ('self_served', 'agent', 'abandoned', 'message', 'callback',
                       'transferred', 'overflow', 'error', 'hangup', 'node_lost', 'overload'));

-- +goose Down
UPDATE hotline.calls SET outcome = 'error' WHERE outcome = 'overload';
ALTER TABLE hotline.calls DROP CONSTRAINT calls_outcome_check;
ALTER TABLE hotline.calls ADD CONSTRAINT calls_outcome_check
    CHECK (outcome IN ('self_served', 'agent', 'abandoned', 'message', 'callback',
                       'transferred', 'overflow', 'error', 'hangup', 'node_lost'));
