-- One statement (one round trip, autocommitted) for a verified inbound message: the duplicate
-- check, the multi-stream append (tally_append_streams: stream locks first, so the append is
-- the transaction's first write and the gated feed keeps per-stream order), the raw body in the
-- inbox, and the webhook delivery-log row. Before this, the webhook path took five round trips
-- (duplicate check, BEGIN, append, inbox + delivery, COMMIT).
--
-- Returns one row per appended event (kept = true), or one row with kept = true and NULL
-- positions when the message produced no events, or one row with kept = false when the message
-- was already kept (a redelivery; its delivery row says 'duplicate'). If the inbox insert finds
-- the message kept by a concurrent delivery after the append, the statement raises SQLSTATE
-- 'TL409' (constraint inbox_messages_kept_concurrently) and nothing is written; the caller
-- records the duplicate delivery.
CREATE FUNCTION tally_keep_message(
    p_stream_ids          text[],
    p_expected_versions   bigint[],
    p_event_streams       integer[],
    p_event_ids           uuid[],
    p_event_types         text[],
    p_schema_versions     integer[],
    p_payloads            jsonb[],
    p_metadata            jsonb[],
    p_effective_at        timestamptz[],
    p_source              text,
    p_message_key         text,
    p_message_type        text,
    p_body                bytea,
    p_outcome             text,
    p_reason              text,
    p_event_count         integer,
    p_delivery_status     text,
    p_delivery_event_id   text,
    p_delivery_event_type text,
    p_delivery_reason     text,
    p_body_bytes          bigint,
    p_signature_timestamp timestamptz
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
        IF p_delivery_status IS NOT NULL THEN
            INSERT INTO webhook_deliveries
                (stripe_event_id, event_type, status, reason, body_bytes, signature_timestamp)
            VALUES (p_delivery_event_id, p_delivery_event_type, 'duplicate', p_delivery_reason,
                    p_body_bytes, p_signature_timestamp);
        END IF;
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

    IF p_delivery_status IS NOT NULL THEN
        INSERT INTO webhook_deliveries
            (stripe_event_id, event_type, status, reason, body_bytes, signature_timestamp)
        VALUES (p_delivery_event_id, p_delivery_event_type, p_delivery_status, p_delivery_reason,
                p_body_bytes, p_signature_timestamp);
    END IF;

    IF v_positions IS NULL THEN
        RETURN QUERY SELECT true, NULL::bigint, NULL::text, NULL::bigint;
    ELSE
        RETURN QUERY SELECT true, u.p, u.s, u.v FROM unnest(v_positions, v_streams, v_versions) AS u(p, s, v);
    END IF;
END;
$$;

