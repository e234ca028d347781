//! The lock on a data folder: the file `<folder>.lock` next to it, so that two processes
//! starting the same folder at once are serialised; stale locks are detected and broken.

use crate::LedgerError;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

/// How long to wait for another process's lock on the data folder before giving up.
const LOCK_TIMEOUT: Duration = Duration::from_secs(300);

/// A lock file older than this is stale whatever it says: starting a cluster takes seconds.
const LOCK_MAX_AGE: Duration = Duration::from_secs(180);

/// An exclusive lock on a data folder: the file `<folder>.lock` next to it, created with
/// `create_new` and holding the owner's pid; removed on drop. A lock whose process is gone,
/// or older than [`LOCK_MAX_AGE`], is stale and broken.
#[derive(Debug)]
pub(super) struct DirLock {
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
    pub(super) async fn acquire(data_dir: &Path) -> Result<Self, LedgerError> {
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
