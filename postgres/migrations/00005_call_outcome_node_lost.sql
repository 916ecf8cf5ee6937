-- A call cut off by its Asterisk node (restarted, or its channel gone when the controller
-- reconnected) is recorded as such, not as the caller hanging up.
-- +goose Up
ALTER TABLE hotline.calls DROP CONSTRAINT calls_outcome_check;
ALTER TABLE hotline.calls ADD CONSTRAINT calls_outcome_check
    CHECK (outcome IN ('self_served', 'agent', 'abandoned', 'message', 'callback',
                       'transferred', 'overflow', 'error', 'hangup', 'node_lost'));

-- +goose Down
ALTER TABLE hotline.calls DROP CONSTRAINT calls_outcome_check;
ALTER TABLE hotline.calls ADD CONSTRAINT calls_outcome_check
    CHECK (outcome IN ('self_served', 'agent', 'abandoned', 'message', 'callback',
                       'transferred', 'overflow', 'error', 'hangup'));
