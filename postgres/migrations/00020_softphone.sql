-- Agents whose phone is the desk's softphone: the hotline registers a SIP line for them at
-- the Asterisk node as their endpoint, with the endpoint's secret, kept sealed (AES-GCM with
-- pii.seal_key) like ID numbers.

-- +goose Up
ALTER TABLE hotline.agents
    ADD COLUMN softphone boolean NOT NULL DEFAULT false,
    ADD COLUMN sip_secret_sealed bytea,
    ADD CONSTRAINT agents_softphone_endpoint CHECK (NOT softphone OR
        (endpoint ~ '^(SIP|PJSIP)/[A-Za-z0-9_.-]+$' AND sip_secret_sealed IS NOT NULL));

-- +goose Down
ALTER TABLE hotline.agents DROP CONSTRAINT agents_softphone_endpoint,
    DROP COLUMN sip_secret_sealed, DROP COLUMN softphone;
