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

use crate::LedgerError;
use sqlx::postgres::{PgConnectOptions, PgSslMode};
use sqlx::{Connection, Executor, PgConnection};
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant, SystemTime};
use tokio::process::Command;

/// The port number of the embedded cluster. It only names the socket file
/// (`.s.PGSQL.5432`): the cluster opens no TCP port.
pub const PORT: u16 = 5432;

/// The superuser role of the embedded cluster (`initdb -U postgres`), and the OS user that runs
/// the server when Tally runs as root.
pub const SUPERUSER: &str = "postgres";

/// Where distribution packages (Debian, Ubuntu) install versioned server binaries:
/// `/usr/lib/postgresql/<version>/bin`.
pub const POSTGRESQL_LIB_ROOT: &str = "/usr/lib/postgresql";

/// The server binaries the embedded cluster needs, all in one directory.
const SERVER_BINARIES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// Name of the socket file inside the socket directory.
const SOCKET_FILE: &str = ".s.PGSQL.5432";

/// Longest Unix socket path, in bytes (`sizeof(sun_path)` minus the terminating NUL).
const MAX_SOCKET_PATH: usize = if cfg!(any(target_os = "macos", target_os = "freebsd")) {
    103
} else {
    107
};

/// How long to wait for another process's lock on the data folder before giving up.
const LOCK_TIMEOUT: Duration = Duration::from_secs(300);

/// A lock file older than this is stale whatever it says: starting a cluster takes seconds.
const LOCK_MAX_AGE: Duration = Duration::from_secs(180);

