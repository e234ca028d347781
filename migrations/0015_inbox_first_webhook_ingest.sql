-- Inbox-first webhook ingest: a verified Stripe delivery is answered 2xx as soon as its raw
-- body is durable in the inbox (with its delivery-log row and a row in the translation queue,
-- one autocommitted statement); the inbox translator (stripe_bridge::inbox_translator) turns
-- queued bodies into domain events behind the answer, in batches, one transaction each.
--
-- Why: Stripe's own guidance is to "return a successful status code (2xx) prior to any complex
-- logic". Measured on 2 cores (tally bench ingest, 32 connections, 4.4 KB bodies): translating
-- and appending inside the request held ingest to 1,174 deliveries/s (0.14x a raw INSERT of the
-- body); keeping only the body and the delivery row reached 5,762/s (0.67x).
--
-- The inbox stays append-only. A message kept this way has outcome NULL in inbox_messages; its
-- outcome is written once, by the translator, to inbox_translations (also append-only). Until
-- then it is in inbox_pending, the one mutable table here: the translator deletes a message's
-- queue row in the transaction that appends its events, so each message is translated once.
-- `tally import` and ingest_stripe_event still translate synchronously and write the outcome
-- on the inbox row itself.

ALTER TABLE inbox_messages ALTER COLUMN outcome DROP NOT NULL;
COMMENT ON COLUMN inbox_messages.outcome IS 'translated: domain events appended; ignored: a type Tally does not use; unparsed: verified but unreadable. NULL: kept first, translated behind the acknowledgement: see inbox_translations (or inbox_pending while queued).';

CREATE TABLE inbox_pending (
    inbox_position bigint PRIMARY KEY REFERENCES inbox_messages (inbox_position)
);
COMMENT ON TABLE inbox_pending IS 'Inbox messages kept but not yet translated: the inbox translator''s queue, oldest position first.';

CREATE TABLE inbox_translations (
    inbox_position bigint      PRIMARY KEY REFERENCES inbox_messages (inbox_position),
    outcome        text        NOT NULL CHECK (outcome IN ('translated', 'ignored', 'unparsed')),
    reason         text,
    event_count    integer     NOT NULL,
    translated_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE inbox_translations IS 'The outcome of each message translated behind its acknowledgement (inbox_messages.outcome IS NULL), written once.';
COMMENT ON COLUMN inbox_translations.translated_at IS 'When the translator committed the message''s events (UTC); the events'' recorded_at is the same transaction''s start.';

CREATE TRIGGER inbox_translations_refuse_update_delete BEFORE UPDATE OR DELETE ON inbox_translations
    FOR EACH ROW EXECUTE FUNCTION tally_refuse_change();
CREATE TRIGGER inbox_translations_refuse_truncate BEFORE TRUNCATE ON inbox_translations
    FOR EACH STATEMENT EXECUTE FUNCTION tally_refuse_change();

-- Default privileges (0004) granted tally_app everything on the new tables: the queue keeps
-- them all but TRUNCATE, the outcomes only read and insert.
REVOKE UPDATE, TRUNCATE ON inbox_pending FROM tally_app, PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON inbox_translations FROM tally_app, PUBLIC;
