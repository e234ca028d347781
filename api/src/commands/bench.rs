//! `tally bench projections`: load a ~1,000,000-event synthetic Stripe-like history (or reuse
//! the one a previous run loaded) and measure, in one run: the raw read rate of the log (the
//! ceiling), full rebuild events/s per projection, report query latency over the whole range,
//! and projection lag under a steady stream of appends.
//!
//! A CLI subcommand rather than a `cargo bench`: every figure needs the same large database
//! state and runs once for seconds to minutes, which statistical micro-benchmark harnesses
//! are not built for; it also lets an operator run it against their own PostgreSQL.

use super::bench_checkpoint_lag::sample_slowest_checkpoint;
use crate::commands::open_database;
use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use ledger::domain::Currency;
use ledger::store::{read, AppendSignal, EventStore, ExpectedVersion, FeedCursor, StreamAppend};
use projections::projector::{rebuild_with_progress, run_until_stopped, Projector, Projectors};
use projections::queries::{cash_report, churn_report, mrr_report};
use projections::rules::Month;
use projections::synthetic_history::{SyntheticEvent, SyntheticHistory};
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// What `tally bench projections` generates and how long it streams.
#[derive(Debug, Clone, Copy)]
pub struct BenchOptions {
    /// Customers in the history.
    pub customers: u32,
    /// Months of history.
    pub months: u32,
    /// RNG seed.
    pub seed: u64,
    /// Seconds of the steady 1,000 events/s stream for the lag figure.
    pub stream_seconds: u64,
}

/// Runs the benchmark and prints a table of figures.
///
/// Errors: a database that holds events other than a previous run's synthetic history
/// (use an empty database); any database error.
pub async fn bench_projections(
    database_url: Option<&str>,
    data_dir: &Path,
    options: BenchOptions,
) -> anyhow::Result<()> {
    let database = open_database(database_url, data_dir).await?;
    let pool = database.pool.clone();
    let history = SyntheticHistory {
        customers: options.customers,
        months: options.months,
        seed: options.seed,
        start: "2024-01-01T00:00:00Z".parse::<DateTime<Utc>>()?,
    };
    let mut figures = Vec::new();
    let head = read::log_head(&pool).await?;
    if head == 0 {
        let (events, seconds) = load_history(&pool, &history).await?;
        figures.push(format!(
            "load (append, {events} events)      | {:>10.0} events/s | {seconds:.1} s",
            events as f64 / seconds
        ));
    } else {
        let first = read::read_all_after(&pool, FeedCursor::default(), 1).await?;
        if first.first().map(|event| event.metadata.source.as_str()) != Some("synthetic") {
            bail!("the log holds events that are not a synthetic history: bench an empty database");
        }
        println!("reusing the synthetic history already loaded ({head} events)");
    }
    let (events, seconds) = raw_read(&pool).await?;
    let raw_rate = events as f64 / seconds;
    figures.push(format!(
        "raw read + decode ({events} events)  | {raw_rate:>10.0} events/s | {seconds:.1} s"
    ));
    let projectors = Projectors::default();
    for (name, rebuilt) in [
        ("mrr", rebuild_timed(&pool, &projectors.mrr).await?),
        ("cash", rebuild_timed(&pool, &projectors.cash).await?),
        (
            "customer_events",
            rebuild_timed(&pool, &projectors.customer_events).await?,
        ),
    ] {
        let rate = rebuilt.events as f64 / rebuilt.seconds;
        let steps: Vec<String> = rebuilt
            .steps
            .iter()
            .map(|(step, seconds)| format!("{step} {seconds:.1} s"))
            .collect();
        figures.push(format!(
            "rebuild {name:<16} | {rate:>10.0} events/s | {:.1} s, {:.2}x raw read ({})",
            rebuilt.seconds,
            rate / raw_rate,
            steps.join(", ")
        ));
    }
    let from = Month::containing_day(history.start.date_naive());
    let to = Month::containing_day(
        (history.start + chrono::Months::new(history.months.saturating_sub(1))).date_naive(),
    );
    for (name, latencies) in report_latencies(&pool, from, to).await? {
        figures.push(format!(
            "report {name:<5} {} months ({} runs)  | p50 {:>7.2} ms | p99 {:>7.2} ms",
            history.months,
            latencies.len(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99)
        ));
    }
    let lags = lag_under_stream(&pool, &history, options.stream_seconds).await?;
    figures.push(format!(
        "lag at 1,000 events/s ({} events)   | p50 {:>7.2} ms | p99 {:>7.2} ms",
        lags.len(),
        percentile(&lags, 0.50),
        percentile(&lags, 0.99)
    ));
    println!();
    println!("figure | value | detail");
    for line in figures {
        println!("{line}");
    }
    database.close().await?;
    Ok(())
}