/// How long to wait for a cluster another process is starting to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Lines of `server.log` quoted in a start failure.
const LOG_TAIL_LINES: usize = 30;

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

    /// `pg_ctl status`: is a server running on this folder? (A stale `postmaster.pid` says no.)
    async fn is_running(&self) -> Result<bool, LedgerError> {
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
    async fn adopt_running(&mut self) -> Result<(), LedgerError> {
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
    async fn init(&self) -> Result<(), LedgerError> {
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

    /// `pg_ctl start -w`, listening only on the socket in the data folder.
    async fn start_server(&self) -> Result<(), LedgerError> {
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
            format!("-c listen_addresses='' -k '{dir}' -p {PORT}"),
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

/// Finds the directory holding the PostgreSQL server binaries (`initdb`, `pg_ctl`,
/// `postgres`): first on `PATH`, else the highest version under
/// `/usr/lib/postgresql/<version>/bin`.
///
/// Errors: [`LedgerError::EmbeddedPostgres`] when none is found, saying how to fix it
/// (install the server binaries, or set `DATABASE_URL`).
pub fn find_server_binaries() -> Result<PathBuf, LedgerError> {
    find_server_binaries_in(
        std::env::var_os("PATH").as_deref(),
        Path::new(POSTGRESQL_LIB_ROOT),
    )
}

/// [`find_server_binaries`] with an explicit search `path` (a `PATH`-style list; `None` =
/// empty) and versioned root (`lib_root/<version>/bin`, highest version first).
///
/// A directory qualifies when it holds all three of `initdb`, `pg_ctl` and `postgres` as
/// executable files; a `PATH` entry whose `initdb` is a symlink also qualifies through the
/// directory the symlink points into.
///
/// Errors: [`LedgerError::EmbeddedPostgres`] when no directory qualifies.
pub fn find_server_binaries_in(
    path: Option<&OsStr>,
    lib_root: &Path,
) -> Result<PathBuf, LedgerError> {
    let on_path = path.into_iter().flat_map(std::env::split_paths);
    for dir in on_path.filter(|dir| dir.is_absolute()) {
        if has_server_binaries(&dir) {
            return Ok(dir);
        }
        // e.g. /usr/local/bin/initdb -> /usr/lib/postgresql/15/bin/initdb
        if let Some(real_dir) = std::fs::canonicalize(dir.join("initdb"))
            .ok()
            .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
        {
            if has_server_binaries(&real_dir) {
                return Ok(real_dir);
            }
        }
    }

    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(lib_root)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_str()?
                .split('.')
                .map(str::parse::<u32>)
                .collect::<Result<Vec<u32>, _>>()
                .ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    if let Some((_, dir)) = versions
        .into_iter()
        .find(|(_, dir)| has_server_binaries(dir))
    {
        return Ok(dir);
    }

    Err(LedgerError::EmbeddedPostgres(format!(
        "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH or \
         under {}/<version>/bin. Install the PostgreSQL server (e.g. `apt-get install \
         postgresql`, or `brew install postgresql` on macOS) or put its bin directory on \
         PATH, or set DATABASE_URL to an existing database",
        lib_root.display()
    )))
}

fn has_server_binaries(dir: &Path) -> bool {
    SERVER_BINARIES
        .iter()
        .all(|name| is_executable_file(&dir.join(name)))
}

fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
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

/// Creates the data folder if needed, canonicalises it and checks that PostgreSQL can use its
/// path (socket length, characters `pg_ctl`'s shell command line cannot carry).
async fn prepare_data_dir(data_dir: &Path) -> Result<PathBuf, LedgerError> {
    tokio::fs::create_dir_all(data_dir).await.map_err(|e| {
        LedgerError::EmbeddedPostgres(format!(
            "could not create the data folder {}: {e}; set TALLY_DATA_DIR to a writable folder",
            data_dir.display()
        ))
    })?;
    let dir = tokio::fs::canonicalize(data_dir).await.map_err(|e| {
        LedgerError::EmbeddedPostgres(format!(
            "could not resolve the data folder {}: {e}",
            data_dir.display()
        ))
    })?;
    if dir.parent().is_none() {
        return Err(LedgerError::EmbeddedPostgres(
            "the data folder cannot be the root directory; set TALLY_DATA_DIR to a folder of \
             its own"
                .to_owned(),
        ));
    }
    let text = path_arg(&dir)?;
    if text
        .chars()
        .any(|c| matches!(c, '\'' | '"' | '$' | '`' | '\\' | '\n' | '\r'))
    {
        return Err(LedgerError::EmbeddedPostgres(format!(
            "the data folder path {text:?} contains a quote, `$`, backquote, backslash or \
             newline, which pg_ctl cannot pass to the server; set TALLY_DATA_DIR to a plainer \
             path"
        )));
    }
    let socket = dir.join(SOCKET_FILE);
    let socket_len = socket.as_os_str().len();
    if socket_len > MAX_SOCKET_PATH {
        return Err(LedgerError::EmbeddedPostgres(format!(
            "the server's Unix socket {} would be {socket_len} bytes long, over the system \
             limit of {MAX_SOCKET_PATH}; set TALLY_DATA_DIR to a shorter path (e.g. \
             /var/tmp/tally)",
            socket.display()
        )));
    }
    Ok(dir)
}

/// `path` as a command-line argument: it must be UTF-8.
fn path_arg(path: &Path) -> Result<&str, LedgerError> {
    path.to_str().ok_or_else(|| {
        LedgerError::EmbeddedPostgres(format!(
            "the path {} is not valid UTF-8; set TALLY_DATA_DIR to a UTF-8 path",
            path.display()
        ))
    })
}

/// "`what` failed (exit status): <stderr, else stdout>".
fn describe_failure(what: &str, output: &Output) -> String {
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

/// The fields of `postmaster.pid` Tally needs (lines 4, 5 and 8).
#[derive(Debug, Default, PartialEq, Eq)]
struct PostmasterPid {
    port: Option<u16>,
    socket_dir: Option<PathBuf>,
    status: Option<String>,
}

impl PostmasterPid {
    fn parse(text: &str) -> Self {
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let line = |n: usize| lines.get(n).copied().filter(|l| !l.is_empty());
        Self {
            port: line(3).and_then(|l| l.parse().ok()),
            socket_dir: line(4).map(PathBuf::from),
            status: line(7).map(str::to_owned),
        }
    }
}

/// How server commands run: PostgreSQL refuses to run as root, so as root they run as the
/// `postgres` OS user.
#[derive(Debug, Clone)]
enum Runner {
    /// Run directly as the current (non-root) user.
    CurrentUser,
    /// Run as the `postgres` OS user (uid, gid), through `runuser` or `su`.
    Postgres {
        switch: SwitchUser,
        uid: u32,
        gid: u32,
    },
}

#[derive(Debug, Clone)]
enum SwitchUser {
    /// `runuser -u postgres -- <cmd> <args>`.
    Runuser(PathBuf),
    /// `su postgres -s /bin/sh -c '<cmd> <args>'`.
    Su(PathBuf),
}

impl Runner {
    async fn detect() -> Result<Self, LedgerError> {
        if effective_uid().await? != 0 {
            return Ok(Self::CurrentUser);
        }
        let no_user = || {
            LedgerError::EmbeddedPostgres(
                "running as root, and PostgreSQL refuses to run as root, but there is no \
                 `postgres` OS user to run it as: create one (e.g. `useradd --system --home \
                 /var/lib/postgresql postgres`, or `apt-get install postgresql`), run Tally as \
                 an ordinary user, or set DATABASE_URL to an existing database"
                    .to_owned(),
            )
        };
        let uid = id_of(&["-u", SUPERUSER]).await.ok_or_else(no_user)?;
        let gid = id_of(&["-g", SUPERUSER]).await.ok_or_else(no_user)?;
        let path = std::env::var_os("PATH");
        let switch = if let Some(runuser) = find_program("runuser", path.as_deref()) {
            SwitchUser::Runuser(runuser)
        } else if let Some(su) = find_program("su", path.as_deref()) {
            SwitchUser::Su(su)
        } else {
            return Err(LedgerError::EmbeddedPostgres(
                "running as root, but neither `runuser` nor `su` is available to run PostgreSQL \
                 as the `postgres` user: install util-linux, run Tally as an ordinary user, or \
                 set DATABASE_URL to an existing database"
                    .to_owned(),
            ));
        };
        Ok(Self::Postgres { switch, uid, gid })
    }

    fn command(&self, program: &Path, args: &[String]) -> Command {
        let mut command = match self {
            Self::CurrentUser => {
                let mut command = Command::new(program);
                command.args(args);
                command
            }
            Self::Postgres {
                switch: SwitchUser::Runuser(runuser),
                ..
            } => {
                let mut command = Command::new(runuser);
                command
                    .args(["-u", SUPERUSER, "--"])
                    .arg(program)
                    .args(args);
                command
            }
            Self::Postgres {
                switch: SwitchUser::Su(su),
                ..
            } => {
                let mut line = shell_quote(&program.to_string_lossy());
                for arg in args {
                    line.push(' ');
                    line.push_str(&shell_quote(arg));
                }
                let mut command = Command::new(su);
                command.args([SUPERUSER, "-s", "/bin/sh", "-c", &line]);
                command
            }
        };
        // The `postgres` user may not be allowed into the caller's working directory.
        command
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    async fn run(
        &self,
        program: &Path,
        args: &[String],
        what: &str,
    ) -> Result<Output, LedgerError> {
        self.command(program, args).output().await.map_err(|e| {
            LedgerError::EmbeddedPostgres(format!(
                "could not run {what} ({} {}): {e}",
                program.display(),
                args.join(" ")
            ))
        })
    }

    /// As root: the `postgres` user must be able to reach the data folder's parent.
    async fn check_reachable(&self, data_dir: &Path) -> Result<(), LedgerError> {
        let Self::Postgres { .. } = self else {
            return Ok(());
        };
        let Some(parent) = data_dir.parent() else {
            return Ok(());
        };
        let args = ["-x".to_owned(), path_arg(parent)?.to_owned()];
        let output = self.run(Path::new("test"), &args, "test -x").await?;
        if !output.status.success() {
            return Err(LedgerError::EmbeddedPostgres(format!(
                "running as root, PostgreSQL runs as the `postgres` user, which cannot reach {} \
                 (a parent directory is not traversable by other users); set TALLY_DATA_DIR to \
                 a folder under a world-traversable directory, e.g. /var/tmp/tally",
                data_dir.display()
            )));
        }
        Ok(())
    }

    /// As root: hands the (new, about to be initialised) data folder and anything in it to
    /// the `postgres` user.
    async fn give_folder(&self, data_dir: &Path) -> Result<(), LedgerError> {
        let Self::Postgres { uid, gid, .. } = *self else {
            return Ok(());
        };
        let dir = data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || chown_recursive(&dir, uid, gid))
            .await
            .map_err(|e| LedgerError::EmbeddedPostgres(format!("chown task failed: {e}")))?
            .map_err(|e| {
                LedgerError::EmbeddedPostgres(format!(
                    "could not give {} to the `postgres` user: {e}",
                    data_dir.display()
                ))
            })
    }

    /// As root: an existing cluster must belong to the `postgres` user.
    async fn check_owner(&self, data_dir: &Path) -> Result<(), LedgerError> {
        let Self::Postgres { uid, .. } = *self else {
            return Ok(());
        };
        let owner = tokio::fs::metadata(data_dir)
            .await
            .map_err(|e| {
                LedgerError::EmbeddedPostgres(format!(
                    "could not inspect {}: {e}",
                    data_dir.display()
                ))
            })?
            .uid();
        if owner != uid {
            return Err(LedgerError::EmbeddedPostgres(format!(
                "the cluster in {dir} belongs to uid {owner}, but as root Tally runs PostgreSQL \
                 as the `postgres` user (uid {uid}); run Tally as uid {owner}, or `chown -R \
                 postgres: {dir}`",
                dir = data_dir.display()
            )));
        }
        Ok(())
    }
}

fn chown_recursive(path: &Path, uid: u32, gid: u32) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if meta.file_type().is_symlink() {
        return std::os::unix::fs::lchown(path, Some(uid), Some(gid));
    }
    std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            chown_recursive(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

/// The effective uid: the `Uid:` line of `/proc/self/status` (Linux), else `id -u`.
async fn effective_uid() -> Result<u32, LedgerError> {
    if let Ok(status) = tokio::fs::read_to_string("/proc/self/status").await {
        let euid = status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .and_then(|euid| euid.parse().ok());
        if let Some(euid) = euid {
            return Ok(euid);
        }
    }
    id_of(&["-u"]).await.ok_or_else(|| {
        LedgerError::EmbeddedPostgres(
            "could not determine the current user id (no /proc/self/status, `id -u` failed)"
                .to_owned(),
        )
    })
}

/// Runs `id <args>` and parses the number it prints; `None` when it fails (e.g. no such user).
async fn id_of(args: &[&str]) -> Option<u32> {
    let output = Command::new("id")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

/// `name` on `path`, else in the system directories where `runuser`/`su` live.
fn find_program(name: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    path.into_iter()
        .flat_map(std::env::split_paths)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable_file(candidate))
}

/// Single-quotes `text` for `/bin/sh`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// An exclusive lock on a data folder: the file `<folder>.lock` next to it, created with
/// `create_new` and holding the owner's pid; removed on drop. A lock whose process is gone,
/// or older than [`LOCK_MAX_AGE`], is stale and broken.
#[derive(Debug)]
struct DirLock {
    path: PathBuf,
}

/// The lock files this process holds: a lock file naming this process's pid but not listed
/// here was left by an earlier process that had the same pid (e.g. pid 1 in a container).
static HELD_LOCKS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

fn held_locks() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    HELD_LOCKS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl DirLock {
    async fn acquire(data_dir: &Path) -> Result<Self, LedgerError> {
        let path = sibling(data_dir, ".lock");
        let deadline = Instant::now() + LOCK_TIMEOUT;
        let mut announced = false;
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    held_locks().push(path.clone());
                    let lock = Self { path };
                    // An empty lock file only looks stale after a while: a failed write is
                    // not fatal.
                    let _ = writeln!(file, "{}", std::process::id());
                    return Ok(lock);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(LedgerError::EmbeddedPostgres(format!(
                        "could not create the lock file {}: {e}; the folder containing the data \
                         folder must be writable",
                        path.display()
                    )))
                }
            }
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            if lock_is_stale(&path, &holder) {
                tracing::info!(lock = %path.display(), holder = holder.trim(), "breaking a stale lock");
                if break_stale_lock(&path, &holder) {
                    continue;
                }
            }
            if Instant::now() >= deadline {
                return Err(LedgerError::EmbeddedPostgres(format!(
                    "timed out waiting for the lock {} (held by pid {}); if no Tally process is \
                     using {}, delete the lock file",
                    path.display(),
                    holder.trim(),
                    data_dir.display()
                )));
            }
            if !announced {
                tracing::info!(
                    lock = %path.display(),
                    holder = holder.trim(),
                    "waiting for another process to finish starting the embedded PostgreSQL"
                );
                announced = true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        held_locks().retain(|held| held != &self.path);
    }
}

/// `<path><suffix>`, a sibling of `path`.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn lock_is_stale(path: &Path, holder: &str) -> bool {
    let age = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .unwrap_or_default();
    if age > LOCK_MAX_AGE {
        return true;
    }
    match holder.trim().parse::<u32>() {
        Ok(pid) if pid == std::process::id() => !held_locks().iter().any(|held| held == path),
        Ok(pid) => !process_alive(pid),
        // Being written right now, or left empty by a crash: give the writer a moment.
        Err(_) => age > Duration::from_secs(10),
    }
}

fn process_alive(pid: u32) -> bool {
    if Path::new("/proc/self").exists() {
        return Path::new(&format!("/proc/{pid}")).exists();
    }
    // No procfs (macOS, BSD): `kill -0` succeeds for a live process of ours; "not permitted"
    // means alive but someone else's.
    match std::process::Command::new("kill")
        .args(["-0", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
    {
        Ok(output) => {
            output.status.success()
                || String::from_utf8_lossy(&output.stderr).contains("not permitted")
        }
        Err(_) => true,
    }
}

/// Removes a stale lock — under a short-lived second lock, `<lock>.break`, so that two
/// processes breaking the same stale lock cannot remove a fresh lock one of them just took.
/// Returns whether the stale lock is gone.
fn break_stale_lock(path: &Path, stale_holder: &str) -> bool {
    let breaker = sibling(path, ".break");
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&breaker)
    {
        Ok(_) => {
            let removed = std::fs::read_to_string(path).unwrap_or_default() == stale_holder
                && std::fs::remove_file(path).is_ok();
            let _ = std::fs::remove_file(&breaker);
            removed
        }
        Err(_) => {
            // Someone else is breaking it; a breaker left by a crash is removed after a while.
            let old = std::fs::metadata(&breaker)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|modified| SystemTime::now().duration_since(modified).ok())
                .is_some_and(|age| age > Duration::from_secs(30));
            if old {
                let _ = std::fs::remove_file(&breaker);
            }
            false
        }
    }
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

    #[test]
    fn postmaster_pid_fields_are_read() {
        let text =
            "12375\n/var/tmp/x\n1795246336\n5432\n/var/tmp/x\n\n   802819         9\nready   \n";
        assert_eq!(
            PostmasterPid::parse(text),
            PostmasterPid {
                port: Some(5432),
                socket_dir: Some(PathBuf::from("/var/tmp/x")),
                status: Some("ready".to_owned()),
            }
        );
        assert_eq!(PostmasterPid::parse("12375\n"), PostmasterPid::default());
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
        assert_eq!(
            shell_quote("-c listen_addresses=''"),
            r"'-c listen_addresses='\'''\'''"
        );
    }

    #[tokio::test]
    async fn every_runner_passes_arguments_intact() {
        let printf = find_program("printf", std::env::var_os("PATH").as_deref()).unwrap();
        let args = [
            "%s|".to_owned(),
            format!("-c listen_addresses='' -k '/var/tmp/a b' -p {PORT}"),
            "x \"y\" $HOME".to_owned(),
        ];
        let expected = format!("{}|{}|", args[1], args[2]);
        let mut runners = vec![Runner::CurrentUser];
        if effective_uid().await.unwrap() == 0 {
            // As root: both ways of becoming `postgres` (uid/gid are unused here).
            for (name, switch) in [
                ("runuser", SwitchUser::Runuser as fn(PathBuf) -> SwitchUser),
                ("su", SwitchUser::Su),
            ] {
                if let Some(program) = find_program(name, None) {
                    let switch = switch(program);
                    runners.push(Runner::Postgres {
                        switch,
                        uid: 0,
                        gid: 0,
                    });
                }
            }
        }
        for runner in runners {
            let output = runner.run(&printf, &args, "printf").await.unwrap();
            assert!(output.status.success(), "{runner:?}: {output:?}");
            assert_eq!(
                String::from_utf8_lossy(&output.stdout),
                expected,
                "{runner:?}"
            );
        }
    }

    #[test]
    fn lock_of_a_dead_process_is_stale_and_of_a_live_one_is_not() {
        let path = std::env::temp_dir().join(format!("tally-lock-test-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, "x").unwrap();
        assert!(!lock_is_stale(&path, "1\n"), "pid 1 is alive");
        let own_pid = format!("{}\n", std::process::id());
        assert!(
            lock_is_stale(&path, &own_pid),
            "our pid, but left by an earlier process: this process does not hold it"
        );
        held_locks().push(path.clone());
        assert!(!lock_is_stale(&path, &own_pid), "held by this process");
        held_locks().retain(|held| held != &path);
        assert!(
            !lock_is_stale(&path, ""),
            "a fresh empty lock is being written"
        );
        // pid_max is at most 2^22 on Linux: this pid cannot exist.
        assert!(lock_is_stale(&path, "4294967\n"));
        std::fs::remove_file(&path).unwrap();
    }
}
