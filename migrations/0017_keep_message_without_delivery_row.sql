-- tally_keep_message (0013; json[] since 0016) without its webhook delivery-log parameters.
--
-- Since 0015 the webhook endpoint keeps bodies first (inbox_queue::accept_message writes the
-- delivery row); tally_keep_message's remaining caller, ingest_stripe_event, has no delivery
-- to record and passed six NULLs, so the delivery branches were dead. Behaviour for that
-- caller is unchanged: the duplicate check, the multi-stream append (stream locks first, so
-- the append is the transaction's first write and the gated feed keeps per-stream order) and
-- the raw body in the inbox, in one statement.
--
-- Returns one row per appended event (kept = true), or one row with kept = true and NULL
-- positions when the message produced no events, or one row with kept = false when the message
-- was already kept. If the inbox insert finds the message kept by a concurrent delivery after
-- the append, the statement raises SQLSTATE 'TL409' (constraint
-- inbox_messages_kept_concurrently) and nothing is written.

DROP FUNCTION tally_keep_message(text[], bigint[], integer[], uuid[], text[], integer[], json[],
    json[], timestamptz[], text, text, text, bytea, text, text, integer, text, text, text, text,
    bigint, timestamptz);

CREATE FUNCTION tally_keep_message(
    p_stream_ids          text[],
    p_expected_versions   bigint[],
    p_event_streams       integer[],
    p_event_ids           uuid[],
    p_event_types         text[],
    p_schema_versions     integer[],
    p_payloads            json[],
    p_metadata            json[],
    p_effective_at        timestamptz[],
    p_source              text,
    p_message_key         text,
    p_message_type        text,
    p_body                bytea,
    p_outcome             text,
    p_reason              text,
    p_event_count         integer
) RETURNS TABLE (kept boolean, global_position bigint, stream_id text, stream_version bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_positions bigint[];
    v_streams   text[];
    v_versions  bigint[];
    v_inbox     bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM inbox_messages i
               WHERE i.source = p_source AND i.message_key = p_message_key) THEN
        RETURN QUERY SELECT false, NULL::bigint, NULL::text, NULL::bigint;
        RETURN;
    END IF;

    IF cardinality(p_stream_ids) > 0 THEN
        SELECT array_agg(a.global_position ORDER BY a.global_position),
               array_agg(a.stream_id ORDER BY a.global_position),
               array_agg(a.stream_version ORDER BY a.global_position)
          INTO v_positions, v_streams, v_versions
          FROM tally_append_streams(NULL, p_stream_ids, p_expected_versions, p_event_streams,
                                    p_event_ids, p_event_types, p_schema_versions, p_payloads,
                                    p_metadata, p_effective_at) AS a;
    END IF;

    INSERT INTO inbox_messages (source, message_key, message_type, body, outcome, reason, event_count)
    VALUES (p_source, p_message_key, p_message_type, p_body, p_outcome, p_reason, p_event_count)
    ON CONFLICT (source, message_key) DO NOTHING
    RETURNING inbox_position INTO v_inbox;
    IF v_inbox IS NULL THEN
        RAISE EXCEPTION 'message % was kept by a concurrent delivery', p_message_key
            USING ERRCODE = 'TL409', CONSTRAINT = 'inbox_messages_kept_concurrently';
    END IF;

    IF v_positions IS NULL THEN
        RETURN QUERY SELECT true, NULL::bigint, NULL::text, NULL::bigint;
    ELSE
        RETURN QUERY SELECT true, u.p, u.s, u.v FROM unnest(v_positions, v_streams, v_versions) AS u(p, s, v);
    END IF;
END;
$$;
