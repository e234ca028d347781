//! Fresh, migrated databases for tests, on a real PostgreSQL.
//!
//! [`TestDatabase::create`] makes a new database `tally_test_<uuid>` and applies every
//! migration, so each test starts from an empty, current schema and tests can run in
//! parallel.
//!
//! Which server:
//! - `DATABASE_URL` set: that server (the URL's database is only used to run
//!   `CREATE DATABASE`; the role needs the `CREATEDB` privilege).
//! - Otherwise the embedded cluster in `<workspace>/target/tally-test-pg` (override with
//!   `TALLY_TEST_DATA_DIR`), started once per test process. It is deliberately **left
//!   running** when the tests end, so the next test binary (and the next `cargo test`) reuses
//!   it in milliseconds. Stop it with
//!   `pg_ctl -D target/tally-test-pg stop` (as the `postgres` user when you are root), or
//!   just delete the folder after stopping it; `cargo clean` removes it too (stop it first).
//!
//! Databases are left behind when a test ends (so a failing test's data can be inspected),
//! unless the test calls [`TestDatabase::drop_database`]. To keep disk use bounded, the first
//! [`TestDatabase::create`] of each process drops `tally_test_*` databases created more than
//! an hour earlier (the name carries a UUIDv7, so its creation time) that nobody is connected
//! to.
//!
//! [`TestDatabase::pool`] runs as the restricted application role `tally_app` (as the
//! application does, see [`crate::store::connect`]), so every test proves that role's grants
//! suffice. Migrations, [`TestDatabase::connect_options`], [`TestDatabase::owner_pool`] and
//! [`TestDatabase::database_url`] use the server's own (owner) user.
//!
//! Available to this crate's unit tests, and to other crates (and this crate's integration
//! tests) through the `test-support` feature.

use crate::store::connect::{application_pool_options, APPLICATION_ROLE};
use crate::store::embedded_postgres::EmbeddedPostgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor, PgConnection, PgPool};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::OnceCell;
use uuid::Uuid;

/// Prefix of every test database's name; the rest is a UUIDv7 in simple (hex) form.
pub const DATABASE_PREFIX: &str = "tally_test_";

/// Maximum connections of each [`TestDatabase::pool`].
pub const MAX_CONNECTIONS: u32 = 8;

/// Test databases older than this are dropped by the next test process (if unused).
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// The server every test database of this process is created on. Holds connect options only:
/// a pool would be bound to the tokio runtime of the first test, and each `#[tokio::test]` has
/// its own runtime.
#[derive(Debug)]
struct TestServer {
    /// Options for the maintenance database, where `CREATE DATABASE` runs.
    admin: PgConnectOptions,
}

static SERVER: OnceCell<TestServer> = OnceCell::const_new();

/// A fresh database with every migration applied.
#[derive(Debug)]
pub struct TestDatabase {
    /// Pool on the fresh database (at most [`MAX_CONNECTIONS`] connections), every connection
    /// running as the application role `tally_app`.
    pub pool: PgPool,
    /// The database's name: `tally_test_<uuid>`.
    pub name: String,
    /// Connect options for this database.
    options: PgConnectOptions,
}

impl TestDatabase {
    /// Creates a fresh database (on `DATABASE_URL`'s server, else the embedded test cluster)
    /// and applies every migration.
    ///
    /// Panics, with a message saying what to fix, when the server cannot be started or
    /// reached, or the database cannot be created or migrated.
    pub async fn create() -> Self {
        let server = SERVER
            .get_or_try_init(TestServer::init)
            .await
            .unwrap_or_else(|e| panic!("TestDatabase: {e}"));

        let name = format!("{DATABASE_PREFIX}{}", Uuid::now_v7().simple());
        let mut admin = server
            .connect_admin()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        admin
            .execute(format!("CREATE DATABASE \"{name}\"").as_str())
            .await
            .unwrap_or_else(|e| panic!("TestDatabase: CREATE DATABASE {name} failed: {e}"));
        let _ = admin.close().await;

        let options = server.admin.clone().database(&name);
        let mut owner = PgConnection::connect_with(&options)
            .await
            .unwrap_or_else(|e| panic!("TestDatabase: could not connect to {name}: {e}"));
        crate::store::connect::migrate_if_pending(&mut owner)
            .await
            .unwrap_or_else(|e| panic!("TestDatabase: migrating {name} failed: {e}"));
        let _ = owner.close().await;
        let pool = application_pool_options(Some(APPLICATION_ROLE))
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options.clone())
            .await
            .unwrap_or_else(|e| {
                panic!("TestDatabase: could not connect to {name} as {APPLICATION_ROLE}: {e}")
            });
        Self {
            pool,
            name,
            options,
        }
    }

    /// A new pool (at most 2 connections) on this database as the server's own user, the owner
    /// of the schema (a superuser on the embedded cluster): for tests that must do what the
    /// application role may not.
    ///
    /// Panics when the database cannot be reached.
    pub async fn owner_pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(2)
            .connect_with(self.options.clone())
            .await
            .unwrap_or_else(|e| panic!("TestDatabase: could not connect to {}: {e}", self.name))
    }

    /// Connect options for this database (as the owner, without `SET ROLE`), to open more
    /// pools or single connections to it.
    pub fn connect_options(&self) -> PgConnectOptions {
        self.options.clone()
    }

    /// A connection URL for this database (e.g. to hand to a child process as
    /// `DATABASE_URL`). On the embedded cluster the host is the percent-encoded socket
    /// directory. Always `Some` today.
    pub fn database_url(&self) -> Option<String> {
        Some(self.options.to_url_lossy().to_string())
    }

    /// Closes the pool and drops the database (`WITH (FORCE)`: PostgreSQL 13 or later),
    /// disconnecting any other session on it.
    ///
    /// Panics when the server cannot be reached or the drop fails.
    pub async fn drop_database(self) {
        self.pool.close().await;
        let server = SERVER
            .get()
            .expect("TestDatabase: the server of an existing test database is initialised");
        let mut admin = server
            .connect_admin()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        admin
            .execute(format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name).as_str())
            .await
            .unwrap_or_else(|e| panic!("TestDatabase: DROP DATABASE {} failed: {e}", self.name));
        let _ = admin.close().await;
    }
}

