//! Preparing the data folder: created, canonicalised, and checked to be a path PostgreSQL can
//! use (socket path length, characters `pg_ctl`'s shell command line cannot carry).

use super::SOCKET_FILE;
use crate::LedgerError;
use std::path::{Path, PathBuf};

/// Longest Unix socket path, in bytes (`sizeof(sun_path)` minus the terminating NUL).
const MAX_SOCKET_PATH: usize = if cfg!(any(target_os = "macos", target_os = "freebsd")) {
    103
} else {
    107
};

/// Creates the data folder if needed, canonicalises it and checks that PostgreSQL can use its
/// path (socket length, characters `pg_ctl`'s shell command line cannot carry).
pub(super) async fn prepare_data_dir(data_dir: &Path) -> Result<PathBuf, LedgerError> {
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
pub(super) fn path_arg(path: &Path) -> Result<&str, LedgerError> {
    path.to_str().ok_or_else(|| {
        LedgerError::EmbeddedPostgres(format!(
            "the path {} is not valid UTF-8; set TALLY_DATA_DIR to a UTF-8 path",
            path.display()
        ))
    })
}
