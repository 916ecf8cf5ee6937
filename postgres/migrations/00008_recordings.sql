-- Recordings know the agent of a conversation, the Asterisk node that holds the file and when
-- they started, so that a retention job can delete the file on its node and then the row.

-- +goose Up
ALTER TABLE hotline.recordings
    ADD COLUMN agent_id bigint REFERENCES hotline.agents (id),
    ADD COLUMN node text NOT NULL DEFAULT '',
    ADD COLUMN started_at timestamptz;
UPDATE hotline.recordings SET started_at = created_at WHERE started_at IS NULL;
ALTER TABLE hotline.recordings ALTER COLUMN started_at SET NOT NULL, ALTER COLUMN started_at SET DEFAULT now();
CREATE INDEX recordings_started ON hotline.recordings (started_at);

-- +goose Down
DROP INDEX hotline.recordings_started;
ALTER TABLE hotline.recordings DROP COLUMN agent_id, DROP COLUMN node, DROP COLUMN started_at;
