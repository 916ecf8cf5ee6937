-- Blind transfer to a named agent: the caller goes back into the queue of the call, keeping
-- their priority and their place (the original entry time), reserved for one agent until a
-- time; after it, or once that agent misses or rejects the offer, anyone in the queue may be
-- offered the call.

-- +goose Up
ALTER TABLE hotline.queue_entries
    -- The agent the entry is reserved for, and until when (both or neither).
    ADD COLUMN target_agent_id bigint REFERENCES hotline.agents (id),
    ADD COLUMN target_until timestamptz,
    -- The time routing orders the entry by when it is not entered_at: the entry time of the
    -- call's first wait, for a call an agent transferred back. entered_at stays the time this
    -- wait began, so that reports measure each wait on its own.
    ADD COLUMN waiting_since timestamptz,
    -- The entry the call was transferred from.
    ADD COLUMN transferred_from bigint REFERENCES hotline.queue_entries (id) ON DELETE SET NULL,
    ADD CONSTRAINT queue_entries_target_check CHECK ((target_agent_id IS NULL) = (target_until IS NULL));

-- +goose Down
ALTER TABLE hotline.queue_entries
    DROP CONSTRAINT queue_entries_target_check,
    DROP COLUMN transferred_from,
    DROP COLUMN waiting_since,
    DROP COLUMN target_until,
    DROP COLUMN target_agent_id;
