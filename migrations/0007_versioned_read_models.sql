-- Versioned read models, so `tally rebuild` can build a new version while the old one keeps
-- serving, then switch readers atomically.
--
-- Each version of a projection's read models lives in its own schema,
-- `read_model_<projection>_v<version>`, under the same table names. The names readers use
-- (`mrr_customer_months`, ...) are views in the default schema over the live version's tables,
-- so queries never change; a rebuild repoints the views in one transaction and then drops the
-- old schema. Projectors write through `search_path` (the version's schema first), so their SQL
-- names tables exactly as before.
--
-- Checkpoints are per (projection, version): the live version's row is what the running
-- projector advances; a version being built has its own row (live = false) until the switch.

ALTER TABLE projection_checkpoints ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE projection_checkpoints ADD COLUMN live boolean NOT NULL DEFAULT true;
ALTER TABLE projection_checkpoints DROP CONSTRAINT projection_checkpoints_pkey;
ALTER TABLE projection_checkpoints ADD PRIMARY KEY (projection, version);
CREATE UNIQUE INDEX projection_checkpoints_one_live_idx ON projection_checkpoints (projection)
    WHERE live;
COMMENT ON COLUMN projection_checkpoints.version IS 'Read-model version: its tables are in schema read_model_<projection>_v<version>.';
COMMENT ON COLUMN projection_checkpoints.live IS 'The version readers see (the views point at it) and the running projector advances; false while a rebuild builds it.';

-- Version 1 of every projection: the tables of 0002, moved into their version schema.
CREATE SCHEMA read_model_mrr_v1;
ALTER TABLE mrr_subscription_snapshots SET SCHEMA read_model_mrr_v1;
ALTER TABLE mrr_discount_snapshots SET SCHEMA read_model_mrr_v1;
ALTER TABLE mrr_coupon_snapshots SET SCHEMA read_model_mrr_v1;
ALTER TABLE mrr_customer_timeline SET SCHEMA read_model_mrr_v1;
ALTER TABLE mrr_customer_movements SET SCHEMA read_model_mrr_v1;
ALTER TABLE mrr_customer_months SET SCHEMA read_model_mrr_v1;
CREATE VIEW mrr_subscription_snapshots AS SELECT * FROM read_model_mrr_v1.mrr_subscription_snapshots;
CREATE VIEW mrr_discount_snapshots AS SELECT * FROM read_model_mrr_v1.mrr_discount_snapshots;
CREATE VIEW mrr_coupon_snapshots AS SELECT * FROM read_model_mrr_v1.mrr_coupon_snapshots;
CREATE VIEW mrr_customer_timeline AS SELECT * FROM read_model_mrr_v1.mrr_customer_timeline;
CREATE VIEW mrr_customer_movements AS SELECT * FROM read_model_mrr_v1.mrr_customer_movements;
CREATE VIEW mrr_customer_months AS SELECT * FROM read_model_mrr_v1.mrr_customer_months;

CREATE SCHEMA read_model_cash_v1;
ALTER TABLE cash_invoice_snapshots SET SCHEMA read_model_cash_v1;
ALTER TABLE cash_charge_snapshots SET SCHEMA read_model_cash_v1;
CREATE VIEW cash_invoice_snapshots AS SELECT * FROM read_model_cash_v1.cash_invoice_snapshots;
CREATE VIEW cash_charge_snapshots AS SELECT * FROM read_model_cash_v1.cash_charge_snapshots;

CREATE SCHEMA read_model_customer_events_v1;
ALTER TABLE customer_events SET SCHEMA read_model_customer_events_v1;
CREATE VIEW customer_events AS SELECT * FROM read_model_customer_events_v1.customer_events;

-- The application role (0004) owns the read models, never the log: `tally rebuild` runs as
-- tally_app and creates version schemas, repoints the views and drops old versions, which
-- PostgreSQL allows only to an owner with CREATE on the database and on the views' schema.
DO $$
DECLARE
    v_schema text;
    v_table  record;
BEGIN
    EXECUTE format('GRANT CREATE ON DATABASE %I TO tally_app', current_database());
    EXECUTE format('GRANT CREATE ON SCHEMA %I TO tally_app', current_schema());
    FOREACH v_schema IN ARRAY ARRAY['read_model_mrr_v1', 'read_model_cash_v1',
                                    'read_model_customer_events_v1'] LOOP
        EXECUTE format('ALTER SCHEMA %I OWNER TO tally_app', v_schema);
        FOR v_table IN SELECT tablename FROM pg_tables WHERE schemaname = v_schema LOOP
            EXECUTE format('ALTER TABLE %I.%I OWNER TO tally_app', v_schema, v_table.tablename);
            EXECUTE format('ALTER VIEW %I OWNER TO tally_app', v_table.tablename);
        END LOOP;
    END LOOP;
END
$$;
