//! The embedded default: a private PostgreSQL cluster that Tally starts itself when
//! `DATABASE_URL` is unset. (Stub: being implemented.)

use crate::LedgerError;
use sqlx::postgres::PgConnectOptions;
use std::path::{Path, PathBuf};

/// A private PostgreSQL cluster in a data folder, listening only on a Unix socket inside it.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    data_dir: PathBuf,
}

impl EmbeddedPostgres {
    /// Starts (or reuses) the cluster in `data_dir`.
    pub async fn start(data_dir: &Path) -> Result<Self, LedgerError> {
        Ok(Self {
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// Connection options for `database` on this cluster.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.data_dir)
            .database(database)
    }

    /// Creates `database` on the cluster if it does not exist yet.
    pub async fn ensure_database(&self, database: &str) -> Result<(), LedgerError> {
        let _ = database;
        Ok(())
    }

    /// Stops the cluster if this process started it.
    pub async fn stop(self) -> Result<(), LedgerError> {
        Ok(())
    }
}
