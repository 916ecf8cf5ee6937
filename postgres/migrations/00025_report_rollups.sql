-- Roll-ups of the supervisors' reports: per 15 minutes and queue (and per day and queue), per
-- day and agent (and state), per day and flow, per day and queue (satisfaction), for the
-- closed days of Beijing time. A report adds up the roll-ups of the days it covers that are closed and not stale,
-- and computes the rest (today, yesterday's first hour, the partial days at its ends, stale
-- days) from the event rows, with the same definitions. Durations are summed in whole
-- microseconds, as the event rows' timestamps have them: the sums are exact.
--
-- Staleness: every statement that writes an event row a report reads records the Beijing
-- days whose figures it may change in report_stale (triggers below, one row per day and
-- statement; no unique key, so that concurrent writers never wait on each other). The
-- roll-up job deletes the markers of closed days and recomputes those days in one
-- repeatable-read transaction: a row committed after its snapshot leaves its marker for the
-- next run, and until then the reports compute that day from the event rows.

-- +goose Up
CREATE TABLE hotline.report_rollup (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    upto       date,                       -- the days before it are rolled up (or stale)
    rolled_at  timestamptz                 -- the last run
);
INSERT INTO hotline.report_rollup DEFAULT VALUES;

CREATE TABLE hotline.report_stale (
    id  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    day date NOT NULL
);
CREATE INDEX report_stale_day ON hotline.report_stale (day);

-- The missed offers of a day, which the agents' report counts.
CREATE INDEX offers_missed_offered ON hotline.offers (offered_at) WHERE state IN ('timeout', 'rejected');

CREATE TABLE hotline.report_queue_slots (
    slot                timestamptz NOT NULL,   -- start of the 15 minutes in which the entries entered
    queue_id            text NOT NULL,
    offered             integer NOT NULL,
    answered            integer NOT NULL,
    answered_15s        integer NOT NULL,
    abandoned           integer NOT NULL,
    short_abandoned     integer NOT NULL,
    asa_us              bigint,                 -- microseconds, over asa_n answered entries
    asa_n               integer NOT NULL,
    conv_n              integer NOT NULL,       -- answered entries with their conversation
    aht_us              bigint,
    talk_us             bigint,
    hold_us             bigint,
    wrap_us             bigint,
    transfers           integer NOT NULL,
    callbacks_requested integer NOT NULL,
    callbacks_completed integer NOT NULL,
    PRIMARY KEY (slot, queue_id)
);

-- The same per day, for the reports by day and week.
CREATE TABLE hotline.report_queue_days (
    day                 date NOT NULL,
    queue_id            text NOT NULL,
    offered             integer NOT NULL,
    answered            integer NOT NULL,
    answered_15s        integer NOT NULL,
    abandoned           integer NOT NULL,
    short_abandoned     integer NOT NULL,
    asa_us              bigint,
    asa_n               integer NOT NULL,
    conv_n              integer NOT NULL,
    aht_us              bigint,
    talk_us             bigint,
    hold_us             bigint,
    wrap_us             bigint,
    transfers           integer NOT NULL,
    callbacks_requested integer NOT NULL,
    callbacks_completed integer NOT NULL,
    PRIMARY KEY (day, queue_id)
);

CREATE TABLE hotline.report_agent_days (
    day       date NOT NULL,
    agent_id  bigint NOT NULL,
    answered  integer NOT NULL,
    aht_us    bigint,                   -- microseconds, over the answered
    talk_us   bigint,
    hold_us   bigint,
    wrap_us   bigint,
    transfers integer NOT NULL,
    missed    integer NOT NULL,
    surveyed  integer NOT NULL,
    satisfied integer NOT NULL,
    PRIMARY KEY (day, agent_id)
);

CREATE TABLE hotline.report_agent_state_days (
    day      date NOT NULL,
    agent_id bigint NOT NULL,
    state    text NOT NULL,
    us       bigint NOT NULL,          -- microseconds in the state
    PRIMARY KEY (day, agent_id, state)
);

CREATE TABLE hotline.report_flow_days (
    day         date NOT NULL,
    flow        text NOT NULL,
    entered     integer NOT NULL,
    self_served integer NOT NULL,
    asked_agent integer NOT NULL,
    answered    integer NOT NULL,
    PRIMARY KEY (day, flow)
);

