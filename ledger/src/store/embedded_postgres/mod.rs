//! The embedded default: a private PostgreSQL cluster that Tally starts itself when
//! `DATABASE_URL` is unset.
//!
//! The cluster lives in one data folder (by default `./.tally/pg`) and listens **only** on a
//! Unix socket inside that folder: no TCP port, so it never collides with another PostgreSQL on
//! the machine. It uses the PostgreSQL server binaries already installed (`initdb`, `pg_ctl`,
//! `postgres`), found on `PATH` or under `/usr/lib/postgresql/<version>/bin`.
//!
//! - First start: `initdb` (superuser `postgres`, trust authentication, UTF-8, C locale), then
//!   `pg_ctl start`.
//! - Later starts reuse the folder (no `initdb`). If the cluster is already running (another
//!   Tally process started it), it is reused and [`EmbeddedPostgres::stop`] leaves it running.
//! - Run as root (CI, containers), PostgreSQL refuses to run; every server command then runs as
//!   the `postgres` OS user (`runuser`, else `su`) and the folder is owned by that user.
//! - Two processes starting the same folder at once are serialised by a lock file next to it,
//!   `<folder>.lock`.

mod data_dir;
mod folder_lock;
mod postmaster_pid;
mod run_as_postgres;
mod server_binaries;
mod server_commands;
mod server_settings;

pub use server_binaries::{find_server_binaries, find_server_binaries_in};

use crate::LedgerError;
use data_dir::{path_arg, prepare_data_dir};
use folder_lock::DirLock;
use run_as_postgres::Runner;
use server_commands::describe_failure;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{Connection, Executor, PgConnection};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Instant;

/// The port number of the embedded cluster. It only names the socket file
/// (`.s.PGSQL.5432`): the cluster opens no TCP port.
pub const PORT: u16 = 5432;

/// The superuser role of the embedded cluster (`initdb -U postgres`), and the OS user that runs
/// the server when Tally runs as root.
pub const SUPERUSER: &str = "postgres";

/// Where distribution packages (Debian, Ubuntu) install versioned server binaries:
/// `/usr/lib/postgresql/<version>/bin`.
pub const POSTGRESQL_LIB_ROOT: &str = "/usr/lib/postgresql";

/// Name of the socket file inside the socket directory.
const SOCKET_FILE: &str = ".s.PGSQL.5432";

/// A private PostgreSQL cluster in a data folder, listening only on a Unix socket inside it.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    /// Canonical data folder.
    data_dir: PathBuf,
    /// Directory holding `initdb`, `pg_ctl` and `postgres`.
    bin_dir: PathBuf,
    /// How server commands are run (directly, or as the `postgres` OS user).
    runner: Runner,
    /// Directory of the server's socket (the data folder, unless a reused server says otherwise).
    socket_dir: PathBuf,
    /// Port number naming the socket file.
    port: u16,
    /// Whether this process started the server (and so [`EmbeddedPostgres::stop`] stops it).
    started_here: bool,
}

impl EmbeddedPostgres {
    /// Starts the cluster in `data_dir`, creating it (`initdb`) on first use, or reuses it when
    /// it is already running.
    ///
    /// `data_dir` is created if missing and canonicalised. Takes the lock `<data_dir>.lock`
    /// (a sibling file) while it checks, creates and starts the cluster, so concurrent starts
    /// of one folder are safe.
    ///
    /// Errors ([`LedgerError::EmbeddedPostgres`], each saying how to fix it): no server
    /// binaries found; the socket path would be too long; run as root without a `postgres` OS
    /// user or with a folder the `postgres` user cannot reach; `initdb` or `pg_ctl` failed
    /// (their output and the tail of `server.log` are included).
    pub async fn start(data_dir: &Path) -> Result<Self, LedgerError> {
        let bin_dir = find_server_binaries()?;
        let runner = Runner::detect().await?;
        let data_dir = prepare_data_dir(data_dir).await?;
        runner.check_reachable(&data_dir).await?;

        let _lock = DirLock::acquire(&data_dir).await?;
        let mut cluster = Self {
            socket_dir: data_dir.clone(),
            data_dir,
            bin_dir,
            runner,
            port: PORT,
            started_here: false,
        };

        if cluster.is_running().await? {
            cluster.adopt_running().await?;
            tracing::info!(
                data_dir = %cluster.data_dir.display(),
                "reusing the embedded PostgreSQL already running (started elsewhere)"
            );
            return Ok(cluster);
        }

        let started = Instant::now();
        if tokio::fs::try_exists(cluster.data_dir.join("PG_VERSION"))
            .await
            .unwrap_or(false)
        {
            cluster.runner.check_owner(&cluster.data_dir).await?;
        } else {
            cluster.init().await?;
        }
        cluster.start_server().await?;
        cluster.started_here = true;
        tracing::info!(
            data_dir = %cluster.data_dir.display(),
            bin_dir = %cluster.bin_dir.display(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "started the embedded PostgreSQL"
        );
        Ok(cluster)
    }

    /// Connection options for `database` on this cluster: its Unix socket, user `postgres`,
    /// no TLS (a local socket needs none), no password (trust authentication).
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new_without_pgpass()
            .socket(&self.socket_dir)
            .port(self.port)
            .username(SUPERUSER)
            .database(database)
            .ssl_mode(PgSslMode::Disable)
    }

