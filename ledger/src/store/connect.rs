//! Connecting: `DATABASE_URL` when set, else the embedded PostgreSQL in the data folder.
//!
//! Two identities: migrations run as the user that connects (the schema's owner), and the
//! application's pool then runs as the restricted role [`APPLICATION_ROLE`] (`SET ROLE` on every
//! connection; `migrations/0004_application_role.sql`), which may append to the log but never
//! change or delete it. In production, let the application log in as a user that is only a
//! member of `tally_app`, and run the migrations once as the owner: a database whose migrations
//! are all applied is not migrated again, so the restricted login needs no DDL rights.

use crate::store::embedded_postgres::EmbeddedPostgres;
use crate::store::MIGRATOR;
use crate::LedgerError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use std::path::Path;
use std::str::FromStr;

/// The database Tally uses on the embedded cluster.
pub const EMBEDDED_DATABASE: &str = "tally";

/// `idle_in_transaction_session_timeout` of Tally's connections: a session idle inside a
/// transaction for this long is ended by PostgreSQL, so it cannot hold the gated feed back.
pub const IDLE_IN_TRANSACTION_TIMEOUT: &str = "60s";

/// The restricted role the application runs as (created by migration 0004): SELECT and INSERT
/// on the log and the inbox, no UPDATE, DELETE or TRUNCATE; full rights on read models and
/// checkpoints.
pub const APPLICATION_ROLE: &str = "tally_app";

/// A connected, migrated database, with the embedded cluster that serves it (if any).
#[derive(Debug)]
pub struct Database {
    /// Connection pool; every connection runs as the application role (unless opened with
    /// `application_role: None`).
    pub pool: PgPool,
    /// The embedded cluster, when `DATABASE_URL` was not given. Stop it on exit.
    pub embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// [`Database::open_as`] with the application role [`APPLICATION_ROLE`].
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Self, LedgerError> {
        Self::open_as(database_url, data_dir, Some(APPLICATION_ROLE)).await
    }

    /// Connects to `database_url` if given, else starts (or reuses) the embedded cluster in
    /// `data_dir`; applies pending migrations as the connecting user; then opens the pool,
    /// whose connections run `SET ROLE <application_role>` (`None`: they stay the connecting
    /// user).
    ///
    /// Errors: [`LedgerError::EmbeddedPostgres`] when no PostgreSQL binaries are found or the
    /// cluster fails to start; [`LedgerError::Migration`] when a migration fails (e.g. the
    /// connecting user may not create tables and migrations are pending);
    /// [`LedgerError::Database`] otherwise, e.g. when the connecting user may not `SET ROLE`
    /// to `application_role`.
    pub async fn open_as(
        database_url: Option<&str>,
        data_dir: &Path,
        application_role: Option<&str>,
    ) -> Result<Self, LedgerError> {
        let (options, embedded) = match database_url {
            Some(url) => (PgConnectOptions::from_str(url)?, None),
            None => {
                let embedded = EmbeddedPostgres::start(data_dir).await?;
                embedded.ensure_database(EMBEDDED_DATABASE).await?;
                (embedded.connect_options(EMBEDDED_DATABASE), Some(embedded))
            }
        };
        // A transaction left open by a stuck client would hold every gated reader back; end it.
        let options = options.options([(
            "idle_in_transaction_session_timeout",
            IDLE_IN_TRANSACTION_TIMEOUT,
        )]);
        let mut owner = PgConnection::connect_with(&options).await?;
        migrate_if_pending(&mut owner).await?;
        owner.close().await?;
        let pool = application_pool_options(application_role)
            .max_connections(16)
            .connect_with(options)
            .await?;
        Ok(Self { pool, embedded })
    }

    /// Closes the pool and stops the embedded cluster if this process started it.
    pub async fn close(self) -> Result<(), LedgerError> {
        self.pool.close().await;
        if let Some(embedded) = self.embedded {
            embedded.stop().await?;
        }
        Ok(())
    }
}

/// Pool options whose every new connection runs `SET ROLE <role>` (the identifier quoted);
/// `None`: no `SET ROLE`. Connecting fails with [`sqlx::Error::Database`] when the login user
/// may not take the role.
pub fn application_pool_options(role: Option<&str>) -> PgPoolOptions {
    let Some(role) = role else {
        return PgPoolOptions::new();
    };
    let set_role = format!("SET ROLE \"{}\"", role.replace('"', "\"\""));
    PgPoolOptions::new().after_connect(move |connection, _| {
        let set_role = set_role.clone();
        Box::pin(async move {
            connection.execute(set_role.as_str()).await?;
            Ok(())
        })
    })
}

/// Applies the pending migrations on `connection`, unless every migration of this build is
/// already applied with the same checksum (then nothing is run, so a login without DDL rights
/// can open a current database).
///
/// Errors: [`LedgerError::Migration`] as [`crate::store::migrate`].
pub async fn migrate_if_pending(connection: &mut PgConnection) -> Result<(), LedgerError> {
    if !migrations_current(connection).await {
        MIGRATOR.run_direct(connection).await?;
    }
    Ok(())
}

/// Whether `_sqlx_migrations` holds exactly this build's migrations, all successful, with
/// matching checksums. Any doubt (no table, not readable, a difference) answers `false`, and the
/// migrator then decides (and reports what is wrong).
async fn migrations_current(connection: &mut PgConnection) -> bool {
    let Ok(applied) = sqlx::query_as::<_, (i64, bool, Vec<u8>)>(
        "SELECT version, success, checksum FROM _sqlx_migrations ORDER BY version",
    )
    .fetch_all(&mut *connection)
    .await
    else {
        return false;
    };
    let known: Vec<_> = MIGRATOR
        .iter()
        .filter(|migration| migration.migration_type.is_up_migration())
        .collect();
    applied.len() == known.len()
        && applied
            .iter()
            .zip(known)
            .all(|((version, success, checksum), migration)| {
                *success && *version == migration.version && **checksum == *migration.checksum
            })
}
