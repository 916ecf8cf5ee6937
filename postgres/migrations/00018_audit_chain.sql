-- A tamper-evident audit log: each row carries the SHA-256 of the previous row's hash and its
-- own content, in one chain numbered by seq. hotline.audit_chain holds the chain's head, so a
-- row deleted at the end is noticed too; a row changed, inserted past the trigger or deleted
-- anywhere breaks the chain, which 'hotline audit verify' recomputes.
--
-- The digest of a row is sha256(prev_hash || the row's fields joined by U+001F): seq, id, at in
-- UTC as 2006-01-02T15:04:05.000000Z, actor_id ('' for none), action, object_type, object_id,
-- detail as jsonb text, ip as text ('' for none). postgres/audit.go computes the same.

-- +goose Up
ALTER TABLE hotline.audit_log
    ADD COLUMN seq bigint UNIQUE,
    ADD COLUMN prev_hash bytea,
    ADD COLUMN hash bytea;

CREATE TABLE hotline.audit_chain (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO hotline.audit_chain (seq, hash) VALUES (0, decode(repeat('00', 32), 'hex'));

-- +goose StatementBegin
CREATE FUNCTION hotline.audit_digest(prev bytea, r hotline.audit_log) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT sha256(prev || convert_to(concat_ws(chr(31),
        r.seq::text, r.id::text,
        to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        coalesce(r.actor_id::text, ''), r.action, r.object_type, r.object_id,
        r.detail::text, coalesce(r.ip::text, '')), 'UTF8'))
$$;
-- +goose StatementEnd

-- Rows are chained in the order their transactions take the chain's head: the UPDATE locks it
-- until commit, so the previous hash is always a committed row's (or one rolled back with it).
-- +goose StatementBegin
CREATE FUNCTION hotline.audit_chain_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE hotline.audit_chain SET seq = seq + 1 RETURNING seq, hash INTO NEW.seq, NEW.prev_hash;
    NEW.hash := hotline.audit_digest(NEW.prev_hash, NEW);
    UPDATE hotline.audit_chain SET hash = NEW.hash;
    RETURN NEW;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION hotline.audit_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'hotline.audit_log is append-only';
END
$$;
-- +goose StatementEnd

-- The rows written before the chain, in id order.
-- +goose StatementBegin
DO $$
DECLARE
    r hotline.audit_log;
    h bytea := decode(repeat('00', 32), 'hex');
    n bigint := 0;
BEGIN
    FOR r IN SELECT * FROM hotline.audit_log ORDER BY id LOOP
        n := n + 1;
        r.seq := n;
        r.prev_hash := h;
        h := hotline.audit_digest(h, r);
        UPDATE hotline.audit_log SET seq = n, prev_hash = r.prev_hash, hash = h WHERE id = r.id;
    END LOOP;
    UPDATE hotline.audit_chain SET seq = n, hash = h;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_chain BEFORE INSERT ON hotline.audit_log
    FOR EACH ROW EXECUTE FUNCTION hotline.audit_chain_row();
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON hotline.audit_log
    FOR EACH ROW EXECUTE FUNCTION hotline.audit_refuse_change();
-- Emptying the log is refused too, except by 'hotline seed --replace', which empties every
-- table and starts a new chain; it says so with SET LOCAL hotline.audit_truncate = 'on'.
-- +goose StatementBegin
CREATE FUNCTION hotline.audit_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('hotline.audit_truncate', true), '') <> 'on' THEN
        RAISE EXCEPTION 'hotline.audit_log is append-only';
    END IF;
    UPDATE hotline.audit_chain SET seq = 0, hash = decode(repeat('00', 32), 'hex');
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON hotline.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION hotline.audit_truncate();

-- +goose Down
DROP TRIGGER audit_no_truncate ON hotline.audit_log;
DROP TRIGGER audit_append_only ON hotline.audit_log;
DROP TRIGGER audit_chain ON hotline.audit_log;
DROP FUNCTION hotline.audit_truncate();
DROP FUNCTION hotline.audit_refuse_change();
DROP FUNCTION hotline.audit_chain_row();
DROP FUNCTION hotline.audit_digest(bytea, hotline.audit_log);
DROP TABLE hotline.audit_chain;
ALTER TABLE hotline.audit_log DROP COLUMN hash, DROP COLUMN prev_hash, DROP COLUMN seq;