impl TestServer {
    /// Picks the server (`DATABASE_URL`, else the embedded test cluster, started or reused)
    /// and drops stale test databases on it.
    async fn init() -> Result<Self, String> {
        let admin = match std::env::var("DATABASE_URL") {
            Ok(url) if !url.trim().is_empty() => PgConnectOptions::from_str(&url)
                .map_err(|e| format!("DATABASE_URL is not a valid PostgreSQL URL: {e}"))?,
            _ => {
                let dir = test_data_dir();
                let cluster = EmbeddedPostgres::start(&dir).await.map_err(|e| {
                    format!(
                        "could not start the embedded test PostgreSQL in {}: {e}. Set \
                         TALLY_TEST_DATA_DIR to another folder (e.g. /var/tmp/tally-test-pg), \
                         or DATABASE_URL to a server where tests may create databases",
                        dir.display()
                    )
                })?;
                // Never stopped: left running for the next test binary (see module docs).
                cluster.connect_options("postgres")
            }
        };
        let server = Self { admin };
        let mut conn = server.connect_admin().await?;
        drop_stale_databases(&mut conn).await;
        let _ = conn.close().await;
        Ok(server)
    }

    async fn connect_admin(&self) -> Result<PgConnection, String> {
        PgConnection::connect_with(&self.admin).await.map_err(|e| {
            format!(
                "TestDatabase: could not connect to the test server ({}): {e}",
                self.admin.to_url_lossy()
            )
        })
    }
}

/// `TALLY_TEST_DATA_DIR`, else `<workspace>/target/tally-test-pg`.
fn test_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TALLY_TEST_DATA_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .unwrap_or(manifest_dir)
        .join("target")
        .join("tally-test-pg")
}

/// Drops `tally_test_*` databases created more than [`STALE_AFTER`] ago. Best effort: one in
/// use (someone is connected) stays, and errors are ignored.
async fn drop_stale_databases(conn: &mut PgConnection) {
    let Ok(names) = sqlx::query_scalar::<_, String>(
        "SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
    )
    .bind(DATABASE_PREFIX)
    .fetch_all(&mut *conn)
    .await
    else {
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    for name in names {
        let created = name
            .strip_prefix(DATABASE_PREFIX)
            .and_then(|id| Uuid::try_parse(id).ok())
            .and_then(|id| id.get_timestamp())
            .map(|ts| Duration::from_secs(ts.to_unix().0));
        let Some(created) = created else { continue };
        if now.saturating_sub(created) > STALE_AFTER {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS \"{name}\"").as_str())
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_test_database_is_fresh_and_migrated() {
        let db = TestDatabase::create().await;
        assert!(db.name.starts_with(DATABASE_PREFIX));
        let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(events, 0);
        let current: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(current, db.name);
        let role: String = sqlx::query_scalar("SELECT current_user::text")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        assert_eq!(role, APPLICATION_ROLE);

        // Another connection to the same database, through the options and through the URL.
        let mut conn = PgConnection::connect_with(&db.connect_options())
            .await
            .unwrap();
        let via_options: String = sqlx::query_scalar("SELECT current_database()")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(via_options, db.name);
        conn.close().await.unwrap();
        let url = db.database_url().unwrap();
        let conn = PgConnection::connect(&url).await.unwrap();
        conn.close().await.unwrap();

        let name = db.name.clone();
        let other = TestDatabase::create().await;
        assert_ne!(other.name, name);
        db.drop_database().await;
        let mut admin = SERVER.get().unwrap().connect_admin().await.unwrap();
        let still_there: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&name)
                .fetch_one(&mut admin)
                .await
                .unwrap();
        assert!(!still_there);
        admin.close().await.unwrap();
        other.drop_database().await;
    }

    #[tokio::test]
    async fn test_databases_are_created_from_any_test_runtime() {
        // Each #[tokio::test] has its own runtime: the shared server state holds no pool.
        let db = TestDatabase::create().await;
        sqlx::query("SELECT 1").execute(&db.pool).await.unwrap();
    }
}
