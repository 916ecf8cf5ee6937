-- Calls outlive the controller that took them. Each Stasis application is held by one
-- controller instance at a time under a lease it renews; when the lease runs out another
-- instance takes the application over (epoch + 1) and resumes its calls from their persisted
-- state. Every write of a call's state names the epoch it was made under and is discarded
-- once the application's epoch has moved on, so an instance that lost its lease cannot
-- overwrite what the new holder does (fencing).

-- +goose Up
CREATE TABLE hotline.app_leases (
    app         text PRIMARY KEY,
    -- The instance holding the application (hotline.instances.id, not a foreign key: the
    -- lease may be taken before the instance registers with the ACD).
    holder      text NOT NULL,
    epoch       bigint NOT NULL DEFAULT 1 CHECK (epoch > 0),
    acquired_at timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    -- The instance the application belongs to when it is not adopted ('' when unknown).
    home        text NOT NULL DEFAULT '',
    -- When an instance whose own application this is last asked for it back: the adopter
    -- releases it once it has no call left on it.
    wanted_at   timestamptz
);

-- Where each live call is: flow, node, variables without sensitive values, verification,
-- queue entry, bridge and agent leg, offer. One row per call, replaced as the call moves and
-- deleted when it ends. No foreign key to hotline.calls: the call log writes that row in the
-- background, and a state may come first.
CREATE TABLE hotline.call_states (
    call_id    uuid PRIMARY KEY,
    app        text NOT NULL,
    epoch      bigint NOT NULL,
    node       text NOT NULL,
    channel_id text NOT NULL,
    state      jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_states_app ON hotline.call_states (app, node);

-- +goose Down
DROP TABLE hotline.call_states;
DROP TABLE hotline.app_leases;
