//! Running server commands: directly as the current user, or, as root (PostgreSQL refuses to
//! run as root), as the `postgres` OS user through `runuser` or `su`; root detection, shell
//! quoting, and handing the data folder to the `postgres` user.

use super::data_dir::path_arg;
use super::server_binaries::is_executable_file;
use super::SUPERUSER;
use crate::LedgerError;
use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use tokio::process::Command;

/// How server commands run: PostgreSQL refuses to run as root, so as root they run as the
/// `postgres` OS user.
#[derive(Debug, Clone)]
pub(super) enum Runner {
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
pub(super) enum SwitchUser {
    /// `runuser -u postgres -- <cmd> <args>`.
    Runuser(PathBuf),
    /// `su postgres -s /bin/sh -c '<cmd> <args>'`.
    Su(PathBuf),
}

impl Runner {
    pub(super) async fn detect() -> Result<Self, LedgerError> {
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

    pub(super) async fn run(
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
    pub(super) async fn check_reachable(&self, data_dir: &Path) -> Result<(), LedgerError> {
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
    pub(super) async fn give_folder(&self, data_dir: &Path) -> Result<(), LedgerError> {
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
    pub(super) async fn check_owner(&self, data_dir: &Path) -> Result<(), LedgerError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::embedded_postgres::PORT;

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
}