CREATE TABLE hotline.report_satisfaction_days (
    day       date NOT NULL,
    queue_id  text NOT NULL,
    surveyed  integer NOT NULL,
    satisfied integer NOT NULL,
    PRIMARY KEY (day, queue_id)
);

-- +goose StatementBegin
CREATE FUNCTION hotline.report_day(t timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (t AT TIME ZONE 'Asia/Shanghai')::date $$;
-- +goose StatementEnd

-- Queue entries: the day they entered.
-- +goose StatementBegin
CREATE FUNCTION hotline.report_stale_queue_entries() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO hotline.report_stale (day) SELECT DISTINCT hotline.report_day(entered_at) FROM new_rows;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO hotline.report_stale (day) SELECT DISTINCT hotline.report_day(entered_at) FROM old_rows;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- Offers: the day offered (missed offers), decided (the agents' conversations) and the day
-- their entry entered (the queues' conversations).
-- +goose StatementBegin
CREATE FUNCTION hotline.report_stale_offers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO hotline.report_stale (day)
        SELECT DISTINCT d FROM (
            SELECT hotline.report_day(offered_at) FROM new_rows
            UNION ALL SELECT hotline.report_day(decided_at) FROM new_rows WHERE decided_at IS NOT NULL
            UNION ALL SELECT hotline.report_day(q.entered_at) FROM new_rows n JOIN hotline.queue_entries q ON q.id = n.entry_id
        ) x(d);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO hotline.report_stale (day)
        SELECT DISTINCT d FROM (
            SELECT hotline.report_day(offered_at) FROM old_rows
            UNION ALL SELECT hotline.report_day(decided_at) FROM old_rows WHERE decided_at IS NOT NULL
            UNION ALL SELECT hotline.report_day(q.entered_at) FROM old_rows n JOIN hotline.queue_entries q ON q.id = n.entry_id
        ) x(d);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- Call steps: the day the call started (the IVR funnel); the desk's holds and transfers also
-- the days of the call's queue entries and accepted offers.
-- +goose StatementBegin
CREATE FUNCTION hotline.report_stale_call_steps() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO hotline.report_stale (day)
        SELECT DISTINCT d FROM (
            SELECT hotline.report_day(c.started_at) FROM (SELECT DISTINCT call_id FROM new_rows) n JOIN hotline.calls c ON c.id = n.call_id
            UNION ALL SELECT hotline.report_day(q.entered_at)
            FROM (SELECT DISTINCT call_id FROM new_rows WHERE flow = 'desk') n JOIN hotline.queue_entries q ON q.call_id = n.call_id
            UNION ALL SELECT hotline.report_day(o.decided_at)
            FROM (SELECT DISTINCT call_id FROM new_rows WHERE flow = 'desk') n JOIN hotline.offers o ON o.call_id = n.call_id
            WHERE o.decided_at IS NOT NULL
        ) x(d);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO hotline.report_stale (day)
        SELECT DISTINCT d FROM (
            SELECT hotline.report_day(c.started_at) FROM (SELECT DISTINCT call_id FROM old_rows) n JOIN hotline.calls c ON c.id = n.call_id
            UNION ALL SELECT hotline.report_day(q.entered_at)
            FROM (SELECT DISTINCT call_id FROM old_rows WHERE flow = 'desk') n JOIN hotline.queue_entries q ON q.call_id = n.call_id
            UNION ALL SELECT hotline.report_day(o.decided_at)
            FROM (SELECT DISTINCT call_id FROM old_rows WHERE flow = 'desk') n JOIN hotline.offers o ON o.call_id = n.call_id
            WHERE o.decided_at IS NOT NULL
        ) x(d);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- Calls: the day they started (the funnel) and the days of their survey answers (satisfaction
-- per queue reads the call's queue).
-- +goose StatementBegin
CREATE FUNCTION hotline.report_stale_calls() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO hotline.report_stale (day)
        SELECT DISTINCT d FROM (
            SELECT hotline.report_day(started_at) FROM new_rows
            UNION ALL SELECT hotline.report_day(s.answered_at) FROM new_rows n JOIN hotline.survey_answers s ON s.call_id = n.id
        ) x(d);
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO hotline.report_stale (day)
        SELECT DISTINCT d FROM (
            SELECT hotline.report_day(started_at) FROM old_rows
            UNION ALL SELECT hotline.report_day(s.answered_at) FROM old_rows n JOIN hotline.survey_answers s ON s.call_id = n.id
        ) x(d);
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION hotline.report_stale_survey_answers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO hotline.report_stale (day) SELECT DISTINCT hotline.report_day(answered_at) FROM new_rows;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO hotline.report_stale (day) SELECT DISTINCT hotline.report_day(answered_at) FROM old_rows;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION hotline.report_stale_callbacks() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO hotline.report_stale (day) SELECT DISTINCT hotline.report_day(requested_at) FROM new_rows;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO hotline.report_stale (day) SELECT DISTINCT hotline.report_day(requested_at) FROM old_rows;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- The state log: a row lasts until the agent's next one, so a row written (or removed) at t
-- changes the days from t's to that of the agent's next row after t (today when none).
-- +goose StatementBegin
CREATE FUNCTION hotline.report_stale_agent_state_log() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO hotline.report_stale (day)
        SELECT DISTINCT g::date
        FROM new_rows n,
             LATERAL (SELECT min(l.at) AS next_at FROM hotline.agent_state_log l WHERE l.agent_id = n.agent_id AND l.at > n.at) x,
             LATERAL generate_series(hotline.report_day(n.at), hotline.report_day(greatest(n.at, coalesce(x.next_at, now()))), interval '1 day') g;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO hotline.report_stale (day)
        SELECT DISTINCT g::date
        FROM old_rows n,
             LATERAL (SELECT min(l.at) AS next_at FROM hotline.agent_state_log l WHERE l.agent_id = n.agent_id AND l.at > n.at) x,
             LATERAL generate_series(hotline.report_day(n.at), hotline.report_day(greatest(n.at, coalesce(x.next_at, now()))), interval '1 day') g;
    END IF;
    RETURN NULL;
END $$;
-- +goose StatementEnd

-- Emptying an event table (hotline seed --replace) empties the roll-ups: the next run starts
-- over from the first event row.
-- +goose StatementBegin
CREATE FUNCTION hotline.report_reset() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE hotline.report_queue_slots, hotline.report_queue_days, hotline.report_agent_days,
             hotline.report_agent_state_days, hotline.report_flow_days, hotline.report_satisfaction_days,
             hotline.report_stale;
    UPDATE hotline.report_rollup SET upto = NULL;
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER report_reset AFTER TRUNCATE ON hotline.queue_entries FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_reset();
CREATE TRIGGER report_reset AFTER TRUNCATE ON hotline.offers FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_reset();
CREATE TRIGGER report_reset AFTER TRUNCATE ON hotline.call_steps FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_reset();
CREATE TRIGGER report_reset AFTER TRUNCATE ON hotline.calls FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_reset();
CREATE TRIGGER report_reset AFTER TRUNCATE ON hotline.survey_answers FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_reset();
CREATE TRIGGER report_reset AFTER TRUNCATE ON hotline.callbacks FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_reset();
CREATE TRIGGER report_reset AFTER TRUNCATE ON hotline.agent_state_log FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_reset();

CREATE TRIGGER report_stale_ins AFTER INSERT ON hotline.queue_entries REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_queue_entries();
CREATE TRIGGER report_stale_upd AFTER UPDATE ON hotline.queue_entries REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_queue_entries();
CREATE TRIGGER report_stale_del AFTER DELETE ON hotline.queue_entries REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_queue_entries();

CREATE TRIGGER report_stale_ins AFTER INSERT ON hotline.offers REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_offers();
CREATE TRIGGER report_stale_upd AFTER UPDATE ON hotline.offers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_offers();
CREATE TRIGGER report_stale_del AFTER DELETE ON hotline.offers REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_offers();

CREATE TRIGGER report_stale_ins AFTER INSERT ON hotline.call_steps REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_call_steps();
CREATE TRIGGER report_stale_upd AFTER UPDATE ON hotline.call_steps REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_call_steps();
CREATE TRIGGER report_stale_del AFTER DELETE ON hotline.call_steps REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_call_steps();

CREATE TRIGGER report_stale_ins AFTER INSERT ON hotline.calls REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_calls();
CREATE TRIGGER report_stale_upd AFTER UPDATE ON hotline.calls REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_calls();
CREATE TRIGGER report_stale_del AFTER DELETE ON hotline.calls REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_calls();

CREATE TRIGGER report_stale_ins AFTER INSERT ON hotline.survey_answers REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_survey_answers();
CREATE TRIGGER report_stale_upd AFTER UPDATE ON hotline.survey_answers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_survey_answers();
CREATE TRIGGER report_stale_del AFTER DELETE ON hotline.survey_answers REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_survey_answers();

CREATE TRIGGER report_stale_ins AFTER INSERT ON hotline.callbacks REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_callbacks();
CREATE TRIGGER report_stale_upd AFTER UPDATE ON hotline.callbacks REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_callbacks();
CREATE TRIGGER report_stale_del AFTER DELETE ON hotline.callbacks REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_callbacks();

CREATE TRIGGER report_stale_ins AFTER INSERT ON hotline.agent_state_log REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_agent_state_log();
CREATE TRIGGER report_stale_upd AFTER UPDATE ON hotline.agent_state_log REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_agent_state_log();
CREATE TRIGGER report_stale_del AFTER DELETE ON hotline.agent_state_log REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.report_stale_agent_state_log();

-- +goose Down
DROP TRIGGER report_reset ON hotline.queue_entries;
DROP TRIGGER report_reset ON hotline.offers;
DROP TRIGGER report_reset ON hotline.call_steps;
DROP TRIGGER report_reset ON hotline.calls;
DROP TRIGGER report_reset ON hotline.survey_answers;
DROP TRIGGER report_reset ON hotline.callbacks;
DROP TRIGGER report_reset ON hotline.agent_state_log;
DROP FUNCTION hotline.report_reset();
DROP TRIGGER report_stale_ins ON hotline.agent_state_log;
DROP TRIGGER report_stale_upd ON hotline.agent_state_log;
DROP TRIGGER report_stale_del ON hotline.agent_state_log;
DROP TRIGGER report_stale_ins ON hotline.callbacks;
DROP TRIGGER report_stale_upd ON hotline.callbacks;
DROP TRIGGER report_stale_del ON hotline.callbacks;
DROP TRIGGER report_stale_ins ON hotline.survey_answers;
DROP TRIGGER report_stale_upd ON hotline.survey_answers;
DROP TRIGGER report_stale_del ON hotline.survey_answers;
DROP TRIGGER report_stale_ins ON hotline.calls;
DROP TRIGGER report_stale_upd ON hotline.calls;
DROP TRIGGER report_stale_del ON hotline.calls;
DROP TRIGGER report_stale_ins ON hotline.call_steps;
DROP TRIGGER report_stale_upd ON hotline.call_steps;
DROP TRIGGER report_stale_del ON hotline.call_steps;
DROP TRIGGER report_stale_ins ON hotline.offers;
DROP TRIGGER report_stale_upd ON hotline.offers;
DROP TRIGGER report_stale_del ON hotline.offers;
DROP TRIGGER report_stale_ins ON hotline.queue_entries;
DROP TRIGGER report_stale_upd ON hotline.queue_entries;
DROP TRIGGER report_stale_del ON hotline.queue_entries;
DROP FUNCTION hotline.report_stale_agent_state_log();
DROP FUNCTION hotline.report_stale_callbacks();
DROP FUNCTION hotline.report_stale_survey_answers();
DROP FUNCTION hotline.report_stale_calls();
DROP FUNCTION hotline.report_stale_call_steps();
DROP FUNCTION hotline.report_stale_offers();
DROP FUNCTION hotline.report_stale_queue_entries();
DROP FUNCTION hotline.report_day(timestamptz);
DROP TABLE hotline.report_satisfaction_days;
DROP TABLE hotline.report_flow_days;
DROP TABLE hotline.report_agent_state_days;
DROP TABLE hotline.report_agent_days;
DROP TABLE hotline.report_queue_days;
DROP TABLE hotline.report_queue_slots;
DROP INDEX hotline.offers_missed_offered;
DROP TABLE hotline.report_stale;
DROP TABLE hotline.report_rollup;
