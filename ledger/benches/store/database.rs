//! The benchmark database: a fresh, migrated database on `DATABASE_URL`'s server
//! (`tally_bench_<pid>`, dropped at the end), else on the embedded test cluster
//! (`ledger::store::test_database`), plus the peer's and the raw ceiling's tables.

use ledger::store::test_database::TestDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, PgPool};
use std::str::FromStr;

/// postgres-es's table schema, from its repository's `db/init.sql` (postgres-es 0.5.0), with
/// the tables renamed (`PostgresEventRepository::with_tables`) because Tally's log is `events`.
pub const PEER_SCHEMA: &str = "
CREATE TABLE pges_events
(
    aggregate_type text                         NOT NULL,
    aggregate_id   text                         NOT NULL,
    sequence       bigint CHECK (sequence >= 0) NOT NULL,
    event_type     text                         NOT NULL,
    event_version  text                         NOT NULL,
    payload        json                         NOT NULL,
    metadata       json                         NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);
CREATE TABLE pges_snapshots
(
    aggregate_type   text                                 NOT NULL,
    aggregate_id     text                                 NOT NULL,
    last_sequence    bigint CHECK (last_sequence >= 0)    NOT NULL,
    current_snapshot bigint CHECK (current_snapshot >= 0) NOT NULL,
    payload          json                                 NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id, last_sequence)
);";

/// The raw ceiling: the columns and defaults of `events` (identity, transaction id, recorded
/// time), and nothing else: no index, no constraint, no trigger, no function.
pub const RAW_SCHEMA: &str =
    "CREATE TABLE raw_events (LIKE events INCLUDING DEFAULTS INCLUDING IDENTITY)";

/// Where the benchmark database lives, and how to get rid of it.
pub struct BenchDatabase {
    /// Connect options of the benchmark database.
    pub options: PgConnectOptions,
    /// Human-readable server description for the report.
    pub server: String,
    owner: Owner,
}

enum Owner {
    Url {
        admin: PgConnectOptions,
        name: String,
    },
    Embedded(TestDatabase),
}

impl BenchDatabase {
    /// Creates and migrates the database, then creates the peer's and the raw tables.
    pub async fn create() -> Self {
        let database = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => {
                let admin = PgConnectOptions::from_str(&url)
                    .expect("DATABASE_URL is a valid PostgreSQL URL");
                let name = format!("tally_bench_{}", std::process::id());
                let mut conn = PgConnection::connect_with(&admin)
                    .await
                    .expect("connect to DATABASE_URL");
                conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\"").as_str())
                    .await
                    .expect("drop a leftover benchmark database");
                conn.execute(format!("CREATE DATABASE \"{name}\"").as_str())
                    .await
                    .expect("CREATE DATABASE (the role needs CREATEDB)");
                let _ = conn.close().await;
                let options = admin.clone().database(&name);
                let pool = pool(&options, 1).await;
                ledger::store::migrate(&pool).await.expect("migrate");
                pool.close().await;
                Self {
                    options,
                    server: format!("DATABASE_URL ({})", admin.to_url_lossy()),
                    owner: Owner::Url { admin, name },
                }
            }
            _ => {
                let test = TestDatabase::create().await;
                Self {
                    options: test.connect_options(),
                    server: "embedded test cluster (target/tally-test-pg)".to_owned(),
                    owner: Owner::Embedded(test),
                }
            }
        };
        let pool = pool(&database.options, 1).await;
        pool.execute(PEER_SCHEMA)
            .await
            .expect("create the peer's tables");
        pool.execute(RAW_SCHEMA)
            .await
            .expect("create the raw table");
        pool.close().await;
        database
    }

    /// `SHOW` of a server setting, for the report.
    pub async fn setting(&self, name: &str) -> String {
        let mut conn = PgConnection::connect_with(&self.options)
            .await
            .expect("connect");
        let value: String = sqlx::query_scalar(&format!("SHOW {name}"))
            .fetch_one(&mut conn)
            .await
            .unwrap_or_else(|_| "?".to_owned());
        let _ = conn.close().await;
        value
    }

    /// Drops the benchmark database.
    pub async fn drop_database(self) {
        match self.owner {
            Owner::Url { admin, name } => {
                let mut conn = PgConnection::connect_with(&admin)
                    .await
                    .expect("connect to DATABASE_URL");
                conn.execute(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)").as_str())
                    .await
                    .expect("drop the benchmark database");
                let _ = conn.close().await;
            }
            Owner::Embedded(test) => test.drop_database().await,
        }
    }
}

/// A pool of exactly `size` connections, all opened before it is returned.
pub async fn pool(options: &PgConnectOptions, size: u32) -> PgPool {
    let pool = PgPoolOptions::new()
        .max_connections(size)
        .min_connections(size)
        .acquire_timeout(std::time::Duration::from_secs(60))
        .connect_with(options.clone())
        .await
        .expect("connect to the benchmark database");
    let mut held = Vec::new();
    for _ in 0..size {
        held.push(pool.acquire().await.expect("open a pool connection"));
    }
    drop(held);
    pool
}
