//! `tally rebuild`: replay the whole log into fresh read models.

use crate::commands::open_database;
use projections::projector::{rebuild as rebuild_projection, Projectors};
use std::path::Path;
use std::time::Instant;

/// Rebuilds every projection from the start of the log and prints events/s per projection.
pub async fn rebuild(database_url: Option<&str>, data_dir: &Path) -> anyhow::Result<()> {
    let database = open_database(database_url, data_dir).await?;
    let projectors = Projectors::default();
    let pool = &database.pool;
    for (name, result) in [
        (
            "mrr",
            timed(rebuild_projection(pool, &projectors.mrr)).await,
        ),
        (
            "cash",
            timed(rebuild_projection(pool, &projectors.cash)).await,
        ),
        (
            "customer_events",
            timed(rebuild_projection(pool, &projectors.customer_events)).await,
        ),
    ] {
        let (events, seconds) = result?;
        println!(
            "rebuilt {name:<16} {events:>9} events in {seconds:>7.2} s ({:.0} events/s)",
            events as f64 / seconds.max(f64::EPSILON)
        );
    }
    database.close().await?;
    Ok(())
}

async fn timed(
    work: impl std::future::Future<Output = Result<u64, projections::ProjectionError>>,
) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let events = work.await?;
    Ok((events, started.elapsed().as_secs_f64()))
}
