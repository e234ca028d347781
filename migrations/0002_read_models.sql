-- Read models. Snapshot tables share one shape: every observed snapshot of a billing object,
-- keyed by a scope (the customer, or the currency), the object id and the order key
-- (effective_at, change_rank, source_id) of revenue-rules.md §6.
--
-- Each belongs to one projector and is rebuilt from the log by `tally rebuild`;
-- unlike the log, these tables are disposable.

-- Projector `mrr`: the snapshots MRR depends on, and what is derived from them per customer.
CREATE TABLE mrr_subscription_snapshots (
    scope        text        NOT NULL,
    object_id    text        NOT NULL,
    effective_at timestamptz NOT NULL,
    change_rank  smallint    NOT NULL,
    source_id    text        NOT NULL,
    change       text        NOT NULL,
    snapshot     jsonb       NOT NULL,
    PRIMARY KEY (scope, object_id, effective_at, change_rank, source_id)
);
COMMENT ON COLUMN mrr_subscription_snapshots.scope IS 'Stripe customer id';
COMMENT ON COLUMN mrr_subscription_snapshots.object_id IS 'Stripe subscription id';
CREATE INDEX mrr_subscription_snapshots_object_idx ON mrr_subscription_snapshots (object_id);

CREATE TABLE mrr_discount_snapshots (
    scope        text        NOT NULL,
    object_id    text        NOT NULL,
    effective_at timestamptz NOT NULL,
    change_rank  smallint    NOT NULL,
    source_id    text        NOT NULL,
    change       text        NOT NULL,
    snapshot     jsonb       NOT NULL,
    PRIMARY KEY (scope, object_id, effective_at, change_rank, source_id)
);
COMMENT ON COLUMN mrr_discount_snapshots.scope IS 'Stripe customer id, or subscription:<id> when the discount names no customer';
COMMENT ON COLUMN mrr_discount_snapshots.object_id IS 'Stripe discount id';

CREATE TABLE mrr_coupon_snapshots (
    scope        text        NOT NULL,
    object_id    text        NOT NULL,
    effective_at timestamptz NOT NULL,
    change_rank  smallint    NOT NULL,
    source_id    text        NOT NULL,
    change       text        NOT NULL,
    snapshot     jsonb       NOT NULL,
    PRIMARY KEY (scope, object_id, effective_at, change_rank, source_id)
);
COMMENT ON TABLE mrr_coupon_snapshots IS 'Coupon terms (scope is always ''coupon''): since Stripe API 2025-09-30.clover discounts carry only the coupon id.';
CREATE INDEX mrr_coupon_snapshots_object_idx ON mrr_coupon_snapshots (object_id);
CREATE INDEX mrr_discount_snapshots_coupon_idx ON mrr_discount_snapshots ((snapshot->>'coupon_id'));

-- Customer MRR (minor units) from valid_from (inclusive) until the next row.
CREATE TABLE mrr_customer_timeline (
    customer_id text        NOT NULL,
    currency    text        NOT NULL,
    valid_from  timestamptz NOT NULL,
    mrr         bigint      NOT NULL,
    PRIMARY KEY (customer_id, currency, valid_from)
);

-- One movement per customer, currency and UTC day (netted over the day).
CREATE TABLE mrr_customer_movements (
    customer_id text   NOT NULL,
    currency    text   NOT NULL,
    day         date   NOT NULL,
    kind        text   NOT NULL CHECK (kind IN ('new', 'expansion', 'contraction', 'churn', 'reactivation')),
    amount      bigint NOT NULL CHECK (amount > 0),
    mrr_before  bigint NOT NULL,
    mrr_after   bigint NOT NULL,
    PRIMARY KEY (customer_id, currency, day)
);

-- Per customer and month: open/close MRR and movement totals. Months after a customer's last
-- row carry its close forward.
CREATE TABLE mrr_customer_months (
    currency     text   NOT NULL,
    month        date   NOT NULL,
    customer_id  text   NOT NULL,
    mrr_open     bigint NOT NULL,
    mrr_close    bigint NOT NULL,
    new          bigint NOT NULL,
    expansion    bigint NOT NULL,
    contraction  bigint NOT NULL,
    churn        bigint NOT NULL,
    reactivation bigint NOT NULL,
    PRIMARY KEY (currency, month, customer_id)
);
CREATE INDEX mrr_customer_months_customer_idx ON mrr_customer_months (customer_id);

-- Projector `cash`: invoice and charge snapshots, per currency.
CREATE TABLE cash_invoice_snapshots (
    scope        text        NOT NULL,
    object_id    text        NOT NULL,
    effective_at timestamptz NOT NULL,
    change_rank  smallint    NOT NULL,
    source_id    text        NOT NULL,
    change       text        NOT NULL,
    snapshot     jsonb       NOT NULL,
    PRIMARY KEY (scope, object_id, effective_at, change_rank, source_id)
);
COMMENT ON COLUMN cash_invoice_snapshots.scope IS 'currency';
COMMENT ON COLUMN cash_invoice_snapshots.object_id IS 'Stripe invoice id';

CREATE TABLE cash_charge_snapshots (
    scope        text        NOT NULL,
    object_id    text        NOT NULL,
    effective_at timestamptz NOT NULL,
    change_rank  smallint    NOT NULL,
    source_id    text        NOT NULL,
    change       text        NOT NULL,
    snapshot     jsonb       NOT NULL,
    PRIMARY KEY (scope, object_id, effective_at, change_rank, source_id)
);
COMMENT ON COLUMN cash_charge_snapshots.scope IS 'currency';
COMMENT ON COLUMN cash_charge_snapshots.object_id IS 'Stripe charge id';

-- Projector `customer_events`: which log entries concern which customer (the audit trail).
CREATE TABLE customer_events (
    customer_id     text        NOT NULL,
    effective_at    timestamptz NOT NULL,
    global_position bigint      NOT NULL,
    PRIMARY KEY (customer_id, effective_at, global_position)
);
