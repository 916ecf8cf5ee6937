-- The contact centre: agent states with their log, routing settings per queue, offers with
-- their outcome, the controller instances that own calls and host agent sessions, pause
-- reasons and dispositions.

-- +goose Up

-- Controller instances ('hotline serve' processes) with a heartbeat: a call or an agent
-- session belongs to an instance, and what belongs to an instance whose heartbeat is stale
-- is released by the others.
CREATE TABLE hotline.instances (
    id           text PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- Pause reason codes an agent chooses from (小休, 用餐, 会议, 培训 …), configurable.
CREATE TABLE hotline.pause_reasons (
    code     text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
    name     text NOT NULL UNIQUE,
    position integer NOT NULL DEFAULT 0
);
INSERT INTO hotline.pause_reasons (code, name, position) VALUES
    ('break', '小休', 1), ('meal', '用餐', 2), ('meeting', '会议', 3), ('training', '培训', 4);

-- Skill levels are 1 (basic) to 5 (expert).
ALTER TABLE hotline.agent_skills DROP CONSTRAINT agent_skills_level_check;
UPDATE hotline.agent_skills SET level = (level + 1) / 2 WHERE level > 5;
ALTER TABLE hotline.agent_skills ALTER COLUMN level SET DEFAULT 3;
ALTER TABLE hotline.agent_skills ADD CONSTRAINT agent_skills_level_check CHECK (level BETWEEN 1 AND 5);

-- Routing settings per queue.
ALTER TABLE hotline.queues
    ADD COLUMN strategy text NOT NULL DEFAULT 'longest_idle'
        CHECK (strategy IN ('longest_idle', 'fewest_calls', 'skill_level')),
    -- Effective priority = priority + waited seconds × ageing_per_minute / 60.
    ADD COLUMN ageing_per_minute integer NOT NULL DEFAULT 1 CHECK (ageing_per_minute >= 0),
    ADD COLUMN ring_timeout_seconds integer NOT NULL DEFAULT 15 CHECK (ring_timeout_seconds BETWEEN 5 AND 120),
    ADD COLUMN wrap_up_seconds integer NOT NULL DEFAULT 30 CHECK (wrap_up_seconds BETWEEN 0 AND 3600),
    ADD COLUMN whisper_prompt text NOT NULL DEFAULT '',
    ADD COLUMN disposition_required boolean NOT NULL DEFAULT false;

-- Dispositions (话后小结) an agent picks after a call of a queue.
CREATE TABLE hotline.dispositions (
    queue_id text NOT NULL REFERENCES hotline.queues (id),
    code     text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]*$'),
    name     text NOT NULL,
    position integer NOT NULL DEFAULT 0,
    PRIMARY KEY (queue_id, code)
);

-- The state of each agent now; agent_state_log keeps every transition.
CREATE TABLE hotline.agent_status (
    agent_id       bigint PRIMARY KEY REFERENCES hotline.agents (id),
    state          text NOT NULL DEFAULT 'offline'
        CHECK (state IN ('offline', 'available', 'ringing', 'talking', 'wrap_up', 'paused', 'missed')),
    reason         text NOT NULL DEFAULT '',
    since          timestamptz NOT NULL DEFAULT now(),
    -- When the agent last became available after work (longest idle picks the oldest).
    idle_since     timestamptz,
    -- The instance hosting the agent's session; NULL when logged out.
    instance_id    text REFERENCES hotline.instances (id) ON DELETE SET NULL,
    session_id     text,
    -- A pause asked for during a call, taken when wrap-up ends.
    pending_pause  text,
    wrap_up_until  timestamptz,
    -- The call the agent is ringing for or talking on.
    call_id        uuid REFERENCES hotline.calls (id)
);
CREATE INDEX agent_status_available ON hotline.agent_status (idle_since) WHERE state = 'available';

