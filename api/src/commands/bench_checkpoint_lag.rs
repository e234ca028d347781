//! Projection lag as the bench commands measure it: a monitor samples the slowest live
//! checkpoint every 2 ms; an event's lag is the time from a moment its caller names (its
//! append's commit returning, or its webhook's 2xx answer) until the first sample in which
//! every live projector's checkpoint covers the event.

use ledger::store::{checkpoint, FeedCursor};
use sqlx::PgPool;
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// How often the monitor reads the checkpoints.
const SAMPLE_EVERY: Duration = Duration::from_millis(2);

/// The slowest live checkpoint's cursor over time, oldest sample first.
pub(crate) struct CheckpointSamples(Vec<(Instant, FeedCursor)>);

/// Starts the monitor: it samples until `until` and then returns its samples.
pub(crate) fn sample_slowest_checkpoint(
    pool: PgPool,
    until: Instant,
) -> JoinHandle<anyhow::Result<CheckpointSamples>> {
    tokio::spawn(async move {
        let mut samples = Vec::new();
        let mut connection = pool.acquire().await?;
        while Instant::now() < until {
            let rows = checkpoint::list(&mut connection).await?;
            let slowest = rows
                .iter()
                .filter(|row| row.live)
                .map(|row| row.checkpoint.cursor)
                .min()
                .unwrap_or_default();
            samples.push((Instant::now(), slowest));
            tokio::time::sleep(SAMPLE_EVERY).await;
        }
        Ok(CheckpointSamples(samples))
    })
}

impl CheckpointSamples {
    /// Milliseconds from `since` until the first sample at or after it in which every live
    /// checkpoint covers `event`; infinity when no sample does (the monitor stopped first).
    pub(crate) fn lag_ms(&self, event: FeedCursor, since: Instant) -> f64 {
        let first = self
            .0
            .partition_point(|(sampled_at, _)| *sampled_at < since);
        self.0[first..]
            .iter()
            .find(|(_, cursor)| *cursor >= event)
            .map_or(f64::INFINITY, |(covered_at, _)| {
                (*covered_at - since).as_secs_f64() * 1000.0
            })
    }
}
