//! Projection lag at a steady append rate: a paced writer appends single events (each to a new
//! stream) through `EventStore::append`; after each commit returns it records the time and
//! calls `AppendSignal::notify`, as the webhook handler does. A tailing reader in the same
//! process, shaped like `projections::projector::runner` (read pages of 1,000 through
//! `read::read_all_after` until caught up, then wait for the signal or the 250 ms poll),
//! records when each event arrives. Lag = arrival - commit returned.
//!
//! The ledger crate cannot depend on `projections`, so the reader is the runner's read loop
//! without the projector's own writes (read-model rows and checkpoint per batch): a lower
//! bound of a real projector's lag by those writes' time.

use crate::append::percentile;
use crate::database;
use crate::payload::Payloads;
use ledger::store::{read, AppendOutcome, AppendSignal, EventStore, ExpectedVersion, FeedCursor};
use sqlx::postgres::PgConnectOptions;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Page size of the reader, as the projector runner's `BATCH_SIZE`.
const PAGE: i64 = 1000;

/// The projector runner's `POLL_INTERVAL`.
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Writer connections (the appends overlap when one is slow).
const WRITER_CONNECTIONS: u32 = 32;

/// The outcome of a lag run.
#[derive(Debug, Clone)]
pub struct LagResult {
    /// Events appended (and all received).
    pub events: u64,
    /// Achieved append rate, events per second.
    pub rate: f64,
    /// Median lag.
    pub p50: Duration,
    /// 99th percentile lag.
    pub p99: Duration,
    /// Largest lag.
    pub max: Duration,
}

/// Appends `rate` single events per second for `duration` while the reader tails the feed.
pub async fn measure(
    options: &PgConnectOptions,
    payloads: &Arc<Payloads>,
    rate: u32,
    duration: Duration,
) -> LagResult {
    let writer_pool = database::pool(options, WRITER_CONNECTIONS).await;
    let reader_pool = database::pool(options, 1).await;
    let store = EventStore::new(writer_pool.clone());
    let signal = AppendSignal::new();

    // Start the reader at the current end of the feed (nothing is being written now).
    let start: Option<(i64, i64)> = sqlx::query_as(
        "SELECT transaction_id::text::bigint, global_position FROM events
         ORDER BY transaction_id DESC, global_position DESC LIMIT 1",
    )
    .fetch_optional(&reader_pool)
    .await
    .expect("feed head");
    let mut cursor = start.map_or(FeedCursor::default(), |(xid, position)| FeedCursor {
        transaction_id: xid,
        global_position: position,
    });

    let total = (f64::from(rate) * duration.as_secs_f64()).round() as u64;
    let (done_sender, mut done) = watch::channel(false);
    let mut woken = signal.subscribe();
    let reader = tokio::spawn(async move {
        let mut arrivals: HashMap<i64, Instant> = HashMap::new();
        loop {
            loop {
                let events = read::read_all_after(&reader_pool, cursor, PAGE)
                    .await
                    .expect("read_all_after");
                let now = Instant::now();
                let Some(last) = events.last() else { break };
                cursor = FeedCursor {
                    transaction_id: last.transaction_id,
                    global_position: last.global_position,
                };
                for event in &events {
                    arrivals.insert(event.global_position, now);
                }
            }
            if *done.borrow_and_update() && arrivals.len() as u64 >= total {
                break;
            }
            tokio::select! {
                _ = tokio::time::timeout(POLL_INTERVAL, woken.changed()) => {}
                _ = done.changed() => {}
            }
        }
        reader_pool.close().await;
        arrivals
    });

    let commits: Arc<Mutex<HashMap<i64, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let run = uuid::Uuid::new_v4().simple().to_string();
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut appends = Vec::with_capacity(total as usize);
    for n in 0..total {
        ticks.tick().await;
        let store = store.clone();
        let payloads = Arc::clone(payloads);
        let commits = Arc::clone(&commits);
        let signal = signal.clone();
        let stream = format!("subscription-sub_lag_{run}_{n}");
        appends.push(tokio::spawn(async move {
            let outcome = store
                .append(&stream, ExpectedVersion::NoStream, &payloads.new_events(1))
                .await
                .expect("append");
            let committed = Instant::now();
            let AppendOutcome::Appended { positions, .. } = outcome else {
                panic!("a fresh event is never a duplicate")
            };
            commits
                .lock()
                .expect("commit times")
                .insert(positions[0], committed);
            signal.notify();
        }));
    }
    for append in appends {
        append.await.expect("append task");
    }
    let elapsed = started.elapsed();
    done_sender.send(true).expect("reader alive");
    let arrivals = tokio::time::timeout(Duration::from_secs(30), reader)
        .await
        .expect("the reader receives every event within 30 s")
        .expect("reader task");
    writer_pool.close().await;

    let commits = commits.lock().expect("commit times");
    let mut lags: Vec<Duration> = commits
        .iter()
        .map(|(position, committed)| {
            arrivals
                .get(position)
                .expect("every appended event is received")
                .saturating_duration_since(*committed)
        })
        .collect();
    lags.sort_unstable();
    LagResult {
        events: total,
        rate: total as f64 / elapsed.as_secs_f64(),
        p50: percentile(&lags, 0.50),
        p99: percentile(&lags, 0.99),
        max: lags.last().copied().unwrap_or_default(),
    }
}
