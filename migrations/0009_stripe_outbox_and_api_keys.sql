-- Outbound Stripe commands (the outbox worker's own table) and API keys.
--
-- stripe_outbox: one row per command the outbox worker has seen on the log (a
-- StripeCommandRequested event, or another event mapped to a Stripe call, such as a usage
-- increment). The worker is a projector: it inserts rows and advances its checkpoint
-- (projection_checkpoints, projection 'stripe_outbox') in one transaction, then executes the
-- rows in order of global position. The outcome itself is an event (StripeCommandSucceeded /
-- StripeCommandFailed in stream command-<uuid>); this table only keeps the attempts, so a
-- restart resumes where it stopped and re-sends with the same idempotency key.
CREATE TABLE stripe_outbox (
    command_id        uuid PRIMARY KEY,
    -- The event that asked for the call, and where it sits in the log.
    source_event_id   uuid NOT NULL,
    global_position   bigint NOT NULL,
    -- stripe_bridge::outbox::StripeCall, as JSON (what to send; derived from the event).
    stripe_call       jsonb NOT NULL,
    -- pending | succeeded | failed
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts          integer NOT NULL DEFAULT 0,
    next_attempt_at   timestamptz NOT NULL DEFAULT now(),
    last_error_code   text,
    last_error        text,
    last_http_status  integer,
    stripe_object_id  text,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- The worker takes the oldest pending row.
CREATE INDEX stripe_outbox_pending ON stripe_outbox (global_position) WHERE status = 'pending';

-- API keys: `tally_<id>_<secret>`, where secret is 32 random bytes (hex). Only SHA-256 of the
-- secret is stored: a 256-bit random secret cannot be guessed or brute-forced, so a slow
-- password hash (argon2) would add cost per request and no protection.
CREATE TABLE api_keys (
    id            uuid PRIMARY KEY,
    -- hex SHA-256 of the secret part.
    secret_sha256 text NOT NULL,
    -- The first characters of the key, for display (`tally_<id>_ab12...`).
    display_prefix text NOT NULL,
    scope         text NOT NULL CHECK (scope IN ('read', 'write', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
