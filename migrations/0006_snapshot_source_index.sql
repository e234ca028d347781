-- Read side of the revenue reports (time travel, customer timelines, restatements): every
-- snapshot row of the read models names its source by `source_id` (the Stripe Event id, else
-- the domain event id). This index finds the event behind a snapshot row, for its
-- `recorded_at` (what Tally knew when), `global_position` and `event_type`; a row is matched by
-- its source id and its object's stream (`subscription-<object_id>`, ...).
CREATE INDEX events_source_id_idx
    ON events ((coalesce(metadata->>'stripe_event_id', event_id::text)), stream_id);
