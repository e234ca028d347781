-- Read-model snapshot columns are stored as `json` (the exact text the projector wrote), not
-- `jsonb`, as the event payloads have been since 0016. Projectors only ever store a snapshot
-- whole and load it whole; the one lookup inside one (`mrr_discount_snapshots`' coupon id) is
-- an expression index, which works on json too and is re-created by the type change. jsonb
-- costs a parse on every insert and a rendering on every load: measured by `tally bench
-- projections` (900k events, 511k invoice snapshots), storing the invoice snapshots took
-- 1.21 s as jsonb against 0.63 s as json, and reading them back 0.80 s against 0.24 s.
--
-- On each projection's live version (0007's pattern; a rebuild copies the column types into
-- the next version). A version left unfinished by a rebuild keeps jsonb and is discarded by
-- the next rebuild. The views over the live tables are re-created (a view pins its columns'
-- types) and stay owned by tally_app; the migrating user owns the schema (or is a superuser),
-- as for 0012 and 0014.
DO $$
DECLARE
    v_read_model record;
    v_schema     text;
BEGIN
    FOR v_read_model IN
        SELECT * FROM (VALUES ('mrr', 'mrr_subscription_snapshots'),
                              ('mrr', 'mrr_discount_snapshots'),
                              ('mrr', 'mrr_coupon_snapshots'),
                              ('cash', 'cash_invoice_snapshots'),
                              ('cash', 'cash_charge_snapshots')) AS read_model (projection, tablename)
    LOOP
        SELECT 'read_model_' || v_read_model.projection || '_v' || coalesce(
            (SELECT version FROM projection_checkpoints
              WHERE projection = v_read_model.projection AND live), 1)
          INTO v_schema;
        EXECUTE format('DROP VIEW %I', v_read_model.tablename);
        EXECUTE format('ALTER TABLE %I.%I ALTER COLUMN snapshot TYPE json USING snapshot::json',
            v_schema, v_read_model.tablename);
        EXECUTE format('CREATE VIEW %I AS SELECT * FROM %I.%I',
            v_read_model.tablename, v_schema, v_read_model.tablename);
        EXECUTE format('ALTER VIEW %I OWNER TO tally_app', v_read_model.tablename);
    END LOOP;
END
$$;
