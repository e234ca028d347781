-- The webhook delivery log: one row per delivery attempt on POST /webhooks/stripe, for the
-- operator who asks "did Stripe reach us?". Operational, not the event log: it is never
-- projected, and old rows may be removed by a retention job run as the schema owner (not built
-- yet; tally_app may only insert and read).
--
-- status: received (verified, kept in the inbox and translated or ignored), duplicate (verified,
-- already kept: nothing written but this row), unparsed (verified and kept, but unreadable),
-- rejected (refused: bad/missing/stale signature, too large, unreadable body). A rejected row
-- keeps nothing of the body: not its Stripe Event id or type either, because unverified bytes
-- are not Stripe's word; only why it was refused, its size and the header's signature time.
CREATE TABLE webhook_deliveries (
    delivery_id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at         timestamptz NOT NULL DEFAULT clock_timestamp(),
    stripe_event_id     text,
    event_type          text,
    status              text        NOT NULL
        CHECK (status IN ('received', 'duplicate', 'rejected', 'unparsed')),
    reason              text,
    body_bytes          bigint,
    signature_timestamp timestamptz
);
COMMENT ON COLUMN webhook_deliveries.stripe_event_id IS 'The Stripe Event id (inbox message key) of a verified body; NULL for rejected deliveries and bodies without an id.';
COMMENT ON COLUMN webhook_deliveries.body_bytes IS 'Size of the body received, bytes (the declared Content-Length of a body refused as too large).';
COMMENT ON COLUMN webhook_deliveries.signature_timestamp IS 'The t= of the Stripe-Signature header when it could be read (UTC).';

CREATE INDEX webhook_deliveries_status ON webhook_deliveries (status, delivery_id);
CREATE INDEX webhook_deliveries_event_type ON webhook_deliveries (event_type, delivery_id);

-- The application inserts and reads; it never rewrites or removes a delivery.
REVOKE UPDATE, DELETE, TRUNCATE ON webhook_deliveries FROM tally_app, PUBLIC;
