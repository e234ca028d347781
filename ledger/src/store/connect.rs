//! Connecting: `DATABASE_URL` when set, else the embedded PostgreSQL in the data folder.

use crate::store::embedded_postgres::EmbeddedPostgres;
use crate::LedgerError;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::path::Path;
use std::str::FromStr;

/// The database Tally uses on the embedded cluster.
pub const EMBEDDED_DATABASE: &str = "tally";

/// `idle_in_transaction_session_timeout` of Tally's connections: a session idle inside a
/// transaction for this long is ended by PostgreSQL, so it cannot hold the gated feed back.
pub const IDLE_IN_TRANSACTION_TIMEOUT: &str = "60s";

/// A connected, migrated database, with the embedded cluster that serves it (if any).
#[derive(Debug)]
pub struct Database {
    /// Connection pool.
    pub pool: PgPool,
    /// The embedded cluster, when `DATABASE_URL` was not given. Stop it on exit.
    pub embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects to `database_url` if given, else starts (or reuses) the embedded cluster in
    /// `data_dir`; then applies migrations.
    ///
    /// Errors: [`LedgerError::EmbeddedPostgres`] when no PostgreSQL binaries are found or the
    /// cluster fails to start; [`LedgerError::Database`] / [`LedgerError::Migration`] otherwise.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<Self, LedgerError> {
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
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(options)
            .await?;
        crate::store::migrate(&pool).await?;
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
