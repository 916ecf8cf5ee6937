-- The waiting entries reserved for an agent (a blind transfer to a named agent): an
-- assignment round skips an agent who has one, for every agent it considers.

-- +goose Up
CREATE INDEX queue_entries_reserved ON hotline.queue_entries (target_agent_id)
    WHERE left_at IS NULL AND target_agent_id IS NOT NULL;

-- +goose Down
DROP INDEX hotline.queue_entries_reserved;
