-- The application role `tally_app`: what the running application may do, and nothing more.
--
-- Migrations run as the schema's owner (the user in DATABASE_URL); the application's pool then
-- runs `SET ROLE tally_app` on every connection (ledger::store::connect). In production, let the
-- application log in as a user that is only a member of tally_app, and run migrations as the
-- owner. The grants make the log immutable even to the application's own code: tally_app may
-- read and append to `events` and `inbox_messages`, never UPDATE, DELETE or TRUNCATE them (the
-- triggers of 0001 still refuse those to everyone else, the owner included).
--
-- Tables created by LATER migrations are granted to tally_app automatically, with every table
-- privilege (ALTER DEFAULT PRIVILEGES below: read models and the like are disposable). A later
-- migration that adds an append-only table must therefore revoke for itself, in the same file:
--     REVOKE UPDATE, DELETE, TRUNCATE ON <table> FROM tally_app, PUBLIC;
-- and add the refuse-change triggers of 0001. Tables created by EARLIER migrations are granted
-- one by one below.

-- Roles are cluster-wide: several databases of one cluster (the tests migrate many at once)
-- may race to create it. The loser waits for the winner's commit, then sees a unique violation.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tally_app') THEN
        CREATE ROLE tally_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- The migrating (owner) user must be able to `SET ROLE tally_app` (PostgreSQL 16 does not give
-- a CREATEROLE creator SET on the roles it creates). A superuser needs no membership.
DO $$
BEGIN
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
       AND NOT pg_has_role(current_user, 'tally_app', 'MEMBER') THEN
        EXECUTE format('GRANT tally_app TO %I', current_user);
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation OR insufficient_privilege THEN
    RAISE NOTICE 'could not grant tally_app to %: %', current_user, SQLERRM;
END
$$;

-- "Oldest open writing transaction" metric: backend_xid of other sessions in
-- pg_stat_activity is visible only with pg_read_all_stats. Best effort: a migrating user that
-- may not grant it (not a superuser, no ADMIN on pg_read_all_stats) still migrates; the metric
-- then sees only tally_app's own sessions.
DO $$
BEGIN
    IF NOT pg_has_role('tally_app', 'pg_read_all_stats', 'MEMBER') THEN
        GRANT pg_read_all_stats TO tally_app;
    END IF;
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'pg_read_all_stats not granted to tally_app: %', SQLERRM;
END
$$;

-- Everything else is per database, in the schema the migrations create their tables in.
DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO tally_app', current_schema());
END
$$;

-- The log: read and append only (0003's command ids are a column of events).
GRANT SELECT, INSERT ON events, inbox_messages TO tally_app;
REVOKE UPDATE, DELETE, TRUNCATE ON events, inbox_messages FROM tally_app, PUBLIC;

-- Stream heads: tally_append inserts and moves them.
GRANT SELECT, INSERT, UPDATE ON streams TO tally_app;
REVOKE DELETE, TRUNCATE ON streams FROM tally_app, PUBLIC;

-- Checkpoints and read models: projectors update them, `tally rebuild` truncates them.
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON
    projection_checkpoints,
    mrr_subscription_snapshots,
    mrr_discount_snapshots,
    mrr_coupon_snapshots,
    mrr_customer_timeline,
    mrr_customer_movements,
    mrr_customer_months,
    cash_invoice_snapshots,
    cash_charge_snapshots,
    customer_events
TO tally_app;

-- The migration history: readable, so a login that is only a member of tally_app can see that
-- the database is current (ledger::store::connect) and skip migrating.
DO $$
BEGIN
    IF to_regclass('_sqlx_migrations') IS NOT NULL THEN
        GRANT SELECT ON _sqlx_migrations TO tally_app;
    END IF;
END
$$;

-- Identity sequences and functions (tally_append, tally_refuse_change, ...).
DO $$
BEGIN
    EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO tally_app', current_schema());
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA %I TO tally_app', current_schema());
END
$$;

-- Objects the owner creates in later migrations: every table privilege (see the header for
-- append-only tables), sequence usage, function execution.
DO $$
BEGIN
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO tally_app',
        current_schema());
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO tally_app',
        current_schema());
    EXECUTE format(
        'ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT EXECUTE ON FUNCTIONS TO tally_app',
        current_schema());
END
$$;
