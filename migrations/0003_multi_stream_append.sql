-- Appends across several streams in one transaction and one round trip, idempotent by command id.
--
-- Replaces 0001's single-stream tally_append: one append path for every caller. A single-stream
-- append is a multi-stream append with one stream.

-- The command whose handling appended the event, if any: a retried command (same id) finds its
-- original events here and appends nothing. NULL for events not caused by a Tally command
-- (Stripe webhooks are deduplicated by their deterministic event ids instead).
ALTER TABLE events ADD COLUMN command_id uuid;
COMMENT ON COLUMN events.command_id IS 'The Tally command whose handling appended this event (its idempotency key), or NULL.';
CREATE INDEX events_command_id_idx ON events (command_id) WHERE command_id IS NOT NULL;

DROP FUNCTION tally_append(text, bigint, uuid[], text[], integer[], jsonb[], jsonb[], timestamptz[]);

-- Append events to one or more streams, atomically, in one round trip.
--
--   p_command_id        the command's id (its idempotency key), or NULL.
--   p_stream_ids        the streams, each once.
--   p_expected_versions one per stream: NULL = any version, 0 = the stream must not exist,
--                       n = its head must be n.
--   p_event_streams     one per event: the 1-based index of its stream in p_stream_ids.
--   p_event_ids .. p_effective_at: one per event, in append order.
--
-- Returns one row per event, in append order: global position, stream id, stream version, and
-- whether it was a duplicate. A duplicate is an exact retry: the command id was already
-- recorded, or every event id was already stored; nothing is written and the original rows are
-- returned (for a command: every event it appended, whatever this retry carries).
--
-- Errors (SQLSTATE / CONSTRAINT):
--   40001 streams_expected_version  a stream's head is not as expected; DETAIL is JSON
--                                   {"stream_id", "expected", "actual"}.
--   23505 events_partial_duplicate  some, not all, event ids are already stored.
--
-- Order of work, which the gap-free feed relies on (ARCHITECTURE.md): the command lock and the
-- stream locks (advisory, byte order of the stream id, the same order as
-- ledger::store::append::lock_streams) come first and take no transaction id, so the insert is
-- the transaction's first write and per-stream order matches the gated global order.
CREATE FUNCTION tally_append_streams(
    p_command_id        uuid,
    p_stream_ids        text[],
    p_expected_versions bigint[],
    p_event_streams     integer[],
    p_event_ids         uuid[],
    p_event_types       text[],
    p_schema_versions   integer[],
    p_payloads          jsonb[],
    p_metadata          jsonb[],
    p_effective_at      timestamptz[]
) RETURNS TABLE (global_position bigint, stream_id text, stream_version bigint, duplicate boolean)
LANGUAGE plpgsql AS $$
DECLARE
    v_stream   text;
    v_heads    bigint[];
    v_existing integer;
BEGIN
    IF p_command_id IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended('command:' || p_command_id::text, 0));
        IF EXISTS (SELECT 1 FROM events e WHERE e.command_id = p_command_id) THEN
            RETURN QUERY
                SELECT e.global_position, e.stream_id, e.stream_version, true
                FROM events e
                WHERE e.command_id = p_command_id
                ORDER BY e.global_position;
            RETURN;
        END IF;
    END IF;

    IF cardinality(p_stream_ids) = 1 THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_stream_ids[1], 0));
    ELSE
        FOR v_stream IN SELECT s FROM unnest(p_stream_ids) AS s ORDER BY s COLLATE "C" LOOP
            PERFORM pg_advisory_xact_lock(hashtextextended(v_stream, 0));
        END LOOP;
    END IF;

    -- One query after the locks (a new snapshot, so it sees every append committed before we
    -- got them): how many of the event ids exist, and every stream's head.
    SELECT (SELECT count(*) FROM events e WHERE e.event_id = ANY (p_event_ids)),
           (SELECT array_agg(coalesce(s.version, 0) ORDER BY i.n)
            FROM unnest(p_stream_ids) WITH ORDINALITY AS i(id, n)
            LEFT JOIN streams s ON s.stream_id = i.id)
    INTO v_existing, v_heads;

    IF v_existing > 0 THEN
        IF v_existing <> cardinality(p_event_ids) THEN
            RAISE EXCEPTION 'append partially duplicates stored events (% of % event ids exist)',
                    v_existing, cardinality(p_event_ids)
                USING ERRCODE = 'unique_violation', CONSTRAINT = 'events_partial_duplicate';
        END IF;
        RETURN QUERY
            SELECT e.global_position, e.stream_id, e.stream_version, true
            FROM unnest(p_event_ids) WITH ORDINALITY AS i(id, n)
            JOIN events e ON e.event_id = i.id
            ORDER BY i.n;
        RETURN;
    END IF;

    FOR i IN 1 .. cardinality(p_stream_ids) LOOP
        IF p_expected_versions[i] IS NOT NULL AND p_expected_versions[i] <> v_heads[i] THEN
            RAISE EXCEPTION 'stream %: expected version %, found %',
                    p_stream_ids[i], p_expected_versions[i], v_heads[i]
                USING ERRCODE = 'serialization_failure', CONSTRAINT = 'streams_expected_version',
                      DETAIL = json_build_object('stream_id', p_stream_ids[i],
                                                 'expected', p_expected_versions[i],
                                                 'actual', v_heads[i])::text;
        END IF;
    END LOOP;

    -- One statement inserts the events and moves the heads.
    RETURN QUERY
        WITH inserted AS (
            INSERT INTO events AS e
                (command_id, stream_id, stream_version, event_id, event_type, schema_version,
                 payload, metadata, effective_at)
            SELECT p_command_id,
                   p_stream_ids[x.s],
                   v_heads[x.s] + row_number() OVER (PARTITION BY x.s ORDER BY x.n),
                   x.id, x.t, x.v, x.p, x.m, x.eff
            FROM unnest(p_event_streams, p_event_ids, p_event_types, p_schema_versions,
                        p_payloads, p_metadata, p_effective_at)
                 WITH ORDINALITY AS x(s, id, t, v, p, m, eff, n)
            ORDER BY x.n
            RETURNING e.global_position, e.stream_id, e.stream_version
        ), moved AS (
            INSERT INTO streams AS s (stream_id, version)
            SELECT p_stream_ids[c.s], v_heads[c.s] + c.appended
            FROM (SELECT x.s, count(*) AS appended
                  FROM unnest(p_event_streams) AS x(s) GROUP BY x.s) AS c
            ON CONFLICT ON CONSTRAINT streams_pkey DO UPDATE SET version = excluded.version
        )
        SELECT r.global_position, r.stream_id, r.stream_version, false
        FROM inserted AS r
        ORDER BY r.global_position;
END
$$;
