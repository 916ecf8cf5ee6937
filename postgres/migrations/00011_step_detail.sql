-- A call step's detail: what the caller looked up and heard at the node, in a short Chinese
-- summary for the agent's screen (identifiers masked by the engine).

-- +goose Up
ALTER TABLE hotline.call_steps ADD COLUMN detail text;

-- +goose Down
ALTER TABLE hotline.call_steps DROP COLUMN detail;
