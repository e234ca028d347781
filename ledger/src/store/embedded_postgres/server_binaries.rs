//! Finding the PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres`): on `PATH`, else
//! under `/usr/lib/postgresql/<version>/bin`.

use super::POSTGRESQL_LIB_ROOT;
use crate::LedgerError;
use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The server binaries the embedded cluster needs, all in one directory.
const SERVER_BINARIES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

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

pub(super) fn is_executable_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
}
