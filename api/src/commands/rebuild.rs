//! `tally rebuild`: build new versions of the read models from the whole log while the old ones
//! keep serving, switch atomically, and show whether the result is identical to what was
//! there before.

use crate::commands::open_database;
use anyhow::bail;
use indicatif::{ProgressBar, ProgressStyle};
use ledger::store::read;
use projections::projector::{
    read_model_fingerprint, rebuild_with_progress, Projector, Projectors, RebuildProgress,
};
use sqlx::PgPool;
use std::path::Path;
use std::time::Instant;

/// Rebuilds every projection (or only `only`, by name) from the start of the log without
/// downtime; shows a progress bar (events/s, ETA against the log head), prints events/s per
/// projection and compares a fingerprint of its read models before and after (identical
/// unless the rules or the log changed since they were built).
///
/// Errors: an unknown projection name; a rebuild that stops (e.g. at an event it cannot
/// apply: the old read models keep serving and `/v1/status` shows the event).
pub async fn rebuild(
    database_url: Option<&str>,
    data_dir: &Path,
    only: Option<&str>,
) -> anyhow::Result<()> {
    let projectors = Projectors::default();
    if let Some(name) = only {
        if !projectors.names().contains(&name) {
            bail!(
                "unknown projection {name:?}; known: {}",
                projectors.names().join(", ")
            );
        }
    }
    let database = open_database(database_url, data_dir).await?;
    let pool = &database.pool;
    let wanted = |name: &str| only.is_none_or(|only| only == name);
    let mut result = Ok(());
    if wanted(projectors.mrr.name()) {
        result = rebuild_one(pool, &projectors.mrr).await;
    }
    if result.is_ok() && wanted(projectors.cash.name()) {
        result = rebuild_one(pool, &projectors.cash).await;
    }
    if result.is_ok() && wanted(projectors.customer_events.name()) {
        result = rebuild_one(pool, &projectors.customer_events).await;
    }
    database.close().await?;
    result
}

async fn rebuild_one<P: Projector>(pool: &PgPool, projector: &P) -> anyhow::Result<()> {
    let before = read_model_fingerprint(pool, projector).await?;
    let head = read::log_head(pool).await?;
    let bar = ProgressBar::new(u64::try_from(head).unwrap_or(0)).with_style(
        ProgressStyle::with_template(
            "{prefix:<16} {bar:40} {pos}/{len} events {per_sec} eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(projector.name());
    let started = Instant::now();
    let mut report = |progress: RebuildProgress| match progress {
        RebuildProgress::Replayed { events } => {
            if events > bar.length().unwrap_or(0) {
                bar.set_length(events);
            }
            bar.set_position(events);
        }
        RebuildProgress::Step(step) => bar.set_message(step),
    };
    let outcome = rebuild_with_progress(pool, projector, &mut report).await;
    bar.finish_and_clear();
    let outcome = outcome?;
    let seconds = started.elapsed().as_secs_f64();
    let after = read_model_fingerprint(pool, projector).await?;
    let verdict = if before == after {
        "identical to before"
    } else {
        "CHANGED (the rules changed since it was built, or events arrived during the rebuild)"
    };
    println!(
        "rebuilt {:<16} v{} -> v{} {:>9} events in {seconds:>7.2} s ({:>8.0} events/s); read models {verdict} [{after}]",
        projector.name(),
        outcome.previous_version,
        outcome.version,
        outcome.events_applied,
        outcome.events_applied as f64 / seconds.max(f64::EPSILON),
    );
    Ok(())
}
