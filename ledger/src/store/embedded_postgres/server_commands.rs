//! The server commands behind [`EmbeddedPostgres`]: `initdb`, `pg_ctl status` and `pg_ctl
//! start`, adopting a server another process started, and describing a failed command.

use super::data_dir::path_arg;
use super::postmaster_pid::PostmasterPid;
use super::server_settings::{machine_memory_kib, shared_buffers_mb};
use super::{EmbeddedPostgres, PORT, SUPERUSER};
use crate::LedgerError;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

/// How long to wait for a cluster another process is starting to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Lines of `server.log` quoted in a start failure.
const LOG_TAIL_LINES: usize = 30;

impl EmbeddedPostgres {
    /// `pg_ctl status`: is a server running on this folder? (A stale `postmaster.pid` says no.)
    pub(super) async fn is_running(&self) -> Result<bool, LedgerError> {
        if !tokio::fs::try_exists(self.data_dir.join("postmaster.pid"))
            .await
            .unwrap_or(false)
        {
            return Ok(false);
        }
        let args = ["-D", path_arg(&self.data_dir)?, "status"].map(String::from);
        let output = self
            .run(&self.bin("pg_ctl"), &args, "pg_ctl status")
            .await?;
        match output.status.code() {
            Some(0) => Ok(true),
            // 3: no server running; 4: no accessible data folder (initdb has not run).
            Some(3) | Some(4) => Ok(false),
            _ => Err(LedgerError::EmbeddedPostgres(describe_failure(
                "pg_ctl status",
                &output,
            ))),
        }
    }

    /// Takes the socket of a server another process started from its `postmaster.pid`, and
    /// waits (bounded) until it accepts connections.
    pub(super) async fn adopt_running(&mut self) -> Result<(), LedgerError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let pid_file = self.data_dir.join("postmaster.pid");
            let text = tokio::fs::read_to_string(&pid_file).await.map_err(|e| {
                LedgerError::EmbeddedPostgres(format!(
                    "could not read {} of the running server: {e}",
                    pid_file.display()
                ))
            })?;
            let info = PostmasterPid::parse(&text);
            if let Some(port) = info.port {
                self.port = port;
            }
            match info.socket_dir {
                Some(dir) => self.socket_dir = dir,
                None => {
                    return Err(LedgerError::EmbeddedPostgres(format!(
                        "the PostgreSQL running on {} has no Unix socket (it was not started by \
                         Tally); stop it with `pg_ctl -D {} stop` and start Tally again",
                        self.data_dir.display(),
                        self.data_dir.display()
                    )))
                }
            }
            match info.status.as_deref() {
                Some("starting") if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Some("stopping") => {
                    return Err(LedgerError::EmbeddedPostgres(format!(
                        "the PostgreSQL on {} is shutting down; start Tally again once it has \
                         stopped",
                        self.data_dir.display()
                    )))
                }
                _ => return Ok(()),
            }
        }
    }

    /// `initdb` into the (empty) data folder.
    pub(super) async fn init(&self) -> Result<(), LedgerError> {
        self.runner.give_folder(&self.data_dir).await?;
        let args = [
            "-D",
            path_arg(&self.data_dir)?,
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        ]
        .map(String::from);
        let output = self.run(&self.bin("initdb"), &args, "initdb").await?;
        if !output.status.success() {
            return Err(LedgerError::EmbeddedPostgres(format!(
                "{}\ninitdb needs a missing or empty data folder: set TALLY_DATA_DIR to a new \
                 folder, or empty {} if nothing in it is needed",
                describe_failure("initdb", &output),
                self.data_dir.display()
            )));
        }
        tracing::info!(data_dir = %self.data_dir.display(), "initialised a new PostgreSQL cluster");
        Ok(())
    }

    /// `pg_ctl start -w`, listening only on the socket in the data folder, with the
    /// `shared_buffers` of [`shared_buffers_mb`].
    pub(super) async fn start_server(&self) -> Result<(), LedgerError> {
        let dir = path_arg(&self.data_dir)?;
        let log = self.data_dir.join("server.log");
        let args = [
            "-D".to_owned(),
            dir.to_owned(),
            "-l".to_owned(),
            path_arg(&log)?.to_owned(),
            "-w".to_owned(),
            "-o".to_owned(),
            // pg_ctl hands this string to /bin/sh: the path is single-quoted (and was checked
            // to hold no quote, `$`, backquote or backslash).
            format!(
                "-c listen_addresses='' -k '{dir}' -p {PORT} -c shared_buffers={}MB",
                shared_buffers_mb(machine_memory_kib())
            ),
            "start".to_owned(),
        ];
        let output = self.run(&self.bin("pg_ctl"), &args, "pg_ctl start").await?;
        if !output.status.success() {
            let mut message = describe_failure("pg_ctl start", &output);
            match tail_of_file(&log, LOG_TAIL_LINES).await {
                Some(tail) => {
                    let _ = write!(message, "\n--- last lines of {} ---\n{tail}", log.display());
                }
                None => {
                    let _ = write!(message, " (no {} to show)", log.display());
                }
            }
            return Err(LedgerError::EmbeddedPostgres(message));
        }
        Ok(())
    }
}

/// "`what` failed (exit status): <stderr, else stdout>".
pub(super) fn describe_failure(what: &str, output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let detail = [stderr.trim(), stdout.trim()]
        .into_iter()
        .find(|text| !text.is_empty())
        .unwrap_or("no output");
    format!("{what} failed ({}):\n{detail}", output.status)
}

/// The last `lines` lines of a text file, if it exists and is not empty.
async fn tail_of_file(path: &Path, lines: usize) -> Option<String> {
    let bytes = tokio::fs::read(path).await.ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let all: Vec<&str> = text.lines().collect();
    let tail = all[all.len().saturating_sub(lines)..].join("\n");
    (!tail.trim().is_empty()).then_some(tail)
}
