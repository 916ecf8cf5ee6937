-- Business-hours calendars (opening hours, holidays, 调休 workdays), edited by supervisors in
-- the browser; flows/calendars.yaml seeds a database that has none. Each save is a new version.

-- +goose Up
CREATE TABLE hotline.calendars (
    name       text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]*$'),
    spec       jsonb NOT NULL,
    version    integer NOT NULL DEFAULT 1 CHECK (version > 0),
    updated_by bigint REFERENCES hotline.agents (id),
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- +goose Down
DROP TABLE hotline.calendars;
