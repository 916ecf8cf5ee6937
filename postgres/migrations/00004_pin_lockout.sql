-- The PIN lockout is kept per ID number (its keyed hash, as in platform.citizens), registered or
-- not: attempts on a number nobody registered are counted and locked like any other, so neither
-- an answer nor a lock tells a caller whether a number is registered. Locks escalate
-- (30 minutes, 6 hours, 24 hours, then held until an agent or a service station unlocks the
-- account); the rule is in postgres/pin.go.

-- +goose Up
ALTER TABLE hotline.pin_guard
    ADD COLUMN id_number_hmac bytea,
    -- When the last lock began.
    ADD COLUMN locked_at timestamptz,
    -- Locked until an agent or a service station unlocks the account (locked_until is NULL).
    ADD COLUMN held boolean NOT NULL DEFAULT false,
    -- Only failures with a greater pin_attempts id count: a correct PIN or an unlock moves it
    -- to the newest attempt.
    ADD COLUMN failures_after bigint NOT NULL DEFAULT 0 CHECK (failures_after >= 0),
    ADD CHECK (NOT held OR locked_until IS NULL);

-- lock_count now counts the locks in a row (it escalates the next lock): a lock that ended more
-- than 7 days ago no longer counts, and earlier locks are counted as one.
UPDATE hotline.pin_guard g
SET id_number_hmac = c.id_number_hmac,
    locked_at = g.locked_until - interval '30 minutes',
    lock_count = CASE WHEN g.locked_until > now() - interval '7 days' THEN 1 ELSE 0 END,
    failures_after = COALESCE((SELECT max(a.id) FROM hotline.pin_attempts a
                               WHERE a.citizen_id = g.citizen_id AND a.ok), 0)
FROM platform.citizens c
WHERE c.id = g.citizen_id;

ALTER TABLE hotline.pin_guard DROP CONSTRAINT pin_guard_pkey;
ALTER TABLE hotline.pin_guard ALTER COLUMN citizen_id DROP NOT NULL;
ALTER TABLE hotline.pin_guard ADD PRIMARY KEY (id_number_hmac);

-- An attempt on a number nobody registered has no citizen.
ALTER TABLE hotline.pin_attempts ADD COLUMN id_number_hmac bytea;
UPDATE hotline.pin_attempts a
SET id_number_hmac = c.id_number_hmac
FROM platform.citizens c
WHERE c.id = a.citizen_id;
ALTER TABLE hotline.pin_attempts
    ALTER COLUMN id_number_hmac SET NOT NULL,
    ALTER COLUMN citizen_id DROP NOT NULL;
CREATE INDEX pin_attempts_id_number ON hotline.pin_attempts (id_number_hmac, at DESC);

-- +goose Down
DROP INDEX hotline.pin_attempts_id_number;
DELETE FROM hotline.pin_attempts WHERE citizen_id IS NULL;
ALTER TABLE hotline.pin_attempts
    DROP COLUMN id_number_hmac,
    ALTER COLUMN citizen_id SET NOT NULL;

DELETE FROM hotline.pin_guard WHERE citizen_id IS NULL;
-- A held lock stays a lock: the old rule knows only an end.
UPDATE hotline.pin_guard SET locked_until = '9999-12-31 00:00:00+00', held = false WHERE held;
ALTER TABLE hotline.pin_guard DROP CONSTRAINT pin_guard_pkey;
ALTER TABLE hotline.pin_guard ADD PRIMARY KEY (citizen_id);
ALTER TABLE hotline.pin_guard
    DROP COLUMN id_number_hmac,
    DROP COLUMN locked_at,
    DROP COLUMN held,
    DROP COLUMN failures_after;
