-- A channel id is unique among open calls only: a controller that restarted and took over a
-- channel records a new call on it after closing the old one as node_lost. Open calls are
-- found by instance when a dead instance's calls are closed.
-- +goose Up
ALTER TABLE hotline.calls DROP CONSTRAINT calls_node_channel_id_key;
CREATE UNIQUE INDEX calls_open_channel ON hotline.calls (node, channel_id) WHERE ended_at IS NULL;
CREATE INDEX calls_open_instance ON hotline.calls (instance_id) WHERE ended_at IS NULL;

-- +goose Down
DROP INDEX hotline.calls_open_instance;
DROP INDEX hotline.calls_open_channel;
ALTER TABLE hotline.calls ADD CONSTRAINT calls_node_channel_id_key UNIQUE (node, channel_id);