/// Appends the history, customer by customer, through the normal multi-stream append (20
/// customers per call, two calls in flight). Returns (events, seconds).
async fn load_history(pool: &PgPool, history: &SyntheticHistory) -> anyhow::Result<(u64, f64)> {
    let store = EventStore::new(pool.clone());
    let bar = ProgressBar::new(u64::from(history.customers)).with_style(
        ProgressStyle::with_template("loading {bar:40} {pos}/{len} customers eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let mut loaded = append_synthetic(&store, &history.account_events()).await?;
    let chunks: Vec<Vec<u32>> = (0..history.customers)
        .collect::<Vec<_>>()
        .chunks(20)
        .map(<[u32]>::to_vec)
        .collect();
    for pair in chunks.chunks(2) {
        let mut tasks = Vec::new();
        for chunk in pair {
            let store = store.clone();
            let history = *history;
            let chunk = chunk.clone();
            tasks.push(tokio::spawn(async move {
                let events: Vec<SyntheticEvent> = chunk
                    .iter()
                    .flat_map(|&index| history.customer_events(index))
                    .collect();
                append_synthetic(&store, &events).await
            }));
        }
        for task in tasks {
            loaded += task.await??;
        }
        bar.inc(pair.iter().map(|chunk| chunk.len() as u64).sum());
        bar.set_message(format!("{loaded} events"));
    }
    bar.finish_and_clear();
    Ok((loaded, started.elapsed().as_secs_f64()))
}

/// Appends `events` in one multi-stream append (each stream's events in the order given).
async fn append_synthetic(store: &EventStore, events: &[SyntheticEvent]) -> anyhow::Result<u64> {
    store
        .append_streams(None, &stream_appends(events))
        .await
        .context("appending the synthetic history")?;
    Ok(events.len() as u64)
}

/// `events` grouped by stream (each stream once, its events in the order given).
fn stream_appends(events: &[SyntheticEvent]) -> Vec<StreamAppend> {
    let mut streams: BTreeMap<String, StreamAppend> = BTreeMap::new();
    for event in events {
        let stream_id = event.event.stream_id();
        streams
            .entry(stream_id.clone())
            .or_insert_with(|| StreamAppend {
                stream_id,
                expected: ExpectedVersion::Any,
                events: Vec::new(),
            })
            .events
            .push(event.to_new_event());
    }
    streams.into_values().collect()
}

/// Reads the whole log through the gated feed in rebuild-sized pages and decodes every event.
async fn raw_read(pool: &PgPool) -> anyhow::Result<(u64, f64)> {
    let started = Instant::now();
    let mut cursor = FeedCursor::default();
    let mut events = 0_u64;
    loop {
        let page = read::read_all_after(pool, cursor, 5000).await?;
        let Some(last) = page.last() else { break };
        cursor = FeedCursor {
            transaction_id: last.transaction_id,
            global_position: last.global_position,
        };
        for event in &page {
            event.domain_event()?;
        }
        events += page.len() as u64;
    }
    Ok((events, started.elapsed().as_secs_f64()))
}

/// One timed rebuild.
struct TimedRebuild {
    /// Events applied to the new version.
    events: u64,
    /// Wall time of the whole rebuild.
    seconds: f64,
    /// Wall time of each step, in order: `replaying`, then the steps the rebuild reports.
    steps: Vec<(&'static str, f64)>,
}

/// Rebuilds one projection, timing it and each of its steps.
async fn rebuild_timed<P: Projector>(pool: &PgPool, projector: &P) -> anyhow::Result<TimedRebuild> {
    let head = read::log_head(pool).await?;
    let bar = ProgressBar::new(u64::try_from(head).unwrap_or(0)).with_style(
        ProgressStyle::with_template(
            "rebuild {prefix:<16} {bar:40} {pos}/{len} {per_sec} eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(projector.name());
    let started = Instant::now();
    let mut steps: Vec<(&'static str, f64)> = Vec::new();
    let (mut step, mut step_started) = ("replaying", Instant::now());
    let outcome = rebuild_with_progress(pool, projector, &mut |progress| match progress {
        projections::projector::RebuildProgress::Replayed { events } => bar.set_position(events),
        projections::projector::RebuildProgress::Step(next) => {
            steps.push((step, step_started.elapsed().as_secs_f64()));
            (step, step_started) = (next, Instant::now());
            bar.set_message(next);
        }
    })
    .await;
    steps.push((step, step_started.elapsed().as_secs_f64()));
    bar.finish_and_clear();
    let outcome = outcome?;
    Ok(TimedRebuild {
        events: outcome.events_applied,
        seconds: started.elapsed().as_secs_f64(),
        steps,
    })
}

/// Runs of each report over `from..=to` in usd: 50, or fewer when they take longer than
/// [`REPORT_BUDGET`] (at least 5); latencies in milliseconds.
async fn report_latencies(
    pool: &PgPool,
    from: Month,
    to: Month,
) -> anyhow::Result<Vec<(&'static str, Vec<f64>)>> {
    let usd = Currency::new("usd");
    let mut figures = Vec::new();
    for name in ["mrr", "churn", "cash"] {
        let mut latencies = Vec::new();
        let budget = Instant::now();
        while latencies.len() < 50 && (latencies.len() < 5 || budget.elapsed() < REPORT_BUDGET) {
            let started = Instant::now();
            match name {
                "mrr" => drop(mrr_report(pool, &usd, from, to).await?),
                "churn" => drop(churn_report(pool, &usd, from, to).await?),
                _ => drop(cash_report(pool, &usd, from, to).await?),
            }
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        figures.push((name, latencies));
    }
    Ok(figures)
}

/// Time allowed per report for the latency figure.
const REPORT_BUDGET: Duration = Duration::from_secs(15);

/// Runs the three projectors as `serve` does, appends 10 events every 10 ms (new customers of
/// the same history) for `seconds`, and returns, per event, the milliseconds from its append's
/// commit until every projector's checkpoint covered it.
async fn lag_under_stream(
    pool: &PgPool,
    history: &SyntheticHistory,
    seconds: u64,
) -> anyhow::Result<Vec<f64>> {
    let signal = AppendSignal::new();
    let store = EventStore::with_signal(pool.clone(), signal.clone());
    let projectors = Projectors::default();
    let tasks = vec![
        tokio::spawn(run_until_stopped(
            pool.clone(),
            projectors.mrr,
            signal.clone(),
        )),
        tokio::spawn(run_until_stopped(
            pool.clone(),
            projectors.cash,
            signal.clone(),
        )),
        tokio::spawn(run_until_stopped(
            pool.clone(),
            projectors.customer_events,
            signal.clone(),
        )),
    ];
    // Let them catch up with the loaded log first.
    projections::projector::catch_up_all(pool, &projectors).await?;
    let stop = Instant::now() + Duration::from_secs(seconds);
    let monitor = sample_slowest_checkpoint(pool.clone(), stop + Duration::from_secs(2));
    let mut pending: Vec<SyntheticEvent> = Vec::new();
    let mut next_customer = history.customers;
    let mut committed: Vec<(i64, Instant)> = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_millis(10));
    while Instant::now() < stop {
        ticker.tick().await;
        while pending.len() < 10 {
            let mut events = history.customer_events(next_customer);
            next_customer += 1;
            events.reverse();
            pending.extend(events);
        }
        let mut batch: Vec<SyntheticEvent> = pending.split_off(pending.len() - 10);
        batch.reverse();
        let outcome = store.append_streams(None, &stream_appends(&batch)).await?;
        let at = Instant::now();
        committed.extend(
            outcome
                .events()
                .iter()
                .map(|event| (event.global_position, at)),
        );
    }
    let samples = monitor.await??;
    for task in tasks {
        task.abort();
    }
    let positions: Vec<i64> = committed.iter().map(|(position, _)| *position).collect();
    let transaction_of: BTreeMap<i64, i64> = read::read_positions(pool, &positions)
        .await?
        .into_iter()
        .map(|event| (event.global_position, event.transaction_id))
        .collect();
    let mut lags = Vec::new();
    for (position, at) in committed {
        let Some(&transaction_id) = transaction_of.get(&position) else {
            continue;
        };
        let event = FeedCursor {
            transaction_id,
            global_position: position,
        };
        lags.push(samples.lag_ms(event, at));
    }
    Ok(lags)
}

/// The `q` quantile (0..=1) of `values`, nearest rank; NaN for none.
pub(super) fn percentile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}
