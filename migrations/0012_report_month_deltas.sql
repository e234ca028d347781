-- Report rows kept by the projectors (issue 4, report latency): per currency and month, the
-- sum over customers (mrr) or billing objects (cash) of their change from the month before of
-- what they add to the monthly reports. A report of months A..B sums the rows up to each month
-- (a few rows per month) instead of reading every customer's history. The rules that produce
-- the rows are Rust (`projections::rules::customer_month_total_deltas`, `invoice_cash_deltas`,
-- `charge_cash_deltas`); SQL only stores and sums columns. Rows whose columns are all zero are
-- deleted, so an incremental projection and a rebuild hold the same rows.
--
-- The tables join their projection's live read-model version (0007's pattern: a table in the
-- version schema, a view of the same name in the default schema, owned by tally_app) so a
-- rebuild copies them into the next version like the others.
--
-- Deploying onto a database that already holds projected rows: the new tables start empty, so
-- run `tally rebuild mrr` and `tally rebuild cash` once after migrating (the reports read these
-- rows).
DO $$
DECLARE
    v_mrr_schema  text;
    v_cash_schema text;
BEGIN
    SELECT 'read_model_mrr_v' || coalesce(
        (SELECT version FROM projection_checkpoints WHERE projection = 'mrr' AND live), 1)
      INTO v_mrr_schema;
    SELECT 'read_model_cash_v' || coalesce(
        (SELECT version FROM projection_checkpoints WHERE projection = 'cash' AND live), 1)
      INTO v_cash_schema;

    EXECUTE format($sql$
        CREATE TABLE %I.mrr_report_month_deltas (
            currency                          text   NOT NULL,
            month                             date   NOT NULL,
            mrr_open                          bigint NOT NULL,
            mrr_close                         bigint NOT NULL,
            new                               bigint NOT NULL,
            expansion                         bigint NOT NULL,
            contraction                       bigint NOT NULL,
            churn                             bigint NOT NULL,
            reactivation                      bigint NOT NULL,
            customers_active_at_open          bigint NOT NULL,
            customers_active_at_close         bigint NOT NULL,
            open_customers_inactive_at_close  bigint NOT NULL,
            expansion_of_open_customers       bigint NOT NULL,
            contraction_of_open_customers     bigint NOT NULL,
            churn_of_open_customers           bigint NOT NULL,
            PRIMARY KEY (currency, month)
        )$sql$, v_mrr_schema);
    EXECUTE format('COMMENT ON TABLE %I.mrr_report_month_deltas IS %L', v_mrr_schema,
        'Per currency and month: the sum over customers of the change from the previous month of '
        'their MRR/churn report totals (minor units, counts of customers); a month''s totals are '
        'the sum of the rows up to it.');
    EXECUTE format('ALTER TABLE %I.mrr_report_month_deltas OWNER TO tally_app', v_mrr_schema);
    EXECUTE format('CREATE VIEW mrr_report_month_deltas AS SELECT * FROM %I.mrr_report_month_deltas',
        v_mrr_schema);
    ALTER VIEW mrr_report_month_deltas OWNER TO tally_app;

    EXECUTE format($sql$
        CREATE TABLE %I.cash_report_month_deltas (
            currency          text   NOT NULL,
            month             date   NOT NULL,
            collected         bigint NOT NULL,
            refunded          bigint NOT NULL,
            outstanding_close bigint NOT NULL,
            PRIMARY KEY (currency, month)
        )$sql$, v_cash_schema);
    EXECUTE format('COMMENT ON TABLE %I.cash_report_month_deltas IS %L', v_cash_schema,
        'Per currency and month: the sum over invoices and charges of the change from the '
        'previous month of their cash report figures (minor units); a month''s figures are the '
        'sum of the rows up to it.');
    EXECUTE format('ALTER TABLE %I.cash_report_month_deltas OWNER TO tally_app', v_cash_schema);
    EXECUTE format('CREATE VIEW cash_report_month_deltas AS SELECT * FROM %I.cash_report_month_deltas',
        v_cash_schema);
    ALTER VIEW cash_report_month_deltas OWNER TO tally_app;
END
$$;
