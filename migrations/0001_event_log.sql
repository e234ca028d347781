-- The event log: an append-only table of immutable events, one stream per billing object.
--
-- Global order for readers is (transaction_id, global_position), gated by the oldest running
-- transaction (see ARCHITECTURE.md, "Reading the log without gaps"). global_position alone is
-- NOT commit order: an identity value is taken at insert time and becomes visible at commit.

CREATE TABLE streams (
    stream_id text PRIMARY KEY,
    version   bigint NOT NULL CHECK (version >= 1)
);
COMMENT ON TABLE streams IS 'Head version of every stream: the optimistic-concurrency check of appends.';

CREATE TABLE events (
    global_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL CHECK (stream_version >= 1),
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL CHECK (schema_version >= 1),
    payload         jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    effective_at    timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);
COMMENT ON COLUMN events.transaction_id IS 'pg_current_xact_id() of the appending transaction: with global_position, the gap-free read order.';
COMMENT ON COLUMN events.effective_at IS 'When the fact happened in the business (UTC), e.g. the Stripe Event created time.';
COMMENT ON COLUMN events.recorded_at IS 'When Tally learned it (UTC): the appending transaction''s start.';

CREATE INDEX events_feed_order_idx ON events (transaction_id, global_position);

-- Immutability, enforced by the database: no UPDATE, DELETE or TRUNCATE, whoever asks.
CREATE FUNCTION tally_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % is refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_refuse_update_delete BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION tally_refuse_change();
CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION tally_refuse_change();

-- Append one or more events to one stream in one round trip.
--   p_expected_version: NULL = any version, 0 = the stream must not exist, n = head must be n.
-- Returns one row per event, in order: its global position, stream version, and whether it was
-- a duplicate (the event ids were already stored: an exact retry returns the original rows).
-- The stream lock comes first and takes no transaction id, so the insert below is the first
-- write of the transaction and per-stream order matches the gated global order.
CREATE FUNCTION tally_append(
    p_stream_id        text,
    p_expected_version bigint,
    p_event_ids        uuid[],
    p_event_types      text[],
    p_schema_versions  integer[],
    p_payloads         jsonb[],
    p_metadata         jsonb[],
    p_effective_at     timestamptz[]
) RETURNS TABLE (global_position bigint, stream_version bigint, duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_head     bigint;
    v_existing integer;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_stream_id, 0));

    SELECT count(*) INTO v_existing FROM events e WHERE e.event_id = ANY (p_event_ids);
    IF v_existing > 0 THEN
        IF v_existing <> cardinality(p_event_ids) THEN
            RAISE EXCEPTION 'stream %: batch partially duplicates stored events', p_stream_id
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'events_partial_duplicate';
        END IF;
        RETURN QUERY
            SELECT e.global_position, e.stream_version, true
            FROM unnest(p_event_ids) WITH ORDINALITY AS i(id, n)
            JOIN events e ON e.event_id = i.id
            ORDER BY i.n;
        RETURN;
    END IF;

    SELECT s.version INTO v_head FROM streams s WHERE s.stream_id = p_stream_id;
    v_head := coalesce(v_head, 0);
    IF p_expected_version IS NOT NULL AND p_expected_version <> v_head THEN
        RAISE EXCEPTION 'stream %: expected version %, found %', p_stream_id, p_expected_version, v_head
            USING ERRCODE = 'serialization_failure', CONSTRAINT = 'streams_expected_version',
                  DETAIL = v_head::text;
    END IF;

    RETURN QUERY
        INSERT INTO events AS e
            (stream_id, stream_version, event_id, event_type, schema_version, payload, metadata, effective_at)
        SELECT p_stream_id, v_head + i.n, i.id, i.t, i.v, i.p, i.m, i.eff
        FROM unnest(p_event_ids, p_event_types, p_schema_versions, p_payloads, p_metadata, p_effective_at)
             WITH ORDINALITY AS i(id, t, v, p, m, eff, n)
        ORDER BY i.n
        RETURNING e.global_position, e.stream_version, false;

    INSERT INTO streams AS s (stream_id, version)
    VALUES (p_stream_id, v_head + cardinality(p_event_ids))
    ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version;
END
$$;

-- Raw inbound messages (Stripe webhook bodies), kept verbatim and forever, before anything is
-- translated. Deduplicated by (source, message_key); append-only like the log.
CREATE TABLE inbox_messages (
    inbox_position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source         text        NOT NULL,
    message_key    text        NOT NULL,
    message_type   text,
    body           bytea       NOT NULL,
    outcome        text        NOT NULL CHECK (outcome IN ('translated', 'ignored', 'unparsed')),
    reason         text,
    event_count    integer     NOT NULL DEFAULT 0,
    received_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT inbox_messages_source_key UNIQUE (source, message_key)
);
COMMENT ON COLUMN inbox_messages.message_key IS 'The Stripe Event id, or sha256:<hex of body> when the body carries none.';
COMMENT ON COLUMN inbox_messages.outcome IS 'translated: domain events appended; ignored: a type Tally does not use; unparsed: verified but unreadable.';

CREATE TRIGGER inbox_messages_refuse_update_delete BEFORE UPDATE OR DELETE ON inbox_messages
    FOR EACH ROW EXECUTE FUNCTION tally_refuse_change();
CREATE TRIGGER inbox_messages_refuse_truncate BEFORE TRUNCATE ON inbox_messages
    FOR EACH STATEMENT EXECUTE FUNCTION tally_refuse_change();

-- Projector checkpoints: written in the same transaction as the projection's rows.
-- The cursor is the pair (transaction_id, global_position). How far a projection has got in
-- positions is derived from it (the watermark, see ledger::store::read::applied_through).
CREATE TABLE projection_checkpoints (
    projection      text PRIMARY KEY,
    transaction_id  bigint      NOT NULL DEFAULT 0,
    global_position bigint      NOT NULL DEFAULT 0,
    events_applied  bigint      NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    failure         text,
    failure_position bigint,
    failure_at      timestamptz
);
COMMENT ON COLUMN projection_checkpoints.failure IS 'Why the projector stopped at failure_position (UTC failure_at); cleared by its next successful batch.';
