//! `tally rebuild`: replay the whole log into fresh read models, and show whether the result is
//! identical to what was there before.

use crate::commands::open_database;
use projections::projector::{
    read_model_fingerprint, rebuild as rebuild_projection, Projector, Projectors,
};
use sqlx::PgPool;
use std::path::Path;
use std::time::Instant;

/// Rebuilds every projection from the start of the log; prints events/s per projection and
/// compares a fingerprint of its read models before and after (identical unless the rules or
/// the log changed since they were built).
pub async fn rebuild(database_url: Option<&str>, data_dir: &Path) -> anyhow::Result<()> {
    let database = open_database(database_url, data_dir).await?;
    let projectors = Projectors::default();
    let pool = &database.pool;
    rebuild_one(pool, &projectors.mrr).await?;
    rebuild_one(pool, &projectors.cash).await?;
    rebuild_one(pool, &projectors.customer_events).await?;
    database.close().await?;
    Ok(())
}

async fn rebuild_one<P: Projector>(pool: &PgPool, projector: &P) -> anyhow::Result<()> {
    let before = read_model_fingerprint(pool, projector).await?;
    let started = Instant::now();
    let events = rebuild_projection(pool, projector).await?;
    let seconds = started.elapsed().as_secs_f64();
    let after = read_model_fingerprint(pool, projector).await?;
    let verdict = if before == after {
        "identical to before"
    } else {
        "CHANGED (the rules changed since it was built, or events arrived during the rebuild)"
    };
    println!(
        "rebuilt {:<16} {events:>9} events in {seconds:>7.2} s ({:>8.0} events/s); read models {verdict} [{after}]",
        projector.name(),
        events as f64 / seconds.max(f64::EPSILON),
    );
    Ok(())
}
