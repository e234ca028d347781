-- The cash projector reads invoice and charge snapshots by object id alone
-- (`snapshot_table::load_snapshots_of_objects`: the rebuild's derive step in chunks of 5,000
-- ids, and every incremental batch), but the tables' primary key leads with the currency
-- (`scope`), which PostgreSQL 15 cannot skip: each such read scanned the whole table. Measured
-- by `tally bench projections` at 10,000 customers: 28 s per chunk of 5,000 invoices. The mrr
-- snapshot tables have had this index since 0002.
--
-- On the live read-model version (0007's pattern); a rebuild copies indexes into the next
-- version (`CREATE TABLE ... (LIKE ... INCLUDING ALL)`). The tables are owned by tally_app;
-- the migrating user owns the schema (or is a superuser), as for 0012.
DO $$
DECLARE
    v_cash_schema text;
BEGIN
    SELECT 'read_model_cash_v' || coalesce(
        (SELECT version FROM projection_checkpoints WHERE projection = 'cash' AND live), 1)
      INTO v_cash_schema;
    EXECUTE format('CREATE INDEX cash_invoice_snapshots_object_idx ON %I.cash_invoice_snapshots (object_id)',
        v_cash_schema);
    EXECUTE format('CREATE INDEX cash_charge_snapshots_object_idx ON %I.cash_charge_snapshots (object_id)',
        v_cash_schema);
END
$$;