ALTER TABLE hotline.agent_state_log DROP CONSTRAINT agent_state_log_state_check;
UPDATE hotline.agent_state_log SET state = 'ringing' WHERE state = 'offered';
ALTER TABLE hotline.agent_state_log
    ADD CONSTRAINT agent_state_log_state_check
        CHECK (state IN ('offline', 'available', 'ringing', 'talking', 'wrap_up', 'paused', 'missed')),
    ADD COLUMN previous text,
    ADD COLUMN cause text NOT NULL DEFAULT '',
    ADD COLUMN call_id uuid REFERENCES hotline.calls (id);

-- Queue entries: the instance owning the call, and the offer in progress (an entry being
-- offered is not offered again; a failed offer clears it and the entry keeps entered_at).
ALTER TABLE hotline.queue_entries
    ADD COLUMN instance_id text REFERENCES hotline.instances (id) ON DELETE SET NULL,
    ADD COLUMN offer_id bigint REFERENCES hotline.offers (id);

-- Offers: the agent's endpoint rung, the instance that runs the call, how it ended.
ALTER TABLE hotline.offers
    ADD COLUMN entry_id bigint REFERENCES hotline.queue_entries (id),
    ADD COLUMN endpoint text NOT NULL DEFAULT '',
    ADD COLUMN instance_id text REFERENCES hotline.instances (id) ON DELETE SET NULL,
    ADD COLUMN cause text NOT NULL DEFAULT '';
ALTER TABLE hotline.offers DROP CONSTRAINT offers_state_check;
ALTER TABLE hotline.offers ADD CONSTRAINT offers_state_check
    CHECK (state IN ('pending', 'accepted', 'rejected', 'timeout', 'failed', 'cancelled'));
-- A call is offered to at most one agent at a time.
CREATE UNIQUE INDEX offers_one_pending_per_call ON hotline.offers (call_id) WHERE state = 'pending';

-- +goose Down
DROP INDEX hotline.offers_one_pending_per_call;
ALTER TABLE hotline.offers DROP CONSTRAINT offers_state_check;
UPDATE hotline.offers SET state = 'rejected' WHERE state = 'failed';
ALTER TABLE hotline.offers ADD CONSTRAINT offers_state_check
    CHECK (state IN ('pending', 'accepted', 'rejected', 'timeout', 'cancelled'));
ALTER TABLE hotline.offers DROP COLUMN entry_id, DROP COLUMN endpoint, DROP COLUMN instance_id, DROP COLUMN cause;
ALTER TABLE hotline.queue_entries DROP COLUMN instance_id, DROP COLUMN offer_id;
ALTER TABLE hotline.agent_state_log DROP CONSTRAINT agent_state_log_state_check;
ALTER TABLE hotline.agent_state_log DROP COLUMN previous, DROP COLUMN cause, DROP COLUMN call_id;
UPDATE hotline.agent_state_log SET state = 'offered' WHERE state IN ('ringing', 'missed');
ALTER TABLE hotline.agent_state_log ADD CONSTRAINT agent_state_log_state_check
    CHECK (state IN ('offline', 'available', 'offered', 'talking', 'wrap_up', 'paused'));
DROP TABLE hotline.agent_status;
DROP TABLE hotline.dispositions;
ALTER TABLE hotline.queues DROP COLUMN strategy, DROP COLUMN ageing_per_minute, DROP COLUMN ring_timeout_seconds,
    DROP COLUMN wrap_up_seconds, DROP COLUMN whisper_prompt, DROP COLUMN disposition_required;
ALTER TABLE hotline.agent_skills DROP CONSTRAINT agent_skills_level_check;
ALTER TABLE hotline.agent_skills ALTER COLUMN level SET DEFAULT 5;
ALTER TABLE hotline.agent_skills ADD CONSTRAINT agent_skills_level_check CHECK (level BETWEEN 1 AND 10);
DROP TABLE hotline.pause_reasons;
DROP TABLE hotline.instances;
