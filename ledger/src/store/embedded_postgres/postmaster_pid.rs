//! Parsing the `postmaster.pid` file of a running server: its port, socket directory and
//! status.

use std::path::PathBuf;

/// The fields of `postmaster.pid` Tally needs (lines 4, 5 and 8).
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct PostmasterPid {
    pub(super) port: Option<u16>,
    pub(super) socket_dir: Option<PathBuf>,
    pub(super) status: Option<String>,
}

impl PostmasterPid {
    pub(super) fn parse(text: &str) -> Self {
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let line = |n: usize| lines.get(n).copied().filter(|l| !l.is_empty());
        Self {
            port: line(3).and_then(|l| l.parse().ok()),
            socket_dir: line(4).map(PathBuf::from),
            status: line(7).map(str::to_owned),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
