-- Event payloads and metadata are stored as `json` (the exact text Tally wrote), not `jsonb`.
--
-- Why: the log is written once and read whole, over and over (projectors, rebuilds, the
-- public feed); nothing queries inside a payload through an index. jsonb costs a parse into
-- its binary form on every append and a rendering back to text on every read: measured on
-- 2 cores, binary COPY out of the same rows took 8.2 us/row as jsonb against 1.6 us/row as
-- json, and jsonb rendering and parsing were ~10 % of all CPU under webhook ingest. json
-- keeps the text as written (serde_json's compact output) and only validates it. `->>` still
-- works (recorded_snapshots reads metadata->>'stripe_event_id'); json has no equality
-- operator, and no query of the log compares payloads.
--
-- The append functions take json[] instead of jsonb[]: they are re-created from their stored
-- definitions with only that type changed (their bodies, in 0003 and 0013, never name it).
-- ALTER ... TYPE rewrites the table (the refuse-change triggers are row and statement
-- triggers on UPDATE/DELETE/TRUNCATE, which a rewrite does not fire).

DO $$
DECLARE
    v_function regprocedure;
    v_definition text;
BEGIN
    FOR v_function IN
        SELECT p.oid::regprocedure FROM pg_proc p
        WHERE p.proname IN ('tally_append_streams', 'tally_keep_message')
          AND p.pronamespace = current_schema()::regnamespace
    LOOP
        v_definition := replace(pg_get_functiondef(v_function), 'jsonb[]', 'json[]');
        EXECUTE format('DROP FUNCTION %s', v_function);
        EXECUTE v_definition;
    END LOOP;
END
$$;

ALTER TABLE events
    ALTER COLUMN payload TYPE json USING payload::json,
    ALTER COLUMN metadata TYPE json USING metadata::json;
COMMENT ON COLUMN events.payload IS 'The domain event''s payload as written (JSON text, schema_version''s shape; upcast on read).';
COMMENT ON COLUMN events.metadata IS 'EventMetadata as written (JSON text): source, actor, Stripe Event id, causation and correlation ids.';
