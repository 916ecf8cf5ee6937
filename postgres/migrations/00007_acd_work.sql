-- The ACD's bookkeeping of agents' work: the offer an agent is ringing for, talking on or
-- wrapping up, what the agent recorded after the conversation, queue entries of a lost
-- controller instance, and the indexes routing reads.

-- +goose Up

-- An offer's events (answered, ended, conversation ended) move the agent only while the
-- offer is still theirs: a supervisor may have forced the agent out meanwhile.
ALTER TABLE hotline.agent_status ADD COLUMN offer_id bigint REFERENCES hotline.offers (id);
CREATE INDEX agent_status_instance ON hotline.agent_status (instance_id) WHERE state <> 'offline';

-- After an accepted offer: when the conversation ended, when wrap-up ended, the disposition
-- (a code of hotline.dispositions for the offer's queue, '' for none) and the agent's notes.
ALTER TABLE hotline.offers
    ADD COLUMN talk_ended_at  timestamptz,
    ADD COLUMN wrapped_up_at  timestamptz,
    ADD COLUMN disposition    text NOT NULL DEFAULT '',
    ADD COLUMN notes          text NOT NULL DEFAULT '' CHECK (length(notes) <= 2000);
-- Routing walks the available agents from the longest idle.
CREATE INDEX agent_status_idle ON hotline.agent_status (idle_since, agent_id) WHERE state = 'available';
-- fewest_calls counts each agent's accepted offers of the day.
CREATE INDEX offers_accepted_agent ON hotline.offers (agent_id, decided_at) WHERE state = 'accepted';
-- The pending offers of an instance: resynced after its listener reconnects, cancelled when
-- it dies.
CREATE INDEX offers_pending_instance ON hotline.offers (instance_id) WHERE state = 'pending';

-- A waiting call of a controller instance that died is closed as lost: nobody can answer it
-- any more, and the caller did not abandon it.
ALTER TABLE hotline.queue_entries DROP CONSTRAINT queue_entries_outcome_check;
ALTER TABLE hotline.queue_entries ADD CONSTRAINT queue_entries_outcome_check
    CHECK (outcome IN ('answered', 'abandoned', 'overflow', 'message', 'callback', 'lost'));
-- The entries an assignment round looks at.
CREATE INDEX queue_entries_unoffered ON hotline.queue_entries (instance_id, entered_at)
    WHERE left_at IS NULL AND offer_id IS NULL;

-- +goose Down
DROP INDEX hotline.queue_entries_unoffered;
UPDATE hotline.queue_entries SET outcome = 'abandoned' WHERE outcome = 'lost';
ALTER TABLE hotline.queue_entries DROP CONSTRAINT queue_entries_outcome_check;
ALTER TABLE hotline.queue_entries ADD CONSTRAINT queue_entries_outcome_check
    CHECK (outcome IN ('answered', 'abandoned', 'overflow', 'message', 'callback'));
DROP INDEX hotline.offers_pending_instance;
DROP INDEX hotline.offers_accepted_agent;
ALTER TABLE hotline.offers DROP COLUMN talk_ended_at, DROP COLUMN wrapped_up_at, DROP COLUMN disposition,
    DROP COLUMN notes;
DROP INDEX hotline.agent_status_idle;
DROP INDEX hotline.agent_status_instance;
ALTER TABLE hotline.agent_status DROP COLUMN offer_id;
