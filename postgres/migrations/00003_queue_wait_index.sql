-- The estimated wait of a queue averages its recently answered calls.

-- +goose Up
CREATE INDEX queue_entries_answered ON hotline.queue_entries (queue_id, left_at DESC) WHERE outcome = 'answered';

-- +goose Down
DROP INDEX hotline.queue_entries_answered;
