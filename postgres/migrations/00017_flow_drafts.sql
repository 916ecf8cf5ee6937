-- Call flows edited in the browser: one draft per flow beside the published versions, and the
-- version a rollback restored. The database is the source of truth for published flows.

-- +goose Up
CREATE TABLE hotline.flow_drafts (
    flow         text PRIMARY KEY CHECK (flow ~ '^[a-z][a-z0-9_]{0,39}$'),
    source       text NOT NULL,
    -- base_version is the published version the draft was started from; NULL for a new flow.
    base_version integer,
    saved_by     bigint REFERENCES hotline.agents (id),
    saved_at     timestamptz NOT NULL DEFAULT now()
);

-- A rollback publishes the source of an earlier version as the next version; restored_from is
-- that earlier version's number.
ALTER TABLE hotline.flow_versions ADD COLUMN restored_from integer;

-- +goose Down
ALTER TABLE hotline.flow_versions DROP COLUMN restored_from;
DROP TABLE hotline.flow_drafts;