    /// Creates `database` on the cluster if it does not exist yet (concurrent creation by
    /// another process is fine).
    ///
    /// Errors: [`LedgerError::EmbeddedPostgres`] when `database` is not a plain identifier
    /// (`[a-z0-9_]+`, at most 63 bytes) or the cluster cannot be reached;
    /// [`LedgerError::Database`] when `CREATE DATABASE` fails.
    pub async fn ensure_database(&self, database: &str) -> Result<(), LedgerError> {
        validate_database_name(database)?;
        let mut conn = PgConnection::connect_with(&self.connect_options("postgres"))
            .await
            .map_err(|e| {
                LedgerError::EmbeddedPostgres(format!(
                    "could not connect to the embedded PostgreSQL at {}: {e}; see {}",
                    self.socket_dir.join(SOCKET_FILE).display(),
                    self.data_dir.join("server.log").display()
                ))
            })?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(database)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            match conn
                .execute(format!("CREATE DATABASE \"{database}\"").as_str())
                .await
            {
                Ok(_) => tracing::info!(database, "created database on the embedded PostgreSQL"),
                // Another process created it between the check and the CREATE.
                Err(sqlx::Error::Database(e))
                    if matches!(e.code().as_deref(), Some("42P04") | Some("23505")) => {}
                Err(e) => return Err(e.into()),
            }
        }
        conn.close().await?;
        Ok(())
    }

    /// Stops the cluster (`pg_ctl stop -m fast`: sessions are disconnected, committed data is
    /// kept) if this process started it; otherwise leaves it running for its owner.
    ///
    /// Errors: [`LedgerError::EmbeddedPostgres`] when `pg_ctl stop` fails while the server is
    /// still running (its output is included).
    pub async fn stop(self) -> Result<(), LedgerError> {
        if !self.started_here {
            tracing::info!(
                data_dir = %self.data_dir.display(),
                "leaving the embedded PostgreSQL running: another process started it"
            );
            return Ok(());
        }
        let _lock = DirLock::acquire(&self.data_dir).await?;
        let data_dir = path_arg(&self.data_dir)?;
        let args = ["-D", data_dir, "-m", "fast", "-w", "stop"].map(String::from);
        let output = self.run(&self.bin("pg_ctl"), &args, "pg_ctl stop").await?;
        if !output.status.success() {
            if self.is_running().await? {
                return Err(LedgerError::EmbeddedPostgres(describe_failure(
                    "pg_ctl stop",
                    &output,
                )));
            }
            tracing::info!(
                data_dir = %self.data_dir.display(),
                "the embedded PostgreSQL was already stopped"
            );
            return Ok(());
        }
        tracing::info!(data_dir = %self.data_dir.display(), "stopped the embedded PostgreSQL");
        Ok(())
    }

    /// The cluster's data folder (canonical path).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The directory of the server binaries in use (`initdb`, `pg_ctl`, `postgres`).
    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// The directory holding the server's socket file (`.s.PGSQL.5432`): the data folder.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// Whether this process started the server. `false` when it reused one that was already
    /// running; [`EmbeddedPostgres::stop`] then leaves it running.
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    async fn run(
        &self,
        program: &Path,
        args: &[String],
        what: &str,
    ) -> Result<Output, LedgerError> {
        self.runner.run(program, args, what).await
    }
}

/// Checks that `database` is a plain identifier: `[a-z0-9_]+`, at most 63 bytes.
pub(crate) fn validate_database_name(database: &str) -> Result<(), LedgerError> {
    let plain = database
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if database.is_empty() || database.len() > 63 || !plain {
        return Err(LedgerError::EmbeddedPostgres(format!(
            "invalid database name {database:?}: use 1 to 63 characters of a-z, 0-9 and _"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_must_be_plain_identifiers() {
        assert!(validate_database_name("tally").is_ok());
        assert!(validate_database_name("tally_test_0123abc").is_ok());
        for bad in ["", "Tally", "a-b", "a\"b", "a b", &"x".repeat(64)] {
            assert!(validate_database_name(bad).is_err(), "{bad:?} accepted");
        }
    }
}
