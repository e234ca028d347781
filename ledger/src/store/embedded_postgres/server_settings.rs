//! Server settings the embedded cluster starts with, sized to the machine.
//!
//! PostgreSQL's shipped `shared_buffers` (128 MB) is sized for the smallest machine it may meet;
//! the usual guidance (PostgreSQL's "Resource Consumption" docs, pgtune) is a quarter of the
//! memory on a machine the database has to itself. Tally's private cluster takes that, between
//! 128 MB and 4 GB: a log that fits is read back from the server's own buffers instead of
//! through the kernel's page cache (measured 2026-12-04, 1,000,000 events of 1.7 KB on 2 cores:
//! the feed as `COPY ... TO STDOUT` took 5.5 s at 128 MB, 3.7 s at 4 GB).

/// The smallest `shared_buffers` given, in MB: PostgreSQL's own default.
const MIN_SHARED_BUFFERS_MB: u64 = 128;

/// The largest `shared_buffers` given, in MB.
const MAX_SHARED_BUFFERS_MB: u64 = 4096;

/// `shared_buffers` in MB for a machine with `memory_kib` KiB of memory (`MemTotal`): a quarter
/// of it, clamped to 128 MB ..= 4 GB; 128 MB when the memory is unknown.
pub(super) fn shared_buffers_mb(memory_kib: Option<u64>) -> u64 {
    memory_kib
        .map(|kib| kib / 1024 / 4)
        .unwrap_or(MIN_SHARED_BUFFERS_MB)
        .clamp(MIN_SHARED_BUFFERS_MB, MAX_SHARED_BUFFERS_MB)
}

/// The memory this process may use, in KiB: `/proc/meminfo`'s `MemTotal`, or the cgroup v2
/// limit (`/sys/fs/cgroup/memory.max`) when a container sets a lower one (Linux); `None`
/// elsewhere.
pub(super) fn machine_memory_kib() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let total: u64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    let container_limit = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
        .ok()
        .and_then(|text| text.trim().parse::<u64>().ok())
        .map(|bytes| bytes / 1024);
    Some(container_limit.map_or(total, |limit| limit.min(total)))
}

#[cfg(test)]
mod tests {
    use super::shared_buffers_mb;

    #[test]
    fn a_quarter_of_memory_between_128_mb_and_4_gb() {
        assert_eq!(shared_buffers_mb(Some(24 * 1024 * 1024)), 4096);
        assert_eq!(shared_buffers_mb(Some(8 * 1024 * 1024)), 2048);
        assert_eq!(shared_buffers_mb(Some(256 * 1024)), 128);
        assert_eq!(shared_buffers_mb(None), 128);
    }
}
